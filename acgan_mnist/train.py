"""Command line for the AC-GAN: `python -m acgan_mnist.train --epochs 50`.

Ports the bottom half of mnist_acgan.py: data, the epoch loop, the printed loss table, the
per-epoch plot and weight files. The per-batch work lives in acgan_mnist.gan.ACGAN.train_step.
"""
import math
import os

import keras
import numpy as np

from acgan_mnist.evaluate import generator_scores
from acgan_mnist.gan import TRACKED
from acgan_mnist.model import NUM_CLASSES
from acgan_mnist.program import NETWORK_OPTIONS, batches, build_gan, parse_options, scale
from common import cli, rundir, training
from common import latents
from common.callbacks import LossHistory, SampleGif, write_image
from common.errors import UserError
from common.evaluation import GENERATOR_METRICS, Evaluation, chosen_metrics, training_extractor
from common.grid import save_grid
from common.mnist import load_mnist

PLOT_ROWS = 40  # the example's num_rows: 40 latents per class column


class EpochReport(keras.callbacks.Callback):
    """The example's epoch tail: the loss table, the generated plot and the two weight files."""

    def __init__(self, gan, plot_latents, x_train, y_train, output_dir):
        super().__init__()
        self.gan, self.plot_latents = gan, plot_latents
        self.x_train, self.y_train = x_train, y_train
        self.output_dir = output_dir

    def on_epoch_end(self, epoch, logs=None):
        epoch += 1
        print(f"\nTesting for epoch {epoch}:")
        print(loss_table(logs or {}))
        for name, network in (("generator", self.gan.generator),
                              ("discriminator", self.gan.discriminator)):
            network.save_weights(os.path.join(
                self.output_dir, f"params_{name}_epoch_{epoch:03d}.weights.h5"))
        path = save_grid(self.plot(epoch), os.path.join(
            self.output_dir, f"plot_epoch_{epoch:03d}_generated.png"), size=(PLOT_ROWS, 21))
        write_image(self.output_dir, "plot_generated", epoch, path)

    def plot(self, epoch):
        """40 rows x 21 columns: classes 0..9 from the same 40 latents, a white column, then
        400 real training images of this epoch's slice sorted by label (the example's layout).
        The example drew fresh latents every epoch; they are fixed here so epochs compare."""
        noise = np.tile(self.plot_latents, (NUM_CLASSES, 1))
        labels = np.repeat(np.arange(NUM_CLASSES), PLOT_ROWS)[:, None]
        generated = self.gan.generator.predict([noise, labels], verbose=0)
        count = PLOT_ROWS * NUM_CLASSES
        start = ((epoch - 1) * count) % max(1, len(self.x_train) - count + 1)
        real_labels = self.y_train[start:start + count]
        real = scale(self.x_train[start:start + count][np.argsort(real_labels, kind="stable")])
        real = np.concatenate([real, -np.ones((count - len(real), 28, 28, 1), np.float32)])
        columns = np.concatenate([generated, np.ones((PLOT_ROWS, 28, 28, 1)), real])
        # columns holds 21 consecutive runs of 40; the grid is filled row by row.
        return columns.reshape(21, PLOT_ROWS, 28, 28, 1).transpose(1, 0, 2, 3, 4).reshape(
            -1, 28, 28, 1)


def loss_table(logs):
    """The example's table: component | loss | generation_loss | auxiliary_loss."""
    lines = ["{0:<22s} | {1:4s} | {2:15s} | {3:5s}".format("component", *TRACKED), "-" * 65]
    row = "{0:<22s} | {1:<4.2f} | {2:<15.4f} | {3:<5.4f}"
    for who, name in (("g", "generator"), ("d", "discriminator")):
        for prefix, split in (("", "train"), ("val_", "test")):
            values = [logs.get(f"{prefix}{who}_{t}", float("nan")) for t in TRACKED]
            lines.append(row.format(f"{name} ({split})", *values))
    return "\n".join(lines)


@cli.exits_cleanly
def main(argv=None):
    args = parse_options(argv)
    # Before any other TensorFlow work: MultiWorkerMirroredStrategy must come first.
    strategy = cli.setup(args)
    (x_train, y_train), (x_test, y_test) = load_mnist(args.data_dir)
    if x_train.shape[1:] != (28, 28):
        raise UserError(f"{args.data_dir}: AC-GAN needs 28x28 images, got "
                            f"{x_train.shape[1]}x{x_train.shape[2]}")
    metrics = chosen_metrics(args, GENERATOR_METRICS)
    extractor = training_extractor(args, metrics)
    args = rundir.prepare_output_dir(args, NETWORK_OPTIONS)
    gan, checkpoint = training.start(args, strategy, build_gan, len(x_train),
                                     every_steps=args.checkpoint_every)
    if checkpoint.restore():
        print(f"resuming from {checkpoint.directory} at epoch {checkpoint.epoch + 1} "
              f"(step {checkpoint.step})")
    steps = args.steps_per_epoch or math.ceil(len(x_train) / args.batch_size)
    report = EpochReport(gan, latents.fixed((PLOT_ROWS, args.latent_size), args.seed,
                                            "uniform_signed"),
                         x_train, y_train, args.output_dir)
    history = LossHistory(args.output_dir, title="AC-GAN", initial_step=checkpoint.step)
    gif = SampleGif(os.path.join(args.output_dir, "plot_epoch_*_generated.png"),
                    os.path.join(args.output_dir, "evolution.gif"))
    callbacks = [checkpoint, history, report, gif]
    if args.eval_every:
        callbacks.append(Evaluation(
            lambda: generator_scores(gan.generator, args.latent_size, x_train, extractor,
                                     metrics, args.num_samples, seed=args.seed),
            history, args.eval_every, checkpoint.step))
    images = scale(x_train)
    training.fit_resumable(gan, lambda start: batches(images, y_train, args.batch_size, True,
                                                      args.latent_size, args.seed, start),
                           checkpoint, args.epochs, steps_per_epoch=steps,
                           validation_data=batches(scale(x_test), y_test, args.batch_size,
                                                   False, args.latent_size, args.seed + 1),
                           shuffle=False, callbacks=callbacks)
    return gan


if __name__ == "__main__":
    main()
