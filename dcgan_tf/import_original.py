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

Each original's reader and importer are in its module of dcgan_tf/originals (read_files,
import_weights); this command chooses one by --arch.

The command prints the `python -m dcgan_tf.train` flags that resume the written run; its data
must have the files' channel count (c_dim: 3 for RGB images, 1 for greyscale).
"""
import os
import shlex

from common import cli
from common.errors import UserError
from common.original_files import Importer, import_parser, write_run
from dcgan_tf import originals
from dcgan_tf.program import build_gan, parse_options

SIZE_FLAGS = ("z_dim", "gf_dim", "df_dim", "gfc_dim", "dfc_dim")


def parser():
    p = import_parser("dcgan_tf", __doc__)
    add = p.add_argument
    add("--arch", choices=tuple(originals.ORIGINALS), default="dcgan",
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


# ---- the run's options ----

def run_options(args, sizes, output_dir):
    """The options `python -m dcgan_tf.train` would have for these networks: the sizes read
    from the files, except where a flag was given here."""
    chosen = {"dataset": originals.ORIGINALS[args.arch].DATASET, "batch_size": 64, **sizes}
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
    return cli.replaced(options, c_dim=1 if options.mnist else sizes["c_dim"])


def resume_flags(options):
    """The train flags that rebuild these networks (NETWORK_OPTIONS) where they differ from
    train's defaults, and the data flags recorded."""
    defaults = parse_options(["--arch", options.arch, "--dataset", options.dataset])
    flags = [] if options.arch == parse_options([]).arch else ["--arch", options.arch]
    flags += ["--dataset", options.dataset]
    for key in ("data_dir", "batch_size", *SIZE_FLAGS, "output_height", "output_width",
                "input_height", "input_width"):
        if getattr(options, key) != getattr(defaults, key):
            flags += [f"--{key}", str(getattr(options, key))]
    return flags + (["--crop"] if options.crop else [])


@cli.exits_cleanly
def main(argv=None):
    args = parser().parse_args(argv)
    output_dir = args.output_dir or os.path.join("runs", "dcgan_tf-imported")
    original = originals.ORIGINALS[args.arch]
    try:
        source, arrays, sizes, step = original.read_files(args)
    except UserError:
        other = os.path.exists(args.path) and originals.arch_of_files(args.path)
        if other and other != args.arch:
            raise UserError(f"{args.path} holds {other} files, not {original.TITLE}'s; pass "
                            f"--arch {other}") from None
        raise
    options = run_options(args, sizes, output_dir)
    gan = build_gan(options)
    importer = Importer(source, args.verbose)
    original.import_weights(importer, gan, arrays)
    write_run(output_dir, options, gan, step=step)
    print(importer.summary(output_dir))
    print("train on: " + shlex.join(["python", "-m", "dcgan_tf.train", "--train",
                                     *resume_flags(options), "--output_dir", output_dir]))
    return gan


if __name__ == "__main__":
    main()
