"""Checkpoints, one owner: write, find, check, load, prune and set aside a damaged one.

Replaces the originals' tf.train.Saver / save_weights calls. A checkpoint is a folder of
weight and state files; it becomes the current one only when state.json names it, and that
file is replaced atomically, so a kill at any moment leaves a loadable checkpoint behind.
"""
import contextlib
import json
import os
import re
import shutil
import signal
import sys
import threading
import zipfile

import h5py
import numpy as np

from common.callbacks import StepCallback
from common.errors import UserError, describe

KEEP = 2  # step folders kept: the current one and a fall-back
STATE_FILE = "state.json"
COUNTERS_FILE = "counters.json"  # a step folder's own copy of its step and epoch
DAMAGED_PREFIX = "damaged-"
# A checkpoint is a folder step-NNNNNNNNN (its global step); it is written as
# .partial-step-NNNNNNNNN and renamed when complete.
STEP_PREFIX, PARTIAL_PREFIX = "step-", ".partial-"


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


class Checkpoint(StepCallback):
    """Everything that decides the following steps: every network's weights (BatchNorm and
    debias state included), the state of its random streams (dropout's SeedGenerators),
    every optimizer's variables (iterations and slots), any `extra` variables ({name:
    [variables]}, e.g. pix2pix's loss averages) and the counters: step, epoch and the steps
    done in the epoch under way. The data and the latents are functions of the step (see
    fit_resumable). Saved at each epoch's end and every `every_steps` steps
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

    @classmethod
    def of(cls, directory, gan, **schedule):
        """The Checkpoint of a GAN (common.gan.GANModel): what its checkpoint_state() names."""
        return cls(directory, **gan.checkpoint_state(), **schedule)

    def exists(self):
        return has_checkpoint(self.directory)

    def states(self):
        """{file stem: variables} of everything besides the networks' weights: each
        optimizer's as {key: variable} (optimizer_state), the rest as lists saved in order."""
        paths = structural_paths(self.networks)
        states = {name: optimizer_state(optimizer, paths)
                  for name, optimizer in self.optimizers.items()}
        seeds = {f"{name}_seeds": seeds for name, network in self.networks.items()
                 if (seeds := seed_states(network))}
        return {**states, **seeds, **self.extra}

    def variables(self):
        """Every variable this checkpoint saves and restores, once each: what each layer of
        the networks saves of its own (what save_weights writes: weights, BatchNorm
        statistics, the zero-debias state) and every variable of states()."""
        variables = []
        for network in self.networks.values():
            for layer in network._flatten_layers():
                store = {}
                layer.save_own_variables(store)
                variables += store.values()
        for state in self.states().values():
            variables += state.values() if isinstance(state, dict) else state
        return list({id(variable): variable for variable in variables}.values())

    def set_counters(self, step, epoch, done_in_epoch=0):
        """Stand at global step `step`, `done_in_epoch` steps into epoch `epoch` (0-based)."""
        self.step = self.previous_step = step
        self.epoch, self.epoch_start = epoch, step - done_in_epoch

    @property
    def done_in_epoch(self):
        """Steps done in the epoch under way (0 at an epoch's end)."""
        return self.step - self.epoch_start

    def restore(self):
        """Load the newest intact checkpoint, if any; returns True when it did. A damaged
        newest one is set aside with a warning and an earlier one used; when there are
        checkpoints but none is intact, one error line. The optimizers must already be built
        (the GAN's compile() builds them)."""
        if not self.exists():
            return False
        folder = newest_checkpoint(self.directory)
        if folder is None:
            raise UserError(f"no checkpoint in {self.directory} can be read (each is set aside "
                            "as damaged-step-N); use --fresh to start over")
        for name, network in self.networks.items():
            load_network(network, os.path.join(folder, f"{name}.weights.h5"), name,
                                "these flags")
        for name, variables in self.states().items():
            path = os.path.join(folder, f"{name}.npz")
            if name.endswith("_seeds") and not os.path.exists(path):
                print(f"note: {folder} predates saved random streams: {name[:-6]}'s dropout "
                      "starts afresh", file=sys.stderr)
                continue
            self._restore_variables(path, name, variables)
        self.set_counters(*folder_counters(folder))
        self.saved_step = self.step
        if os.path.basename(folder) != (read_state(self.directory) or {}).get("folder"):
            self._point_at(os.path.basename(folder))
        return True

    def _restore_variables(self, path, name, variables):
        """Assign the values saved in `path` to `variables`: by key where they are a dict (an
        optimizer's state), in order where a list (and for an optimizer's state saved before
        the keys, as v0, v1, ...)."""
        try:
            with np.load(path) as saved:
                values = {key: saved[key] for key in saved.files}
        except (OSError, ValueError, KeyError) as error:
            raise UserError(f"cannot read {path} ({error}); use --fresh to start over") \
                from error
        if not isinstance(variables, dict) or values.keys() == {
                f"v{i}" for i in range(len(values))}:
            listed = variables.values() if isinstance(variables, dict) else variables
            variables = {f"v{i}": variable for i, variable in enumerate(listed)}
        if values.keys() != variables.keys() or any(
                tuple(variables[key].shape) != np.shape(values[key]) for key in variables):
            differences = describe_keys(values, variables)
            raise UserError(f"the {name} state in {self.directory} does not match these "
                            "networks" + (f" ({differences})" if differences else "") +
                            "; use --fresh to start over")
        for key, variable in variables.items():
            variable.assign(values[key])

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
        folder = step_folder_name(self.step)
        final = os.path.join(self.directory, folder)
        partial = os.path.join(self.directory, PARTIAL_PREFIX + folder)
        os.makedirs(self.directory, exist_ok=True)
        try:
            shutil.rmtree(partial, ignore_errors=True)
            os.makedirs(partial)
            for name, network in self.networks.items():
                network.save_weights(os.path.join(partial, f"{name}.weights.h5"))
            for name, variables in self.states().items():
                keyed = variables if isinstance(variables, dict) else {
                    f"v{i}": v for i, v in enumerate(variables)}
                np.savez(os.path.join(partial, f"{name}.npz"),
                         **{key: np.asarray(v.numpy()) for key, v in keyed.items()})
            write_atomically(os.path.join(partial, COUNTERS_FILE), json.dumps(
                {"step": self.step, "epoch": self.epoch, "batch": self.done_in_epoch}))
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
        write_atomically(os.path.join(self.directory, STATE_FILE), json.dumps(
            {"step": self.step, "epoch": self.epoch, "batch": self.done_in_epoch,
             "folder": folder}))

    def _remove_older(self, current):
        """Keep the current step folder and the one before it (what resume falls back to if
        the current one is damaged later); remove older ones and unfinished saves."""
        keep = {os.path.basename(f) for f in step_folders(self.directory)[:KEEP]}
        keep.add(current)
        for name in os.listdir(self.directory):
            path = os.path.join(self.directory, name)
            if name not in keep and os.path.isdir(path) and \
                    (folder_step(name) is not None or
                     name.startswith(PARTIAL_PREFIX)):
                shutil.rmtree(path, ignore_errors=True)

    def on_due(self, logs):
        self.save()

    def on_epoch_end(self, epoch, logs=None):
        # An epoch cut short (pix2pix's --max_steps sets stop_training) is still under way.
        steps = (self.params or {}).get("steps")
        if steps is None or self.done_in_epoch >= steps + self.resumed_batches:
            self.set_counters(self.step, epoch + 1)  # a save now is at batch 0
        super().on_epoch_end(epoch, logs)


