"""O-GAN (Su Jianlin, o_gan_celeba_sm_4x4.py) in Keras 3: the discriminator is an encoder."""
import common  # noqa: F401  (quiets TensorFlow's start-up log before keras is imported)
