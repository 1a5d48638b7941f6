"""The AC-GAN generator and discriminator of Keras' examples/mnist_acgan.py (keras 14625e57af).

Layer for layer as the example; BatchNormalization keeps Keras' defaults (momentum 0.99, eps 1e-3)
and updates its moving statistics as Keras 2.2 did (zero-debiased; common.old_frameworks).
"""
import keras
from keras import layers

from common.gan import full_precision
from common.old_frameworks import keras2_batch_norm
from common.transposed_conv import layer_class

NUM_CLASSES = 10


def build_generator(latent_size=100):
    """(latent (100,), class (1,) int32) -> 28x28x1 image in [-1, 1].

    Total 2,657,897 parameters, 2,657,321 trainable. The class embedding multiplies the latent
    (the example's "hadamard product between z-space and a class conditional embedding"); the
    product keeps the embedding's length-1 sequence axis, (None, 1, 100), exactly as the
    original after dcb5e3c removed its Flatten, and the Reshape absorbs it.
    """
    cnn = keras.Sequential([
        keras.Input((1, latent_size)),
        layers.Dense(3 * 3 * 384, activation="relu"),
        layers.Reshape((3, 3, 384)),
        # Keras' Conv2DTranspose each, or its product form where that is the faster
        # (common.transposed_conv: the same sums, the same weights)
        # upsample to (7, 7, ...)
        layer_class((3, 3, 384), 5, 192)(192, 5, strides=1, padding="valid",
                                         activation="relu", kernel_initializer="glorot_normal"),
        keras2_batch_norm(),
        # upsample to (14, 14, ...)
        layer_class((7, 7, 192), 5, 96)(96, 5, strides=2, padding="same", activation="relu",
                                        kernel_initializer="glorot_normal"),
        keras2_batch_norm(),
        # upsample to (28, 28, ...)
        layer_class((14, 14, 96), 5, 1)(1, 5, strides=2, padding="same", activation="tanh",
                                        kernel_initializer="glorot_normal",
                                        dtype=full_precision()),
    ], name="sequential")
    latent = keras.Input((latent_size,), name="latent")
    image_class = keras.Input((1,), dtype="int32", name="image_class")
    cls = layers.Embedding(NUM_CLASSES, latent_size,
                           embeddings_initializer="glorot_normal")(image_class)
    h = layers.Multiply()([layers.Reshape((1, latent_size))(latent), cls])
    return keras.Model([latent, image_class], cnn(h), name="generator")


def build_discriminator():
    """28x28x1 image -> (generation: P(real) via sigmoid, auxiliary: softmax over 10 classes).

    525,835 parameters, no batch normalisation (no version of the example had any in D).
    """
    cnn = keras.Sequential([keras.Input((28, 28, 1))], name="sequential")
    for filters, strides in ((32, 2), (64, 1), (128, 2), (256, 1)):
        cnn.add(layers.Conv2D(filters, 3, padding="same", strides=strides))
        cnn.add(layers.LeakyReLU(negative_slope=0.2))
        cnn.add(layers.Dropout(0.3))
    cnn.add(layers.Flatten())
    image = keras.Input((28, 28, 1), name="image")
    features = cnn(image)
    # The output layers compute in full precision (float32: a no-op unless --mixed-precision).
    fake = layers.Dense(1, activation="sigmoid", name="generation", dtype=full_precision())(features)
    aux = layers.Dense(NUM_CLASSES, activation="softmax", name="auxiliary",
                       dtype=full_precision())(features)
    return keras.Model(image, [fake, aux], name="discriminator")