# ---- finding, checking and loading saved checkpoints ----

def read_state(directory):
    """state.json of a checkpoint folder as a dict, or None when it is missing or damaged
    (the step folders then say what there is)."""
    path = os.path.join(directory, STATE_FILE)
    try:
        with open(path) as f:
            state = json.load(f)
        return state if isinstance(state, dict) and "folder" in state else None
    except (OSError, ValueError):
        return None


def has_checkpoint(directory):
    return bool(step_folders(directory))


def step_folder_name(step):
    return f"{STEP_PREFIX}{step:09d}"


def folder_step(name):
    """The step a step folder's name gives, or None for any other name."""
    digits = name[len(STEP_PREFIX):] if name.startswith(STEP_PREFIX) else ""
    return int(digits) if digits.isdigit() else None


def step_folders(directory):
    """Complete step folders (step-NNNNNNNNN) of `directory`, newest first; the one state.json
    names comes first even if a later one exists (a save that did not finish)."""
    try:
        names = [n for n in os.listdir(directory)
                 if folder_step(n) is not None
                 and os.path.isdir(os.path.join(directory, n))]
    except OSError:
        return []
    names.sort(reverse=True)
    state = read_state(directory)
    if state and state["folder"] in names:
        names.remove(state["folder"])
        names.insert(0, state["folder"])
    return [os.path.join(directory, n) for n in names]


