"""O-GAN side by side: o_gan_celeba_sm_4x4.py (bojone/o-gan c7b3d08, Keras 2.2.4) and ogan_keras.

The script's sizes are module constants; the runner pins them to small ones (IMG_DIM, Z_DIM,
--batch-size) and points its image list at --data. The port trains on the batches the
script's img_generator gave train_on_batch (its pixels and its Z ~ N(0, 1)); the data stream
itself is checked once per run against the port's: the batch sizes of ogan_keras.train's
stream over the same folder, and the original's files, in its recorded shuffle order, read
by the port's loader.
"""
import os

import numpy as np
import tensorflow as tf

from common.cache import image_folder
import common.latents

from common.files import list_images
from common.original_files import Importer, import_keras2_layers
from ogan_keras.import_original import encoder_layers, generator_layers, nested_models
from ogan_keras.program import build_gan, image_spec, parse_options
from sidebyside.programs import compiled_step, recorded_images, records

ENVIRONMENT, SOURCE, RUNNER = "keras224", "ogan", "ogan.py"
BATCH_SIZE = 8
PRE_UPDATE_LOSSES = ("loss", "t_loss", "z_corr")  # one update, after the forward pass
VALUE_RANGE = (-1.0, 1.0)
IMG_DIM, Z_DIM = 64, 16
TUTORIAL_IMG_DIM = TUTORIAL_Z_DIM = 128  # o_gan_celeba_sm_4x4.py's, for --time-original
METRICS = {"loss": "loss", "t_loss": "t1_loss", "z_corr": "z_corr"}  # original's: port's
# About once a step at these sizes a first-layer LeakyReLU input lies within one rounding step
# of zero; two perturbed runs flip it only sometimes (one side-by-side in four then failed at
# step 2 with the port exactly right): four catch it.
FLOOR_RUNS = 4


def check_data(path):
    list_images(path)


def runner_config(args, workdir):
    """The sizes the runner pins, and the files of --data as the port lists them (the
    script's imgs); --time-original: the script's own sizes."""
    img_dim, z_dim = (TUTORIAL_IMG_DIM, TUTORIAL_Z_DIM) if args.time_original else \
        (IMG_DIM, Z_DIM)
    return {"img_dim": img_dim, "z_dim": z_dim, "images": list_images(args.data)}


def latents(args, count, rng):
    z_dim = TUTORIAL_Z_DIM if args.time_original else Z_DIM
    return common.latents.draw(rng, (count, z_dim), "normal")


def load(folder, config):
    """The port's OGAN holding the runner's train_model.weights of `folder` (its debias state
    empty, as TF's shadow variables were at the script's start)."""
    gan = build_gan(parse_options([
        "--output-dir", os.path.join(config["workdir"], "port"), "--img_dim", str(IMG_DIM),
        "--z_dim", str(Z_DIM), "--batch_size", str(config["batch_size"])]))
    path = os.path.join(config["workdir"], folder, "train_model.weights")
    encoder_arrays, generator_arrays = nested_models(path)
    importer = Importer(path)
    import_keras2_layers(importer, "encoder", encoder_arrays, encoder_layers(gan.encoder))
    import_keras2_layers(importer, "generator", generator_arrays,
                         generator_layers(gan.generator))
    return gan


def batches(workdir, config):
    """([X, Z]) of each step as fit_generator passed them to train_on_batch."""
    record = records(workdir)
    check_stream(workdir, config, record)
    for step in range(1, config["steps"] + 1):
        yield (tf.constant(record.get(step, "images"), tf.float32),
               tf.constant(record.get(step, "latents"), tf.float32))


_checked = set()


def check_stream(workdir, config, record):
    """Once per run, printed: whether ogan_keras.train's data stream (ImageFolder.dataset with
    pass_batches, what it gives fit()) has the original's batch sizes over the same folder,
    and how far the port's loader reads the original's files, taken in the original's
    recorded shuffle order, from the pixels the original trained on."""
    if workdir in _checked:
        return
    _checked.add(workdir)
    sizes = [len(record.get(step, "images")) for step in range(1, config["steps"] + 1)]
    spec = image_spec(IMG_DIM)
    folder = image_folder(config["data"], spec, config["batch_size"], seed=config["seed"])
    stream = folder.dataset(config["batch_size"], pass_batches=True).take(len(sizes))
    port_sizes = [int(batch.shape[0]) for batch in stream]
    # the script's np.random.shuffle(imgs) at start-up, then one per pass of img_generator
    passes = [value for _, _, name, value in record.draw_list if name == "shuffle"][1:]
    files = [str(path) for order in passes for path in order]
    at, difference = 0, 0.0
    for step, size in enumerate(sizes, 1):
        mine = np.stack([spec.to_float(spec.read(path)) for path in files[at:at + size]])
        difference = max(difference, float(np.max(np.abs(mine - record.get(step, "images")))))
        at += size
    same = "the same" if port_sizes == sizes else f"NOT the same: {listed(port_sizes)}"
    print(f"data: the original's batch sizes {listed(sizes)}; the port's stream over the same "
          f"folder: {same}; the original's files in its shuffle order, read by the port: largest "
          f"pixel difference {difference:.4f} (one level: {2 / 255:.4f})")


def listed(sizes, shown=24):
    """`sizes` as a list, cut after `shown` with the count of each size (a long run has one
    batch size a step)."""
    if len(sizes) <= shown:
        return str(sizes)
    counts = ", ".join(f"{sizes.count(size)} of {size}" for size in sorted(set(sizes)))
    return f"{str(sizes[:shown])[:-1]}, ...] ({len(sizes)} batches: {counts})"


def step(model, batch):
    logs = compiled_step(model)(batch)
    return {theirs: float(logs[mine]) for theirs, mine in METRICS.items()}


def compared_variables(model):
    """Both networks' weights and BatchNorm moving statistics."""
    return [(v.path, v) for v in model.encoder.variables + model.generator.variables]


def samples(model, latents):
    return np.asarray(model.generator(latents, training=False))


def real_images(workdir, config):
    """The images of every batch fit_generator passed to train_on_batch."""
    return recorded_images(workdir, config, "images").astype(np.float32)
