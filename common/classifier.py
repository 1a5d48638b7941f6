"""A digit / fashion classifier the project trains itself, to score 28x28 generators:
`python -m common.classifier --data-dir /usr/share/datasets/fashion-mnist --output clf.keras`.

Its penultimate layer gives the features of "classifier FID"; its predictions give AC-GAN's and
the conditional DCGAN's class accuracy. Inputs are 28x28x1 in [-1, 1], the ports' convention.
"""
import os

import keras
import numpy as np

from common import cli
from common.errors import UserError
from common.images import to_signed
from common.mnist import load_mnist

FEATURES = "features"


def build_classifier(num_classes=10):
    """The Keras mnist_cnn example's network (two 3x3 convs, max-pool, dense 128), with the
    128-unit layer named `features`."""
    image = keras.Input((28, 28, 1), name="image")
    x = keras.layers.Conv2D(32, 3, activation="relu")(image)
    x = keras.layers.Conv2D(64, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Dropout(0.25)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(128, activation="relu", name=FEATURES)(x)
    x = keras.layers.Dropout(0.5)(x)
    probabilities = keras.layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(image, probabilities, name="classifier")


def train_classifier(data_dir=None, epochs=8, batch_size=128, seed=0, verbose=2):
    """Train on the training split; returns (model, held-out accuracy on the test split)."""
    (x_train, y_train), (x_test, y_test) = load_mnist(data_dir)
    if x_train.shape[1:] != (28, 28):
        raise UserError(f"{data_dir}: the classifier needs 28x28 images, got "
                        f"{x_train.shape[1]}x{x_train.shape[2]}")
    keras.utils.set_random_seed(seed)
    model = build_classifier(int(max(y_train.max(), y_test.max())) + 1)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(to_signed(x_train)[..., None], y_train.astype(np.int32), batch_size=batch_size, epochs=epochs,
              verbose=verbose)
    _, accuracy = model.evaluate(to_signed(x_test)[..., None], y_test.astype(np.int32), verbose=0)
    return model, float(accuracy)


def load_classifier(path):
    """A classifier saved by this module; a clear error for a missing or foreign file."""
    if not path or not os.path.isfile(path):
        raise UserError(f"classifier file {path} does not exist; train one with "
                        "python -m common.classifier --data-dir DIR --output FILE.keras")
    try:
        model = keras.saving.load_model(path)
        model.get_layer(FEATURES)
    except (ValueError, OSError) as error:
        raise UserError(f"{path} is not a classifier made by common.classifier "
                        f"({str(error).splitlines()[0]})") from error
    if tuple(model.input_shape[1:]) != (28, 28, 1):
        raise UserError(f"{path} takes {model.input_shape[1:]} inputs, not 28x28x1")
    return model


def features_and_predictions(model):
    """A model from images in [-1, 1] to (penultimate features, class probabilities)."""
    return keras.Model(model.inputs, [model.get_layer(FEATURES).output, model.outputs[0]])


@cli.exits_cleanly
def main(argv=None):
    parser = cli.tool_parser("python -m common.classifier", __doc__)
    parser.add_argument("--data-dir", default=None,
                        help="IDX directory (raw or .gz) or .npz; default keras.datasets.mnist")
    parser.add_argument("--output", required=True, help="where to save the .keras model")
    parser.add_argument("--epochs", type=cli.positive_int, default=8)
    parser.add_argument("--batch-size", type=cli.positive_int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.output.endswith(".keras"):
        raise UserError(f"--output {args.output} must end in .keras")
    model, accuracy = train_classifier(args.data_dir, args.epochs, args.batch_size, args.seed)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    model.save(args.output)
    print(f"held-out accuracy: {accuracy:.4f}")
    print(f"saved {args.output}")
    return accuracy


if __name__ == "__main__":
    main()
