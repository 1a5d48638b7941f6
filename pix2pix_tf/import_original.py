"""The original pix2pix.py's own checkpoints into a run directory of this port:
`python -m pix2pix_tf.import_original PATH [--output-dir DIR] [--verbose] [size flags]`.

PATH is the original's --output_dir (its `checkpoint` file names the newest model-N, or
export in an --mode export folder), a checkpoint prefix (model-80000) or one of its files.
A training checkpoint (model-N) brings the generator, the discriminator, their BatchNorm
moving statistics, both Adam optimizers' state (m and v of every variable and the step count
that beta1_power / beta2_power encode), global_step and the displayed loss averages (the
ExponentialMovingAverage shadows): `python -m pix2pix_tf.train --mode train --output_dir DIR`
continues it. An export checkpoint holds the generator only, which is all that --mode test /
export (--checkpoint DIR) and pix2pix_tf.evaluate use.

The sizes (--ngf, --ndf, --which_direction, --lab_colorization, --separable_conv) come from
the options.json the original wrote beside its checkpoint, else from these flags (a flag given
here wins), else from the original's defaults. That options.json also gives the run its lr,
beta1, l1_weight, gan_weight, batch_size, scale_size, flip, aspect_ratio and input_dir.
"""
import math
import os
import re

import numpy as np

from common import cli, rundir
from common.errors import UserError
from common.original_files import Importer, import_parser, refuse_leftovers, require, write_run
from common.tf1_checkpoints import tf1_checkpoint, tf1_checkpoint_prefix
from pix2pix_tf.gan import LOSSES
from pix2pix_tf.program import NETWORK_OPTIONS, build_model, parse_options

# Options of the original's options.json that the imported run keeps: the networks' and the
# training's, and input_dir (evaluate's default); mode, output_dir and the step limits
# belonged to the original's command.
CARRIED_OPTIONS = NETWORK_OPTIONS + ["lr", "beta1", "l1_weight", "gan_weight", "batch_size",
                                     "scale_size", "flip", "aspect_ratio", "output_filetype",
                                     "input_dir"]
# The ExponentialMovingAverage(0.99) shadows of the three displayed losses: the tensors they
# average are the reduce_means of the discriminator_loss and generator_loss name scopes.
LOSS_SHADOWS = {"discrim_loss": "discriminator_loss/Mean/ExponentialMovingAverage",
                "gen_loss_GAN": "generator_loss/Mean/ExponentialMovingAverage",
                "gen_loss_L1": "generator_loss/Mean_1/ExponentialMovingAverage"}
ADAM_BETA2 = 0.999  # tf.train.AdamOptimizer's default, which pix2pix.py kept
BLOCK = re.compile(r"^(encoder_\d|decoder_\d|layer_\d)(_batchnorm)?$")


def tf1_layer(block, batchnorm, separable):
    """The tf.layers scope of a block's layer: what pix2pix.py's helpers called."""
    if batchnorm:
        return "batch_normalization"
    if separable and block.startswith("generator/"):
        return "separable_conv2d"
    return "conv2d_transpose" if "/decoder_" in block else "conv2d"


def original_names(network, separable_conv=False):
    """{block: [(the original's variable name, Keras variable)]} of a port network, in layer
    order: generator/encoder_2/conv2d/kernel, .../batch_normalization/moving_mean, ...
    (Keras and tf.layers name a layer's variables alike, and store them in the same layout)."""
    blocks = {}
    for layer in network.layers:
        match = BLOCK.match(layer.name)
        if not match or not layer.weights:
            continue
        block = f"{network.name}/{match.group(1)}"
        scope = f"{block}/{tf1_layer(block, bool(match.group(2)), separable_conv)}"
        blocks.setdefault(block, []).extend((f"{scope}/{v.name}", v) for v in layer.weights)
    return blocks


def adam_steps(beta2_power, fallback):
    """The steps an AdamOptimizer had taken: TF1 keeps beta2^(t+1) (it starts at beta2 and is
    multiplied after every update); Keras' Adam keeps t (`iterations`). Once the power has
    underflowed (about 100k steps) the bias corrections are 1 and `fallback` serves."""
    if 0.0 < beta2_power < 1.0:
        return int(round(math.log(beta2_power) / math.log(ADAM_BETA2))) - 1
    return fallback


# ---- the options of the run ----

def run_options(args, directory):
    """The run's options: parse_options' defaults, then the original's options.json beside
    the checkpoint, then the size flags given here."""
    saved = rundir.read_options_file(directory) or {}
    carried = {key: saved[key] for key in CARRIED_OPTIONS if key in saved}
    given = {key: getattr(args, key) for key in NETWORK_OPTIONS
             if getattr(args, key) is not None}
    return cli.replaced(parse_options(["--mode", "train"]), **{**carried, **given})


def add_size_flags(parser):
    parser.add_argument("--ngf", type=cli.positive_int, default=None,
                        help="the original's --ngf (default: its options.json, else 64)")
    parser.add_argument("--ndf", type=cli.positive_int, default=None,
                        help="the original's --ndf (default: its options.json, else 64)")
    parser.add_argument("--which_direction", choices=["AtoB", "BtoA"], default=None,
                        help="the original's --which_direction (default: its options.json, "
                             "else AtoB)")
    parser.add_argument("--lab_colorization", action="store_true", default=None,
                        help="the original ran with --lab_colorization (default: its "
                             "options.json)")
    parser.add_argument("--separable_conv", action="store_true", default=None,
                        help="the original ran with --separable_conv (default: its "
                             "options.json)")


# ---- the import ----

