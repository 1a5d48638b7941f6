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
from PIL import Image

from common.grid import make_gif, save_grid

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the Agg backend)


class StepCallback(keras.callbacks.Callback):
    """Counts global training steps (batches) across epochs and across resumed runs, and
    calls `on_due(logs)` on a schedule: every `every_steps` steps counted from `first_step`
    (O-GAN's Trainer and the WGAN wrote after their first step), or at the end of every
    `every_epochs`-th epoch counted from epoch 0 (Anime_GAN's `epoch % 20 == 0`)."""

    def __init__(self, initial_step=0, every_steps=None, first_step=None, every_epochs=None):
        super().__init__()
        self.step = self.previous_step = self.epoch_start = initial_step
        self.epoch_index = 0
        self.batch = 0
        self.every_steps, self.first_step = every_steps, first_step
        self.every_epochs = every_epochs
        self.resumed_batches = 0

    def resume_in_epoch(self, batches):
        """The next epoch fit() runs is the rest of one whose first `batches` steps are done
        (a run resumed from a checkpoint saved inside an epoch): count on from there."""
        self.resumed_batches = batches

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_index = epoch
        self.epoch_start = self.step - self.resumed_batches

    def on_train_batch_end(self, batch, logs=None):
        # With --steps-per-execution N, Keras reports once per N steps, `batch` being the
        # last step's index in the epoch.
        self.previous_step = self.step
        self.batch = batch + self.resumed_batches
        self.step = self.epoch_start + self.batch + 1
        self.on_step(logs or {})

    def on_step(self, logs):
        """Called after every step (or execution) with self.step already counting it."""
        if self.step_due():
            self.on_due(logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.every_epochs and epoch % self.every_epochs == 0:
            self.on_due(logs or {})

    def crossed(self, every, offset=0):
        """Whether offset + k * every (k >= 0) lies in (previous_step, step]: exactly the
        multiples when one step runs at a time, and none skipped when several do."""
        if not every or self.step < offset:
            return False
        before = (self.previous_step - offset) // every if self.previous_step >= offset else -1
        return (self.step - offset) // every > before

    def step_due(self):
        offset = self.first_step if self.first_step is not None else 0
        return self.crossed(self.every_steps, offset)

    def on_due(self, logs):
        """What a scheduled callback does when its time comes."""

    def file_name_fields(self):
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
                 value_range=(-1.0, 1.0), every_steps=None, every_epochs=None, summary_dir=None,
                 **schedule):
        super().__init__(every_steps=every_steps,
                         every_epochs=every_epochs or (None if every_steps else 1), **schedule)
        self.generate, self.inputs = generate, inputs
        self.directory, self.filename = directory, filename
        self.size, self.value_range = size, value_range
        # TensorBoard: the grid also goes into summary_dir's event file as an image
        self.summary_dir = summary_dir
        self.summary_name = os.path.splitext(filename)[0].split("{")[0].rstrip("_") or "samples"

    def on_due(self, logs):
        self.write()

    def write(self):
        path = os.path.join(self.directory, self.filename.format(**self.file_name_fields()))
        save_grid(np.asarray(self.generate(self.inputs)), path, self.size, self.value_range)
        if self.summary_dir:
            write_image(self.summary_dir, self.summary_name, self.step, path)
        return path


SCORES = ("fid", "kid", "class_accuracy", "confidence", "reconstruction_ratio", "psnr", "ssim",
          "ab_error", "grey_ab_error")


_WRITERS = {}


def tensorboard_writer(directory):
    """One tf.summary writer per output directory, shared by every callback of a run (view
    with `tensorboard --logdir runs`)."""
    import tensorflow as tf
    key = os.path.realpath(directory)
    if key not in _WRITERS:
        _WRITERS[key] = tf.summary.create_file_writer(directory)
    return _WRITERS[key]


def write_scalars(directory, step, values):
    import tensorflow as tf
    with tensorboard_writer(directory).as_default(step=step):
        for name, value in values.items():
            tf.summary.scalar(name, value)


