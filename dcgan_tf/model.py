"""Networks of the DCGAN family: carpedm20's generator()/discriminator() (ops.py linear,
conv2d, deconv2d, batch_norm, conv_cond_concat), Anime_GAN's DCGAN and its Keras WGAN.

Layer names follow carpedm20 (g_h0_lin, g_bn0, d_h1_conv...) so summary() reads like model.py.
"""
import math

import keras
import tensorflow as tf
from keras import layers, ops
from keras.initializers import Constant, RandomNormal, TruncatedNormal

from common.errors import UserError
from common.gan import full_precision
from common.old_frameworks import LegacyBatchNormalization, tf1_fused_batch_norm, torch_batch_norm
from common.transposed_conv import conv_transpose


@keras.saving.register_keras_serializable(package="dcgan_tf")
class ConvCondConcat(layers.Layer):
    """carpedm20's conv_cond_concat: tile the label vector y over H x W and append it as
    channels of the feature map x."""

    def call(self, inputs):
        x, y = inputs
        shape = ops.shape(x)
        y = ops.reshape(y, (shape[0], 1, 1, y.shape[-1]))
        return ops.concatenate([x, ops.broadcast_to(y, (shape[0], shape[1], shape[2],
                                                        y.shape[-1]))], axis=-1)

    def compute_output_shape(self, input_shape):
        x, y = input_shape
        return x[:-1] + (x[-1] + y[-1],)


def conv_out_size_same(size, stride):
    """carpedm20: the size a SAME stride-`stride` conv maps to, ceil(size / stride)."""
    return int(math.ceil(float(size) / float(stride)))


def batch_norm(name):
    """carpedm20's batch_norm: tf.contrib batch_norm, decay 0.9, epsilon 1e-5, scale on.
    With updates_collections=None contrib ran every call through TF's fused op, the 2-D
    inputs of the conditional model too (g_bn0, g_bn1, d_bn2: reshaped to N x 1 x 1 x C),
    and tf.nn.fused_batch_norm raised epsilon to its minimum, 1.001e-5 (measured on TF 1.15:
    every FusedBatchNorm op of both models has epsilon 1.001e-5); its running variance is
    Bessel-corrected."""
    return tf1_fused_batch_norm(momentum=0.9, epsilon=1.001e-5, name=name)


def linear(units, name, dtype=None):
    return layers.Dense(units, kernel_initializer=RandomNormal(0.0, 0.02),
                        bias_initializer=Constant(0.0), name=name, dtype=dtype)


def output(activation, name=None):
    """The last op of a network computes in full precision (float32: a no-op unless --mixed-precision)."""
    return layers.Activation(activation, name=name, dtype=full_precision())


def conv2d(filters, name):
    """5x5 stride-2 SAME conv, truncated N(0, 0.02) init, zero bias."""
    return layers.Conv2D(filters, 5, strides=2, padding="same",
                         kernel_initializer=TruncatedNormal(0.0, 0.02),
                         bias_initializer=Constant(0.0), name=name)


def deconv2d(x, size, filters, name):
    """5x5 stride-2 transposed conv to an explicit output size, as TF1's conv2d_transpose with
    output_shape: output_padding picks between the two sizes (2n - 1 or 2n) a SAME stride-2
    conv maps back from, which is how 7 -> 14 -> 28 and 4 -> 7 both work."""
    in_size = x.shape[1]
    padding = size - (2 * in_size - 1)
    if padding not in (0, 1):
        raise UserError(f"cannot deconvolve {in_size} to {size}; pick an output size that "
                        "halves cleanly (64, 28, 108...)")
    return conv_transpose(x, filters, 5, strides=2, padding="same", output_padding=padding,
                          kernel_initializer=RandomNormal(0.0, 0.02),
                          bias_initializer=Constant(0.0), name=name)


def lrelu(x):
    return layers.LeakyReLU(negative_slope=0.2)(x)