def folder_counters(folder):
    """(step, epoch, batch) of a step folder: batch counts the steps done in the epoch
    under way (0 at an epoch's end). From its counters.json, else state.json when it names
    the folder, else the step from the name and epoch 0. A checkpoint written before the
    batch was saved counts as saved at its epoch's start."""
    try:
        with open(os.path.join(folder, COUNTERS_FILE)) as f:
            counters = json.load(f)
        return int(counters["step"]), int(counters["epoch"]), int(counters.get("batch", 0))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    state = read_state(os.path.dirname(folder))
    if state and state["folder"] == os.path.basename(folder):
        return int(state.get("step", 0)), int(state.get("epoch", 0)), int(state.get("batch", 0))
    return folder_step(os.path.basename(folder)), 0, 0


def newest_checkpoint(directory):
    """The newest step folder whose files all read (None when there is none). Damaged ones
    are set aside (renamed damaged-step-N), each with one warning line."""
    for folder in step_folders(directory):
        damage = folder_damage(folder)
        if damage is None:
            return folder
        set_aside(folder, damage)
    return None


def folder_damage(folder):
    """Why a step folder cannot be read ("file: reason"), or None when every file reads."""
    try:
        names = sorted(os.listdir(folder))
    except OSError as error:
        return f"{describe(error)}"
    for name in names:
        path = os.path.join(folder, name)
        try:
            if name.endswith(".h5"):
                with h5py.File(path, "r") as f:
                    f.visititems(_read_dataset)
            elif name.endswith(".npz"):
                with np.load(path) as saved:
                    for key in saved.files:
                        saved[key]
            elif name.endswith(".json"):
                with open(path) as f:
                    json.load(f)
        except (OSError, ValueError, KeyError, RuntimeError, EOFError,
                zipfile.BadZipFile) as error:
            return f"{name}: {describe(error)}"
    return None


def _read_dataset(name, item):
    if isinstance(item, h5py.Dataset):
        item[()]


def set_aside(folder, why):
    """Rename a damaged step folder to damaged-step-N (kept, never deleted) and say so."""
    directory, name = os.path.split(folder)
    target = os.path.join(directory, DAMAGED_PREFIX + name)
    suffix = 1
    while os.path.exists(target):
        target = os.path.join(directory, f"{DAMAGED_PREFIX}{name}.{suffix}")
        suffix += 1
    try:
        os.rename(folder, target)
        kept = f"kept as {target}"
    except OSError as error:
        kept = f"left in place ({describe(error)})"
    print(f"warning: checkpoint {folder} is damaged ({why}); {kept}; trying an earlier one",
          file=sys.stderr)


