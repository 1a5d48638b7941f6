"""A transposed convolution computed as one matrix product and an overlap-add (col2im): the
same sums as TensorFlow's conv2d_transpose in another order, for the programs' generators.

Each input pixel times the kernel is one row of a product (batch x H x W, in) x (in,
kh x kw x out); the kh x kw blocks it gives are then added into the output where the
transposed convolution puts them (input pixel i, kernel tap k -> output row s*i + k - top).
TensorFlow's CPU kernel (oneDNN's backward-data convolution) runs the tutorials' small-image,
many-channel layers and their one-channel ends far below the float32 matmul peak; the product
form is faster there, and only there (product_form_pays; bench/README.md, per-layer table).
"""
import keras
import tensorflow as tf
from keras import ops


def output_placement(size, kernel, stride, padding, output_size):
    """Where the first output row lies in the full overlap-add of (size - 1) * stride + kernel
    rows: TensorFlow's conv2d_transpose pads as the conv2d it is the gradient of, the
    `total // 2` before for 'same' (the rest after), nothing before for 'valid'."""
    if padding == "valid":
        return 0
    return max((size - 1) * stride + kernel - output_size, 0) // 2


def overlap_add(blocks, height, width, stride):
    """Sum of the (batch, kh, kw, out) `blocks`, one per input pixel in row-major order, each
    placed at (stride * i, stride * j) of the full output."""
    kh, kw = blocks[0].shape[1], blocks[0].shape[2]
    full_h, full_w = (height - 1) * stride + kh, (width - 1) * stride + kw
    return tf.add_n([
        tf.pad(blocks[i * width + j], [[0, 0], [stride * i, full_h - kh - stride * i],
                                       [stride * j, full_w - kw - stride * j], [0, 0]])
        for i in range(height) for j in range(width)])


def overlap_add_by_phase(taps, height, width, kernel_size, stride):
    """The same sum from the (batch, H, W, out) `taps`, one per kernel tap in row-major order:
    tap (s*q + r, s*q' + r') lands on output rows s*(i + q) + r, so each of the s x s phases
    (r, r') is a sum of shifted taps, and the phases interleave into the output."""
    kh, kw = kernel_size
    qh, qw = -(-kh // stride), -(-kw // stride)
    phases = []
    for r in range(stride):
        row = []
        for r2 in range(stride):
            row.append(tf.add_n([
                tf.pad(taps[(stride * q + r) * kw + stride * q2 + r2],
                       [[0, 0], [q, qh - 1 - q], [q2, qw - 1 - q2], [0, 0]])
                for q in range(qh) if stride * q + r < kh
                for q2 in range(qw) if stride * q2 + r2 < kw]))
        phases.append(tf.stack(row, axis=3))
    grid = tf.stack(phases, axis=2)  # (batch, H + qh - 1, s, W + qw - 1, s, out)
    channels = taps[0].shape[-1]
    return tf.reshape(grid, (-1, (height + qh - 1) * stride, (width + qw - 1) * stride,
                             channels))


def conv_transpose_product(inputs, kernel, strides, padding, output_shape):
    """conv2d_transpose of channels-last `inputs` with a Keras kernel (kh, kw, out, in) to
    `output_shape` (H', W'), as a product and an overlap-add; equal strides."""
    kh, kw, channels, _ = kernel.shape
    height, width = inputs.shape[1], inputs.shape[2]
    stride = strides[0]
    rows = tf.matmul(ops.reshape(inputs, (-1, inputs.shape[-1])),
                     ops.reshape(kernel, (kh * kw * channels, -1)), transpose_b=True)
    if height * width <= kh * kw:  # fewer blocks than taps: add the blocks
        blocks = tf.unstack(ops.reshape(rows, (-1, height * width, kh, kw, channels)), axis=1)
        full = overlap_add(blocks, height, width, stride)
    else:
        taps = tf.unstack(ops.reshape(rows, (-1, height, width, kh * kw, channels)), axis=3)
        full = overlap_add_by_phase(taps, height, width, (kh, kw), stride)
    top = output_placement(height, kh, stride, padding, output_shape[0])
    left = output_placement(width, kw, stride, padding, output_shape[1])
    short_h = max(top + output_shape[0] - full.shape[1], 0)
    short_w = max(left + output_shape[1] - full.shape[2], 0)
    if short_h or short_w:  # output_padding past the last block: zeros, as TensorFlow's
        full = tf.pad(full, [[0, 0], [0, short_h], [0, short_w], [0, 0]])
    return full[:, top:top + output_shape[0], left:left + output_shape[1]]


def product_form_pays(input_shape, kernel_size, filters):
    """Whether a transposed convolution of `input_shape` (H, W, channels) is faster as the
    product form: where the image has no more pixels than the kernel has taps (AC-GAN's 3x3,
    the WGAN's and the anime DCGAN's 1x1 and 3x3, carpedm20's and O-GAN's 4x4, pix2pix's
    innermost decoders), or the output one channel. There TensorFlow's CPU kernel ran at 1-65%
    of the float32 matmul peak and the product 1.1-6.7x faster, forward and gradients
    together; on larger images with more output channels TensorFlow's was the faster
    (bench/README.md: `python -m bench.layers`, an Intel Xeon with AVX-512)."""
    kernel_h, kernel_w = (kernel_size, kernel_size) if isinstance(kernel_size, int) \
        else kernel_size
    return input_shape[0] * input_shape[1] <= kernel_h * kernel_w or filters == 1


def layer_class(input_shape, kernel_size, filters):
    """The product form where product_form_pays, else Keras' Conv2DTranspose."""
    if product_form_pays(input_shape, kernel_size, filters):
        return Conv2DTranspose
    return keras.layers.Conv2DTranspose


def conv_transpose(x, filters, kernel_size, **kwargs):
    """Keras' Conv2DTranspose(filters, kernel_size, **kwargs) applied to `x`, built as
    layer_class chooses."""
    return layer_class(x.shape[1:], kernel_size, filters)(filters, kernel_size, **kwargs)(x)


@keras.saving.register_keras_serializable(package="common")
class Conv2DTranspose(keras.layers.Conv2DTranspose):
    """Keras' Conv2DTranspose computed by conv_transpose_product. Named Conv2DTranspose so
    that its weight-file keys, variable paths and summary() are those of Keras' layer (a
    file saved with one loads into the other)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.data_format != "channels_last" or self.dilation_rate != (1, 1) \
                or self.strides[0] != self.strides[1]:
            raise ValueError("the product form covers channels-last, undilated transposed "
                             "convolutions with equal strides")

    def call(self, inputs):
        if None in inputs.shape[1:3]:  # the overlap-add is laid out for a known image size
            return super().call(inputs)
        output_shape = self.compute_output_shape(inputs.shape)[1:3]
        outputs = conv_transpose_product(inputs, self.kernel, self.strides, self.padding,
                                         output_shape)
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        if self.activation is not None:
            return self.activation(outputs)
        return outputs
