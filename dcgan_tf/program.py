"""The DCGAN-family program: its options (Options: the flags of `python -m dcgan_tf.train`
with --arch's defaults, saved as options.json), its data (MNIST or an image folder), the
compiled GAN, a saved run rebuilt (load_run) and sampling as each original sampled.

train, evaluate, generate, visualize and import_original all build on this module; none of
them imports another's command line.
"""
import os
import typing

import numpy as np

from common import cli, latents, rundir
from common.cache import ImageFolder
from common.decode import ImageSpec
from common.errors import UserError
from common.evaluation import GENERATOR_METRICS, add_training_flags
from common.files import first_readable, list_images
from common.images import is_greyscale_file
from common.options import options_class
from dcgan_tf import originals

NETWORK_OPTIONS = ["arch", "dataset", "z_dim", "gf_dim", "df_dim", "gfc_dim", "dfc_dim",
                   "output_height", "output_width", "c_dim"]


def options_parser():
    """`python -m dcgan_tf.train`'s flags; those left at None take --arch's default."""
    parser = cli.parser("dcgan_tf", "carpedm20 DCGAN-tensorflow, the anime DCGAN and the "
                                    "Keras WGAN. Flags left at None take --arch's default.")
    add = parser.add_argument
    add("--arch", choices=tuple(originals.ORIGINALS), default="dcgan")
    add("--epoch", type=cli.positive_int, default=None,
        help="epochs to train (25 / 500 / 1000)")
    add("--learning_rate", type=cli.positive_float, default=None,
        help="Adam (dcgan, anime) or RMSprop (wgan) rate: 0.0002 / 0.0001 / 0.00005")
    add("--beta1", type=cli.unit_fraction, default=0.5, help="Adam beta1")
    add("--train_size", type=cli.positive_size, default=np.inf,
        help="use at most this many images")
    add("--batch_size", type=cli.positive_int, default=64)
    add("--input_height", type=cli.positive_int, default=None,
        help="center-crop height (108 / 96)")
    add("--input_width", type=cli.positive_int, default=None, help="default: input_height")
    add("--output_height", type=cli.positive_int, default=None,
        help="64 / 96 (anime and wgan need 96)")
    add("--output_width", type=cli.positive_int, default=None, help="default: output_height")
    add("--dataset", default="celebA", help="folder under --data_dir, or mnist")
    add("--input_fname_pattern", default=None, help="*.jpg (wgan: */*.jpg, as "
                                                     "flow_from_directory)")
    add("--data_dir", default="./data")
    add("--checkpoint_dir", default="checkpoints", help="inside --output-dir")
    add("--sample_dir", default="samples", help="inside --output-dir")
    add("--train", action="store_true", help="train; without it, load the checkpoint (test)")
    add("--crop", action="store_true", help="center-crop input_height x input_width first")
    add("--visualize", action="store_true", help="after training or loading, run "
                                                 "visualize option 1 (see dcgan_tf.visualize)")
    add("--z_dim", type=cli.positive_int, default=100)
    add("--z_dist", type=latents.distribution_flag, default=None,
        help="uniform_signed, uniform_unsigned or normal01 (normal): uniform_signed for "
             "dcgan, normal01 for anime and wgan")
    add("--sample_freq", type=cli.positive_int, default=None,
        help="steps between sample grids (dcgan 100, wgan 1000); anime: epochs (20)")
    add("--ckpt_freq", type=cli.positive_int, default=None,
        help="steps between checkpoints (dcgan 500, wgan 1000); anime: every epoch")
    add("--g_steps", type=cli.positive_int, default=None,
        help="G updates per D update (2 / 1 / 1)")
    add("--gf_dim", type=cli.positive_int, default=64,
        help="wgan: its first layer has 16 x gf_dim")
    add("--df_dim", type=cli.positive_int, default=64)
    add("--gfc_dim", type=cli.positive_int, default=1024)
    add("--dfc_dim", type=cli.positive_int, default=1024)
    add("--n_critic", type=cli.positive_int, default=5,
        help="wgan: critic steps per generator step")
    add("--clamp", type=cli.positive_float, default=0.01,
        help="wgan: critic weights clipped to +-clamp")
    add_training_flags(parser, GENERATOR_METRICS, None)
    cli.add_common_flags(parser, "dcgan_tf")
    return parser


