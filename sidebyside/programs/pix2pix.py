"""pix2pix side by side: pix2pix.py (affinelayer/pix2pix-tensorflow 0f21744, TF 1.15) and
pix2pix_tf.

The network is fixed at 256x256, so the run is small through --ngf / --ndf (NGF, NDF) and
batch 1. The port trains on the batches the original's queue pipeline produced (recorded with
the draws of its flip and crop), from the original's initial checkpoint (its own Saver
files, Adam slots included); the losses compared per step are the three the train op
computed and the three displayed averages after it ("_ema"). The samples are the generator
on the first input images of --data (the "latents"), batch_size at a time.
"""
import os

import keras
import numpy as np
import tensorflow as tf

from common.errors import UserError
from common.images import read_image, to_uint8, to_unit
from pix2pix_tf.gan import LOSSES
from pix2pix_tf.import_original import import_checkpoint
from pix2pix_tf.model import CROP_SIZE, AlwaysOnDropout
from pix2pix_tf.pairs import list_paired_images, paired_transform
from pix2pix_tf.program import fixed_examples, image_scores, parse_options
from sidebyside.programs import recorded_images, records

ENVIRONMENT, SOURCE, RUNNER = "keras224", "pix2pix", "pix2pix.py"
BATCH_SIZE = 1
# One session run: the losses it fetched are the forward pass's, before either update.
PRE_UPDATE_LOSSES = ("discrim_loss", "gen_loss_GAN", "gen_loss_L1")
VALUE_RANGE = (-1.0, 1.0)
NGF = NDF = 8
TUTORIAL_NGF = TUTORIAL_NDF = 64  # pix2pix.py's defaults, for --time-original
# The original's own augmentation: resize to 286, random 256 crop, random flip. The port trains
# on the batches it produced; port_examples remakes them with the port's pipeline.
SCALE_SIZE, FLIP = 286, True


def check_data(path):
    list_paired_images(path)


def runner_config(args, workdir):
    if args.time_original:
        return {"ngf": TUTORIAL_NGF, "ndf": TUTORIAL_NDF, "scale_size": SCALE_SIZE,
                "flip": FLIP, "held_out": None}
    if args.keep_dropout and args.held_out is None and \
            args.steps * args.batch_size >= len(list_paired_images(args.data)):
        raise UserError(f"the statistical mode scores pix2pix on pairs it never trained on, and "
                        f"{args.steps} steps of {args.batch_size} may read every pair of "
                        f"{args.data}: give --held-out DIR (for example facades/val)")
    return {"ngf": NGF, "ndf": NDF, "scale_size": SCALE_SIZE, "flip": FLIP,
            "held_out": args.held_out and os.path.abspath(args.held_out)}


def options(config):
    """The port's options for the runner's command line."""
    return parse_options(["--mode", "train", "--ngf", str(config["ngf"]), "--ndf",
                          str(config["ndf"]), "--batch_size", str(config["batch_size"]),
                          "--seed", str(config["seed"]),
                          "--output_dir", os.path.join(config["workdir"], "port")])