def write_image(directory, name, step, path):
    """A written grid file as a TensorBoard image."""
    import tensorflow as tf
    image = np.asarray(Image.open(path).convert("RGB"))[None]
    with tensorboard_writer(directory).as_default(step=step):
        tf.summary.image(name, image)


class LossHistory(StepCallback):
    """Append the metrics to history.csv (at each epoch's end, and every `every_steps` steps),
    write them to TensorBoard, and redraw losses.png at each epoch's end and at the end of
    training. A resumed run continues the same file; `record(logs, scores)` adds quality
    scores (a second record at the same step joins its row, and new columns extend the
    header: only then is the file rewritten, otherwise each row is one appended line)."""

    def __init__(self, directory, every_steps=None, title="losses", initial_step=0):
        super().__init__(initial_step, every_steps=every_steps, every_epochs=1)
        self.directory = directory
        self.csv_path = os.path.join(directory, "history.csv")
        self.plot_path = os.path.join(directory, "losses.png")
        self.title = title
        rows = read_rows(self.csv_path)
        # Rows past the step resumed from (written by a killed run after its last
        # checkpoint) are written again by the steps that follow.
        self.rows = [row for row in rows if float(row.get("step") or 0) <= initial_step]
        self.header = columns(rows)
        if len(self.rows) < len(rows):
            self._rewrite()

    def on_due(self, logs):
        self.record(logs)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        self.plot()

    def on_train_end(self, logs=None):
        self.plot()
        tensorboard_writer(self.directory).flush()

    def record(self, logs, scores=None):
        values = {k: float(v) for k, v in {**logs, **(scores or {})}.items()
                  if isinstance(v, (int, float, np.floating, np.integer)) or hasattr(v, "numpy")}
        joins = bool(self.rows) and str(self.rows[-1].get("step")) == str(self.step)
        row = self.rows.pop() if joins else {"epoch": self.epoch_index + 1, "step": self.step}
        row.update(values)
        self.rows.append(row)
        new_columns = [k for k in row if k not in self.header]
        self.header += new_columns
        if joins or new_columns or not os.path.exists(self.csv_path):
            self._rewrite()
        else:
            with open(self.csv_path, "a", newline="") as f:
                csv.DictWriter(f, fieldnames=self.header).writerow(row)
        write_scalars(self.directory, self.step, values)

    def _rewrite(self):
        with open(self.csv_path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.header)
            writer.writeheader()
            writer.writerows(self.rows)

    def plot(self):
        if self.rows:
            plot_history(self.csv_path, self.plot_path, self.title)


def columns(rows):
    """The union of the rows' keys, in first-seen order."""
    header = []
    for row in rows:
        header += [k for k in row if k not in header]
    return header


def read_rows(csv_path):
    if not os.path.exists(csv_path) or os.path.getsize(csv_path) == 0:
        return []
    with open(csv_path, newline="") as f:
        return list(csv.DictReader(f))


def read_history(csv_path):
    """history.csv as {column: np.array} (NaN where a row has no value)."""
    rows = read_rows(csv_path)
    return {k: np.array([float(r[k]) if r.get(k) not in ("", None) else np.nan for r in rows])
            for k in columns(rows)}


def plot_history(csv_path, plot_path, title="losses"):
    """The loss columns of history.csv against the step counter and, below, one panel per
    quality score present (fid, kid, class_accuracy...), each on its own scale."""
    history = read_history(csv_path)
    scores = [k for k in history if k in SCORES and np.isfinite(history[k]).any()]
    losses = [k for k in history if k not in ("epoch", "step", "kid_std") and k not in scores]
    fig, axes = plt.subplots(1 + len(scores), 1, figsize=(8, 4.5 + 2.2 * len(scores)),
                             squeeze=False, sharex=True)
    for name in losses:
        axes[0, 0].plot(history["step"], history[name], label=name)
    axes[0, 0].set_ylabel("loss")
    axes[0, 0].set_title(title)
    axes[0, 0].legend(fontsize="small", ncol=2)
    for ax, name in zip(axes[1:, 0], scores):
        known = np.isfinite(history[name])
        ax.plot(history["step"][known], history[name][known], "o-", color="black")
        ax.set_ylabel(name)
    axes[-1, 0].set_xlabel("step")
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
