"""Anime DCGAN side by side: Anime_GAN's DCGAN/main.py (42c0315, PyTorch 1.0.1) and dcgan_tf
--arch anime.

The runner feeds main.py a faces/ folder made from --data's images and records each batch as
main.py's DataLoader shuffled it, with the step's torch.randn noise (N(0, 1), reused by the
generator's step as main.py does); the port replays both through DCGAN.train_step.
"""
import argparse
import os

import numpy as np

from common.files import list_images
import common.latents
from common.original_files import Importer
from dcgan_tf.originals import anime
from dcgan_tf.program import build_gan, parse_options
from sidebyside.programs import compiled_step, recorded_images, records

ENVIRONMENT, SOURCE, RUNNER = "torch", "anime", "anime.py"
BATCH_SIZE = 16  # main.py's 64 takes several seconds a step on two CPU cores
VALUE_RANGE = (-1.0, 1.0)
Z_DIM = 100
# main.py's printed names (loss_D, loss_G) and its two halves of loss_D: the port's trackers
LOSSES = {"loss_D": "d_loss", "loss_G": "g_loss", "real_loss": "d_loss_real",
          "fake_loss": "d_loss_fake"}
PRE_UPDATE_LOSSES = ("loss_D", "real_loss", "fake_loss")  # loss_G follows D's update


def check_data(path):
    list_images(path)


def runner_config(args, workdir):
    """The files of --data as the port lists them (the runner makes main.py's faces/ of
    them)."""
    return {"images": list_images(args.data)}


def latents(args, count, rng):
    return common.latents.draw(rng, (count, Z_DIM), "normal")


def load(folder, config):
    """The port's anime DCGAN holding the runner's torch.save()d modules of `folder`."""
    gan = build_gan(parse_options(["--arch", "anime", "--batch_size", str(config["batch_size"]),
                                   "--output-dir", os.path.join(config["workdir"], "port")]))
    source, arrays, _, _ = anime.read_files(argparse.Namespace(
        path=os.path.join(config["workdir"], folder)))
    anime.import_weights(Importer(source), gan, arrays)
    return gan


def batches(workdir, config):
    """{"data": (images NHWC, z), "sample": fixed noise or None} of each step: main.py's batch
    (NCHW) and its (B, 100, 1, 1) noise; after the last step of every 20th epoch (from epoch
    0), main.py's generate(fixed_noise) in training mode, which moves the generator's
    BatchNorm statistics (the last step's is the runner's final checkpoint, taken before)."""
    record = records(workdir)
    per_epoch = -(-int(record.arrays["dataset_size"]) // config["batch_size"])  # no drop_last
    for step in range(1, config["steps"] + 1):
        images = record.get(step, "images").transpose(0, 2, 3, 1)
        noise = record.get(step, "noise")
        epoch, last = divmod(step, per_epoch)
        sampled = last == 0 and (epoch - 1) % 20 == 0 and step < config["steps"]
        yield {"data": (images.astype(np.float32),
                        noise.reshape(len(noise), Z_DIM).astype(np.float32)),
               "sample": record.arrays["fixed_noise"].reshape(-1, Z_DIM).astype(np.float32)
               if sampled else None}


def step(model, batch):
    logs = compiled_step(model)(batch["data"])
    if batch["sample"] is not None:
        model.generator(batch["sample"], training=True)
    return {name: float(logs[port]) for name, port in LOSSES.items()}


def compared_variables(model):
    """Both networks' weights and BatchNorm running statistics."""
    return [(v.path, v) for v in model.generator.variables + model.discriminator.variables]


def samples(model, latents):
    # main.py samples its fixed noise without eval(): batch statistics
    return np.asarray(model.generator(latents, training=True))


def real_images(workdir, config):
    """main.py's batches (NCHW in [-1, 1]) as NHWC."""
    return recorded_images(workdir, config, "images").transpose(0, 2, 3, 1).astype(np.float32)
