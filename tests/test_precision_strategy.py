"""The shared --mixed-precision and --strategy flags work for every program's train_step."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from acgan_mnist import model as acgan_model, train as acgan_train
from acgan_mnist.gan import ACGAN, random_inputs
from dcgan_tf import model as dcgan_model
from dcgan_tf.gan import DCGAN, WGAN, with_critic_noise
from ogan_keras import model as ogan_model
from ogan_keras.gan import OGAN
from pix2pix_tf import model as pix_model
from pix2pix_tf.gan import Pix2Pix


SEED = tf.constant([1, 2], tf.int64)


@pytest.fixture
def mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def adam():
    return keras.optimizers.Adam(1e-4)


def acgan():
    gan = ACGAN(acgan_model.build_generator(), acgan_model.build_discriminator())
    gan.compile(adam(), adam())
    batch = (tf.random.uniform((4, 28, 28, 1), -1, 1), tf.constant([0, 1, 2, 3]))
    return gan, random_inputs(100)(batch, SEED)


def ogan():
    gan = OGAN(ogan_model.build_encoder(32, 8), ogan_model.build_generator(32, 8))
    gan.compile(keras.optimizers.RMSprop(1e-4))
    return gan, (tf.random.uniform((4, 32, 32, 3), -1, 1), tf.random.normal((4, 8)))


def dcgan():
    gan = DCGAN(dcgan_model.build_generator(8, 4, 16, 1, 10, 28),
                dcgan_model.build_discriminator(4, 16, 1, 10, 28), z_dim=8, conditional=True)
    gan.compile(adam(), adam())
    return gan, (tf.random.uniform((4, 28, 28, 1)), tf.one_hot([1, 2, 3, 4], 10),
                 tf.random.uniform((4, 8), -1, 1))


def wgan():
    gan = WGAN(dcgan_model.build_wgan_generator(8, 32), dcgan_model.build_wgan_critic(4), z_dim=8,
               n_critic=2)
    gan.compile(keras.optimizers.RMSprop(5e-5), keras.optimizers.RMSprop(5e-5))
    return gan, with_critic_noise(8)(tf.random.uniform((2, 2, 96, 96, 3), -1, 1), SEED)


def pix2pix():
    gan = Pix2Pix(pix_model.build_generator(4), pix_model.build_discriminator(4))
    gan.compile(adam(), adam())
    return gan, (tf.random.uniform((1, 256, 256, 3), -1, 1),) * 2


def changed(before, variables):
    return any(not np.array_equal(b, v.numpy()) for b, v in zip(before, variables))


@pytest.mark.parametrize("build", [acgan, ogan, dcgan, wgan, pix2pix])
def test_train_step_under_mixed_precision(mixed_precision, build):
    gan, batch = build()
    assert gan.generator.outputs[0].dtype == "float32"
    assert any(layer.compute_dtype == "float16" for layer in gan.generator.layers)
    before = [v.numpy().copy() for v in gan.generator.trainable_variables]
    # Dynamic loss scaling starts at 2**15 and skips (and halves) on overflow, so the
    # first few steps may leave the weights as they were.
    for _ in range(20):
        logs = gan.train_step(batch)
        if changed(before, gan.generator.trainable_variables):
            break
    assert changed(before, gan.generator.trainable_variables), "the generator never updated"
    assert all(np.isfinite(float(v)) for v in logs.values())


def test_acgan_cli_under_mirrored_strategy(tmp_path, mnist_dir, capsys):
    gan = acgan_train.main(["--data-dir", mnist_dir, "--epochs", "1", "--batch-size", "10",
                            "--steps-per-epoch", "2", "--output-dir", str(tmp_path),
                            "--strategy", "mirrored"])
    assert "strategy: mirrored" in capsys.readouterr().out
    assert int(gan.d_optimizer.iterations.numpy()) == 2
