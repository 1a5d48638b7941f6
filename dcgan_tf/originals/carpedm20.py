"""carpedm20 DCGAN-tensorflow (--arch dcgan): 64x64 from a center crop (celebA), and the
conditional MNIST model (y_dim 10) with --dataset mnist. See dcgan_tf/originals/__init__.py
for what each original module defines."""
import glob
import os
import re

import keras
import numpy as np
import tensorflow as tf

from common import cli
from common.cache import with_random
from common.callbacks import SampleGrid
from common.errors import UserError
from common.old_frameworks import TF1Adam, float32
from common.mnist import load_mnist
from common.original_files import dims, refuse_leftovers, require
from common.tf1_checkpoints import tf1_checkpoint, tf1_checkpoint_prefix
from dcgan_tf import model
from dcgan_tf.callbacks import ProgressLine, sample_latents
from dcgan_tf.gan import DCGAN, with_z

TITLE = "DCGAN"
DATASET = "celebA"  # the dataset folder an import defaults to (train's default)
FILE_SUFFIX = None  # its Saver files have no suffix of their own (import_original)
# Cadence: carpedm20's classic revision hard-coded a grid every 100 steps and a checkpoint
# every 500 (HEAD's --sample_freq/--ckpt_freq default to 200/200).
DEFAULTS = dict(epoch=25, learning_rate=0.0002, z_dist="uniform_signed", g_steps=2,
                input_height=108, output_height=64, input_fname_pattern="*.jpg",
                sample_freq=100, ckpt_freq=500)
OUTPUT_SIZE = None  # --output_height chooses
RESIZE = "bilinear"  # scipy's imresize (see dcgan_tf.program.image_spec)
GREYSCALE = True  # c_dim 1 when the first image is 2-D
PROGRESS_BAR = False
LOSSES_EVERY_SAMPLE = True  # the loss history's points: every --sample_freq steps


