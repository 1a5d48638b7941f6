"""Callbacks every port shares: fixed-latent sample grids, loss history and plot, the GIF.

They replace the originals' per-script sampling, saving and plotting code (O-GAN's Trainer,
carpedm20's sample blocks, the AC-GAN epoch tail, Anime_GAN's utils); checkpoints and resume
are in common.checkpoint.
"""
import csv
import glob
import os
import re

import keras
import matplotlib
import numpy as np

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
    """Counts global training steps (batches) across epochs and across resumed runs, and
    calls `on_due(logs)` on a schedule: every `every_steps` steps counted from `first_step`
    (O-GAN's Trainer and the WGAN wrote after their first step), or at the end of every
    `every_epochs`-th epoch counted from epoch 0 (Anime_GAN's `epoch % 20 == 0`)."""

    def __init__(self, initial_step=0, every_steps=None, first_step=None, every_epochs=None):
        super().__init__()
        self.step = initial_step
        self.epoch_index = 0
        self.batch = 0
        self.every_steps, self.first_step = every_steps, first_step
        self.every_epochs = every_epochs

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_index = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        self.batch = batch
        self.on_step(logs or {})

    def on_step(self, logs):
        """Called after every step with self.step already counting it."""
        if self.step_due():
            self.on_due(logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.every_epochs and epoch % self.every_epochs == 0:
            self.on_due(logs or {})

    def step_due(self):
        if not self.every_steps:
            return False
        offset = self.first_step if self.first_step is not None else 0
        return self.step >= offset and (self.step - offset) % self.every_steps == 0

    def on_due(self, logs):
        """What a scheduled callback does when its time comes."""

    def fields(self):
        """Names a file pattern may use: {step} (steps done), {counter} (0-based index of the
        step just run, as O-GAN's Trainer counted), {epoch} (1-based), {epoch_index}, {batch}."""
        return {"step": self.step, "counter": self.step - 1, "epoch": self.epoch_index + 1,
                "epoch_index": self.epoch_index, "batch": self.batch}


class SampleGrid(StepCallback):
    """Write `generate(inputs)` as a grid on StepCallback's schedule (default: at the end of
    every epoch).

    `inputs` (fixed latents, fixed real images) are chosen once by the caller and reused, so
    grids from different steps compare."""

    def __init__(self, generate, inputs, directory, filename, size=None,
                 value_range=(-1.0, 1.0), every_steps=None, every_epochs=None, **schedule):
        super().__init__(every_steps=every_steps,
                         every_epochs=every_epochs or (None if every_steps else 1), **schedule)
        self.generate, self.inputs = generate, inputs
        self.directory, self.filename = directory, filename
        self.size, self.value_range = size, value_range

    def on_due(self, logs):
        self.write()

    def write(self):
        path = os.path.join(self.directory, self.filename.format(**self.fields()))
        return save_grid(np.asarray(self.generate(self.inputs)), path, self.size, self.value_range)


class LossHistory(StepCallback):
    """Append the epoch's metrics to history.csv and redraw losses.png (one line per metric).

    Appends, so a resumed run continues the same file; `every_steps` adds rows mid-epoch."""

    def __init__(self, directory, every_steps=None, title="losses", initial_step=0):
        super().__init__(initial_step, every_steps=every_steps, every_epochs=1)
        self.csv_path = os.path.join(directory, "history.csv")
        self.plot_path = os.path.join(directory, "losses.png")
        self.title = title
        self.last_recorded = None

    def on_due(self, logs):
        self.record(logs)

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