def relu(x):
    return layers.ReLU()(x)


def _sizes(output_height, output_width):
    output_width = output_width or output_height
    heights, widths = [output_height], [output_width]
    for _ in range(4):
        heights.append(conv_out_size_same(heights[-1], 2))
        widths.append(conv_out_size_same(widths[-1], 2))
    return heights, widths


def build_generator(z_dim=100, gf_dim=64, gfc_dim=1024, c_dim=3, y_dim=None,
                    output_height=64, output_width=None):
    """carpedm20's generator(). Unconditional: logits-free tanh image, 5,135,363 trainable at
    the defaults. With y_dim: inputs [z, y], sigmoid image in [0, 1] (7,065,211 for MNIST)."""
    if y_dim:
        return _conditional_generator(z_dim, gf_dim, gfc_dim, c_dim, y_dim, output_height,
                                      output_width)
    (s_h, s_h2, s_h4, s_h8, s_h16), (s_w, s_w2, s_w4, s_w8, s_w16) = _sizes(output_height,
                                                                            output_width)
    if s_h != s_w:
        raise UserError("non-square outputs are not supported by this port; "
                        "use --output_height only")
    z = keras.Input((z_dim,), name="z")
    h = linear(gf_dim * 8 * s_h16 * s_w16, "g_h0_lin")(z)
    h = layers.Reshape((s_h16, s_w16, gf_dim * 8))(h)
    h = relu(batch_norm("g_bn0")(h))
    for i, (size, filters) in enumerate(((s_h8, gf_dim * 4), (s_h4, gf_dim * 2),
                                         (s_h2, gf_dim)), start=1):
        h = relu(batch_norm(f"g_bn{i}")(deconv2d(h, size, filters, f"g_h{i}")))
    h = deconv2d(h, s_h, c_dim, "g_h4")
    return keras.Model(z, output("tanh")(h), name="generator")


def _conditional_generator(z_dim, gf_dim, gfc_dim, c_dim, y_dim, output_height, output_width):
    (s_h, s_h2, s_h4, _, _), _ = _sizes(output_height, output_width)
    z, y = keras.Input((z_dim,), name="z"), keras.Input((y_dim,), name="y")
    h = layers.Concatenate()([z, y])
    h = relu(batch_norm("g_bn0")(linear(gfc_dim, "g_h0_lin")(h)))
    h = layers.Concatenate()([h, y])
    # g_bn1 normalises the 6,272 flat features before the reshape, as the original.
    h = relu(batch_norm("g_bn1")(linear(gf_dim * 2 * s_h4 * s_h4, "g_h1_lin")(h)))
    h = layers.Reshape((s_h4, s_h4, gf_dim * 2))(h)
    h = ConvCondConcat()([h, y])
    h = relu(batch_norm("g_bn2")(deconv2d(h, s_h2, gf_dim * 2, "g_h2")))
    h = ConvCondConcat()([h, y])
    h = deconv2d(h, s_h, c_dim, "g_h3")
    return keras.Model([z, y], output("sigmoid")(h), name="generator")


def build_discriminator(df_dim=64, dfc_dim=1024, c_dim=3, y_dim=None, input_height=64,
                        input_width=None):
    """carpedm20's discriminator(), returning the logit (D = sigmoid(logit)). 4,316,545
    trainable at the defaults; with y_dim=10 on 28x28x1, 3,769,479."""
    input_width = input_width or input_height
    if y_dim:
        return _conditional_discriminator(df_dim, dfc_dim, c_dim, y_dim, input_height,
                                          input_width)
    image = keras.Input((input_height, input_width, c_dim), name="image")
    h = lrelu(conv2d(df_dim, "d_h0_conv")(image))
    for i in (1, 2, 3):
        h = lrelu(batch_norm(f"d_bn{i}")(conv2d(df_dim * 2 ** i, f"d_h{i}_conv")(h)))
    h = linear(1, "d_h4_lin", dtype=full_precision())(layers.Flatten()(h))
    return keras.Model(image, h, name="discriminator")


