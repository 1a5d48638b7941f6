"""Time train steps of every program at the original sizes and print ms/step and peak memory.

`python bench/step_times.py [--steps 5] [--only acgan,ogan,...]`. Uses random data shaped like
each tutorial's (no download); the first (tracing) step is timed separately.
"""
import argparse
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import common  # noqa: E402,F401
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from acgan_mnist.gan import ACGAN, random_inputs  # noqa: E402
from acgan_mnist import model as acgan_model  # noqa: E402
from dcgan_tf import model as dcgan_model  # noqa: E402
from common.old_frameworks import Keras2RMSprop  # noqa: E402
from dcgan_tf.gan import DCGAN, WGAN, with_critic_noise  # noqa: E402
from ogan_keras import model as ogan_model  # noqa: E402
from ogan_keras.gan import OGAN  # noqa: E402
from pix2pix_tf import model as pix_model  # noqa: E402
from pix2pix_tf.gan import Pix2Pix  # noqa: E402


SEED = tf.constant([1, 2], tf.int64)


def adam(lr=2e-4):
    return keras.optimizers.Adam(lr, beta_1=0.5)


def acgan():
    gan = ACGAN(acgan_model.build_generator(), acgan_model.build_discriminator())
    gan.compile(adam(), adam())
    batch = (tf.random.uniform((100, 28, 28, 1), -1, 1), tf.zeros((100,), tf.int32))
    return gan, random_inputs(100)(batch, SEED)


def ogan():
    gan = OGAN(ogan_model.build_encoder(), ogan_model.build_generator())
    gan.compile(Keras2RMSprop(1e-4, rho=0.99, epsilon=1e-7))
    return gan, (tf.random.uniform((64, 128, 128, 3), -1, 1), tf.random.normal((64, 128)))


def dcgan():
    gan = DCGAN(dcgan_model.build_generator(), dcgan_model.build_discriminator())
    gan.compile(adam(), adam())
    return gan, (tf.random.uniform((64, 64, 64, 3), -1, 1), tf.random.uniform((64, 100), -1, 1))


def dcgan_mnist():
    gan = DCGAN(dcgan_model.build_generator(y_dim=10, c_dim=1, output_height=28),
                dcgan_model.build_discriminator(y_dim=10, c_dim=1, input_height=28),
                conditional=True)
    gan.compile(adam(), adam())
    return gan, (tf.random.uniform((64, 28, 28, 1)), tf.one_hot(tf.zeros(64, tf.int32), 10),
                 tf.random.uniform((64, 100), -1, 1))


def wgan():
    gan = WGAN(dcgan_model.build_wgan_generator(), dcgan_model.build_wgan_critic())
    gan.compile(Keras2RMSprop(5e-5, rho=0.9, epsilon=1e-8),
                Keras2RMSprop(5e-5, rho=0.9, epsilon=1e-8))
    return gan, with_critic_noise(100)(tf.random.uniform((64, 5, 96, 96, 3), -1, 1), SEED)


def pix2pix():
    gan = Pix2Pix(pix_model.build_generator(), pix_model.build_discriminator())
    gan.compile(adam(), adam())
    return gan, (tf.random.uniform((1, 256, 256, 3), -1, 1),) * 2


PROGRAMS = {"acgan": acgan, "ogan": ogan, "dcgan": dcgan, "dcgan_mnist": dcgan_mnist,
            "wgan": wgan, "pix2pix": pix2pix}


def time_steps(name, steps):
    gan, batch = PROGRAMS[name]()
    step = tf.function(gan.train_step)
    start = time.perf_counter()
    step(batch)
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(steps):
        logs = step(batch)
    float(next(iter(logs.values())))
    per_step = (time.perf_counter() - start) / steps
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"{name:12s} {device}  first step {first:7.2f} s   {1000 * per_step:9.1f} ms/step   "
          f"peak RSS so far {peak_mb:8.0f} MB", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--only", default=",".join(PROGRAMS))
    args = parser.parse_args()
    for name in args.only.split(","):
        time_steps(name, args.steps)


if __name__ == "__main__":
    main()
