"""Feature extractors for FID/KID, chosen by --features: InceptionV3 pool features, the project's
28x28 classifier, or 8x8 thumbnails. Each maps images in [-1, 1] to (N, D) features.

Not part of any tutorial; scores are reported with the extractor's `description`, so numbers
from different extractors are never compared by mistake.
"""
import os

import keras
import numpy as np
import tensorflow as tf

from common.classifier import features_and_predictions, load_classifier
from common.errors import UserError

INCEPTION_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
INCEPTION_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
                 + INCEPTION_FILE)
EXTRACTORS = ("inception", "classifier", "thumbnail")


class ImageFeatures:
    """A Keras model's output on images resized to `size` x `size` (`method`), greyscale tiled
    to the model's channel count. `probabilities` models return (features, class
    probabilities) and set `classifies`."""

    def __init__(self, model, size, description, method="bilinear", classifies=False,
                 weights=None):
        self.model, self.size, self.method = model, size, method
        self.description, self.classifies = description, classifies
        self.key = f"{description}|{file_identity(weights)}"

    def prepare(self, images):
        images = tf.convert_to_tensor(np.asarray(images, np.float32))
        if images.shape[1:3] != (self.size, self.size):
            images = tf.image.resize(images, (self.size, self.size), method=self.method)
        channels = self.model.input_shape[-1]
        if images.shape[-1] != channels:
            images = tf.image.grayscale_to_rgb(images) if channels == 3 else \
                tf.image.rgb_to_grayscale((images + 1) / 2) * 2 - 1
        return images

    def __call__(self, images):
        """(features, probabilities or None) of one batch."""
        out = self.model(self.prepare(images), training=False)
        if self.classifies:
            return np.asarray(out[0]), np.asarray(out[1])
        return np.asarray(out).reshape(len(images), -1), None


class Thumbnails:
    """8x8 area-averaged pixels (192-d for RGB): needs no weights, so it works offline, but
    sees only colour and layout. A stand-in when InceptionV3's weights are unavailable."""

    classifies = False

    def __init__(self, size=8):
        self.size = size
        self.description = self.key = f"thumbnail ({size}x{size} area-averaged pixels)"

    def __call__(self, images):
        small = tf.image.resize(np.asarray(images, np.float32), (self.size, self.size),
                                method="area")
        return np.asarray(small).reshape(len(images), -1), None


def file_identity(path):
    """A weights file's path, size and modification time ("" for none): cached statistics of
    another file (or a retrained one) never pass for this one's."""
    if not path:
        return ""
    info = os.stat(path)
    return f"{os.path.abspath(path)}|{info.st_size}|{info.st_mtime_ns}"


def keras_cache_path(filename):
    """Where Keras keeps downloaded weights (KERAS_HOME or ~/.keras, then models/)."""
    home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    return os.path.join(home, "models", filename)


def inception(weights=None):
    """keras.applications.InceptionV3 (ImageNet weights, no top, average-pooled 2048-d
    features), images resized bilinearly to 299x299. Never downloads: the weights come from
    `weights` or the Keras cache. These are not the 2015 TF graph that published FIDs use, so
    scores compare between runs of this project, not with papers."""
    path = weights or keras_cache_path(INCEPTION_FILE)
    if not os.path.isfile(path):
        where = f"--inception-weights {weights} does not exist" if weights else \
            f"InceptionV3 weights are not in the Keras cache ({path})"
        raise UserError(f"{where}; download {INCEPTION_URL} to {keras_cache_path(INCEPTION_FILE)}"
                        " or pass --inception-weights FILE (or use --features thumbnail)")
    try:
        model = keras.applications.InceptionV3(include_top=False, weights=path, pooling="avg",
                                               input_shape=(299, 299, 3))
    except (ValueError, OSError) as error:
        raise UserError(f"{path} is not InceptionV3's no-top weights file "
                        f"({str(error).splitlines()[0]})") from error
    return ImageFeatures(model, 299, "inception_v3 pool (2048-d, keras.applications ImageNet "
                                     "weights), bilinear resize to 299x299", weights=path)


def classifier(path):
    """The project's classifier (common.classifier): penultimate 128-d features and class
    probabilities of 28x28 images."""
    model = features_and_predictions(load_classifier(path))
    return ImageFeatures(model, 28, f"classifier {os.path.basename(path)} (128-d penultimate)",
                         method="area", classifies=True, weights=path)


def extractor(name, classifier_path=None, inception_weights=None):
    """The extractor --features names."""
    if name == "inception":
        return inception(inception_weights)
    if name == "classifier":
        if not classifier_path:
            raise UserError("--features classifier needs --classifier FILE.keras (make one with "
                            "python -m common.classifier)")
        return classifier(classifier_path)
    if name == "thumbnail":
        return Thumbnails()
    raise UserError(f"--features {name} is not one of {', '.join(EXTRACTORS)}")
