"""The originals' own trained networks as a dcgan_tf run: carpedm20's tf.train.Saver checkpoints,
Anime_GAN's torch.save()d modules (saved/*.t7) and its Keras WGAN's model.save() files (*.h5).

  python -m dcgan_tf.import_original checkpoint/celebA_64_64_64 --output-dir runs/celebA
  python -m dcgan_tf.import_original saved/ --arch anime --output-dir runs/anime
  python -m dcgan_tf.import_original . --arch wgan --output-dir runs/wgan

PATH, per --arch:
  dcgan  a Saver checkpoint checkpoint/<dataset>_<batch>_<h>_<w>/DCGAN.model-N: its prefix,
         one of its files, its folder (with the `checkpoint` file) or carpedm20's checkpoint/
         folder holding one such folder. Unconditional (celebA-style) and conditional MNIST.
  anime  saved/ (generate.t7 and discriminator.t7) or one of the two files.
  wgan   the folder with generate.h5 and discriminator.h5, or one of the two files.

Sizes come from the files' shapes; the dataset, batch size and output size of a dcgan
checkpoint from its folder's name. A size flag given here is used instead: a file of other
sizes then stops at the first tensor that does not fit. None of the files holds optimizer
state: both optimizers start fresh, as the originals' own loading did. The step counter is
carpedm20's N; the anime and WGAN files record none (0).

The command prints the `python -m dcgan_tf.train` flags that resume the written run; its data
must have the files' channel count (c_dim: 3 for RGB images, 1 for greyscale).
"""
import glob
import os
import re
import shlex

import keras
import numpy as np

from common import cli
from common.errors import UserError
from common.keras2_files import keras2_weights
from common.original_files import Importer, import_parser, refuse_leftovers, require, write_run
from common.tf1_checkpoints import tf1_checkpoint, tf1_checkpoint_prefix
from common.torch_pickles import torch_state_dict
from dcgan_tf.run import build_gan, parse_options

Y_DIM = 10  # carpedm20's conditional model is its MNIST model: ten one-hot classes
# carpedm20's model_dir: "{dataset}_{batch_size}_{output_height}_{output_width}"
MODEL_DIR = re.compile(r"^(?P<dataset>.+)_(?P<batch_size>\d+)_(?P<height>\d+)_(?P<width>\d+)$")
SIZE_FLAGS = ("z_dim", "gf_dim", "df_dim", "gfc_dim", "dfc_dim")


def parser():
    p = import_parser("dcgan_tf", __doc__)
    add = p.add_argument
    add("--arch", choices=("dcgan", "anime", "wgan"), default="dcgan",
        help="whose files: carpedm20 (dcgan), Anime_GAN's DCGAN (anime) or its Keras WGAN")
    add("--dataset", default=None, help="the run's dataset folder under --data_dir (default: "
                                        "from a dcgan checkpoint's folder name, else celebA; "
                                        "anime, wgan: faces)")
    add("--data_dir", default="./data")
    add("--batch_size", type=cli.positive_int, default=None,
        help="default: from a dcgan checkpoint's folder name, else 64")
    for name in SIZE_FLAGS:
        add(f"--{name}", type=cli.positive_int, default=None,
            help="default: from the files" + (" (conditional MNIST), else 1024"
                                              if name in ("gfc_dim", "dfc_dim") else ""))
    add("--output_height", type=cli.positive_int, default=None,
        help="dcgan: default from the checkpoint's folder name")
    add("--output_width", type=cli.positive_int, default=None, help="default: output_height")
    add("--input_height", type=cli.positive_int, default=None,
        help="dcgan: the crop the data was read with (recorded for evaluate)")
    add("--input_width", type=cli.positive_int, default=None)
    add("--crop", action="store_true", help="dcgan: the data was center-cropped")
    return p


# ---- reading the files and their sizes ----

