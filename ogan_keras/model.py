"""O-GAN's encoder and self-modulated-BN generator, as o_gan_celeba_sm_4x4.py builds them.

Every BatchNormalization updates its moving statistics as Keras 2.2.4 did (zero-debiased;
common.old_frameworks), so inference-mode grids are right from the first step, as in the original.
The encoder's BatchNormalizations keep one debiased average per encoder call of a train step
(ENCODER_CALLS), as Keras 2 built them, and hold the last call's: the fake images' statistics.

SelfModulatedBatchNormalization is a block of plain layers (BN, four Dense, ScaleShift) so that
model.summary() lines up with the table the blog prints.
"""
import math

import keras
from keras import layers, ops
from keras.initializers import RandomNormal

from common.errors import UserError
from common.gan import full_precision
from common.old_frameworks import keras2_batch_norm
from common.transposed_conv import conv_transpose

F_SIZE = 4  # the smallest feature map, 4x4 at every img_dim
# The script's train model calls the encoder on these batches, in this order, every step.
ENCODER_CALLS = ("real", "fake", "fake_ng")


@keras.saving.register_keras_serializable(package="ogan_keras")
class ScaleShift(layers.Layer):
    """[h, beta, gamma] -> h * (1 + gamma) + beta, beta/gamma broadcast over H and W."""

    def call(self, inputs):
        h, beta, gamma = inputs
        for _ in range(len(h.shape) - 2):
            beta, gamma = ops.expand_dims(beta, 1), ops.expand_dims(gamma, 1)
        return h * (gamma + 1.0) + beta

    def compute_output_shape(self, input_shape):
        return input_shape[0]


def self_modulated_batch_norm(h, z):
    """BN without centre/scale whose beta and gamma are two-layer MLPs of the generator's z
    (Keras-default glorot-uniform Dense layers, as the original)."""
    channels = h.shape[-1]
    z_dim = z.shape[-1]
    h = keras2_batch_norm(center=False, scale=False)(h)
    beta = layers.Dense(channels)(layers.Dense(z_dim, activation="relu")(z))
    gamma = layers.Dense(channels)(layers.Dense(z_dim, activation="relu")(z))
    return ScaleShift()([h, beta, gamma])


def depth_and_width(img_dim):
    """(num_layers, max_num_channels) for a power-of-two img_dim >= 32."""
    if img_dim < 32 or img_dim & (img_dim - 1):
        raise UserError(f"--img_dim {img_dim} is not supported: O-GAN needs a power of two "
                        ">= 32 (32, 64, 128, 256)")
    return int(math.log2(img_dim)) - 3, img_dim * 8


def init():
    return RandomNormal(0.0, 0.02)


def build_encoder(img_dim=128, z_dim=128):
    """The "discriminator": img_dim^2 x 3 -> z_dim. At 128: 13,251,136 parameters (3,840 not
    trainable). 4x4 stride-2 convs, BN (Keras defaults) from the second, LeakyReLU 0.2."""
    num_layers, max_channels = depth_and_width(img_dim)
    x_in = keras.Input((img_dim, img_dim, 3))
    x = layers.Conv2D(max_channels // 2 ** num_layers, 4, strides=2, padding="same",
                      kernel_initializer=init())(x_in)
    x = layers.LeakyReLU(negative_slope=0.2)(x)
    for i in range(num_layers):
        x = layers.Conv2D(max_channels // 2 ** (num_layers - i - 1), 4, strides=2,
                          padding="same", kernel_initializer=init())(x)
        x = keras2_batch_norm(debias_streams=len(ENCODER_CALLS))(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(z_dim, kernel_initializer=init(), dtype=full_precision())(x)
    return keras.Model(x_in, x, name="encoder")


def build_generator(img_dim=128, z_dim=128):
    """z_dim -> img_dim^2 x 3 in [-1, 1]. At 128: 13,939,651 parameters (3,968 not trainable).
    Dense to 4x4xmax, then 4x4 stride-2 transposed convs, each followed by SMBN + ReLU."""
    num_layers, max_channels = depth_and_width(img_dim)
    z_in = keras.Input((z_dim,))
    h = layers.Dense(F_SIZE ** 2 * max_channels, kernel_initializer=init())(z_in)
    h = layers.Reshape((F_SIZE, F_SIZE, max_channels))(h)
    h = layers.Activation("relu")(self_modulated_batch_norm(h, z_in))
    for i in range(num_layers):
        h = conv_transpose(h, max_channels // 2 ** (i + 1), 4, strides=2, padding="same",
                           kernel_initializer=init())
        h = layers.Activation("relu")(self_modulated_batch_norm(h, z_in))
    h = conv_transpose(h, 3, 4, strides=2, padding="same", kernel_initializer=init())
    return keras.Model(z_in, layers.Activation("tanh", dtype=full_precision())(h), name="generator")