def derived_options(args):
    """--dataset mnist is the conditional model at MNIST's 28x28."""
    if args.dataset == "mnist":
        return dict(mnist=True, input_height=28, output_height=28)
    return dict(mnist=False)


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
    # tf.train.AdamOptimizer(learning_rate, beta1): its fused kernel, epsilon 1e-8 (Keras 3's
    # default is 1e-7), beta_2 a float32 constant.
    gan.compile(*[TF1Adam(args.learning_rate, beta_1=args.beta1, beta_2=float32(0.999),
                          epsilon=1e-8)
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


# ---- the original's own files (python -m dcgan_tf.import_original) ----

Y_DIM = 10  # carpedm20's conditional model is its MNIST model: ten one-hot classes


# carpedm20's model_dir: "{dataset}_{batch_size}_{output_height}_{output_width}"
MODEL_DIR = re.compile(r"^(?P<dataset>.+)_(?P<batch_size>\d+)_(?P<height>\d+)_(?P<width>\d+)$")


def dcgan_folder(path):
    """carpedm20's checkpoint folder of PATH: PATH itself, or the one model_dir under
    carpedm20's checkpoint/ folder."""
    if not os.path.isdir(path) or os.path.isfile(os.path.join(path, "checkpoint")):
        return path
    inner = sorted(name for name in os.listdir(path)
                   if os.path.isfile(os.path.join(path, name, "checkpoint")))
    if len(inner) > 1:
        raise UserError(f"{path} holds several checkpoints ({', '.join(inner)}); pass one")
    return os.path.join(path, inner[0]) if inner else path


def read_files(args):
    """(source, {name: array}, sizes, step) of carpedm20's checkpoint; sizes from the
    shapes and from the folder's name (carpedm20's model_dir)."""
    if not glob.glob(glob.escape(args.path) + "*"):
        raise UserError(f"{args.path} does not exist")
    prefix = tf1_checkpoint_prefix(dcgan_folder(args.path))
    arrays = tf1_checkpoint(prefix)
    named = MODEL_DIR.match(os.path.basename(os.path.dirname(os.path.abspath(prefix))))
    sizes = carpedm20_sizes(arrays, prefix, args)
    if named:
        sizes["batch_size"] = int(named["batch_size"])
        sizes.setdefault("dataset", named["dataset"])
        if "output_height" not in sizes:
            sizes["output_height"], sizes["output_width"] = (int(named["height"]),
                                                             int(named["width"]))
    if "output_height" not in sizes and args.output_height is None:
        raise UserError(f"cannot tell the output size of {prefix}: its folder is not "
                        "carpedm20's <dataset>_<batch>_<height>_<width>; pass "
                        "--output_height (and --dataset)")
    # carpedm20's load(): the counter is the last number of the checkpoint's name.
    numbers = re.findall(r"\d+", os.path.basename(prefix))
    return prefix, arrays, sizes, int(numbers[-1]) if numbers else 0


def carpedm20_sizes(arrays, source, args):
    """z_dim, gf_dim, df_dim, c_dim (and gfc_dim, dfc_dim of the conditional model) from
    the shapes; the conditional model is carpedm20's MNIST one (y_dim 10, 28x28)."""
    if "generator/g_h1_lin/Matrix" not in arrays:
        kernel = dims(arrays, "generator/g_h4/w", 4, source)  # [5, 5, c_dim, gf_dim]
        return dict(z_dim=dims(arrays, "generator/g_h0_lin/Matrix", 2, source)[0],
                    gf_dim=kernel[3], c_dim=kernel[2],
                    df_dim=dims(arrays, "discriminator/d_h0_conv/w", 4, source)[3])
    if args.dataset not in (None, "mnist"):
        raise UserError(f"{source} is carpedm20's conditional MNIST model (it has "
                        f"generator/g_h1_lin); drop --dataset {args.dataset}")
    z_rows, gfc_dim = dims(arrays, "generator/g_h0_lin/Matrix", 2, source)
    # max(..., 1): a file of other sizes then fails at its first tensor, not at a flag.
    return dict(z_dim=max(z_rows - Y_DIM, 1), gfc_dim=gfc_dim,
                gf_dim=max(dims(arrays, "generator/g_h2/w", 4, source)[2] // 2, 1),
                c_dim=dims(arrays, "generator/g_h3/w", 4, source)[2],
                df_dim=max(dims(arrays, "discriminator/d_h1_conv/w", 4, source)[3] - Y_DIM, 1),
                dfc_dim=dims(arrays, "discriminator/d_h2_lin/Matrix", 2, source)[1],
                dataset="mnist", output_height=28, output_width=28)


def carpedm20_pairs(layer, scope):
    """[(TF1 name, Keras variable)] of one of carpedm20's linear / conv2d / deconv2d /
    batch_norm scopes (TF1 kernels have Keras' layout)."""
    if isinstance(layer, keras.layers.BatchNormalization):
        names = (("beta", layer.beta), ("gamma", layer.gamma),
                 ("moving_mean", layer.moving_mean), ("moving_variance", layer.moving_variance))
    elif isinstance(layer, keras.layers.Dense):
        names = (("Matrix", layer.kernel), ("bias", layer.bias))
    else:
        names = (("w", layer.kernel), ("biases", layer.bias))
    return [(f"{scope}/{name}", variable) for name, variable in names]


def import_weights(importer, gan, arrays):
    used = set()
    for network_name, network in (("generator", gan.generator),
                                  ("discriminator", gan.discriminator)):
        for layer in (layer for layer in network.layers if layer.weights):
            scope = f"{network_name}/{layer.name}"
            pairs = carpedm20_pairs(layer, scope)
            importer.assign(scope, [(name, require(arrays, name, importer.source), variable)
                                    for name, variable in pairs])
            used.update(name for name, _ in pairs)
    # A later revision's Saver may also hold Adam slots: the optimizers start fresh anyway.
    refuse_leftovers(arrays, used, importer.source,
                     ignore=("/Adam", "beta1_power", "beta2_power"))