def dims(arrays, name, rank, source):
    """The shape of arrays[name], which must have `rank` axes."""
    shape = tuple(np.shape(require(arrays, name, source)))
    if len(shape) != rank:
        raise UserError(f"{source}: {name} has shape {shape}, not {rank} axes; is it a file "
                        "of this program?")
    return shape


def dcgan_folder(path):
    """carpedm20's checkpoint folder of PATH: PATH itself, or the one model_dir under
    carpedm20's checkpoint/ folder."""
    if not os.path.isdir(path) or os.path.isfile(os.path.join(path, "checkpoint")):
        return path
    inner = sorted(name for name in os.listdir(path)
                   if os.path.isfile(os.path.join(path, name, "checkpoint")))
    if len(inner) > 1:
        raise UserError(f"{path} holds several checkpoints ({', '.join(inner)}); pass one")
    return os.path.join(path, inner[0]) if inner else path


def arch_of_files(path):
    """The --arch whose files PATH is or holds (anime: .t7, wgan: .h5), else None."""
    names = os.listdir(path) if os.path.isdir(path) else [os.path.basename(path)]
    for arch, suffix in (("anime", ".t7"), ("wgan", ".h5")):
        if any(name.endswith(suffix) for name in names):
            return arch
    return None


def read_dcgan(args):
    """(source, {name: array}, sizes, step) of carpedm20's checkpoint; sizes from the
    shapes and from the folder's name (carpedm20's model_dir)."""
    if not glob.glob(glob.escape(args.path) + "*"):
        raise UserError(f"{args.path} does not exist")
    try:
        prefix = tf1_checkpoint_prefix(dcgan_folder(args.path))
        arrays = tf1_checkpoint(prefix)
    except UserError:
        other = os.path.exists(args.path) and arch_of_files(args.path)
        if other:
            raise UserError(f"{args.path} holds {other} files, not a TF1 checkpoint; pass "
                            f"--arch {other}") from None
        raise
    named = MODEL_DIR.match(os.path.basename(os.path.dirname(os.path.abspath(prefix))))
    sizes = carpedm20_sizes(arrays, prefix, args)
    if named:
        sizes["batch_size"] = int(named["batch_size"])
        sizes.setdefault("dataset", named["dataset"])
        if "output_height" not in sizes:
            sizes["output_height"], sizes["output_width"] = (int(named["height"]),
                                                             int(named["width"]))
    if "output_height" not in sizes and args.output_height is None:
        raise UserError(f"cannot tell the output size of {prefix}: its folder is not "
                        "carpedm20's <dataset>_<batch>_<height>_<width>; pass "
                        "--output_height (and --dataset)")
    # carpedm20's load(): the counter is the last number of the checkpoint's name.
    numbers = re.findall(r"\d+", os.path.basename(prefix))
    return prefix, arrays, sizes, int(numbers[-1]) if numbers else 0


