"""common.transposed_conv: the product-and-overlap-add transposed convolution computes Keras'
Conv2DTranspose, forward and both gradients, and its weights are Keras' layer's."""
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import common.transposed_conv
from common.transposed_conv import Conv2DTranspose

# The programs' transposed convolutions at small channel counts: (input size, in, kernel,
# stride, padding, out, output_padding). Both overlap-add orders are covered (by input pixel
# where the image has no more pixels than the kernel taps, by phase elsewhere).
CASES = [
    (3, 6, 5, 1, "valid", 4, None),  # AC-GAN 3x3 -> 7x7
    (7, 4, 5, 2, "same", 3, None),  # AC-GAN 7 -> 14
    (14, 4, 5, 2, "same", 1, None),  # AC-GAN 14 -> 28x1
    (4, 4, 5, 2, "same", 3, 1),  # carpedm20 deconv2d 4 -> 8
    (4, 4, 5, 2, "same", 3, 0),  # carpedm20 deconv2d 4 -> 7 (conditional MNIST)
    (7, 5, 5, 2, "same", 1, 0),  # carpedm20 7 -> 14 ... 14 -> 28
    (1, 4, 6, 2, "valid", 3, None),  # anime 1x1 -> 6x6
    (6, 4, 4, 2, "same", 3, None),  # anime, O-GAN, pix2pix 4x4/2 'same'
    (1, 4, 3, 2, "valid", 3, None),  # WGAN 1x1 -> 3x3
    (3, 4, 4, 2, "valid", 3, None),  # WGAN 3x3 -> 8x8
    (5, 3, 3, 3, "same", 2, None),  # kernel no larger than the stride
]


def pair(case):
    """Keras' layer and the product form, built on one input shape, holding the same weights."""
    size, channels_in, kernel, stride, padding, channels_out, output_padding = case
    kwargs = dict(filters=channels_out, kernel_size=kernel, strides=stride, padding=padding,
                  output_padding=output_padding, dtype="float64")
    keras_layer = keras.layers.Conv2DTranspose(**kwargs)
    product = Conv2DTranspose(**kwargs)
    shape = (None, size, size, channels_in)
    keras_layer.build(shape)
    product.build(shape)
    rng = np.random.default_rng(size * 100 + kernel)
    keras_layer.set_weights([rng.standard_normal(w.shape) for w in keras_layer.get_weights()])
    product.set_weights(keras_layer.get_weights())
    return keras_layer, product


def forward_and_gradients(layer, x, upstream):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
    return [y, *tape.gradient(y, [x, layer.kernel, layer.bias], output_gradients=upstream)]


@pytest.mark.parametrize("case", CASES, ids=lambda case: "x".join(map(str, case)))
def test_the_product_form_is_keras_transposed_convolution(case):
    """In float64 the two differ by rounding alone: relative 1e-12 is 10,000 times float64's
    2.2e-16 and a hundred million times below a misplaced tap (a block one row off differs by
    order 1: shown by the test below)."""
    keras_layer, product = pair(case)
    rng = np.random.default_rng(1)
    x = tf.constant(rng.standard_normal((2, case[0], case[0], case[1])))
    assert product.compute_output_shape(x.shape) == keras_layer.compute_output_shape(x.shape)
    upstream = tf.constant(rng.standard_normal(keras_layer(x).shape))
    for name, got, want in zip(("output", "input gradient", "kernel gradient", "bias gradient"),
                               forward_and_gradients(product, x, upstream),
                               forward_and_gradients(keras_layer, x, upstream)):
        error = np.max(np.abs(got - want)) / np.max(np.abs(want))
        assert error < 1e-12, f"{name}: relative error {error:.1e}"


def test_a_misplaced_output_fails(monkeypatch):
    """The 'same' placement taken from the other end (the larger half before): 7 -> 14 with a
    5x5/2 kernel pads 3, so the output moves by a row and the comparison above fails."""
    keras_layer, product = pair(CASES[1])
    placement = common.transposed_conv.output_placement
    monkeypatch.setattr(common.transposed_conv, "output_placement",
                        lambda *args: placement(*args) + (args[3] == "same"))
    x = tf.constant(np.random.default_rng(2).standard_normal((2, 7, 7, 4)))
    error = np.max(np.abs(product(x) - keras_layer(x))) / np.max(np.abs(keras_layer(x)))
    assert error > 0.1


def test_its_weights_are_keras_layers(tmp_path):
    """A model built with the product form saves a weight file and a .keras file that models
    built with Keras' layer load, and the reverse."""
    def model(layer_class):
        image = keras.Input((7, 7, 4))
        return keras.Model(image, layer_class(3, 5, strides=2, padding="same")(image))
    product_model, keras_model = model(Conv2DTranspose), model(keras.layers.Conv2DTranspose)
    x = np.random.default_rng(3).standard_normal((2, 7, 7, 4)).astype("float32")
    for saved, loading in ((product_model, keras_model), (keras_model, product_model)):
        path = os.path.join(tmp_path, f"{saved.layers[-1].__module__}.weights.h5")
        saved.save_weights(path)
        loading.load_weights(path)
        # float32 sums of 9 products in two orders: a few 1e-7 apart (the float64 test above
        # holds the sums themselves); unloaded weights (another initialisation) differ by O(1)
        np.testing.assert_allclose(loading(x), saved(x), rtol=1e-4, atol=1e-5)
    product_model.save(os.path.join(tmp_path, "g.keras"))
    loaded = keras.saving.load_model(os.path.join(tmp_path, "g.keras"))
    assert isinstance(loaded.layers[-1], Conv2DTranspose)
    np.testing.assert_array_equal(loaded(x), product_model(x))
