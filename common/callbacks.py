"""Callbacks every port shares: fixed-latent sample grids, loss history, GIF, checkpoint/resume.

They replace the originals' per-script sampling, saving and plotting code (O-GAN's Trainer,
carpedm20's sample/save blocks, the AC-GAN epoch tail, Anime_GAN's utils).
"""
import csv
import glob
import json
import os
import re
import sys

import keras
import matplotlib
import numpy as np

from common.errors import UserError
from common.grid import make_gif, save_grid

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the Agg backend)


def fixed_latents(shape, seed, distribution="normal"):
    """Latents drawn once from `seed`, so every grid of a run (and a resumed run) uses the same."""
    rng = np.random.default_rng(seed)
    if distribution == "normal":
        return rng.standard_normal(shape).astype(np.float32)
    if distribution == "uniform_signed":
        return rng.uniform(-1.0, 1.0, shape).astype(np.float32)
    if distribution == "uniform_unsigned":
        return rng.uniform(0.0, 1.0, shape).astype(np.float32)
    raise ValueError(f"unknown latent distribution {distribution!r}")


class StepCallback(keras.callbacks.Callback):
    """Counts global training steps (batches) across epochs and across resumed runs."""

    def __init__(self, initial_step=0):
        super().__init__()
        self.step = initial_step
        self.epoch_index = 0
        self.batch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_index = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        self.batch = batch
        self.on_step(logs or {})

    def on_step(self, logs):
        """Called after every step with self.step already counting it."""

    def fields(self):
        """Names a file pattern may use: {step} (steps done), {counter} (0-based index of the
        step just run, as O-GAN's Trainer counted), {epoch} (1-based), {epoch_index}, {batch}."""
        return {"step": self.step, "counter": self.step - 1, "epoch": self.epoch_index + 1,
                "epoch_index": self.epoch_index, "batch": self.batch}


class SampleGrid(StepCallback):
    """Write `generate(inputs)` as a grid every `every_steps` steps, or at each epoch's end.

    `inputs` (fixed latents, fixed real images) are chosen once by the caller and reused, so
    grids from different steps compare."""

    def __init__(self, generate, inputs, directory, filename, every_steps=None, size=None,
                 value_range=(-1.0, 1.0), first_step=None, initial_step=0):
        super().__init__(initial_step)
        self.generate, self.inputs = generate, inputs
        self.directory, self.filename = directory, filename
        self.every_steps, self.size, self.value_range = every_steps, size, value_range
        self.first_step = first_step

    def due(self):
        if not self.every_steps:
            return False
        offset = self.first_step if self.first_step is not None else 0
        return self.step >= offset and (self.step - offset) % self.every_steps == 0

    def on_step(self, logs):
        if self.due():
            self.write()

    def on_epoch_end(self, epoch, logs=None):
        if not self.every_steps:
            self.write()

    def write(self):
        path = os.path.join(self.directory, self.filename.format(**self.fields()))
        return save_grid(np.asarray(self.generate(self.inputs)), path, self.size, self.value_range)


class LossHistory(StepCallback):
    """Append the epoch's metrics to history.csv and redraw losses.png (one line per metric).

    Appends, so a resumed run continues the same file; `every_steps` adds rows mid-epoch."""

    def __init__(self, directory, every_steps=None, title="losses", initial_step=0):
        super().__init__(initial_step)
        self.csv_path = os.path.join(directory, "history.csv")
        self.plot_path = os.path.join(directory, "losses.png")
        self.every_steps, self.title = every_steps, title
        self.last_recorded = None

    def on_step(self, logs):
        if self.every_steps and self.step % self.every_steps == 0:
            self.record(logs)

    def on_epoch_end(self, epoch, logs=None):
        self.record(logs or {})

    def record(self, logs):
        if self.step == self.last_recorded:
            return
        self.last_recorded = self.step
        row = {"epoch": self.epoch_index + 1, "step": self.step}
        row.update({k: float(v) for k, v in logs.items()})
        exists = os.path.exists(self.csv_path) and os.path.getsize(self.csv_path) > 0
        if exists:
            with open(self.csv_path, newline="") as f:
                header = next(csv.reader(f))
        else:
            header = list(row)
        with open(self.csv_path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
            if not exists:
                writer.writeheader()
            writer.writerow(row)
        plot_history(self.csv_path, self.plot_path, self.title)


def read_history(csv_path):
    """history.csv as {column: np.array}."""
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) if r[k] not in ("", None) else np.nan for r in rows])
            for k in (rows[0] if rows else {})}