def check_conv_kind(arrays, options, source):
    """A separable checkpoint read as a plain one (or the reverse) names the flag to change,
    rather than a missing kernel."""
    plain = "generator/encoder_1/conv2d/kernel" in arrays
    separable = "generator/encoder_1/separable_conv2d/depthwise_kernel" in arrays
    if options.separable_conv and plain and not separable:
        raise UserError(f"{source} was saved without --separable_conv, but its options.json "
                        "or these flags ask for it")
    if not options.separable_conv and separable and not plain:
        raise UserError(f"{source} was saved with --separable_conv; pass --separable_conv")


def import_networks(importer, arrays, networks, separable_conv, used):
    """Every weight and BatchNorm statistic, one group per block (encoder_2, layer_3...)."""
    for network in networks:
        for block, pairs in original_names(network, separable_conv).items():
            importer.assign(block, [(name, require(arrays, name, importer.source), variable)
                                    for name, variable in pairs])
            used.update(name for name, _ in pairs)


def assign_group(importer, group, pairs, line):
    """importer.assign with `line` as the group's --verbose line: an optimizer's hundred-odd
    slots, or three scalars, do not read well as a list of shapes."""
    verbose, importer.verbose = importer.verbose, False
    importer.assign(group, pairs)
    importer.verbose = verbose
    if verbose:
        print(f"  {group}: {line}")


def import_adam(importer, arrays, network, optimizer, scope, separable_conv, used, step):
    """An AdamOptimizer's slots (<var>/Adam is m, <var>/Adam_1 is v) into a Keras Adam built on
    the network's trainable variables, and its step count into `iterations`, as one group.
    TF1's update (lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon)) is Keras'
    with the same epsilon, so training continues as the original's would (v's increment
    differs by 1.3e-5 relative: TF1 took 1 - beta2 from float32(0.999))."""
    slots = []
    for pairs in original_names(network, separable_conv).values():
        for name, variable in pairs:
            if variable.trainable:
                index = optimizer._get_variable_index(variable)
                slots += [(f"{name}/Adam", optimizer._momentums[index]),
                          (f"{name}/Adam_1", optimizer._velocities[index])]
    powers = [f"{scope}/beta1_power", f"{scope}/beta2_power"]
    require(arrays, powers[0], importer.source)
    steps = adam_steps(float(require(arrays, powers[1], importer.source)), step)
    pairs = [(name, require(arrays, name, importer.source), slot) for name, slot in slots]
    assign_group(importer, scope, pairs + [(powers[1], np.asarray(steps, np.int64),
                                            optimizer.iterations)],
                 f"Adam m and v of {len(slots) // 2} variables, step count {steps}")
    used.update([name for name, _ in slots] + powers)


def import_loss_averages(importer, arrays, model, used):
    """The displayed loss averages, where the checkpoint has their shadows."""
    keys = [key for key in LOSSES if LOSS_SHADOWS[key] in arrays]
    if keys:
        pairs = [(LOSS_SHADOWS[key], arrays[LOSS_SHADOWS[key]], model.averages[key])
                 for key in keys]
        assign_group(importer, "loss averages", pairs, ", ".join(
            f"{key} {float(arrays[LOSS_SHADOWS[key]]):.6g}" for key in keys))
        used.update(LOSS_SHADOWS[key] for key in keys)


def is_export(arrays):
    """An --mode export checkpoint: the generator's variables and nothing else."""
    return bool(arrays) and all(name.startswith("generator/") for name in arrays)


def import_checkpoint(path, options, verbose=False):
    """(model, importer, step, generator only?): a built model holding the checkpoint at
    `path`, and the Importer that counted what it assigned."""
    prefix = tf1_checkpoint_prefix(path)
    arrays = tf1_checkpoint(prefix)
    importer = Importer(prefix, verbose)
    check_conv_kind(arrays, options, prefix)
    model = build_model(options)
    used = set()
    if is_export(arrays):
        import_networks(importer, arrays, [model.generator], options.separable_conv, used)
        refuse_leftovers(arrays, used, prefix)
        return model, importer, 0, True
    import_networks(importer, arrays, [model.generator, model.discriminator],
                    options.separable_conv, used)
    step = int(require(arrays, "global_step", prefix))
    used.add("global_step")
    import_adam(importer, arrays, model.discriminator, model.d_optimizer,
                "discriminator_train", options.separable_conv, used, step)
    import_adam(importer, arrays, model.generator, model.g_optimizer, "generator_train",
                options.separable_conv, used, step)
    import_loss_averages(importer, arrays, model, used)
    refuse_leftovers(arrays, used, prefix)
    if verbose:
        print(f"  global_step: {step}")
    return model, importer, step, False


@cli.exits_cleanly
def main(argv=None):
    parser = import_parser("pix2pix_tf", __doc__)
    add_size_flags(parser)
    args = parser.parse_args(argv)
    output_dir = args.output_dir or os.path.join("runs", "pix2pix_tf-imported")
    path = args.path
    if os.path.basename(path) == rundir.OPTIONS_FILE:  # a file of the run: its folder
        path = os.path.dirname(path) or "."
    if not (os.path.exists(path) or os.path.exists(path + ".index")):
        raise UserError(f"{path} does not exist; pass the original's --output_dir or one "
                        "of its model-N files")
    prefix = tf1_checkpoint_prefix(path)
    options = run_options(args, os.path.dirname(prefix) or ".")
    cli.setup(options)
    model, importer, step, generator_only = import_checkpoint(prefix, options, args.verbose)
    if generator_only:
        write_run(output_dir, options, model, only=["generator"])
        print(importer.summary(output_dir) + " (an export checkpoint: the generator only, "
              "for --mode test / export, not for training)")
    else:
        write_run(output_dir, options, model, step=step)
        print(importer.summary(output_dir) + f" at step {step}")
    return output_dir


if __name__ == "__main__":
    main()
