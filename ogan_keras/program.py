"""The O-GAN program: its options (Options: the flags of `python -m ogan_keras.train`, the
script's module constants, saved as options.json), its image spec, the compiled model, a saved
run rebuilt (load_run), and the Trainer's sample, reconstruction and interpolation grids.

train, evaluate, generate and import_original all build on this module; none of them imports
another's command line.
"""
import numpy as np

from common import cli, rundir
from common.decode import ImageSpec
from common.evaluation import add_training_flags
from common.old_frameworks import Keras2RMSprop
from common.options import options_class
from ogan_keras.gan import OGAN
from ogan_keras.model import build_encoder, build_generator

RECONSTRUCTIONS = 32  # 8x8 grid: 32 real images, each beside its reconstruction
INTERPOLATION_PAIRS, INTERPOLATION_STEPS = 8, 8
METRICS = ("fid", "kid", "reconstruction_ratio")
NETWORK_OPTIONS = ["img_dim", "z_dim"]


def options_parser():
    """`python -m ogan_keras.train`'s flags with their defaults."""
    parser = cli.parser("ogan_keras", "O-GAN: an encoder as the discriminator "
                                      "(o_gan_celeba_sm_4x4.py).")
    parser.add_argument("--data", default="data/lfw/*/*.jpg",
                        help="glob pattern or folder of images (the blog uses LFW)")
    parser.add_argument("--img_dim", type=cli.power_of_two_from_32, default=128,
                        help="a power of two >= 32 (the script halves it down to 4x4)")
    parser.add_argument("--z_dim", type=cli.positive_int, default=128)
    parser.add_argument("--batch_size", type=cli.positive_int, default=64)
    parser.add_argument("--epochs", type=cli.positive_int, default=1000)
    parser.add_argument("--lr", type=cli.positive_float, default=1e-4, help="RMSprop learning rate")
    parser.add_argument("--sample_every", type=cli.positive_int, default=100,
                        help="steps between sample grids and saved weights (Trainer)")
    parser.add_argument("--steps_per_epoch", type=cli.positive_int, default=None,
                        help="default: ceil(images / batch_size), as the script")
    add_training_flags(parser, METRICS, "inception")
    cli.add_common_flags(parser, "ogan_keras")
    return parser


Options = options_class("Options", options_parser(), __name__)


def parse_options(argv=None):
    """The options of a run (typed and frozen)."""
    return Options.parse(argv)


def image_spec(img_dim):
    """The script's imread: RGB, bilinear resize of the uint8 image (so no scipy byte-scaling),
    x / 255 * 2 - 1."""
    return ImageSpec(channels=3, size=(img_dim, img_dim), method="bilinear", scale="signed")


def fixed_real_images(folder, count):
    """`count` real images chosen once (the script re-drew them at every sample; fixed here
    so reconstructions from different steps compare). Repeats when the folder is small."""
    images = folder.first(count)
    return np.resize(images, (count,) + images.shape[1:])


def reconstruction_grid(gan):
    """Even columns real images, odd columns their reconstructions G(0.9 * std(E(x)))."""
    def generate(images):
        pairs = np.stack([images, gan.reconstruct(images)], axis=1)
        return pairs.reshape((-1,) + images.shape[1:])
    return generate


def interpolation_grid(gan):
    """Added by the port (the repo never published its interpolation code): each row is a
    real image, G along the straight line between the two images' codes, the other image."""
    def generate(images):
        a, b = images[0::2], images[1::2]
        za, zb = gan.encode(a), gan.encode(b)
        rows = [a]
        for t in np.linspace(0.0, 1.0, INTERPOLATION_STEPS):
            rows.append(gan.generator.predict((1 - t) * za + t * zb, verbose=0))
        rows.append(b)
        return np.stack(rows, axis=1).reshape((-1,) + images.shape[1:])
    return generate


def build_gan(args):
    gan = OGAN(build_encoder(args.img_dim, args.z_dim), build_generator(args.img_dim, args.z_dim))
    # RMSprop(1e-4, 0.99) of Keras 2.2.4: epsilon 1e-7 outside the square root.
    gan.compile(optimizer=Keras2RMSprop(args.lr, rho=0.99, epsilon=1e-7),
                **cli.compile_options(args))
    return gan


def load_run(checkpoint):
    """(OGAN with the run's newest encoder and generator, the run's options) of --checkpoint (a
    run's --output-dir or its checkpoint folder): the one loader of a trained run, as every
    package's program.load_run."""
    run = rundir.find_run(checkpoint, "ogan_keras", parse_options([]))
    gan = build_gan(run.options)
    run.load(gan.encoder, "encoder")
    run.load(gan.generator, "generator")
    return gan, run.options