def carpedm20_sizes(arrays, source, args):
    """z_dim, gf_dim, df_dim, c_dim (and gfc_dim, dfc_dim of the conditional model) from
    the shapes; the conditional model is carpedm20's MNIST one (y_dim 10, 28x28)."""
    if "generator/g_h1_lin/Matrix" not in arrays:
        kernel = dims(arrays, "generator/g_h4/w", 4, source)  # [5, 5, c_dim, gf_dim]
        return dict(z_dim=dims(arrays, "generator/g_h0_lin/Matrix", 2, source)[0],
                    gf_dim=kernel[3], c_dim=kernel[2],
                    df_dim=dims(arrays, "discriminator/d_h0_conv/w", 4, source)[3])
    if args.dataset not in (None, "mnist"):
        raise UserError(f"{source} is carpedm20's conditional MNIST model (it has "
                        f"generator/g_h1_lin); drop --dataset {args.dataset}")
    z_rows, gfc_dim = dims(arrays, "generator/g_h0_lin/Matrix", 2, source)
    # max(..., 1): a file of other sizes then fails at its first tensor, not at a flag.
    return dict(z_dim=max(z_rows - Y_DIM, 1), gfc_dim=gfc_dim,
                gf_dim=max(dims(arrays, "generator/g_h2/w", 4, source)[2] // 2, 1),
                c_dim=dims(arrays, "generator/g_h3/w", 4, source)[2],
                df_dim=max(dims(arrays, "discriminator/d_h1_conv/w", 4, source)[3] - Y_DIM, 1),
                dfc_dim=dims(arrays, "discriminator/d_h2_lin/Matrix", 2, source)[1],
                dataset="mnist", output_height=28, output_width=28)


def sibling_files(path, names, what):
    """{name: path} of the original's pair of files: PATH is their folder or one of them."""
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    files = {name: os.path.join(folder, name) for name in names}
    missing = [f for f in files.values() if not os.path.isfile(f)]
    if missing:
        raise UserError(f"{missing[0]} does not exist; PATH is {what}")
    return folder, files


# The module classes Anime_GAN's .t7 files name (DCGAN/model.py's, imported as `model` by main.py,
# or __main__'s where a script defined them), besides torch.nn's.
ANIME_MODULE_CLASSES = {"model": {"Generate", "Discriminator"},
                        "__main__": {"Generate", "Discriminator"}}


def read_anime(args):
    folder, files = sibling_files(args.path, ("generate.t7", "discriminator.t7"),
                                  "Anime_GAN's saved/ folder (generate.t7, discriminator.t7)")
    arrays = {name: torch_state_dict(path, ANIME_MODULE_CLASSES)
              for name, path in files.items()}
    z_dim, channels = dims(arrays["generate.t7"], "convtrans1_block.0.weight", 4,
                           files["generate.t7"])[:2]
    sizes = dict(z_dim=z_dim, gf_dim=max(channels // 8, 1), c_dim=3,
                 df_dim=dims(arrays["discriminator.t7"], "conv_bolck1.0.weight", 4,
                             files["discriminator.t7"])[0])
    return folder, (files, arrays), sizes, 0


def first_kernel(layers, path):
    """The shape of the first weight of a Keras 2 file's layers: a convolution kernel."""
    if not layers:
        raise UserError(f"{path} holds no weights; is it wgan_keras.py's file?")
    layer, ((name, array), *_) = layers[0]
    if array.ndim != 4:
        raise UserError(f"{path}: {layer}/{name} has shape {array.shape}, not a convolution "
                        "kernel's; is it wgan_keras.py's file?")
    return array.shape


def read_wgan(args):
    folder, files = sibling_files(args.path, ("generate.h5", "discriminator.h5"),
                                  "the folder of wgan_keras.py's generate.h5 and discriminator.h5")
    layers = {name: [(layer, weights) for layer, weights in keras2_weights(path) if weights]
              for name, path in files.items()}
    # Keras 2 Conv2DTranspose kernels are (h, w, filters, inputs): ngf = 16 x gf_dim.
    _, _, ngf, z_dim = first_kernel(layers["generate.h5"], files["generate.h5"])
    ndf = first_kernel(layers["discriminator.h5"], files["discriminator.h5"])[3]
    sizes = dict(z_dim=z_dim, gf_dim=max(ngf // 16, 1), df_dim=ndf, c_dim=3)
    return folder, (files, layers), sizes, 0


# ---- the run's options ----

def run_options(args, sizes, output_dir):
    """The options `python -m dcgan_tf.train` would have for these networks: the sizes read
    from the files, except where a flag was given here."""
    # train's default dataset for carpedm20, the originals' folder for Anime_GAN's two
    chosen = {"dataset": "celebA" if args.arch == "dcgan" else "faces", "batch_size": 64,
              **sizes}
    for key in ("dataset", "batch_size", *SIZE_FLAGS, "output_height", "output_width",
                "input_height", "input_width"):
        if getattr(args, key) is not None:
            chosen[key] = getattr(args, key)
    if args.output_height and not args.output_width:
        chosen["output_width"] = args.output_height
    argv = ["--arch", args.arch, "--data_dir", args.data_dir, "--output-dir", output_dir]
    for key, value in chosen.items():
        if key != "c_dim":
            argv += [f"--{key}", str(value)]
    options = parse_options(argv + (["--crop"] if args.crop else []))
    # train sets c_dim from the data's first image (folder data); here, from the files.
    options.c_dim = 1 if options.mnist else sizes["c_dim"]
    return options


def resume_flags(options):
    """The train flags that rebuild these networks (NETWORK_OPTIONS) where they differ from
    train's defaults, and the data flags recorded."""
    defaults = parse_options(["--arch", options.arch, "--dataset", options.dataset])
    flags = [] if options.arch == "dcgan" else ["--arch", options.arch]
    flags += ["--dataset", options.dataset]
    for key in ("data_dir", "batch_size", *SIZE_FLAGS, "output_height", "output_width",
                "input_height", "input_width"):
        if getattr(options, key) != getattr(defaults, key):
            flags += [f"--{key}", str(getattr(options, key))]
    return flags + (["--crop"] if options.crop else [])


# ---- assigning: the original's names for the port's layers ----

def carpedm20_pairs(layer, scope):
    """[(TF1 name, Keras variable)] of one of carpedm20's linear / conv2d / deconv2d /
    batch_norm scopes (TF1 kernels have Keras' layout)."""
    if isinstance(layer, keras.layers.BatchNormalization):
        names = (("beta", layer.beta), ("gamma", layer.gamma),
                 ("moving_mean", layer.moving_mean), ("moving_variance", layer.moving_variance))
    elif isinstance(layer, keras.layers.Dense):
        names = (("Matrix", layer.kernel), ("bias", layer.bias))
    else:
        names = (("w", layer.kernel), ("biases", layer.bias))
    return [(f"{scope}/{name}", variable) for name, variable in names]


def import_dcgan(importer, gan, arrays):
    used = set()
    for network_name, network in (("generator", gan.generator),
                                  ("discriminator", gan.discriminator)):
        for layer in (layer for layer in network.layers if layer.weights):
            scope = f"{network_name}/{layer.name}"
            pairs = carpedm20_pairs(layer, scope)
            importer.assign(scope, [(name, require(arrays, name, importer.source), variable)
                                    for name, variable in pairs])
            used.update(name for name, _ in pairs)
    # A later revision's Saver may also hold Adam slots: the optimizers start fresh anyway.
    refuse_leftovers(arrays, used, importer.source,
                     ignore=("/Adam", "beta1_power", "beta2_power"))


def torch_kernel(name, array, variable, source):
    """Conv2d [out, in, h, w] and ConvTranspose2d [in, out, h, w] weights as Keras kernels
    (h, w, in, out) and (h, w, out, in): both transpose(2, 3, 1, 0), no spatial flip (both
    frameworks cross-correlate and transpose alike; tests/test_import_dcgan.py checks it
    against a NumPy reference of PyTorch's definitions)."""
    wanted = tuple(variable.shape[i] for i in (3, 2, 0, 1))
    if tuple(array.shape) != wanted:
        raise UserError(f"{source}: {name} has shape {tuple(array.shape)}, the port's "
                        f"{variable.path} wants {wanted} (PyTorch's layout); is it a file of "
                        "this program at these sizes?")
    return array.transpose(2, 3, 1, 0)


def anime_modules(network):
    """The original's module names of the port's layers, in order: Sequential blocks of
    [conv, BatchNorm2d, activation] with the original's spellings."""
    if network == "generate.t7":
        blocks = [f"convtrans{i}_block" for i in range(1, 6)]
    else:
        blocks = ["conv_bolck1"] + [f"conv_bolok{i}" for i in range(2, 6)]
    names = []
    for i, block in enumerate(blocks):
        names.append(f"{block}.0")
        if 0 < i < 4 or (network == "generate.t7" and i == 0):
            names.append(f"{block}.1")
    return names


def import_anime(importer, gan, files_and_arrays):
    files, arrays = files_and_arrays
    for file_name, network in (("generate.t7", gan.generator),
                               ("discriminator.t7", gan.discriminator)):
        state, source = arrays[file_name], files[file_name]
        used = set()
        for module, layer in zip(anime_modules(file_name),
                                 [layer for layer in network.layers if layer.weights]):
            if isinstance(layer, keras.layers.BatchNormalization):
                names = ((".weight", layer.gamma), (".bias", layer.beta),
                         (".running_mean", layer.moving_mean),
                         (".running_var", layer.moving_variance))
                pairs = [(module + suffix, require(state, module + suffix, source), variable)
                         for suffix, variable in names]
                # num_batches_tracked (PyTorch >= 0.4.1) only matters with momentum=None.
                used.add(f"{module}.num_batches_tracked")
            else:
                name = f"{module}.weight"
                pairs = [(name, torch_kernel(name, require(state, name, source),
                                             layer.kernel, source), layer.kernel)]
            importer.assign(f"{file_name} {module}", pairs, source)
            used.update(name for name, _, _ in pairs)
        refuse_leftovers(state, used, source)


KERAS2_WEIGHTS = ("kernel", "gamma", "beta", "moving_mean", "moving_variance")


def keras2_pairs(file_layer, layer, source):
    """[(file name, array, Keras variable)] of one Keras 2 layer and the port's layer in its
    place: the same weights by name (kernel, or BN's four), the same layout."""
    layer_name, weights = file_layer
    found = {name.rsplit("/", 1)[-1].split(":")[0]: (f"{layer_name}/{name}", array)
             for name, array in weights}
    wanted = {name: getattr(layer, name) for name in KERAS2_WEIGHTS
              if getattr(layer, name, None) is not None}
    if set(found) != set(wanted):
        raise UserError(f"{source} holds {layer_name} with weights {', '.join(found)} where "
                        f"wgan_keras.py has a {type(layer).__name__} ({', '.join(wanted)}); "
                        "is it that script's file?")
    return [(*found[name], variable) for name, variable in wanted.items()]


def import_wgan(importer, gan, files_and_layers):
    files, layers = files_and_layers
    for file_name, network in (("generate.h5", gan.generator),
                               ("discriminator.h5", gan.critic)):
        source = files[file_name]
        ported = [layer for layer in network.layers if layer.weights]
        for file_layer, layer in zip(layers[file_name], ported):
            importer.assign(f"{file_name} {file_layer[0]}",
                            keras2_pairs(file_layer, layer, source), source)
        if len(layers[file_name]) != len(ported):
            raise UserError(f"{source} has {len(layers[file_name])} layers with "
                            f"weights, wgan_keras.py's {network.name} {len(ported)}; is it "
                            "that script's file?")


ARCHS = {"dcgan": (read_dcgan, import_dcgan), "anime": (read_anime, import_anime),
         "wgan": (read_wgan, import_wgan)}


@cli.exits_cleanly
def main(argv=None):
    args = parser().parse_args(argv)
    output_dir = args.output_dir or os.path.join("runs", "dcgan_tf-imported")
    read, assign = ARCHS[args.arch]
    source, arrays, sizes, step = read(args)
    options = run_options(args, sizes, output_dir)
    gan = build_gan(options)
    importer = Importer(source, args.verbose)
    assign(importer, gan, arrays)
    write_run(output_dir, options, gan, step=step)
    print(importer.summary(output_dir))
    print("train on: " + shlex.join(["python", "-m", "dcgan_tf.train", "--train",
                                     *resume_flags(options), "--output_dir", output_dir]))
    return gan


if __name__ == "__main__":
    main()
