"""DCGAN family: carpedm20/DCGAN-tensorflow (celebA 64, conditional MNIST), the 96x96 anime
DCGAN and the Keras WGAN from FangYang970206/Anime_GAN, in Keras 3."""
import common  # noqa: F401  (quiets TensorFlow's start-up log before keras is imported)
