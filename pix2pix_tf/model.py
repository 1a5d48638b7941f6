"""pix2pix.py's create_generator (U-Net) and create_discriminator (70x70 PatchGAN).

Names follow the original's variable scopes: encoder_1..encoder_8, decoder_8..decoder_1,
layer_1..layer_5, so summary() reads like the TF graph.
"""
import keras
from keras import layers, ops
from keras.initializers import RandomNormal

from common.gan import full_precision
from common.old_frameworks import synchronized_by_default
from common.transposed_conv import conv_transpose

CROP_SIZE = 256


@keras.saving.register_keras_serializable(package="pix2pix_tf")
class BatchStatsNormalization(layers.BatchNormalization):
    """pix2pix's batchnorm: tf.layers.batch_normalization(training=True) everywhere, also at
    test time (the paper's choice; with batch 1 it acts as instance normalisation). Its
    moving mean and variance stay at 0 and 1, as in the original's checkpoints: pix2pix.py
    never ran the update ops tf.layers put in UPDATE_OPS, and nothing reads them."""

    def __init__(self, **kwargs):
        super().__init__(**synchronized_by_default(kwargs))

    def call(self, inputs, training=None, mask=None):
        x = ops.cast(inputs, keras.backend.result_type(inputs.dtype, "float32"))
        mean, variance = self._moments(x, mask)
        outputs = ops.batch_normalization(x, mean, variance, axis=self.axis,
                                          offset=ops.cast(self.beta, x.dtype),
                                          scale=ops.cast(self.gamma, x.dtype),
                                          epsilon=self.epsilon)
        return ops.cast(outputs, self.compute_dtype)


@keras.saving.register_keras_serializable(package="pix2pix_tf")
class AlwaysOnDropout(layers.Dropout):
    """tf.nn.dropout in the generator has no training switch: noise at test time too, the
    paper's only source of randomness (PR #23 to turn it off was declined)."""

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)


def init():
    return RandomNormal(0.0, 0.02)


def batchnorm(name):
    # tf.layers momentum=0.1 is Keras momentum=0.1; gamma ~ N(1, 0.02). epsilon 1e-5 as asked,
    # raised to 1.001e-5 as TF's fused kernel, which tf.layers used for these 4-D inputs, raised
    # it (tf.nn.fused_batch_norm's minimum; measured beside pix2pix.py on TF 1.15).
    return BatchStatsNormalization(epsilon=1.001e-5, momentum=0.1,
                                   gamma_initializer=RandomNormal(1.0, 0.02), name=name)


def gen_conv(filters, name, separable):
    if separable:
        return layers.SeparableConv2D(filters, 4, strides=2, padding="same",
                                      depthwise_initializer=init(),
                                      pointwise_initializer=init(), name=name)
    return layers.Conv2D(filters, 4, strides=2, padding="same", kernel_initializer=init(),
                         name=name)


def gen_deconv(x, filters, name, separable):
    if separable:
        # the original's separable "deconv": 2x nearest upsample, stride-1 separable conv
        x = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_upsample")(x)
        return layers.SeparableConv2D(filters, 4, strides=1, padding="same",
                                      depthwise_initializer=init(),
                                      pointwise_initializer=init(), name=name)(x)
    return conv_transpose(x, filters, 4, strides=2, padding="same", kernel_initializer=init(),
                          name=name)


def build_generator(ngf=64, input_channels=3, output_channels=3, separable_conv=False,
                    seed=0):
    """256x256xinput_channels -> 256x256xoutput_channels in [-1, 1]. 54,420,483 trainable
    at the defaults. `seed` fixes the dropout noise so a rebuilt or exported generator
    draws the same masks."""
    inputs = keras.Input((CROP_SIZE, CROP_SIZE, input_channels), name="generator_inputs")
    encoders = [gen_conv(ngf, "encoder_1", separable_conv)(inputs)]
    for i, filters in enumerate((ngf * 2, ngf * 4, ngf * 8, ngf * 8, ngf * 8, ngf * 8,
                                 ngf * 8), start=2):
        x = layers.LeakyReLU(0.2, name=f"encoder_{i}_lrelu")(encoders[-1])
        x = gen_conv(filters, f"encoder_{i}", separable_conv)(x)
        encoders.append(batchnorm(f"encoder_{i}_batchnorm")(x))
    # encoder_8 normalises a 1x1 map: with batch 1 its output is just beta, so the innermost
    # code carries no per-image information (and, ReLU's gradient at 0 being 0, encoder_8 and
    # decoder_8 never train). Faithful to pix2pix.py 0f21744 create_generator.
    x = encoders[-1]
    specs = ((8, ngf * 8, 0.5), (7, ngf * 8, 0.5), (6, ngf * 8, 0.5), (5, ngf * 8, 0.0),
             (4, ngf * 4, 0.0), (3, ngf * 2, 0.0), (2, ngf, 0.0))
    for number, filters, dropout in specs:
        if number != 8:
            x = layers.Concatenate(name=f"decoder_{number}_concat")([x, encoders[number - 1]])
        x = layers.ReLU(name=f"decoder_{number}_relu")(x)
        x = gen_deconv(x, filters, f"decoder_{number}", separable_conv)
        x = batchnorm(f"decoder_{number}_batchnorm")(x)
        if dropout:
            x = AlwaysOnDropout(dropout, seed=seed + number, name=f"decoder_{number}_dropout")(x)
    x = layers.Concatenate(name="decoder_1_concat")([x, encoders[0]])
    x = layers.ReLU(name="decoder_1_relu")(x)
    x = gen_deconv(x, output_channels, "decoder_1", separable_conv)
    # The last activations compute in full precision (float32: a no-op unless --mixed-precision).
    return keras.Model(inputs, layers.Activation("tanh", name="decoder_1_tanh",
                                                 dtype=full_precision())(x), name="generator")


def discrim_conv(x, filters, stride, name):
    """Explicit 1-pixel zero padding and a VALID 4x4 conv (not 'same' for stride 1)."""
    x = layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
    return layers.Conv2D(filters, 4, strides=stride, padding="valid", kernel_initializer=init(),
                         name=name)(x)


def build_discriminator(ndf=64, input_channels=3, target_channels=3, n_layers=3):
    """[inputs, targets or outputs] -> 30x30x1 patch probabilities. 2,769,601 trainable."""
    inputs = keras.Input((CROP_SIZE, CROP_SIZE, input_channels), name="discrim_inputs")
    targets = keras.Input((CROP_SIZE, CROP_SIZE, target_channels), name="discrim_targets")
    x = layers.Concatenate(name="discrim_concat")([inputs, targets])
    x = layers.LeakyReLU(0.2, name="layer_1_lrelu")(discrim_conv(x, ndf, 2, "layer_1"))
    for i in range(n_layers):
        name = f"layer_{i + 2}"
        stride = 1 if i == n_layers - 1 else 2
        x = discrim_conv(x, ndf * min(2 ** (i + 1), 8), stride, name)
        x = layers.LeakyReLU(0.2, name=f"{name}_lrelu")(batchnorm(f"{name}_batchnorm")(x))
    name = f"layer_{n_layers + 2}"
    x = discrim_conv(x, 1, 1, name)
    return keras.Model([inputs, targets],
                       layers.Activation("sigmoid", name=f"{name}_sigmoid", dtype=full_precision())(x),
                       name="discriminator")
