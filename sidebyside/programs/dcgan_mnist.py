"""carpedm20 DCGAN side by side on MNIST: main.py --dataset mnist (DCGAN-tensorflow 351a654, the
conditional model, y_dim 10, 28x28, sigmoid output in [0, 1]) and dcgan_tf's --dataset mnist.

The runner writes --data (an MNIST-format IDX folder or .npz) as the raw IDX files load_mnist
reads; the port replays the batches and one-hot labels the original fed (load_mnist's seed-547
order) and its z. Everything else as sidebyside.programs.dcgan.
"""
import numpy as np

from common.mnist import load_mnist
from sidebyside.programs import mnist_as_read
from sidebyside.programs.dcgan import (ENVIRONMENT, RUNNER, SOURCE, batches, check_sample_grid,
                                       compared_variables, latents, load, real_images, step)

__all__ = ["ENVIRONMENT", "SOURCE", "RUNNER", "BATCH_SIZE", "VALUE_RANGE", "FLOOR_RUNS",
           "check_data", "runner_config", "latents", "load", "batches", "step",
           "compared_variables", "samples", "real_images"]

BATCH_SIZE = 8
SAMPLE_CLASSES = Y_DIM = 10  # samples(): sample i is of class i % 10
VALUE_RANGE = (0.0, 1.0)
# The discriminator's moving statistics sum seven passes a step, two of them on the fakes,
# whose rounding-level differences grow fastest: two perturbed runs put their floor too low
# in about one run in four (measured over 3 steps); four do not.
FLOOR_RUNS = 4


def check_data(path):
    load_mnist(path)


def runner_config(args, workdir):
    check_sample_grid(args)
    return mnist_as_read(args.data, workdir)


def samples(model, z):
    """The sampler with labels 0..9 repeated, as the runner feeds it."""
    labels = np.eye(Y_DIM, dtype=np.float32)[np.arange(len(z)) % Y_DIM]
    return np.asarray(model.generate(z, labels, training=False))
