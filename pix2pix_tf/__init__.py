"""pix2pix (affinelayer/pix2pix-tensorflow) in Keras 3: U-Net + PatchGAN, Lab colorization."""
import common  # noqa: F401  (quiets TensorFlow's start-up log before keras is imported)
