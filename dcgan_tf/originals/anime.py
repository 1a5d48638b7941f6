"""The anime DCGAN of the GAN notes post (Anime_GAN, PyTorch; --arch anime): 96x96 faces, a
progress bar, a grid and both networks every --sample_freq epochs, the losses' text files and
their plot. See dcgan_tf/originals/__init__.py for what each original module defines."""
import os

import keras
import matplotlib

from common import cli
from common.errors import UserError
from common.old_frameworks import TorchAdam
from common.original_files import dims, refuse_leftovers, require, sibling_files
from common.torch_pickles import torch_state_dict
from dcgan_tf import model
from dcgan_tf.callbacks import grids_and_model_files
from dcgan_tf.gan import DCGAN
from dcgan_tf.originals import carpedm20

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the Agg backend)

TITLE = "anime DCGAN"
DATASET = "faces"  # the originals' folder
FILE_SUFFIX = ".t7"  # torch.save()d modules
# Anime_GAN saved its grid and models every 20 epochs.
DEFAULTS = dict(epoch=500, learning_rate=0.0001, z_dist="normal", g_steps=1,
                input_height=96, output_height=96, input_fname_pattern="*.jpg",
                sample_freq=20, ckpt_freq=None)
OUTPUT_SIZE = 96
RESIZE = "bilinear"
GREYSCALE = False  # torchvision's loader made every image RGB
PROGRESS_BAR = True  # its tqdm bar becomes Keras' progress bar (that batch's losses)
LOSSES_EVERY_SAMPLE = False  # the loss history's points: every epoch


def derived_options(args):
    return dict(mnist=False)


def images_per_step(args):
    return args.batch_size


# Anime_GAN's DataLoader drew a fresh permutation per epoch, as carpedm20 reshuffled its list.
folder_stream = carpedm20.folder_stream


def sample_real(args, folder):
    return None  # no [Sample] evaluation


def build_gan(args):
    gan = DCGAN(model.build_anime_generator(args.z_dim, args.gf_dim),
                model.build_anime_discriminator(args.df_dim), args.z_dim, conditional=False,
                g_steps=args.g_steps, z_dist=args.z_dist, from_logits=False, reevaluate=False)
    # PyTorch's Adam: lr_t * m / (sqrt(v) + 1e-8), beta_2 the Python float throughout
    gan.compile(*[TorchAdam(args.learning_rate, beta_1=args.beta1, beta_2=0.999, epsilon=1e-8)
                  for _ in range(2)],
                **cli.compile_options(args))
    return gan


def sample_images(gan, args, z, y=None):
    """Anime_GAN sampled without eval(): BatchNorm on the whole fixed batch's statistics."""
    return gan.generate(z, y, training=True).numpy()


def value_range(args):
    """None: the grids went through scipy.misc.imsave on floats, which stretched each grid to
    its own min..max."""
    return None


class EpochLossFiles(keras.callbacks.Callback):
    """Anime_GAN's loss logs: after each epoch the last batch's losses are appended to
    generate_loss.txt ("loss_G:{v} ") and discriminator_loss.txt ("loss_D:{v} "); at the end
    logging.png plots both against the epoch."""

    def __init__(self, directory, epochs_done=0):
        super().__init__()
        self.paths = {"generate": os.path.join(directory, "generate_loss.txt"),
                      "discriminator": os.path.join(directory, "discriminator_loss.txt")}
        self.plot_path = os.path.join(directory, "logging.png")
        for path in self.paths.values():  # lines past the checkpoint (a killed run's) go
            keep_lines(path, epochs_done)

    def on_epoch_end(self, epoch, logs=None):
        for (name, path), key in zip(self.paths.items(), ("G", "D")):
            with open(path, "a") as f:
                f.write(f"loss_{key}:{float(logs[key.lower() + '_loss'])} \n")

    def on_train_end(self, logs=None):
        fig, ax = plt.subplots()
        for (name, path), colour in zip(self.paths.items(), ("green", "blue")):
            with open(path) as f:
                values = [float(line.split(":")[1]) for line in f if ":" in line]
            ax.plot(values, color=colour, label=name)
        ax.set_title("DCGAN_Anime")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend()
        fig.savefig(self.plot_path)
        plt.close(fig)


def keep_lines(path, count):
    """Cut the text file at `path` (if any) to its first `count` lines."""
    if os.path.exists(path):
        with open(path) as f:
            lines = f.readlines()
        if len(lines) > count:
            with open(path, "w") as f:
                f.writelines(lines[:count])


def callbacks(gan, args, steps, sample_inputs, checkpoint):
    """(the loss files, saved/img/{epoch}.png and both networks every --sample_freq epochs,
    the grids' file pattern for the GIF)."""
    return [EpochLossFiles(args.output_dir, checkpoint.epoch),
            *grids_and_model_files(gan, args, lambda z: sample_images(gan, args, z),
                                   "{epoch_index}.png", every_epochs=args.sample_freq)
            ], "[0-9]*.png"


# ---- the original's own files (python -m dcgan_tf.import_original) ----

# The module classes Anime_GAN's .t7 files name (DCGAN/model.py's, imported as `model` by main.py,
# or __main__'s where a script defined them), besides torch.nn's.
MODULE_CLASSES = {"model": {"Generate", "Discriminator"},
                        "__main__": {"Generate", "Discriminator"}}


def read_files(args):
    folder, files = sibling_files(args.path, ("generate.t7", "discriminator.t7"),
                                  "Anime_GAN's saved/ folder (generate.t7, discriminator.t7)")
    arrays = {name: torch_state_dict(path, MODULE_CLASSES)
              for name, path in files.items()}
    z_dim, channels = dims(arrays["generate.t7"], "convtrans1_block.0.weight", 4,
                           files["generate.t7"])[:2]
    sizes = dict(z_dim=z_dim, gf_dim=max(channels // 8, 1), c_dim=3,
                 df_dim=dims(arrays["discriminator.t7"], "conv_bolck1.0.weight", 4,
                             files["discriminator.t7"])[0])
    return folder, (files, arrays), sizes, 0


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


def import_weights(importer, gan, files_and_arrays):
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