# Derived once, in resolve: mnist (--dataset mnist: carpedm20's conditional model) and c_dim
# (1 for MNIST; an image folder's from its first readable image, in folder_data).
Options = options_class("Options", options_parser(), __name__,
                        derived=[("mnist", bool, False), ("c_dim", typing.Optional[int], None)])


def parse_options(argv=None):
    """The options of a run (typed and frozen), --arch's defaults filled in."""
    return resolve(Options.parse(argv))


def resolve(args):
    """A copy of `args` with --arch's defaults for the flags left at None, its own derived
    options, and the sizes carpedm20 derived (width = height...)."""
    original = originals.of(args)
    args = cli.replaced(args, **{key: value for key, value in original.DEFAULTS.items()
                                 if getattr(args, key) is None})
    args = cli.replaced(args, **original.derived_options(args))
    if original.OUTPUT_SIZE and args.output_height != original.OUTPUT_SIZE:
        raise UserError(f"--arch {args.arch} generates {original.OUTPUT_SIZE}x"
                        f"{original.OUTPUT_SIZE} images; drop --output_height "
                        f"{args.output_height}")
    return cli.replaced(
        args, input_width=args.input_width or args.input_height,
        output_width=args.output_width or args.output_height,
        features=args.features or ("classifier" if args.mnist else "inception"),
        c_dim=1 if args.mnist else None)


# ---- data ----

def image_spec(args):
    """carpedm20's get_image (pre-#352): center crop with --crop, then resize to the output
    size. The original resized float arrays with scipy's imresize, which byte-scaled each
    crop to its own min..max first (carpedm20 351a654 utils.py: transform); resizing the uint8
    image does not. The WGAN's Keras load_img resized with nearest neighbour."""
    return ImageSpec(channels=args.c_dim,
                     crop=(args.input_height, args.input_width) if args.crop else None,
                     size=(args.output_height, args.output_width),
                     method=originals.of(args).RESIZE, scale="signed")


def folder_data(args, **options):
    """(the files of data_dir/dataset/input_fname_pattern, nothing decoded yet; the options
    with their c_dim): carpedm20 made c_dim 1 when the first image is 2-D (here: the first
    readable one is greyscale)."""
    where = os.path.join(args.data_dir, args.dataset)
    paths = list_images(where, args.input_fname_pattern)
    _, greyscale = first_readable(paths, is_greyscale_file, where)
    args = cli.replaced(args, c_dim=1 if originals.of(args).GREYSCALE and greyscale else 3)
    return ImageFolder(paths, image_spec(args), seed=args.seed,
                       cache_mb=args.cache_mb, **options), args


# ---- networks ----

def build_gan(args):
    """The networks and the GAN of --arch's original, compiled with its optimizers."""
    return originals.of(args).build_gan(args)


def sample_images(gan, args, z, y=None):
    """Samples as --arch's original sampled them (BatchNorm's mode and batches)."""
    return originals.of(args).sample_images(gan, args, z, y)


def value_range(args):
    """The value range of --arch's grids (None: each stretched to its own min..max)."""
    return originals.of(args).value_range(args)


def load_run(checkpoint, data_dir=None):
    """(GAN with the run's newest generator weights, the run's options) of --checkpoint (a
    run's --output_dir or its checkpoint folder); `data_dir` replaces the saved one. The one
    loader of a trained run, as every package's program.load_run."""
    run = rundir.find_run(checkpoint, "dcgan_tf", parse_options([]))
    options = cli.replaced(run.options, data_dir=data_dir) if data_dir else run.options
    gan = build_gan(options)
    run.load(gan.generator, "generator")
    return gan, options
