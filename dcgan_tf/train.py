"""Command line for the DCGAN family: `python -m dcgan_tf.train --dataset celebA --crop --train`.

Ports carpedm20's main.py flags and DCGAN.train() loop (data, per-batch line, sample grids,
checkpoints, resume), plus `--arch anime` (Anime_GAN's DCGAN) and `--arch wgan` (wgan_keras.py).
"""
import math
import os
import time

import keras
import matplotlib
import tensorflow as tf

from common import cli, rundir
from common.cache import with_random
from common.callbacks import LossHistory, SampleGif, SampleGrid, StepCallback
from common.checkpoint import Checkpoint, fit_resumable
from common.errors import UserError
from common.evaluation import GENERATOR_METRICS, Evaluation, chosen_metrics, training_extractor
from dcgan_tf.evaluate import generator_scores
from dcgan_tf.gan import with_critic_noise, with_z
from dcgan_tf.run import (NETWORK_OPTIONS, build_gan, folder_data, mnist_data, networks,
                          parse_options, sample_images, sample_latents, value_range)
from dcgan_tf.visualize import visualize

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the Agg backend)


ROTATION_RANGE = 20.0  # wgan_keras.py's ImageDataGenerator(rotation_range=20), degrees


def keras2_rotation(images, degrees):
    """Keras 2.1.2's ImageDataGenerator rotation of each image by its own `degrees`: about the
    point (h / 2 + 0.5, w / 2 + 0.5) of pixel indices, where its transform_matrix_offset_center
    put the centre (half a pixel past the true centre (h - 1) / 2 on both axes, so a turn
    also shifts the image by up to 0.5 pixel at 20 degrees; Keras 3's RandomRotation turns
    about the true centre), nearest neighbour (apply_transform's order=0), nearest fill.
    Keras 2 mapped each output (row, col) to the input at R (out - c) + c with
    R = [[cos, -sin], [sin, cos]]; affine_transform's rows are in (x, y) = (col, row)."""
    height, width = images.shape[1], images.shape[2]
    cy, cx = height / 2 + 0.5, width / 2 + 0.5
    theta = tf.cast(degrees, tf.float32) * (math.pi / 180)
    cos, sin = tf.cos(theta), tf.sin(theta)
    zeros = tf.zeros_like(theta)
    transforms = tf.stack([cos, sin, cx - cos * cx - sin * cy,
                           -sin, cos, cy + sin * cx - cos * cy, zeros, zeros], axis=1)
    return keras.ops.image.affine_transform(images, transforms, interpolation="nearest",
                                            fill_mode="nearest")


def wgan_rotation(batch, seed):
    """draw(batch, seed) for common.cache.with_random: ImageDataGenerator(rotation_range=20),
    each image turned by U(-20, 20) degrees as Keras 2.1.2 turned it (keras2_rotation)."""
    degrees = tf.random.stateless_uniform((tf.shape(batch)[0],), seed, -ROTATION_RANGE,
                                          ROTATION_RANGE)
    return keras2_rotation(batch, degrees)


