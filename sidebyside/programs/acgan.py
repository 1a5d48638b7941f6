"""AC-GAN side by side: mnist_acgan.py (keras 14625e57af, Keras 2.2.4) and acgan_mnist.

The example's batch size is a constant (100), so the runner gives it 100 x steps training
images and the port the same batches in the same order; the noise and sampled classes are the
example's own numpy draws.
"""
import os

import keras
import numpy as np

from acgan_mnist.import_original import file_arrays, import_network
from acgan_mnist.program import build_gan, parse_options
from common.errors import UserError
import common.latents
from common.mnist import load_mnist
from sidebyside.programs import compiled_step, mnist_as_read, recorded_images, records

ENVIRONMENT, SOURCE, RUNNER = "keras224", "acgan", "acgan.py"
BATCH_SIZE = 100
SAMPLE_CLASSES = 10  # samples(): sample i is of class i % 10
# The discriminator's train_on_batch returns the losses of its forward pass, before its update
# (the combined model's come after it).
PRE_UPDATE_LOSSES = ("d_loss", "d_generation_loss", "d_auxiliary_loss")
VALUE_RANGE = (-1.0, 1.0)
LATENT_SIZE = 100


def check_data(path):
    load_mnist(path)


def runner_config(args, workdir):
    if args.batch_size != BATCH_SIZE:
        raise UserError(f"mnist_acgan.py fixes batch_size = {BATCH_SIZE}; drop --batch-size")
    return mnist_as_read(args.data, workdir)


def latents(args, count, rng):
    return common.latents.draw(rng, (count, LATENT_SIZE), "uniform_signed")


def load(folder, config):
    """The port's ACGAN holding the runner's weight files of `folder` (initial: epoch 0,
    final: the last step's), dropout off unless keep_dropout, as in the runner."""
    epoch = 0 if folder == "initial" else config["steps"]
    gan = build_gan(parse_options(["--output-dir", os.path.join(config["workdir"], "port")]))
    if not config["keep_dropout"]:
        for layer in gan.discriminator._flatten_layers():
            if isinstance(layer, keras.layers.Dropout):
                layer.rate = 0.0
    for name, network in (("generator", gan.generator), ("discriminator", gan.discriminator)):
        path = os.path.join(config["workdir"], folder, f"params_{name}_epoch_{epoch:03d}.hdf5")
        import_network(network, path, file_arrays(path), verbose=False)
    return gan


def batches(workdir, config):
    """(images, labels, noise, sampled, noise2, sampled2) of each step: the example's batch,
    then its draws: U(-1, 1) noise and classes for D's fakes, 2B more for the combined model."""
    record = records(workdir)
    for step in range(1, config["steps"] + 1):
        # (Keras 2's initializers also drew scalar seeds with randint before step 1)
        uniform = record.draws(step, "uniform")
        randint = [draw for draw in record.draws(step, "randint") if draw.ndim]
        yield (record.get(step, "images").astype(np.float32),
               record.get(step, "labels").astype(np.int32),
               uniform[0].astype(np.float32), randint[0].reshape(-1, 1).astype(np.int32),
               record.get(step, "noise2").astype(np.float32),
               record.get(step, "sampled2").astype(np.int32))


def step(model, batch):
    return {name: float(value) for name, value in compiled_step(model)(batch).items()}


def compared_variables(model):
    """The networks' weights and BatchNorm statistics (not the port's dropout seeds)."""
    return [(v.path, v) for v in model.generator.variables + model.discriminator.variables
            if "seed_generator" not in v.path]


def samples(model, latents):
    labels = (np.arange(len(latents)) % 10).reshape(-1, 1)
    return np.asarray(model.generator([latents, labels], training=False))


def real_images(workdir, config):
    """The digits of every step's batch, in [-1, 1] as the example scaled them."""
    return recorded_images(workdir, config, "images").astype(np.float32)
