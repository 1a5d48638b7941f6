"""Command line for O-GAN: `python -m ogan_keras.train --data 'data/lfw/*/*.jpg'`.

Ports the data loader, the Trainer callback and fit_generator call of o_gan_celeba_sm_4x4.py;
the script's module constants become flags with the same values.
"""
import math
import os

import numpy as np
import tensorflow as tf

from common import cli
from common.callbacks import LossHistory, SampleGif, SampleGrid, fixed_latents
from common.checkpoint import Checkpoint, fit_resumable
from common.data import ImageSpec, image_folder, with_random
from common.evaluation import Evaluation, add_training_flags, chosen_metrics, training_extractor
from common.legacy import Keras2RMSprop
from ogan_keras.gan import OGAN
from ogan_keras.model import build_encoder, build_generator, sizes

RECONSTRUCTIONS = 32  # 8x8 grid: 32 real images, each beside its reconstruction
INTERPOLATION_PAIRS, INTERPOLATION_STEPS = 8, 8
METRICS = ("fid", "kid", "reconstruction_ratio")


def parse_args(argv):
    parser = cli.parser("ogan_keras", "O-GAN: an encoder as the discriminator "
                                      "(o_gan_celeba_sm_4x4.py).")
    parser.add_argument("--data", default="data/lfw/*/*.jpg",
                        help="glob pattern or folder of images (the blog uses LFW)")
    parser.add_argument("--img_dim", type=int, default=128, help="power of two >= 32")
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
    return parser.parse_args(argv)


def image_spec(img_dim):
    """The script's imread: RGB, bilinear resize of the uint8 image (so no scipy byte-scaling),
    x / 255 * 2 - 1."""
    return ImageSpec(channels=3, size=(img_dim, img_dim), method="bilinear", scale="signed")


def with_latents(images, z_dim, seed):
    """Each batch with its own z ~ N(0, 1), as the script's generator yielded [X, Z]."""
    def draw(x, seed_pair):
        return x, tf.random.stateless_normal((tf.shape(x)[0], z_dim), seed=seed_pair)
    return with_random(images, draw, seed)


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


def callbacks(args, gan, folder, checkpoint, extractor=None):
    samples = os.path.join(args.output_dir, "samples")
    every = dict(every_steps=args.sample_every, first_step=1, initial_step=checkpoint.step,
                 summary_dir=args.output_dir)
    z_samples = fixed_latents((81, args.z_dim), args.seed)
    history = LossHistory(args.output_dir, every_steps=args.sample_every, title="O-GAN",
                          initial_step=checkpoint.step)
    evaluation = []
    if args.eval_every:
        from ogan_keras.evaluate import scores  # evaluate builds on this module
        metrics = chosen_metrics(args, METRICS)
        evaluation.append(Evaluation(
            lambda: scores(gan, args.data, args.img_dim, extractor, metrics, args.num_samples,
                           seed=args.seed), history, args.eval_every, checkpoint.step))
    return [
        checkpoint,
        SampleGrid(lambda z: gan.generator.predict(z, verbose=0), z_samples, samples,
                   "test_{counter}.png", size=(9, 9), **every),
        SampleGrid(reconstruction_grid(gan), fixed_real_images(folder, RECONSTRUCTIONS),
                   samples, "test_ae_{counter}.png", size=(8, 8), **every),
        SampleGrid(interpolation_grid(gan), fixed_real_images(folder, 2 * INTERPOLATION_PAIRS),
                   samples, "test_interp_{counter}.png",
                   size=(INTERPOLATION_PAIRS, INTERPOLATION_STEPS + 2), **every),
        history,
        *evaluation,
        SampleGif(os.path.join(samples, "test_[0-9]*.png"),
                  os.path.join(args.output_dir, "evolution.gif")),
    ]


@cli.exits_cleanly
def main(argv=None):
    args = parse_args(argv)
    # Before any other TensorFlow work: MultiWorkerMirroredStrategy must come first.
    strategy = cli.setup(args)
    sizes(args.img_dim)
    extractor = training_extractor(args, chosen_metrics(args, METRICS))
    folder = image_folder(args.data, image_spec(args.img_dim), args.batch_size, seed=args.seed,
                          cache_mb=args.cache_mb)
    cli.prepare_output_dir(args, ["img_dim", "z_dim"])
    folder.cache_dir = os.path.join(args.output_dir, "cache")
    folder.check_readable(args.data)
    data = folder.dataset(args.batch_size)
    print(cli.startup_line(args, strategy, len(folder)))
    with strategy.scope():
        gan = build_gan(args)
    print(f"encoder: {gan.encoder.count_params():,} parameters, "
          f"generator: {gan.generator.count_params():,}")
    checkpoint = Checkpoint(os.path.join(args.output_dir, "checkpoints"),
                            {"encoder": gan.encoder, "generator": gan.generator},
                            {"optimizer": gan.optimizer}, every_steps=args.sample_every)
    if checkpoint.restore():
        print(f"resuming from {checkpoint.directory} at step {checkpoint.step}")
    steps = args.steps_per_epoch or math.ceil(len(folder) / args.batch_size)
    fit_resumable(gan, with_latents(data, args.z_dim, args.seed), checkpoint, args.epochs,
                  steps_per_epoch=steps, shuffle=False,
                  callbacks=callbacks(args, gan, folder, checkpoint, extractor))
    if folder.skipped:
        print(f"skipped {len(folder.skipped)} unreadable images of {len(folder)}")
    return gan


if __name__ == "__main__":
    main()
