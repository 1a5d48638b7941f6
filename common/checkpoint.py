"""Resume state that survives interruption: checkpoints, fit() that saves on Ctrl-C, and the
one-run-per-output-directory lock.

Replaces the originals' tf.train.Saver / save_weights calls. A checkpoint is a folder of
weight and state files; it becomes the current one only when state.json names it, and that
file is replaced atomically, so a kill at any moment leaves a loadable checkpoint behind.
"""
import atexit
import contextlib
import datetime
import errno
import fcntl
import json
import os
import shutil
import signal
import socket
import sys
import threading

import numpy as np

from common.callbacks import StepCallback
from common.errors import UserError

STATE_FILE = "state.json"


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


def read_state(directory):
    """state.json of a checkpoint folder, or None when there is no checkpoint."""
    path = os.path.join(directory, STATE_FILE)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot read {path} ({error}); use --fresh to start over") from error


def checkpoint_file(directory, filename):
    """Path of `filename` in the current checkpoint of `directory` (None if none)."""
    state = read_state(directory)
    if state is None:
        return None
    return os.path.join(directory, state.get("folder", ""), filename)


class Checkpoint(StepCallback):
    """Every network's weights, every optimizer's variables (iterations and slots), any
    `extra` variables ({name: [variables]}, e.g. pix2pix's loss averages) and the step and
    epoch counters. Saved at each epoch's end and every `every_steps` steps
    (`at_epoch_end=False`: only those).

    Each save writes a new folder step-NNNNNNNNN/ and then points state.json at it; the
    previous folder is removed only after that. A save that fails (disk full, read-only
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
        return read_state(self.directory) is not None

    def states(self):
        """{file stem: variables} of everything besides the networks' weights."""
        states = {name: optimizer.variables for name, optimizer in self.optimizers.items()}
        return {**states, **self.extra}

    def restore(self):
        """Load the saved state if there is one; returns True when it did. The optimizers must
        already be built (the GAN's compile() builds them)."""
        state = read_state(self.directory)
        if state is None:
            return False
        folder = os.path.join(self.directory, state.get("folder", ""))
        for name, network in self.networks.items():
            try:
                network.load_weights(os.path.join(folder, f"{name}.weights.h5"))
            except (ValueError, OSError, KeyError) as error:
                raise UserError(f"the checkpoint in {self.directory} does not match these "
                                f"networks ({name}: {str(error).splitlines()[0]}); use the "
                                "same flags and version, another --output-dir, or --fresh "
                                "to start over") from error
        for name, variables in self.states().items():
            self._restore_variables(os.path.join(folder, f"{name}.npz"), name, variables)
        self.step, self.epoch = state["step"], state["epoch"]
        self.saved_step = self.step
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
            _sync_folder(partial)
            if os.path.exists(final):  # the same step saved twice (e.g. epoch end, then exit)
                shutil.rmtree(final)
            os.rename(partial, final)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        _write_atomically(os.path.join(self.directory, STATE_FILE),
                          json.dumps({"step": self.step, "epoch": self.epoch, "folder": folder}))
        self.saved_step = self.step
        self._remove_others(folder)

    def _remove_others(self, keep):
        for name in os.listdir(self.directory):
            path = os.path.join(self.directory, name)
            if name != keep and os.path.isdir(path) and \
                    (name.startswith("step-") or name.startswith(".partial-")):
                shutil.rmtree(path, ignore_errors=True)
            elif name.endswith((".weights.h5", ".npz")):  # the flat layout of earlier versions
                os.remove(path)

    def on_due(self, logs):
        self.save()

    def on_epoch_end(self, epoch, logs=None):
        self.epoch = epoch + 1
        super().on_epoch_end(epoch, logs)


def _write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(path + ".tmp", path)


def _sync_folder(folder):
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), "rb") as f:
            os.fsync(f.fileno())


def describe(error):
    """An OSError as 'No space left on device' rather than '[Errno 28] ...: path'."""
    if isinstance(error, OSError) and error.errno is not None:
        return os.strerror(error.errno)
    return str(error).splitlines()[0] if str(error) else type(error).__name__


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


class OutputLock:
    """One run per output directory: an exclusive flock on OUTPUT_DIR/.lock, held until the
    process exits (the kernel drops it even after SIGKILL). The file names the holder's
    PID, host and start time for the message a second run prints."""

    _held = {}

    def __init__(self, directory):
        self.directory = directory
        self.path = os.path.join(directory, ".lock")
        self.fd = None

    @classmethod
    def claim(cls, directory):
        """Take (or, within this process, reuse) the lock of `directory`."""
        key = os.path.realpath(directory)
        if key not in cls._held:
            lock = cls(directory)
            lock.acquire()
            cls._held[key] = lock
        return cls._held[key]

    def acquire(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        previous = self._holder()
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held_elsewhere = False
        except OSError as error:
            held_elsewhere = error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)
            # A file system without flock: fall back to the PID the file names.
            held_elsewhere = held_elsewhere or bool(previous and _alive_elsewhere(previous))
        if held_elsewhere:
            os.close(self.fd)
            raise UserError(f"{self.directory} is in use by another run "
                            f"({describe_holder(previous)}); wait for it to finish, or use "
                            "another --output-dir")
        if previous:
            print(f"warning: taking over {self.path} from a run that is no longer running "
                  f"({describe_holder(previous)})", file=sys.stderr)
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": datetime.datetime.now().isoformat(timespec="seconds")}
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, json.dumps(me).encode(), 0)
        atexit.register(self.release)

    def _holder(self):
        try:
            with open(self.path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def release(self):
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.close(self.fd)
            self.fd = None


def describe_holder(holder):
    if not holder:
        return "holder unknown"
    return f"PID {holder.get('pid')} on {holder.get('host')}, since {holder.get('started')}"


def _alive_elsewhere(holder):
    """The recorded holder is another live process on this host."""
    if holder.get("host") != socket.gethostname() or holder.get("pid") == os.getpid():
        return False
    try:
        os.kill(int(holder["pid"]), 0)
    except (ProcessLookupError, ValueError, TypeError, KeyError):
        return False
    except PermissionError:
        return True
    return True