def load_network(network, path, name, source):
    """Load a .weights.h5 file into `network`, or one UserError saying which file does not
    fit what (`source` names what the network was built from)."""
    if not os.path.isfile(path):
        raise UserError(f"{os.path.dirname(path)} has no {name}.weights.h5")
    try:
        network.load_weights(path)
    except (ValueError, OSError, KeyError) as error:
        raise UserError(f"{path} does not fit the {name} built from {source} "
                        f"({str(error).splitlines()[0]}); use the same flags and version, "
                        "another --output-dir, or --fresh to start over") from error


def write_atomically(path, text):
    """Write `text` to `path` through a temporary file and a rename: never half written."""
    with open(path + ".tmp", "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(path + ".tmp", path)


# ---- optimizer state ----

def structural_paths(networks):
    """{id(variable): "NETWORK/child/.../name"} for every variable of `networks` ({name:
    network}): each layer named by its class and its number among its parent's children of
    that class (as Keras' .weights.h5 names them), not by Keras' process-wide auto-names
    (conv2d_5 is the sixth Conv2D the process built), so the same networks built in another
    process, after other models, get the same paths."""
    paths, taken = {}, set()

    def walk(layer, path):
        for variable in layer._trainable_variables + layer._non_trainable_variables:
            key = f"{path}/{variable.name}"
            while key in taken:  # two variables of one layer named alike
                key += "'"
            if id(variable) not in paths:
                paths[id(variable)] = key
                taken.add(key)
        seen = {}
        for child in layer._flatten_layers(include_self=False, recursive=False):
            kind = re.sub(r"(?<!^)(?=[A-Z])", "_", type(child).__name__).lower()
            seen[kind] = seen.get(kind, -1) + 1
            walk(child, f"{path}/{kind}" + (f"_{seen[kind]}" if seen[kind] else ""))

    for name, network in networks.items():
        walk(network, name)
    return paths


def optimizer_state(optimizer, paths):
    """{key: variable} of an optimizer's variables. A slot (Keras names it after its model
    variable's process-dependent path: add_variable_from_reference) is keyed by that model
    variable's structural path (`paths`) and the slot's name, e.g.
    "generator/dense/kernel:momentum"; anything else (iterations, learning_rate) by its own
    name. Saved by key, a slot can only load into the slot of the same variable, whatever
    order the optimizer was built in."""
    references = {variable.path.replace("/", "_"): variable
                  for variable in getattr(optimizer, "_trainable_variables", [])}
    state = {}
    for index, variable in enumerate(optimizer.variables):
        owners = [prefix for prefix in references if variable.name.startswith(prefix + "_")]
        key = variable.name
        if owners:
            prefix = max(owners, key=len)
            owner = references[prefix]
            key = f"{paths.get(id(owner), prefix)}:{variable.name[len(prefix) + 1:]}"
        state[key if key not in state else f"{key}#{index}"] = variable
    return state


def describe_keys(saved, wanted):
    """What differs between two key sets, briefly: 'missing a, b; unexpected c'."""
    missing, unexpected = sorted(set(wanted) - set(saved)), sorted(set(saved) - set(wanted))
    parts = ([f"missing {', '.join(missing[:3])}" + (" ..." if len(missing) > 3 else "")]
             if missing else []) + (
        [f"unexpected {', '.join(unexpected[:3])}" + (" ..." if len(unexpected) > 3 else "")]
        if unexpected else [])
    return "; ".join(parts)


def saved_variables(gan):
    """Every variable a checkpoint of `gan` (a common.gan.GANModel) saves and restores, once
    each (Checkpoint.variables). Put back, their values are the GAN's training state
    (tests/test_resume.py: bit for bit)."""
    return Checkpoint.of(None, gan).variables()


def seed_states(network):
    """The state variables of a network's SeedGenerators (its dropout's random streams):
    in network.variables but not in network.weights, which save_weights writes."""
    weights = {id(w) for w in network.weights}
    return [v for v in network.variables if id(v) not in weights]


def _sync_folder(folder):
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), "rb") as f:
            os.fsync(f.fileno())
