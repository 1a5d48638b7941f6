"""AC-GAN on MNIST: the Keras example mnist_acgan.py (final 2019 version) in Keras 3."""
import common  # noqa: F401  (quiets TensorFlow's start-up log before keras is imported)
