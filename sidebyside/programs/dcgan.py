"""carpedm20 DCGAN side by side: main.py (DCGAN-tensorflow 351a654, TF 1.15) on an image
folder and dcgan_tf's unconditional model (--arch dcgan); dcgan_mnist.py reuses this module
for the conditional MNIST model.

The original reads the folder at input = output = SIZE (no crop); the port replays the
batches as the original fed them (get_image's scipy imresize included), its z, and (MNIST)
its one-hot y. The losses compared are those the original printed, evaluated after the step's
updates (errD_fake, errD_real, errG; d_loss is their sum), and at every 100th step the
[Sample] line's d_loss and g_loss, on the sample inputs the original fed.
"""
import collections
import math
import os

import numpy as np

from common import cli
from common.errors import UserError
from common.files import IMAGE_EXTENSIONS
import common.latents
from common.original_files import Importer
from common.tf1_checkpoints import tf1_checkpoint, tf1_checkpoint_prefix
from dcgan_tf.originals import carpedm20
from dcgan_tf.program import build_gan, parse_options
from sidebyside.programs import compiled_step, recorded_images, records

ENVIRONMENT, SOURCE, RUNNER = "keras224", "dcgan", "dcgan.py"
BATCH_SIZE = 8
VALUE_RANGE = (-1.0, 1.0)
Z_DIM = 100  # main.py passes generate_test_images (100) as z_dim
SIZE = 16  # the smallest size the four stride-2 halvings of both networks keep whole
TUTORIAL_SIZE = 64  # the celebA run's --output_height, for --time-original
SAMPLE_EVERY = 100  # train()'s [Sample] evaluation: after counter += 1, counter % 100 == 1


def check_data(path):
    input_fname_pattern(path)


def input_fname_pattern(path):
    """main.py's --input_fname_pattern: *.EXT of the commonest image extension directly in
    the folder (carpedm20 globs data_dir/dataset/PATTERN; both sides use what it matches)."""
    if not os.path.isdir(path):
        raise UserError(f"{path} is not a folder of images")
    counts = collections.Counter(os.path.splitext(name)[1] for name in sorted(os.listdir(path))
                                 if name.lower().endswith(IMAGE_EXTENSIONS))
    if not counts:
        raise UserError(f"{path} has no images directly inside it (main.py globs "
                        "data_dir/dataset/*.jpg); pass that folder")
    return "*" + counts.most_common(1)[0][0]


def check_sample_grid(args):
    """carpedm20's [Sample] evaluation at step SAMPLE_EVERY saves a grid whose
    image_manifold_size asserts floor(sqrt(B)) x ceil(sqrt(B)) == B (utils.py): one UserError
    before the original runs, not its AssertionError 100 steps in."""
    side = args.batch_size ** 0.5
    if args.steps >= SAMPLE_EVERY and \
            math.floor(side) * math.ceil(side) != args.batch_size:
        raise UserError(f"carpedm20 saves its [Sample] grid at step {SAMPLE_EVERY}, and its "
                        f"image_manifold_size cannot lay out a batch of {args.batch_size}: use "
                        f"--batch-size 4, 16 or 64 (the tutorial's), or fewer than "
                        f"{SAMPLE_EVERY} steps")


def runner_config(args, workdir):
    check_sample_grid(args)
    return {"size": TUTORIAL_SIZE if args.time_original else SIZE,
            "input_fname_pattern": input_fname_pattern(args.data)}


def latents(args, count, rng):
    return common.latents.draw(rng, (count, Z_DIM), "uniform_signed")


def options(config, c_dim):
    """The port's options for the original's flags (MNIST: the conditional model)."""
    mnist = config["program"] == "dcgan-mnist"
    size = "28" if mnist else str(config["size"])
    argv = ["--train", "--batch_size", str(config["batch_size"]), "--input_height", size,
            "--output_height", size, "--z_dim", str(Z_DIM),
            "--output-dir", os.path.join(config["workdir"], "port")]
    if mnist:
        argv += ["--dataset", "mnist"]
    else:
        data = config["data"].rstrip("/")
        argv += ["--dataset", os.path.basename(data), "--data_dir", os.path.dirname(data)]
    return cli.replaced(parse_options(argv), c_dim=c_dim)


def load(folder, config):
    """The port's DCGAN holding the runner's Saver checkpoint in workdir/`folder` (written by
    the original's own save()), read by dcgan_tf.import_original."""
    prefix = tf1_checkpoint_prefix(carpedm20.dcgan_folder(os.path.join(config["workdir"], folder)))
    arrays = tf1_checkpoint(prefix)
    kernel = "generator/g_h3/w" if config["program"] == "dcgan-mnist" else "generator/g_h4/w"
    gan = build_gan(options(config, arrays[kernel].shape[2]))
    carpedm20.import_weights(Importer(prefix), gan, arrays)
    return gan


def batches(workdir, config):
    """{"data": train_step's (images, z) or (images, y, z), "sample": the [Sample]
    evaluation's (images, y, z) where the original ran one after the step, else None}."""
    record = records(workdir)
    mnist = config["program"] == "dcgan-mnist"
    for step in range(1, config["steps"] + 1):
        images, z = record.get(step, "images"), record.get(step, "z")
        data = (images, record.get(step, "y"), z) if mnist else (images, z)
        sample = None
        if step % SAMPLE_EVERY == 0:
            sample = (record.get(step, "sample_images"),
                      record.get(step, "sample_y") if mnist else None,
                      record.get(step, "sample_z"))
        yield {"data": data, "sample": sample}


def step(model, batch):
    losses = {name: float(value) for name, value in compiled_step(model)(batch["data"]).items()}
    if batch["sample"] is not None:
        d_loss, g_loss = model.sample_losses(*batch["sample"])
        losses.update(sample_d_loss=float(d_loss), sample_g_loss=float(g_loss))
    return losses


def compared_variables(model):
    """Both networks' weights and BatchNorm moving statistics."""
    return [(v.path, v) for v in model.generator.variables + model.discriminator.variables]


def samples(model, latents):
    return np.asarray(model.generate(latents, training=False))


def real_images(workdir, config):
    """The images of every step's batch as the original fed them."""
    return recorded_images(workdir, config, "images").astype(np.float32)
