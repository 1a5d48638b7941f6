"""Command line for O-GAN: `python -m ogan_keras.train --data 'data/lfw/*/*.jpg'`.

Ports the data loader, the Trainer callback and fit_generator call of o_gan_celeba_sm_4x4.py;
the script's module constants become flags with the same values.
"""
import math
import os

import tensorflow as tf

from common import cli, rundir, training
from common import latents
from common.cache import image_folder, with_random
from common.callbacks import LossHistory, SampleGif, SampleGrid
from common.evaluation import Evaluation, chosen_metrics, training_extractor
from ogan_keras.evaluate import scores
from ogan_keras.program import (INTERPOLATION_PAIRS, INTERPOLATION_STEPS, METRICS, NETWORK_OPTIONS,
                                RECONSTRUCTIONS, build_gan, fixed_real_images, image_spec,
                                interpolation_grid, parse_options, reconstruction_grid)


def with_latents(images, z_dim, seed, start=0):
    """Each batch with its own z ~ N(0, 1), as the script's generator yielded [X, Z]."""
    def draw(x, seed_pair):
        return x, latents.stateless((tf.shape(x)[0], z_dim), seed_pair)
    return with_random(images, draw, seed, start)


def callbacks(args, gan, folder, checkpoint, extractor=None):
    samples = os.path.join(args.output_dir, "samples")
    every = dict(every_steps=args.sample_every, first_step=1, initial_step=checkpoint.step,
                 summary_dir=args.output_dir)
    z_samples = latents.fixed((81, args.z_dim), args.seed)
    history = LossHistory(args.output_dir, every_steps=args.sample_every, title="O-GAN",
                          initial_step=checkpoint.step)
    evaluation = []
    if args.eval_every:
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
    args = parse_options(argv)
    # Before any other TensorFlow work: MultiWorkerMirroredStrategy must come first.
    strategy = cli.setup(args)
    extractor = training_extractor(args, chosen_metrics(args, METRICS))
    folder = image_folder(args.data, image_spec(args.img_dim), args.batch_size, seed=args.seed,
                          cache_mb=args.cache_mb)
    args = rundir.prepare_output_dir(args, NETWORK_OPTIONS)
    folder.cache_dir = os.path.join(args.output_dir, "cache")
    folder.check_readable(args.data)
    gan, checkpoint = training.start(args, strategy, build_gan, len(folder),
                                     every_steps=args.sample_every)
    print(f"encoder: {gan.encoder.count_params():,} parameters, "
          f"generator: {gan.generator.count_params():,}")
    if checkpoint.restore():
        print(f"resuming from {checkpoint.directory} at step {checkpoint.step}")
    steps = args.steps_per_epoch or math.ceil(folder.prepare().count / args.batch_size)
    # The script's img_generator: every pass reshuffles the list and ends with a short batch
    # of the images left over; an epoch (steps_per_epoch = ceil(N / batch_size)) is one pass.
    def stream(start):
        images = folder.dataset(args.batch_size, pass_batches=True, start=start)
        return with_latents(images, args.z_dim, args.seed, start)
    training.fit_resumable(gan, stream, checkpoint, args.epochs, steps_per_epoch=steps,
                           shuffle=False,
                           callbacks=callbacks(args, gan, folder, checkpoint, extractor))
    if folder.skipped:
        print(f"skipped {len(folder.skipped)} unreadable images of {len(folder)}")
    return gan


if __name__ == "__main__":
    main()
