"""The Keras internals the port overrides or reads exist in the installed Keras, with the
signatures the port was written for (Keras 3.15, TensorFlow 2.21: requirements.txt pins them).
A newer Keras that renames one fails here, naming it, instead of training wrongly."""
import inspect

import keras
import tensorflow as tf

from common.gan import GANModel
from common.old_frameworks import Keras2RMSprop, LegacyBatchNormalization, keras2_batch_norm


def test_versions_the_overrides_were_written_for():
    assert keras.__version__.startswith("3.15."), keras.__version__
    assert tf.__version__.startswith("2.21."), tf.__version__


def test_private_keras_internals_the_port_uses():
    # common/gan.py: GANModel._maybe_symbolic_build replaces Keras' own, same signature
    own = inspect.signature(keras.Model._maybe_symbolic_build)
    assert list(own.parameters) == list(inspect.signature(GANModel._maybe_symbolic_build)
                                        .parameters)
    # common/old_frameworks.py, pix2pix_tf/import_original.py: optimizer slot lists and their index
    optimizer = Keras2RMSprop(1e-3)
    variable = keras.Variable([1.0, 2.0])
    optimizer.build([variable])
    assert optimizer._velocities[optimizer._get_variable_index(variable)].shape == (2,)
    adam = keras.optimizers.Adam()
    adam.build([variable])
    assert len(adam._momentums) == len(adam._velocities) == 1
    # common/old_frameworks.py: BatchNormalization's batch moments and its variable lists
    layer = keras2_batch_norm()
    layer.build((None, 3))
    assert isinstance(layer, LegacyBatchNormalization)
    assert len(layer._trainable_variables) == 2 and len(layer._non_trainable_variables) == 2
    mean, variance = layer._moments(tf.ones((4, 3)), None)
    assert mean.shape == variance.shape == (3,)
