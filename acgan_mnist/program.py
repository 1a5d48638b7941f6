"""The AC-GAN program: its options (Options: the flags of `python -m acgan_mnist.train`, saved
as options.json), the data as mnist_acgan.py fed it, the compiled GAN, a saved run rebuilt
(load_run) and sampling.

train, evaluate, generate and import_original all build on this module; none of them imports
another's command line.
"""
import math

import keras
import numpy as np
import tensorflow as tf

from acgan_mnist.gan import ACGAN, random_inputs
from acgan_mnist.model import NUM_CLASSES, build_discriminator, build_generator
from common import cli, latents, rundir
from common.cache import with_random
from common.evaluation import GENERATOR_METRICS, add_training_flags
from common.old_frameworks import float32
from common.options import options_class

NETWORK_OPTIONS = ["latent_size"]


def options_parser():
    """`python -m acgan_mnist.train`'s flags with their defaults."""
    parser = cli.parser("acgan_mnist", "AC-GAN on MNIST (Keras examples/mnist_acgan.py).")
    parser.add_argument("--epochs", type=cli.positive_int, default=100)
    parser.add_argument("--batch-size", type=cli.positive_int, default=100)
    parser.add_argument("--latent-size", type=cli.positive_int, default=100)
    parser.add_argument("--lr", type=cli.positive_float, default=0.0002,
                        help="Adam learning rate (both)")
    parser.add_argument("--beta-1", type=cli.unit_fraction, default=0.5, help="Adam beta_1 (both)")
    parser.add_argument("--data-dir", default=None,
                        help="IDX directory (raw or .gz; Fashion-MNIST works) or .npz; "
                             "default: keras.datasets.mnist")
    parser.add_argument("--steps-per-epoch", type=cli.positive_int, default=None,
                        help="batches per epoch (default: the whole training set)")
    parser.add_argument("--checkpoint-every", type=cli.positive_int, default=None,
                        help="also save a checkpoint every this many steps (default: at "
                             "each epoch's end only, as the example saved its weights)")
    add_training_flags(parser, GENERATOR_METRICS, "classifier")
    cli.add_common_flags(parser, "acgan_mnist", seed=1337)
    return parser


Options = options_class("Options", options_parser(), __name__)


def parse_options(argv=None):
    """The options of a run (typed and frozen)."""
    return Options.parse(argv)


def scale(images):
    """uint8 N x 28 x 28 -> float32 N x 28 x 28 x 1 in [-1, 1], (x - 127.5) / 127.5."""
    return ((images.astype(np.float32) - 127.5) / 127.5)[..., None]


def batches(images, labels, batch_size, repeat, latent_size, seed, start=0):
    """In order, unshuffled, last batch kept short: the example's index slicing; each batch
    with its train step's noise and sampled classes (random_inputs). A repeated stream
    starts at its batch `start` (where a resumed run stands)."""
    data = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
    data = data.batch(batch_size)
    if repeat:
        data = data.repeat().skip(start % math.ceil(len(images) / batch_size))
    data = with_random(data, random_inputs(latent_size), seed, start)
    return data.prefetch(tf.data.AUTOTUNE)


def build_gan(args):
    """The ACGAN of a run's options, compiled with the example's Adam for both players."""
    gan = ACGAN(build_generator(args.latent_size), build_discriminator(), args.latent_size)
    # Keras 2.2.4's Adam held beta_2 in a float32 variable (common.old_frameworks.float32)
    gan.compile(d_optimizer=keras.optimizers.Adam(args.lr, beta_1=args.beta_1,
                                                  beta_2=float32(0.999)),
                g_optimizer=keras.optimizers.Adam(args.lr, beta_1=args.beta_1,
                                                  beta_2=float32(0.999)),
                **cli.compile_options(args))
    return gan


def load_run(checkpoint):
    """(ACGAN with the run's newest generator, the run's options) of --checkpoint (a run's
    --output-dir or its checkpoint folder): the one loader of a trained run, as every
    package's program.load_run."""
    run = rundir.find_run(checkpoint, "acgan_mnist", parse_options([]))
    gan = build_gan(run.options)
    run.load(gan.generator, "generator")
    return gan, run.options


def sample(generator, latent_size):
    """generate(count, rng) -> (images, labels): the example's U(-1, 1) noise and uniform
    classes through the inference-mode generator (its generator.predict)."""
    def generate(count, rng):
        noise = latents.draw(rng, (count, latent_size), "uniform_signed")
        labels = rng.integers(0, NUM_CLASSES, (count, 1))
        return np.asarray(generator([noise, labels], training=False)), labels[:, 0]
    return generate