def _conditional_discriminator(df_dim, dfc_dim, c_dim, y_dim, input_height, input_width):
    image = keras.Input((input_height, input_width, c_dim), name="image")
    y = keras.Input((y_dim,), name="y")
    h = ConvCondConcat()([image, y])
    h = lrelu(conv2d(c_dim + y_dim, "d_h0_conv")(h))
    h = ConvCondConcat()([h, y])
    h = lrelu(batch_norm("d_bn1")(conv2d(df_dim + y_dim, "d_h1_conv")(h)))
    h = layers.Concatenate()([layers.Flatten()(h), y])
    h = lrelu(batch_norm("d_bn2")(linear(dfc_dim, "d_h2_lin")(h)))
    h = layers.Concatenate()([h, y])
    return keras.Model([image, y], linear(1, "d_h3_lin", dtype=full_precision())(h),
                       name="discriminator")


# ---- Anime_GAN DCGAN (PyTorch): bias-free, N(0, 0.01) weights, BN weight N(1, 0.01) ----

def _anime_bn():
    # PyTorch BatchNorm2d: eps 1e-5, momentum 0.1 (= Keras momentum 0.9), unbiased running var.
    return torch_batch_norm(gamma_initializer=RandomNormal(1.0, 0.01))


def build_anime_generator(z_dim=100, ngf=64):
    """z (100) -> 96x96x3: ConvT 6x6 from 1x1, then 4x4 stride-2 ConvTs (PyTorch padding 1 is
    Keras 'same' here), BN + ReLU, tanh. 4,600,704 trainable."""
    init = RandomNormal(0.0, 0.01)
    z = keras.Input((z_dim,), name="z")
    h = layers.Reshape((1, 1, z_dim))(z)
    h = conv_transpose(h, ngf * 8, 6, strides=2, padding="valid", use_bias=False,
                       kernel_initializer=init)
    h = relu(_anime_bn()(h))
    for filters in (ngf * 4, ngf * 2, ngf):
        h = conv_transpose(h, filters, 4, strides=2, padding="same", use_bias=False,
                           kernel_initializer=init)
        h = relu(_anime_bn()(h))
    h = conv_transpose(h, 3, 4, strides=2, padding="same", use_bias=False,
                       kernel_initializer=init)
    return keras.Model(z, output("tanh")(h), name="generator")


def build_anime_discriminator(ndf=64):
    """96x96x3 -> P(real): 4x4 stride-2 convs, LeakyReLU 0.2, BN from the second, a final
    5x5 valid conv to 1x1 and a sigmoid. 2,770,176 trainable."""
    init = RandomNormal(0.0, 0.01)
    image = keras.Input((96, 96, 3), name="image")
    h = lrelu(layers.Conv2D(ndf, 4, strides=2, padding="same", use_bias=False,
                            kernel_initializer=init)(image))
    for filters in (ndf * 2, ndf * 4, ndf * 8):
        h = layers.Conv2D(filters, 4, strides=2, padding="same", use_bias=False,
                          kernel_initializer=init)(h)
        h = lrelu(_anime_bn()(h))
    h = layers.Conv2D(1, 5, strides=2, padding="valid", use_bias=False,
                      kernel_initializer=init)(h)
    return keras.Model(image, output("sigmoid")(layers.Flatten()(h)), name="discriminator")


# ---- Anime_GAN WGAN_keras (Keras 2.1.2): bias-free, N(0, 0.02), BN eps 1.01e-5 ----

def _wgan_bn():
    # Keras 2 BatchNormalization defaults (momentum 0.99) with the script's epsilon and
    # gamma_init N(1, 0.02) (Keras 1's name; gamma_initializer in Keras 2 and 3). The script
    # calls BN with training=1 everywhere, so its moving statistics are never read: Keras
    # 2.1.2's way of updating them needs no emulation (the class is used for its
    # synchronized default under several replicas).
    return LegacyBatchNormalization(epsilon=1.01e-5, gamma_initializer=RandomNormal(1.0, 0.02))


