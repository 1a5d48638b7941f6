"""Keras WGAN side by side: Anime_GAN's WGAN_keras/wgan_keras.py (42c0315, Keras 2.1.2 on TF 1.15)
and dcgan_tf --arch wgan.

The runner records what each of the script's five critic iterations per step was fed (the real
batch ImageDataGenerator rotated and rescaled, the N(0, 1) noise) and the generator's noise;
the port replays them through WGAN.train_step. Rotation is the script's own, in its batches:
how the port's data pipeline rotates does not enter this comparison.
"""
import argparse
import os

import numpy as np

from common.errors import UserError
from common.files import list_images
import common.latents
from common.original_files import Importer
from dcgan_tf.originals import wgan
from dcgan_tf.program import build_gan, parse_options, sample_images
from sidebyside.programs import compiled_step, recorded_images, records

ENVIRONMENT, SOURCE, RUNNER = "keras212", "wgan", "wgan.py"
BATCH_SIZE = 8  # the script's 64: a step is 5 critic and 1 generator updates of 12M-weight nets
VALUE_RANGE = (-1.0, 1.0)
Z_DIM = 100


def check_data(path):
    list_images(path)


def runner_config(args, workdir):
    """The files of --data as the port lists them (the runner links the script's faces/data/
    to them)."""
    images = list_images(args.data)
    if len(images) < args.batch_size:
        raise UserError(f"{args.data} has {len(images)} images, fewer than one batch of "
                        f"{args.batch_size}; the runner feeds the script whole batches only")
    return {"images": images}


def latents(args, count, rng):
    return common.latents.draw(rng, (count, Z_DIM), "normal")


def options(config):
    return parse_options(["--arch", "wgan", "--batch_size", str(config["batch_size"]),
                          "--output-dir", os.path.join(config["workdir"], "port")])


def load(folder, config):
    """The port's WGAN holding the runner's model.save() files of `folder`."""
    gan = build_gan(options(config))
    source, layers, _, _ = wgan.read_files(argparse.Namespace(
        path=os.path.join(config["workdir"], folder)))
    wgan.import_weights(Importer(source), gan, layers)
    return gan


def batches(workdir, config):
    """(real (B, 5, 96, 96, 3), critic noise (B, 5, 100), generator noise (B, 100)) of each
    step, as with_critic_noise stacks them; the noise as fed to the script's float32
    placeholders."""
    record = records(workdir)
    for step in range(1, config["steps"] + 1):
        yield (record.get(step, "real").transpose(1, 0, 2, 3, 4).astype(np.float32),
               record.get(step, "critic_noise").transpose(1, 0, 2).astype(np.float32),
               record.get(step, "noise").astype(np.float32))


def first_evaluation(workdir, config, model):
    """The critic's mean scores at the step's first critic call, before any update: on the
    first recorded real batch and on the generator's images of its noise (batch statistics,
    as the script ran every BatchNormalization), in the model's dtype."""
    record = records(workdir)
    dtype = model.critic.dtype_policy.compute_dtype
    real = record.get(1, "real")[0].astype(dtype)
    fakes = model.generator(record.get(1, "critic_noise")[0].astype(dtype), training=True)
    return {"Loss_D_real, critic call 1": float(np.mean(model.critic(real, training=True))),
            "Loss_D_fake, critic call 1": float(np.mean(model.critic(fakes, training=True)))}


def original_first_evaluation(workdir, config):
    real, fake = records(workdir).get(1, "critic_losses")[0]
    return {"Loss_D_real, critic call 1": float(real),
            "Loss_D_fake, critic call 1": float(fake)}


def step(model, batch):
    return {name: float(value) for name, value in compiled_step(model)(batch).items()}


def compared_variables(model):
    """The weights of both networks. Not BatchNorm's moving statistics: the script calls every
    BatchNormalization with training=1 and its K.functions run only the optimizers' updates,
    so the original never updates them (its files keep 0 and 1) and neither program reads
    them."""
    return [(v.path, v) for v in model.generator.variables + model.critic.variables
            if "moving_" not in v.path]


def samples(model, latents):
    # as dcgan_tf's sample grids: batch statistics, as the script's netG.predict
    return sample_images(model, argparse.Namespace(arch="wgan"), latents)


def real_images(workdir, config):
    """The real batches of every critic iteration of every step."""
    real = recorded_images(workdir, config, "real")
    return real.reshape((-1,) + real.shape[2:]).astype(np.float32)
