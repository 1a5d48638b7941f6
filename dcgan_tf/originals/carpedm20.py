"""carpedm20 DCGAN-tensorflow (--arch dcgan): 64x64 from a center crop (celebA), and the
conditional MNIST model (y_dim 10) with --dataset mnist. See dcgan_tf/originals/__init__.py
for what each original module defines."""
import os

import keras
import numpy as np
import tensorflow as tf

from common import cli
from common.cache import with_random
from common.callbacks import SampleGrid
from common.legacy import float32
from common.mnist import load_mnist
from dcgan_tf import model
from dcgan_tf.callbacks import ProgressLine, sample_latents
from dcgan_tf.gan import DCGAN, with_z

TITLE = "DCGAN"
# Cadence: carpedm20's classic revision hard-coded a grid every 100 steps and a checkpoint
# every 500 (HEAD's --sample_freq/--ckpt_freq default to 200/200).
DEFAULTS = dict(epoch=25, learning_rate=0.0002, z_dist="uniform_signed", g_steps=2,
                input_height=108, output_height=64, input_fname_pattern="*.jpg",
                sample_freq=100, ckpt_freq=500)
OUTPUT_SIZE = None  # --output_height chooses
RESIZE = "bilinear"  # scipy's imresize (see dcgan_tf.run.image_spec)
GREYSCALE = True  # c_dim 1 when the first image is 2-D
PROGRESS_BAR = False
LOSSES_EVERY_SAMPLE = True  # the loss history's points: every --sample_freq steps


def resolve(args):
    """--dataset mnist is the conditional model at MNIST's 28x28."""
    args.mnist = args.dataset == "mnist"
    if args.mnist:
        args.input_height = args.output_height = 28


def images_per_step(args):
    return args.batch_size


def mnist_data(args):
    """carpedm20's load_mnist: train + test (70,000), shuffled once with seed 547, [0, 1],
    one-hot y; batches in that fixed order every epoch."""
    (x_train, y_train), (x_test, y_test) = load_mnist(os.path.join(args.data_dir, "mnist"))
    x = np.concatenate([x_train, x_test]).astype(np.float32)[..., None] / 255.0
    y = np.concatenate([y_train, y_test]).astype(np.int64)
    order = np.random.RandomState(547).permutation(len(x))
    x, y = x[order], np.eye(10, dtype=np.float32)[y[order]]
    return x, y


def mnist_stream(args, x, y, steps):
    """stream(start): the same batch_idxs slices, in the same order, every epoch (the
    remainder unused)."""
    used = steps * args.batch_size
    slices = tf.data.Dataset.from_tensor_slices((x[:used], y[:used]))
    slices = slices.batch(args.batch_size, drop_remainder=True).repeat()

    def stream(start):
        data = with_random(slices.skip(start % steps), with_z(args.z_dim, args.z_dist),
                           args.seed, start)
        return data.prefetch(tf.data.AUTOTUNE)
    return stream


def folder_stream(args, folder, steps):
    """stream(start): carpedm20 reshuffled the file list every epoch and used its first
    batch_idxs batches."""
    def stream(start):
        data = folder.dataset(args.batch_size, per_pass=steps * args.batch_size, start=start)
        data = with_random(data, with_z(args.z_dim, args.z_dist), args.seed, start)
        return data.prefetch(tf.data.AUTOTUNE)
    return stream


def sample_real(args, folder):
    """carpedm20's [Sample] inputs: self.data[0:sample_num] of the list __init__ shuffled
    once, before train() reshuffled it for the first epoch."""
    return folder.first(args.batch_size), None


def build_gan(args):
    y_dim = 10 if args.mnist else None
    generator = model.build_generator(args.z_dim, args.gf_dim, args.gfc_dim, args.c_dim,
                                      y_dim, args.output_height, args.output_width)
    discriminator = model.build_discriminator(args.df_dim, args.dfc_dim, args.c_dim, y_dim,
                                              args.output_height, args.output_width)
    # carpedm20 printed the losses re-evaluated after each step's updates (reevaluate).
    gan = DCGAN(generator, discriminator, args.z_dim, conditional=args.mnist,
                g_steps=args.g_steps, z_dist=args.z_dist, from_logits=True, reevaluate=True)
    # TF1 Adam steps by lr_t * m / (sqrt(v) + 1e-8), Keras 3's formula with epsilon 1e-8
    # (its default is 1e-7); TF1 held beta_2 as a float32 constant.
    gan.compile(*[keras.optimizers.Adam(args.learning_rate, beta_1=args.beta1,
                                        beta_2=float32(0.999), epsilon=1e-8)
                  for _ in range(2)], **cli.compile_options(args))
    return gan


def sample_images(gan, args, z, y=None):
    """carpedm20's sampler runs BatchNorm on moving statistics."""
    return gan.generate(z, y, training=False).numpy()


def value_range(args):
    """Grids of [0, 1] MNIST or [-1, 1] images."""
    return (0.0, 1.0) if args.mnist else (-1.0, 1.0)


def sample_grid(gan, args, sample_inputs, initial_step):
    """carpedm20: train_{epoch:02d}_{idx:04d}.png from the fixed sample_z (MNIST: with the
    first batch's labels) after every --sample_freq-th step (the classic revision's
    `counter += 1` then `counter % 100 == 1`: steps 100, 200...), with the [Sample] line:
    d_loss and g_loss of the sample inputs through the training-mode graph, which (tf.contrib
    batch norm updating in place) also moves the BatchNorm statistics, as the original's
    evaluation did. (The original ran its sampler in that same session run, unordered against
    those updates; here the grid follows them.)"""
    images, y = sample_inputs

    def generate(z):
        d_loss, g_loss = gan.sample_losses(images, y, z)
        print("[Sample] d_loss: %.8f, g_loss: %.8f" % (d_loss, g_loss))
        return sample_images(gan, args, z, y)

    return SampleGrid(generate, sample_latents(args),
                      os.path.join(args.output_dir, args.sample_dir),
                      "train_{epoch_index:02d}_{batch:04d}.png", every_steps=args.sample_freq,
                      value_range=value_range(args), initial_step=initial_step,
                      summary_dir=args.output_dir)


def callbacks(gan, args, steps, sample_inputs, checkpoint):
    """(the per-batch line and the sample grids with their [Sample] line, the grids' file
    pattern for the GIF)."""
    def line(progress, logs):
        return "Epoch: [%2d/%2d] [%4d/%4d] time: %4.4f, d_loss: %.8f, g_loss: %.8f" % (
            progress.epoch_index, args.epoch, progress.batch, progress.steps,
            progress.elapsed(), logs["d_loss"], logs["g_loss"])
    return [ProgressLine(line, steps, checkpoint.step),
            sample_grid(gan, args, sample_inputs, checkpoint.step)], "train_*.png"
