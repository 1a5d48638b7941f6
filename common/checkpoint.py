"""Resume state that survives interruption: checkpoints and fit() that saves on Ctrl-C.

Replaces the originals' tf.train.Saver / save_weights calls. A checkpoint is a folder of
weight and state files; it becomes the current one only when state.json names it, and that
file is replaced atomically, so a kill at any moment leaves a loadable checkpoint behind.
Finding and checking saved checkpoints is common.rundir's.
"""
import contextlib
import json
import os
import shutil
import signal
import sys
import threading

import numpy as np

from common import rundir
from common.callbacks import StepCallback
from common.errors import UserError, describe

KEEP = 2  # step folders kept: the current one and a fall-back


@contextlib.contextmanager
def deferred_interrupts():
    """Hold Ctrl-C (SIGINT) and SIGTERM until the block is done, then raise
    KeyboardInterrupt: a save that has started always finishes, however often the user
    presses Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = {sig: signal.signal(sig, lambda number, frame: received.append(number))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt():
    """SIGTERM (kill, a scheduler's pre-emption) is handled like Ctrl-C while training."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(number, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Checkpoint(StepCallback):
    """Every network's weights, every optimizer's variables (iterations and slots), any
    `extra` variables ({name: [variables]}, e.g. pix2pix's loss averages) and the step and
    epoch counters. Saved at each epoch's end and every `every_steps` steps
    (`at_epoch_end=False`: only those).

    Each save writes a new folder step-NNNNNNNNN/ (with counters.json, its step and epoch)
    and then points state.json at it; the folder before it is kept as a fall-back, older
    ones are removed. A save that fails (disk full, read-only
    file system) leaves the previous checkpoint current and raises UserError saying so."""

    def __init__(self, directory, networks, optimizers, every_steps=None, at_epoch_end=True,
                 extra=None):
        super().__init__(every_steps=every_steps, every_epochs=1 if at_epoch_end else None)
        self.directory = directory
        self.networks, self.optimizers = networks, optimizers
        self.extra = extra or {}
        self.epoch = 0
        self.saved_step = None

    def exists(self):
        return rundir.has_checkpoint(self.directory)

    def states(self):
        """{file stem: variables} of everything besides the networks' weights."""
        states = {name: optimizer.variables for name, optimizer in self.optimizers.items()}
        return {**states, **self.extra}

    def restore(self):
        """Load the newest intact checkpoint, if any; returns True when it did. A damaged
        newest one is set aside with a warning and an earlier one used; when there are
        checkpoints but none is intact, one error line. The optimizers must already be built
        (the GAN's compile() builds them)."""
        if not self.exists():
            return False
        folder = rundir.newest_checkpoint(self.directory)
        if folder is None:
            raise UserError(f"no checkpoint in {self.directory} can be read (each is set aside "
                            "as damaged-step-N); use --fresh to start over")
        for name, network in self.networks.items():
            rundir.load_network(network, os.path.join(folder, f"{name}.weights.h5"), name,
                                "these flags")
        for name, variables in self.states().items():
            self._restore_variables(os.path.join(folder, f"{name}.npz"), name, variables)
        self.step, self.epoch = rundir.folder_counters(folder)
        self.saved_step = self.step
        if os.path.basename(folder) != (rundir.read_state(self.directory) or {}).get("folder"):
            self._point_at(os.path.basename(folder))
        return True

    def _restore_variables(self, path, name, variables):
        try:
            with np.load(path) as saved:
                values = [saved[f"v{i}"] for i in range(len(saved.files))]
        except (OSError, ValueError, KeyError) as error:
            raise UserError(f"cannot read {path} ({error}); use --fresh to start over") \
                from error
        if len(values) != len(variables) or any(
                tuple(v.shape) != tuple(s.shape) for v, s in zip(variables, values)):
            raise UserError(f"the {name} state in {self.directory} does not match these "
                            "networks; use --fresh to start over")
        for variable, value in zip(variables, values):
            variable.assign(value)

    def save(self):
        """Write the current state as a new checkpoint and make it the current one."""
        with deferred_interrupts():
            try:
                self._write()
            except (OSError, RuntimeError, ValueError) as error:
                kept = (f"the checkpoint of step {self.saved_step} is kept"
                        if self.exists() else "no earlier checkpoint exists")
                raise UserError(f"could not save the checkpoint of step {self.step} in "
                                f"{self.directory} ({describe(error)}); {kept}") from error

    def _write(self):
        folder = f"step-{self.step:09d}"
        final = os.path.join(self.directory, folder)
        partial = os.path.join(self.directory, f".partial-{folder}")
        os.makedirs(self.directory, exist_ok=True)
        try:
            shutil.rmtree(partial, ignore_errors=True)
            os.makedirs(partial)
            for name, network in self.networks.items():
                network.save_weights(os.path.join(partial, f"{name}.weights.h5"))
            for name, variables in self.states().items():
                np.savez(os.path.join(partial, f"{name}.npz"),
                         **{f"v{i}": np.asarray(v.numpy()) for i, v in enumerate(variables)})
            rundir.write_atomically(os.path.join(partial, rundir.COUNTERS_FILE),
                                    json.dumps({"step": self.step, "epoch": self.epoch}))
            _sync_folder(partial)
            if os.path.exists(final):  # the same step saved twice (e.g. epoch end, then exit)
                shutil.rmtree(final)
            os.rename(partial, final)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        self._point_at(folder)
        self.saved_step = self.step
        self._remove_older(folder)

    def _point_at(self, folder):
        """Make step folder `folder` the current checkpoint (state.json, atomically)."""
        rundir.write_atomically(os.path.join(self.directory, rundir.STATE_FILE), json.dumps(
            {"step": self.step, "epoch": self.epoch, "folder": folder}))

    def _remove_older(self, current):
        """Keep the current step folder and the one before it (what resume falls back to if
        the current one is damaged later); remove older ones and unfinished saves."""
        keep = {os.path.basename(f) for f in rundir.step_folders(self.directory)[:KEEP]}
        keep.add(current)
        for name in os.listdir(self.directory):
            path = os.path.join(self.directory, name)
            if name not in keep and os.path.isdir(path) and \
                    (name.startswith("step-") or name.startswith(".partial-")):
                shutil.rmtree(path, ignore_errors=True)

    def on_due(self, logs):
        self.save()

    def on_epoch_end(self, epoch, logs=None):
        self.epoch = epoch + 1
        super().on_epoch_end(epoch, logs)


def _sync_folder(folder):
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), "rb") as f:
            os.fsync(f.fileno())