def latents(args, count, rng):
    """The inputs of the first images of --data (as many as fit in whole batches)."""
    _, inputs, _ = fixed_examples(parse_options(["--mode", "train"]),
                                  list_paired_images(args.data), count)
    return inputs[:max(args.batch_size, len(inputs) // args.batch_size * args.batch_size)]


def load(folder, config):
    """The port holding the runner's checkpoint in `folder` (weights, Adam state, averages),
    the generator's dropout off unless keep_dropout, as in the runner."""
    model = import_checkpoint(os.path.join(config["workdir"], folder), options(config))[0]
    if not config["keep_dropout"]:
        for layer in model.generator.layers:
            if isinstance(layer, AlwaysOnDropout):
                layer.rate = 0.0
    model.sample_batch = config["batch_size"]
    return model


@tf.function
def train_step(model, inputs, targets):
    """Pix2Pix.train_step, compiled, returning the losses of its forward pass (as the
    original's train op computed them) and the displayed averages after it ("_ema")."""
    losses = model.update_networks(inputs, targets)
    averages = model.update_displayed_averages(losses)
    return {**{name: losses[name] for name in LOSSES},
            **{name + "_ema": averages[name] for name in LOSSES}}


def port_examples(workdir, config):
    """Each step's (inputs, targets) remade from the files the original read by the port's
    data path (pix2pix_tf.pairs.paired_transform: decode, A|B halves, [-1, 1], AREA resize), the
    original's flip and crop draws applied as pix2pix.py applied them (flip when its uniform
    draw is below 0.5, before the resize; crop at the floor of its offset draw)."""
    record = records(workdir)
    transform = paired_transform(scale_size=config["scale_size"],
                                 crop_size=config["scale_size"], flip=False)
    for step in range(1, config["steps"] + 1):
        pairs = []
        for k, path in enumerate(record.get(step, "paths")):
            image = to_unit(read_image(str(path)))
            half = image.shape[1] // 2
            halves = [image[:, :half], image[:, half:2 * half]]
            if config["flip"] and record.get(step, "flip")[k] < 0.5:
                halves = [h[:, ::-1] for h in halves]
            inputs, targets = transform(tf.constant(np.concatenate(halves, axis=1)))
            top, left = np.floor(record.get(step, "offset")[k]).astype(int) \
                if config["scale_size"] > CROP_SIZE else (0, 0)
            pairs.append([x[top:top + CROP_SIZE, left:left + CROP_SIZE]
                          for x in (inputs.numpy(), targets.numpy())])
        yield tuple(np.stack(x) for x in zip(*pairs))


def batches(workdir, config):
    record = records(workdir)
    for step in range(1, config["steps"] + 1):
        yield tuple(keras.ops.convert_to_tensor(record.get(step, name))
                    for name in ("inputs", "targets"))


def step(model, batch):
    return {name: float(value) for name, value in train_step(model, *batch).items()}


def compared_variables(model):
    """The networks' weights and BatchNorm statistics, both Adams' m and v, the averages;
    not the biases of convolutions a batchnorm follows, nor their m and v: their gradient is
    zero but for rounding (the batchnorm subtracts the mean), so Adam moves them by noise,
    differently in any two programs, and nothing reads them."""
    unread = {id(layer.bias) for network in (model.generator, model.discriminator)
              for layer in network.layers if has_layer(network, f"{layer.name}_batchnorm")}
    networks = [(v.path, v) for v in model.generator.variables + model.discriminator.variables
                if "seed_generator" not in v.path and id(v) not in unread]
    slots = [(f"{kind}/{slot.path}", slot)
             for kind, optimizer, network in (("d", model.d_optimizer, model.discriminator),
                                              ("g", model.g_optimizer, model.generator))
             for v in network.trainable_variables if id(v) not in unread
             for slot in (optimizer._momentums[optimizer._get_variable_index(v)],
                          optimizer._velocities[optimizer._get_variable_index(v)])]
    return networks + slots + [(f"average/{name}", v) for name, v in model.averages.items()]


def has_layer(network, name):
    return any(layer.name == name for layer in network.layers)


def samples(model, latents):
    """The generator as the runner ran it: batch statistics, batch_size images at a time."""
    size = model.sample_batch
    return np.concatenate([keras.ops.convert_to_numpy(model.generator(latents[i:i + size],
                                                                      training=True))
                           for i in range(0, len(latents), size)])


def quality_scores(args, config, models):
    """The statistical mode's score, as the port's test mode scores
    (pix2pix_tf.program.image_scores): the mean PSNR (tested over --runs) and SSIM (reported)
    of each program's outputs on up to --num-samples held-out pairs, against their targets,
    both at 8 bits as saved. Held out: --held-out's pairs, else those of --data the original
    never read."""
    paths = held_out_paths(config)
    options = parse_options(["--mode", "test"])
    _, inputs, targets = fixed_examples(options, paths, args.num_samples)
    if inputs is None:
        raise UserError(f"none of the {len(paths)} held-out pairs could be read")
    shown = [to_uint8(x, VALUE_RANGE) / 255.0 for x in (inputs, targets)]
    scores = {}
    for name, model in models.items():
        outputs = samples(model, inputs)
        rows = image_scores(options, targets, outputs, (*shown, to_uint8(outputs, VALUE_RANGE)
                                                        / 255.0))
        scores[name] = {metric: float(np.mean([row[metric] for row in rows]))
                        for metric in ("psnr", "ssim")}
    print(f"\nquality score (on {len(inputs)} held-out pairs): PSNR original "
          f"{scores['original']['psnr']:.2f} dB, port {scores['port']['psnr']:.2f} dB; SSIM "
          f"original {scores['original']['ssim']:.4f}, port {scores['port']['ssim']:.4f}")
    return {"metric": "PSNR (dB)", "original": scores["original"]["psnr"],
            "port": scores["port"]["psnr"], "held_out": len(inputs),
            "ssim": {name: scores[name]["ssim"] for name in models}}


def held_out_paths(config):
    """--held-out's pairs, else the pairs of --data that no recorded step read."""
    if config.get("held_out"):
        return list_paired_images(config["held_out"])
    record = records(config["workdir"])
    read = {os.path.basename(path.decode() if isinstance(path, bytes) else str(path))
            for step in range(1, config["steps"] + 1) for path in record.get(step, "paths")}
    unread = [path for path in list_paired_images(config["data"])
              if os.path.basename(path) not in read]
    if not unread:
        raise UserError(f"the original read every pair of {config['data']}: give --held-out DIR")
    return unread


def real_images(workdir, config):
    """The targets of every step: what the generator's outputs are scored against."""
    return recorded_images(workdir, config, "targets").astype(np.float32)
