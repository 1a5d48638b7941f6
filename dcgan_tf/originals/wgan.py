"""The Keras WGAN with weight clipping of the GAN notes post (wgan_keras.py, Keras 2.1.2;
--arch wgan): 96x96 faces from flow_from_directory with rotation_range=20, n_critic critic
batches a step, RMSprop. See dcgan_tf/originals/__init__.py for what each original module
defines."""
import math

import keras
import numpy as np
import tensorflow as tf

from common import cli
from common.cache import with_random
from common.errors import UserError
from common.keras2_files import keras2_weights
from common.old_frameworks import Keras2RMSprop, float32
from common.original_files import sibling_files
from dcgan_tf import model
from dcgan_tf.callbacks import ProgressLine, grids_and_model_files
from dcgan_tf.gan import WGAN, with_critic_noise

TITLE = "WGAN"
DATASET = "faces"  # the originals' folder
FILE_SUFFIX = ".h5"  # Keras 2 model.save() files
# wgan_keras.py saved every 1,000 steps, step 0 included; flow_from_directory("faces/") reads
# the images of faces/'s subfolders.
DEFAULTS = dict(epoch=1000, learning_rate=0.00005, z_dist="normal", g_steps=1,
                input_height=96, output_height=96, input_fname_pattern="*/*.jpg",
                sample_freq=1000, ckpt_freq=1000)
OUTPUT_SIZE = 96
RESIZE = "nearest"  # Keras' load_img
GREYSCALE = False  # load_img made every image RGB
PROGRESS_BAR = False
LOSSES_EVERY_SAMPLE = True
ROTATION_RANGE = 20.0  # ImageDataGenerator(rotation_range=20), degrees
KERAS2_PREDICT_BATCH = 32  # Keras 2's Model.predict batch_size default


def derived_options(args):
    return dict(mnist=False)


def images_per_step(args):
    return args.batch_size * args.n_critic


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


def folder_stream(args, folder, steps):
    """stream(start): flow_from_directory, a reshuffled pass over every image per epoch;
    n_critic batches per step, stacked on axis 1 so a strategy splits the batch axis."""
    def stream(start):
        first = start * args.n_critic
        data = with_random(folder.dataset(args.batch_size, start=first), wgan_rotation,
                           args.seed, first)
        data = data.batch(args.n_critic)
        data = data.map(lambda real: tf.transpose(real, [1, 0, 2, 3, 4]))
        data = with_random(data, with_critic_noise(args.z_dim), args.seed, start)
        return data.prefetch(tf.data.AUTOTUNE)
    return stream


def sample_real(args, folder):
    return None  # no [Sample] evaluation


def build_gan(args):
    gan = WGAN(model.build_wgan_generator(args.z_dim, 16 * args.gf_dim),
               model.build_wgan_critic(args.df_dim), args.z_dim, args.n_critic, args.clamp)
    # Keras 2.1.2's RMSprop: rho 0.9, epsilon 1e-8 outside the square root; rho was a
    # float32 K.variable, so 1 - rho was 0.10000002 (float32 as for TF1's beta_2).
    gan.compile(*[Keras2RMSprop(args.learning_rate, rho=float32(0.9), epsilon=1e-8)
                  for _ in range(2)], **cli.compile_options(args))
    return gan


def sample_images(gan, args, z, y=None):
    """wgan_keras.py built BatchNorm with training=1, so its samples used batch statistics:
    those of each 32 latents, the batches netG.predict split them into."""
    return np.concatenate([gan.generator(z[i:i + KERAS2_PREDICT_BATCH], training=True)
                           for i in range(0, len(z), KERAS2_PREDICT_BATCH)])


def value_range(args):
    """None: the grids went through scipy.misc.imsave on floats, which stretched each grid to
    its own min..max."""
    return None


def callbacks(gan, args, steps, sample_inputs, checkpoint):
    """(the per-step line, saved/img/{step}.png and the generator every --sample_freq steps,
    step 0 included, the grids' file pattern for the GIF)."""
    def line(progress, logs):  # its step counted from 0
        return "[%d] Loss_D: %f Loss_G: %f Loss_D_real: %f Loss_D_fake %f" % (
            progress.step - 1, logs["Loss_D"], logs["Loss_G"], logs["Loss_D_real"],
            logs["Loss_D_fake"])
    return [ProgressLine(line, steps, checkpoint.step),
            *grids_and_model_files(gan, args, lambda z: sample_images(gan, args, z),
                                   "{counter}.png", every_steps=args.sample_freq,
                                   initial_step=checkpoint.step, first_step=1)
            ], "[0-9]*.png"


# ---- the original's own files (python -m dcgan_tf.import_original) ----

def first_kernel(layers, path):
    """The shape of the first weight of a Keras 2 file's layers: a convolution kernel."""
    if not layers:
        raise UserError(f"{path} holds no weights; is it wgan_keras.py's file?")
    layer, ((name, array), *_) = layers[0]
    if array.ndim != 4:
        raise UserError(f"{path}: {layer}/{name} has shape {array.shape}, not a convolution "
                        "kernel's; is it wgan_keras.py's file?")
    return array.shape


def read_files(args):
    folder, files = sibling_files(args.path, ("generate.h5", "discriminator.h5"),
                                  "the folder of wgan_keras.py's generate.h5 and discriminator.h5")
    layers = {name: [(layer, weights) for layer, weights in keras2_weights(path) if weights]
              for name, path in files.items()}
    # Keras 2 Conv2DTranspose kernels are (h, w, filters, inputs): ngf = 16 x gf_dim.
    _, _, ngf, z_dim = first_kernel(layers["generate.h5"], files["generate.h5"])
    ndf = first_kernel(layers["discriminator.h5"], files["discriminator.h5"])[3]
    sizes = dict(z_dim=z_dim, gf_dim=max(ngf // 16, 1), df_dim=ndf, c_dim=3)
    return folder, (files, layers), sizes, 0


KERAS2_WEIGHTS = ("kernel", "gamma", "beta", "moving_mean", "moving_variance")


def keras2_pairs(file_layer, layer, source):
    """[(file name, array, Keras variable)] of one Keras 2 layer and the port's layer in its
    place: the same weights by name (kernel, or BN's four), the same layout."""
    layer_name, weights = file_layer
    found = {name.rsplit("/", 1)[-1].split(":")[0]: (f"{layer_name}/{name}", array)
             for name, array in weights}
    wanted = {name: getattr(layer, name) for name in KERAS2_WEIGHTS
              if getattr(layer, name, None) is not None}
    if set(found) != set(wanted):
        raise UserError(f"{source} holds {layer_name} with weights {', '.join(found)} where "
                        f"wgan_keras.py has a {type(layer).__name__} ({', '.join(wanted)}); "
                        "is it that script's file?")
    return [(*found[name], variable) for name, variable in wanted.items()]


def import_weights(importer, gan, files_and_layers):
    files, layers = files_and_layers
    for file_name, network in (("generate.h5", gan.generator),
                               ("discriminator.h5", gan.critic)):
        source = files[file_name]
        ported = [layer for layer in network.layers if layer.weights]
        for file_layer, layer in zip(layers[file_name], ported):
            importer.assign(f"{file_name} {file_layer[0]}",
                            keras2_pairs(file_layer, layer, source), source)
        if len(layers[file_name]) != len(ported):
            raise UserError(f"{source} has {len(layers[file_name])} layers with "
                            f"weights, wgan_keras.py's {network.name} {len(ported)}; is it "
                            "that script's file?")

