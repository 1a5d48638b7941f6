"""Runner of pix2pix.py (affinelayer/pix2pix-tensorflow 0f21744) under TF 1.15, for the
side-by-side.

pix2pix.py runs unmodified as `--mode train` on config["data"] (a folder of A|B pairs) with
the config's --ngf, --ndf, --batch_size, --scale_size, --no_flip / --flip and --seed, and
--progress_freq 1 (so every step fetches the displayed loss averages, as a progress line
does), --summary_freq 0, --save_freq 0. Hooks:
- tf.nn.dropout returns its input unless keep_dropout (the generator's only dropout);
- the input pipeline's random draws (the flip's uniform and the crop offset of the
  "input_images" transform; the targets' transform shares their op seed, so draws the same)
  ride through tf.train.batch beside the paths, inputs and targets it batches, so each step
  records the batch it consumed and the augmentation that made it;
- ExponentialMovingAverage.apply gives the raw losses (the tensors it averages) and their
  shadows; tf.train.Saver: beside the original's saver, one of the same variables that
  keeps every file, for initial/ and final/;
- Session.run of the training fetches ("train" in the dict): before the first, the initial
  checkpoint; each step adds to the original's fetches the raw losses and the batch, then
  reads the shadows (the averages the original displays) in a separate run; after the last,
  the final checkpoint and samples.npy (the generator on latents.npy, fed where the batch's
  inputs enter the graph, batch_size images at a time), and the run stops (hooks.Finished).
steps.json's losses per step: discrim_loss, gen_loss_GAN, gen_loss_L1 as the train op
computed them, and the same with "_ema": the averages after the step. With
config["record_gradients"], also every gradient the train op applied.

No ordering hook (as_released changes nothing): the train op's updates cannot race. Each
AdamOptimizer's gradients are gated per op (GATE_OP), so a weight's update waits for every
gradient that reads it; the generator's gradient is built under a control dependency on the
discriminator's update, so it always reads the updated discriminator (pix2pix_tf.gan says
how the port does the same). Two runs with one seed give bit-identical losses and weights.
"""
import os
import sys

import numpy as np

import hooks

run = hooks.Recorder(sys.argv[1])
config = run.config
SCRIPT = "pix2pix.py"
LOSSES = ("discrim_loss", "gen_loss_GAN", "gen_loss_L1")
GENERATOR_OUTPUT = "generator/decoder_1/Tanh:0"

import tensorflow as tf  # noqa: E402
from tensorflow.python.client import session as tf_session  # noqa: E402
from tensorflow.python.ops import random_ops  # noqa: E402

captured = {"draws": {}}

if not config["keep_dropout"]:
    tf.nn.dropout = lambda x, *args, **kwargs: x


# ---- the augmentation's draws ----

random_uniform = random_ops.random_uniform


def recorded_uniform(shape, *args, **kwargs):
    """random_uniform; in the inputs' transform also kept: the flip's draw (a scalar) and
    the crop offset (shape [2])."""
    value = random_uniform(shape, *args, **kwargs)
    if tf.get_default_graph().get_name_scope().startswith("input_images"):
        captured["draws"]["offset" if value.shape.ndims else "flip"] = value
    return value


random_ops.random_uniform = recorded_uniform  # what tf.image.random_flip_left_right calls
tf.random_uniform = recorded_uniform

train_batch = tf.train.batch


def recorded_batch(tensors, batch_size, *args, **kwargs):
    """tf.train.batch of [paths, inputs, targets] and the draws that made them."""
    names = sorted(captured["draws"])
    batched = train_batch(list(tensors) + [captured["draws"][n] for n in names], batch_size,
                          *args, **kwargs)
    captured["batch"] = dict(zip(["paths", "inputs", "targets"] + names, batched))
    return batched[:len(tensors)]


tf.train.batch = recorded_batch


# ---- the losses, their averages, the savers ----

ema_apply = tf.train.ExponentialMovingAverage.apply


def recorded_apply(self, var_list=None):
    update = ema_apply(self, var_list)
    captured["losses"] = list(var_list)
    captured["shadows"] = [self.average(v) for v in var_list]
    return update


tf.train.ExponentialMovingAverage.apply = recorded_apply
Saver = tf.train.Saver


class RecordedSaver(Saver):
    """The original's saver; the first one made also makes ours (same variables, every file
    kept, no meta graph) while the graph can still take its ops."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "saver" not in captured:
            captured["saver"] = Saver(max_to_keep=None)


tf.train.Saver = RecordedSaver
compute_gradients = tf.train.AdamOptimizer.compute_gradients


def recorded_gradients(self, *args, **kwargs):
    """compute_gradients; with config["record_gradients"] each step records the gradients
    its train op applied (grad/<variable>)."""
    pairs = compute_gradients(self, *args, **kwargs)
    captured.setdefault("gradients", {}).update(
        ("grad/" + v.op.name, g) for g, v in pairs if g is not None)
    return pairs


if config.get("record_gradients"):
    tf.train.AdamOptimizer.compute_gradients = recorded_gradients


def save(session, folder):
    step = session_run(session, tf.train.get_global_step())
    captured["saver"].save(session, run.path(folder, "model"), global_step=step,
                           write_meta_graph=False)


def samples(session):
    """The generator on latents.npy, batch_size images per run (batch statistics)."""
    latents = np.load(config["latents"])
    size = config["batch_size"]
    output = session.graph.get_tensor_by_name(GENERATOR_OUTPUT)
    chunks = [session_run(session, output, {captured["batch"]["inputs"]: latents[i:i + size]})
              for i in range(0, len(latents), size)]
    np.save(run.path("samples.npy"), np.concatenate(chunks))


# ---- the training step ----

session_run = tf_session.BaseSession.run


def hooked_run(self, fetches, feed_dict=None, options=None, run_metadata=None):
    if not (isinstance(fetches, dict) and "train" in fetches):
        return session_run(self, fetches, feed_dict, options, run_metadata)
    if not run.steps:
        save(self, "initial")
    run.begin_step()
    ours = dict(fetches, _losses=captured["losses"], _batch=captured["batch"],
                _gradients=captured.get("gradients", {}))
    results = session_run(self, ours, feed_dict, options, run_metadata)
    shadows = session_run(self, captured["shadows"])
    for name, value in list(results["_batch"].items()) + list(results["_gradients"].items()):
        run.record(name, value.astype(str) if value.dtype == object else value)
    run.record("printed", [results[name] for name in LOSSES])
    losses = dict(zip(LOSSES, results["_losses"]))
    losses.update((name + "_ema", value) for name, value in zip(LOSSES, shadows))
    if run.step == config["steps"]:
        save(self, "final")
        samples(self)
    run.end_step(losses)
    return {name: results[name] for name in fetches}


tf_session.BaseSession.run = hooked_run

argv = ["--mode", "train", "--input_dir", config["data"],
        "--output_dir", os.path.join(config["workdir"], "original_output"),
        "--max_steps", str(config["steps"]), "--seed", str(config["seed"]),
        "--batch_size", str(config["batch_size"]), "--ngf", str(config["ngf"]),
        "--ndf", str(config["ndf"]), "--scale_size", str(config["scale_size"]),
        "--flip" if config["flip"] else "--no_flip",
        "--progress_freq", "1", "--summary_freq", "0", "--save_freq", "0"]
hooks.run_original(SCRIPT, argv)
run.write()