def plot_history(csv_path, plot_path, title="losses"):
    """Every metric column of history.csv against the step counter."""
    history = read_history(csv_path)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, values in history.items():
        if name not in ("epoch", "step"):
            ax.plot(history["step"], values, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(plot_path)
    plt.close(fig)


def natural_key(path):
    """Sort 'test_100.png' after 'test_20.png'."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", os.path.basename(path))]


class SampleGif(keras.callbacks.Callback):
    """At the end of training, one GIF of every grid matching `pattern`, in step order."""

    def __init__(self, pattern, path, seconds_per_frame=0.3):
        super().__init__()
        self.pattern, self.path, self.seconds = pattern, path, seconds_per_frame

    def on_train_end(self, logs=None):
        make_gif(sorted(glob.glob(self.pattern), key=natural_key), self.path, self.seconds)


class Checkpoint(StepCallback):
    """Resume state in one folder: every network's weights, every optimizer's variables
    (iterations and slots) and the step/epoch counters. Saved at each epoch's end and every
    `every_steps` steps (`at_epoch_end=False`: only those); files are written beside and
    renamed over, so an interrupted save never leaves a half-written checkpoint."""

    def __init__(self, directory, networks, optimizers, every_steps=None, at_epoch_end=True):
        super().__init__()
        self.directory = directory
        self.networks, self.optimizers = networks, optimizers
        self.every_steps, self.at_epoch_end = every_steps, at_epoch_end
        self.epoch = 0
        self.state_path = os.path.join(directory, "state.json")

    def exists(self):
        return os.path.exists(self.state_path)

    def restore(self):
        """Load the saved state if there is one; returns True when it did. The optimizers must
        already be built (the GAN's compile() builds them)."""
        if not self.exists():
            return False
        with open(self.state_path) as f:
            state = json.load(f)
        for name, network in self.networks.items():
            network.load_weights(os.path.join(self.directory, f"{name}.weights.h5"))
        for name, optimizer in self.optimizers.items():
            self._restore_optimizer(name, optimizer)
        self.step, self.epoch = state["step"], state["epoch"]
        return True

    def _restore_optimizer(self, name, optimizer):
        with np.load(os.path.join(self.directory, f"{name}.npz")) as saved:
            values = [saved[f"v{i}"] for i in range(len(saved.files))]
        variables = optimizer.variables
        if len(values) != len(variables) or any(
                tuple(v.shape) != tuple(s.shape) for v, s in zip(variables, values)):
            raise UserError(f"the optimizer state in {self.directory} does not match these "
                            "networks; use --fresh to start over")
        for variable, value in zip(variables, values):
            variable.assign(value)

    def save(self):
        os.makedirs(self.directory, exist_ok=True)
        for name, network in self.networks.items():
            path = os.path.join(self.directory, f"{name}.weights.h5")
            network.save_weights(path + ".tmp.weights.h5")
            os.replace(path + ".tmp.weights.h5", path)
        for name, optimizer in self.optimizers.items():
            path = os.path.join(self.directory, f"{name}.npz")
            np.savez(path + ".tmp.npz", **{f"v{i}": np.asarray(v.numpy())
                                           for i, v in enumerate(optimizer.variables)})
            os.replace(path + ".tmp.npz", path)
        with open(self.state_path + ".tmp", "w") as f:
            json.dump({"step": self.step, "epoch": self.epoch}, f)
        os.replace(self.state_path + ".tmp", self.state_path)

    def on_step(self, logs):
        if self.every_steps and self.step % self.every_steps == 0:
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        self.epoch = epoch + 1
        if self.at_epoch_end:
            self.save()


def fit_resumable(model, data, checkpoint, epochs, **fit_kwargs):
    """model.fit from the checkpoint's epoch; Ctrl-C saves the checkpoint before exiting."""
    try:
        return model.fit(data, epochs=epochs, initial_epoch=checkpoint.epoch, **fit_kwargs)
    except KeyboardInterrupt:
        checkpoint.save()
        print(f"\ninterrupted: checkpoint saved at step {checkpoint.step} in "
              f"{checkpoint.directory}; run the same command again to resume", file=sys.stderr)
        raise SystemExit(130) from None