def fit_resumable(model, data, checkpoint, epochs, **fit_kwargs):
    """model.fit from the checkpoint's epoch. Ctrl-C or SIGTERM saves a checkpoint (unless
    one of this step was just saved) and exits with status 130; a file that cannot be
    written (disk full) ends with one error line naming the checkpoint that is kept."""
    try:
        return _fit(model, data, checkpoint, epochs, **fit_kwargs)
    except UserError:
        print(flush=True)  # ends the progress bar's line, so the error line stands alone
        raise


def _fit(model, data, checkpoint, epochs, **fit_kwargs):
    try:
        with sigterm_as_interrupt():
            return model.fit(data, epochs=epochs, initial_epoch=checkpoint.epoch, **fit_kwargs)
    except KeyboardInterrupt:
        # The user asked to stop: further Ctrl-Cs must not cut the last save short.
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        if checkpoint.saved_step != checkpoint.step:
            checkpoint.save()
        print(f"\ninterrupted: checkpoint saved at step {checkpoint.step} in "
              f"{checkpoint.directory}; run the same command again to resume", file=sys.stderr)
        raise SystemExit(130) from None
    except OSError as error:
        kept = (f"the checkpoint of step {checkpoint.saved_step} in {checkpoint.directory} "
                "is kept; run the same command again to resume" if checkpoint.exists()
                else "no checkpoint was saved yet")
        where = f" ({error.filename})" if getattr(error, "filename", None) else ""
        raise UserError(f"cannot write{where}: {describe(error)}; {kept}") from error