def steps_per_epoch(args, size, per_step):
    """carpedm20's batch_idxs = min(len(data), train_size) // batch_size."""
    if size < per_step:
        raise UserError(f"[!] Entire dataset size ({size}) is less than the configured "
                        f"batch_size ({per_step}) in {os.path.join(args.data_dir, args.dataset)}")
    steps = int(min(size, args.train_size) // per_step)
    if steps < 1:
        raise UserError(f"--train_size {args.train_size:g} leaves no full batch of "
                        f"{per_step} images")
    return steps


def training_data(args, folder):
    """(stream, steps per epoch, dataset size, sample inputs) from MNIST or from the
    ImageFolder (decoded into its cache here). stream(start) is the tf.data dataset from
    step `start` on (0 for a new run, the checkpoint's step for a resumed one). The sample
    inputs, (images, y or None), feed carpedm20's [Sample] evaluation; None for the anime
    DCGAN and the WGAN."""
    per_step = args.batch_size * (args.n_critic if args.arch == "wgan" else 1)
    if args.mnist:
        x, y = mnist_data(args)
        steps = steps_per_epoch(args, len(x), per_step)
        # The same batch_idxs slices, in the same order, every epoch (the remainder unused).
        used = steps * args.batch_size
        slices = tf.data.Dataset.from_tensor_slices((x[:used], y[:used]))
        slices = slices.batch(args.batch_size, drop_remainder=True).repeat()

        def stream(start):
            data = with_random(slices.skip(start % steps), with_z(args.z_dim, args.z_dist),
                               args.seed, start)
            return data.prefetch(tf.data.AUTOTUNE)
        return stream, steps, len(x), (x[:args.batch_size], y[:args.batch_size])
    steps = steps_per_epoch(args, len(folder), per_step)
    folder.check_readable(os.path.join(args.data_dir, args.dataset))
    if args.arch == "wgan":
        def stream(start):
            # flow_from_directory: a reshuffled pass over every image per epoch; n_critic
            # batches per step, stacked on axis 1 so a strategy splits the batch axis.
            first = start * args.n_critic
            data = with_random(folder.dataset(args.batch_size, start=first), wgan_rotation,
                               args.seed, first)
            data = data.batch(args.n_critic)
            data = data.map(lambda real: tf.transpose(real, [1, 0, 2, 3, 4]))
            data = with_random(data, with_critic_noise(args.z_dim), args.seed, start)
            return data.prefetch(tf.data.AUTOTUNE)
    else:
        def stream(start):
            # carpedm20 reshuffled the file list every epoch and used its first batch_idxs
            # batches; Anime_GAN's DataLoader likewise drew a fresh permutation per epoch.
            data = folder.dataset(args.batch_size, per_pass=steps * args.batch_size,
                                  start=start)
            data = with_random(data, with_z(args.z_dim, args.z_dist), args.seed, start)
            return data.prefetch(tf.data.AUTOTUNE)
    # carpedm20's [Sample] inputs: self.data[0:sample_num] of the list __init__ shuffled once,
    # before train() reshuffled it for the first epoch (the anime and WGAN scripts had none).
    sample_real = (folder.first(args.batch_size), None) if args.arch == "dcgan" else None
    return stream, steps, len(folder), sample_real


# ---- training ----

class ProgressLine(StepCallback):
    """The original's per-batch line with that batch's losses: carpedm20's "Epoch: [e/E]
    [idx/batches] time: ..." or the WGAN's "[step] Loss_D: ..." (its step counted from 0)."""

    def __init__(self, args, steps, initial_step):
        super().__init__(initial_step)
        self.args, self.steps, self.start = args, steps, time.time()

    def on_step(self, logs):
        if self.args.arch == "wgan":
            print("[%d] Loss_D: %f Loss_G: %f Loss_D_real: %f Loss_D_fake %f" % (
                self.step - 1, logs["Loss_D"], logs["Loss_G"], logs["Loss_D_real"],
                logs["Loss_D_fake"]), flush=True)
        else:
            print("Epoch: [%2d/%2d] [%4d/%4d] time: %4.4f, d_loss: %.8f, g_loss: %.8f" % (
                self.epoch_index, self.args.epoch, self.batch, self.steps,
                time.time() - self.start, logs["d_loss"], logs["g_loss"]), flush=True)


class ModelFiles(StepCallback):
    """Whole networks as .keras files on a schedule, overwritten: Anime_GAN's torch.save of
    saved/generate.t7 and discriminator.t7, the WGAN's netG.save("generate.h5")."""

    def __init__(self, directory, networks, **schedule):
        super().__init__(**schedule)
        self.directory, self.networks = directory, networks

    def on_due(self, logs):
        for name, network in self.networks.items():
            network.save(os.path.join(self.directory, f"{name}.keras"))


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


def sample_grid(gan, args, sample_real, initial_step):
    """carpedm20: train_{epoch:02d}_{idx:04d}.png from the fixed sample_z (MNIST: with the
    first batch's labels) after every --sample_freq-th step (the classic revision's
    `counter += 1` then `counter % 100 == 1`: steps 100, 200...), with the [Sample] line:
    d_loss and g_loss of the sample inputs (training_data) through the training-mode graph,
    which (tf.contrib batch norm updating in place) also moves the BatchNorm statistics, as
    the original's evaluation did. (The original ran its sampler in that same session run,
    unordered against those updates; here the grid follows them.)"""
    y = None if sample_real is None else sample_real[1]

    def generate(z):
        if sample_real is not None:
            d_loss, g_loss = gan.sample_losses(sample_real[0], y, z)
            print("[Sample] d_loss: %.8f, g_loss: %.8f" % (d_loss, g_loss))
        return sample_images(gan, args, z, y)

    return SampleGrid(generate, sample_latents(args),
                      os.path.join(args.output_dir, args.sample_dir),
                      "train_{epoch_index:02d}_{batch:04d}.png", every_steps=args.sample_freq,
                      value_range=value_range(args), initial_step=initial_step,
                      summary_dir=args.output_dir)


def training_callbacks(gan, args, steps, sample_real, checkpoint, extractor=None):
    """The original's outputs for --arch, after the checkpoint and the loss history, and the
    --eval-every scores."""
    samples = os.path.join(args.output_dir, args.sample_dir)
    every_sample_steps = dict(every_steps=args.sample_freq, initial_step=checkpoint.step,
                              first_step=1)
    history = LossHistory(args.output_dir, every_steps=None if args.arch == "anime"
                          else args.sample_freq, title=f"DCGAN ({args.arch})",
                          initial_step=checkpoint.step)
    callbacks = [checkpoint, history]
    if args.eval_every:
        metrics = chosen_metrics(args, GENERATOR_METRICS)
        callbacks.append(Evaluation(
            lambda: generator_scores(gan, args, extractor, metrics, args.num_samples,
                                     seed=args.seed), history, args.eval_every, checkpoint.step))
    if args.arch == "dcgan":
        callbacks += [ProgressLine(args, steps, checkpoint.step),
                      sample_grid(gan, args, sample_real, checkpoint.step)]
        frames = "train_*.png"
    else:
        files = {"generate": gan.generator, "discriminator": gan.discriminator}
        generate = lambda z: sample_images(gan, args, z)  # noqa: E731
        if args.arch == "anime":  # every --sample_freq epochs: saved/img/{epoch}.png
            schedule = dict(every_epochs=args.sample_freq)
            callbacks.append(EpochLossFiles(args.output_dir, checkpoint.epoch))
        else:  # every --sample_freq steps, step 0 included: saved/img/{step}.png
            schedule = every_sample_steps
            callbacks.append(ProgressLine(args, steps, checkpoint.step))
        callbacks += [SampleGrid(generate, sample_latents(args), samples,
                                 "{counter}.png" if args.arch == "wgan" else "{epoch_index}.png",
                                 value_range=None, summary_dir=args.output_dir, **schedule),
                      ModelFiles(args.output_dir, files, **schedule)]
        frames = "[0-9]*.png"
    return callbacks + [SampleGif(os.path.join(samples, frames),
                                  os.path.join(args.output_dir, "evolution.gif"))]


def load_checkpoint(checkpoint):
    """carpedm20's load() messages."""
    print(" [*] Reading checkpoints...")
    if checkpoint.restore():
        print(f" [*] Success to read {checkpoint.directory} at step {checkpoint.step}")
        print(" [*] Load SUCCESS")
        return True
    print(" [!] Load failed...")
    return False


@cli.exits_cleanly
def main(argv=None):
    args = parse_options(argv)
    # Before any other TensorFlow work: MultiWorkerMirroredStrategy must come first.
    strategy = cli.setup(args)
    extractor = training_extractor(args, chosen_metrics(args, GENERATOR_METRICS))
    folder = None if args.mnist else folder_data(args)
    size = len(folder) if folder else 70000
    if args.train:  # test mode needs no data: it loads the checkpoint
        rundir.prepare_output_dir(args, NETWORK_OPTIONS, args.checkpoint_dir)
        if folder:
            folder.cache_dir = os.path.join(args.output_dir, "cache")
        stream, steps, size, sample_real = training_data(args, folder)
    checkpoint_dir = os.path.join(args.output_dir, args.checkpoint_dir)
    print(cli.startup_line(args, strategy, size))
    with strategy.scope():
        gan = build_gan(args)
    optimizers = {"d_optimizer": gan.d_optimizer, "g_optimizer": gan.g_optimizer}
    checkpoint = Checkpoint(checkpoint_dir, networks(gan), optimizers,
                            every_steps=args.ckpt_freq)
    loaded = load_checkpoint(checkpoint)
    if args.train:
        # The anime DCGAN's tqdm bar becomes Keras' progress bar (that batch's losses).
        fit_resumable(gan, stream, checkpoint, args.epoch, steps_per_epoch=steps,
                      verbose=1 if args.arch == "anime" else 0, shuffle=False,
                      callbacks=training_callbacks(gan, args, steps, sample_real, checkpoint,
                                                   extractor))
        if folder is not None and folder.skipped:
            print(f"skipped {len(folder.skipped)} unreadable images of {size}")
    elif not loaded:
        raise UserError(f"[!] Train a model first, then run test mode (no checkpoint in "
                        f"{checkpoint_dir}; add --train)")
    if args.visualize:
        visualize(gan, args, option=1)
    return gan


if __name__ == "__main__":
    main()