def build_wgan_generator(z_dim=100, ngf=1024):
    """z -> 96x96x3. First ConvT 3x3 from 1x1 with no BN or activation, then four
    [ConvT 4x4 s2 valid, crop 1, BN, ReLU] and a final ConvT + crop + tanh. 12,069,632 total."""
    init = RandomNormal(0.0, 0.02)
    z = keras.Input((z_dim,), name="z")
    h = layers.Reshape((1, 1, z_dim))(z)
    h = conv_transpose(h, ngf, 3, strides=2, padding="valid", use_bias=False,
                       kernel_initializer=init)
    filters = ngf
    for _ in range(4):
        filters //= 2
        h = conv_transpose(h, filters, 4, strides=2, padding="valid", use_bias=False,
                           kernel_initializer=init)
        h = layers.ReLU()(_wgan_bn()(layers.Cropping2D(1)(h)))
    h = conv_transpose(h, 3, 4, strides=2, padding="valid", use_bias=False,
                       kernel_initializer=init)
    return keras.Model(z, output("tanh")(layers.Cropping2D(1)(h)), name="generator")


@keras.saving.register_keras_serializable(package="dcgan_tf")
class Conv2D(layers.Conv2D):
    """A 'valid' Conv2D computed as one matrix product of its input's patches with the
    kernel (im2col): the same sums in another order. For the WGAN critic's 4x4/2 convolution
    of 8x8x512 to 3x3x1024, TensorFlow's CPU (oneDNN) kernel ran at 36-47% of the float32
    matmul peak forward and 40% backward; the product about 2x faster both ways
    (bench/README.md, per-layer table). Named Conv2D so that its weight-file keys, variable
    paths and summary() are those of Keras' Conv2D."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.padding != "valid" or self.data_format != "channels_last" \
                or self.dilation_rate != (1, 1) or self.groups != 1:
            raise ValueError("the patch product covers 'valid', channels-last, undilated, "
                             "ungrouped convolutions")

    def convolution_op(self, inputs, kernel):
        height, width, channels, filters = kernel.shape
        patches = tf.image.extract_patches(inputs, [1, height, width, 1],
                                           [1, *self.strides, 1], [1, 1, 1, 1], "VALID")
        rows = ops.reshape(patches, (-1, height * width * channels))
        product = ops.matmul(rows, ops.reshape(kernel, (height * width * channels, filters)))
        return ops.reshape(product, (-1, patches.shape[1], patches.shape[2], filters))


def build_wgan_critic(ndf=64):
    """96x96x3 -> unbounded score: [ZeroPad 1 + 4x4 s2 valid conv] x5 (BN from the second),
    LeakyReLU 0.2, a 3x3 valid conv to 1x1. 11,161,088 total."""
    init = RandomNormal(0.0, 0.02)
    image = keras.Input((96, 96, 3), name="image")
    h = layers.ZeroPadding2D(1)(image)
    h = lrelu(layers.Conv2D(ndf, 4, strides=2, use_bias=False, kernel_initializer=init)(h))
    filters = ndf
    for _ in range(4):
        filters *= 2
        h = layers.ZeroPadding2D(1)(h)
        # The last (8x8 -> 3x3, 1024 filters) as a patch product, which TensorFlow's CPU
        # convolution runs at half its speed; the same weights and sums.
        conv = Conv2D if h.shape[1] <= 8 else layers.Conv2D
        h = conv(filters, 4, strides=2, use_bias=False, kernel_initializer=init)(h)
        h = lrelu(_wgan_bn()(h))
    h = layers.Conv2D(1, 3, strides=1, use_bias=False, kernel_initializer=init)(h)
    return keras.Model(image, output("linear")(layers.Flatten()(h)), name="critic")
