"""The port's side of each side-by-side program: one module per program, named as the program
(dcgan-mnist: dcgan_mnist.py), with:

ENVIRONMENT   the original's environment (sidebyside.environments.ENVIRONMENTS)
SOURCE        its files (a key of sidebyside.sources.SOURCES)
RUNNER        its runner, a file of sidebyside/runners/ run under the original's python
BATCH_SIZE    the default --batch-size
VALUE_RANGE   (low, high) of the samples, for side_by_side.png
FLOOR_RUNS    (optional) weight-perturbed runs of the float32 floor (harness.FLOOR_RUNS)
SAMPLE_CLASSES (optional) the classes of a conditional program's samples (sample i of class
              i % SAMPLE_CLASSES): with a classifier the scores add its class accuracy
PRE_UPDATE_LOSSES  (optional) the losses the original printed at step 1 before any update
                   (harness.first_evaluation); or, for an original that printed none:
first_evaluation(workdir, config, model)  {name: value} of the port `model` (float32 or
                         float64) at the step's first evaluation, before any update, and
original_first_evaluation(workdir, config)  the original's, as the runner recorded them
check_data(path)         one UserError when --data is not what the program reads
runner_config(args, workdir)  program entries added to config.json (sizes, flags, and the
                         data as the port read it: MNIST written to workdir/mnist.npz,
                         an image folder's files as common.files.list_images lists them)
latents(args, count, rng)  the latents both sides sample side_by_side.png from
load(folder, config)     the port holding the runner's files of `folder`: "initial" (the
                         original before its first step) or "final" (after its last)
batches(workdir, config) the port's train_step inputs, one per step, from what the runner
                         recorded (images, latents, labels as the original drew them)
step(model, batch)       one train step, compiled as fit() runs it (compiled_step); returns
                         {original's loss name: value} (the harness resets the model's metric
                         trackers before each step)
compared_variables(model)  [(name, variable)] compared after the last step
samples(model, latents)  the port's samples, as the runner's samples.npy
real_images(workdir, config)  the real images the original trained on (NHWC, VALUE_RANGE),
                         which the statistical mode scores both programs' samples against

The runner (Python 3.7, the original's framework) reads config.json (program, workdir, data,
steps, batch_size, keep_dropout, seed, latents, plus runner_config's entries), runs the
original's file unmodified with its hooks, and writes into workdir: initial/ and final/ (the
original's own checkpoint files before the first and after the last step), steps.json
([{"losses": {name: value}, "seconds": s}] per step), record.npz (what each step consumed)
and samples.npy (its samples from latents.npy after the last step).
"""
import os
import re

import numpy as np
import tensorflow as tf


def compiled_step(model):
    """model.train_step compiled as fit() runs it (tf.function, no XLA unless --jit-compile),
    made once a model: harness.Port restarts one model for all its runs, so a comparison
    traces each step once (a WGAN run of the tests' size: 2.6 s eager, 1.1 s compiled after an
    8 s trace). After stepped_eagerly(model): model.train_step itself."""
    if not hasattr(model, "compiled_step"):
        model.compiled_step = tf.function(model.train_step, reduce_retracing=True)
    return model.compiled_step


def stepped_eagerly(model):
    """compiled_step(model) is model.train_step from now on: for a model run once (the float64
    reference, harness.Port), where a trace costs more than the run."""
    model.compiled_step = model.train_step


def mnist_as_read(data, workdir):
    """{"data": workdir/mnist.npz}: --data (IDX folder, .npz of x_train... or of x and y) as
    the port's common.mnist.load_mnist read it, in the four arrays the runners read, so both
    sides train on the same digits whatever the format."""
    from common.mnist import load_mnist
    (x_train, y_train), (x_test, y_test) = load_mnist(data)
    path = os.path.join(os.path.abspath(workdir), "mnist.npz")
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return {"data": path}


class Records:
    """record.npz of a runner: step_{k}/{name} arrays and the numpy draws in call order."""

    def __init__(self, path):
        with np.load(path) as data:
            self.arrays = {name: data[name] for name in data.files}
        pattern = re.compile(r"draw_(\d+)_(\w+?)_step_(\d+)$")
        self.draw_list = sorted((int(m[1]), int(m[3]), m[2], self.arrays[name])
                                for name in self.arrays if (m := pattern.match(name)))

    def get(self, step, name):
        return self.arrays[f"step_{step}/{name}"]

    def draws(self, step, function):
        """The results of numpy.random.`function` during `step`, in call order."""
        return [value for _, at, name, value in self.draw_list
                if at == step and name == function]


def records(workdir):
    return Records(os.path.join(workdir, "record.npz"))


def recorded_images(workdir, config, name):
    """Every step's recorded `name` array, concatenated along its first axis."""
    record = records(workdir)
    return np.concatenate([record.get(step, name) for step in range(1, config["steps"] + 1)])
