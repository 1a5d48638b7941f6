"""What every runner does inside the original's process (Python 3.7, the original's framework):
read config.json, record the original's random draws and each step's inputs and losses, stop
it after the configured number of steps, and write steps.json and record.npz.

Never imports the project (it runs in another Python); the original's file is executed
unmodified with runpy.
"""
import json
import os
import random
import runpy
import sys
import time

import numpy as np


class Finished(Exception):
    """Raised by a hook after the last step: ends the original's loop where it stands."""


class Recorder:
    """One runner's recorder: its config, the per-step losses and times, the recorded arrays."""

    def __init__(self, config_path):
        with open(config_path) as f:
            self.config = json.load(f)
        self.workdir = self.config["workdir"]
        self.steps = []
        self.arrays = {}
        self.draws = []
        self.started = None

    @property
    def step(self):
        """1-based index of the step now running."""
        return len(self.steps) + 1

    def begin_step(self):
        if self.started is None:
            self.started = time.time()

    def record(self, name, array, step=None):
        """Keep `array` as step_{k}/{name} of record.npz (k: the running step)."""
        self.arrays["step_%d/%s" % (step or self.step, name)] = np.array(array)

    def end_step(self, losses):
        """The step is done with these losses; Finished after the last one."""
        seconds = time.time() - (self.started or time.time())
        self.steps.append({"losses": {k: float(v) for k, v in losses.items()},
                           "seconds": seconds})
        self.started = None
        if len(self.steps) >= self.config["steps"]:
            raise Finished

    def record_numpy_draws(self, names=("uniform", "normal", "randn", "rand", "randint",
                                        "random", "permutation", "choice")):
        """Wrap numpy.random's global functions: every result is also kept, in call order, as
        draw_{n}_{function} (with the step it fell in), for the port to replay."""
        for name in names:
            original = getattr(np.random, name)

            def wrapped(*args, _original=original, _name=name, **kwargs):
                value = _original(*args, **kwargs)
                self.draws.append((self.step, _name, np.array(value)))
                return value
            setattr(np.random, name, wrapped)
        shuffle = np.random.shuffle

        def recorded_shuffle(x):
            shuffle(x)
            self.draws.append((self.step, "shuffle", np.array(list(x))))
        np.random.shuffle = recorded_shuffle

    def path(self, *parts):
        path = os.path.join(self.workdir, *parts)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return path

    def write(self):
        for index, (step, name, value) in enumerate(self.draws):
            self.arrays["draw_%04d_%s_step_%d" % (index, name, step)] = value
        np.savez(os.path.join(self.workdir, "record.npz"), **self.arrays)
        with open(os.path.join(self.workdir, "steps.json"), "w") as f:
            json.dump(self.steps, f, indent=1)


def seed_everything(seed):
    """Python's and numpy's global generators from config["seed"]. Keras 2 draws every
    initializer's and dropout layer's op seed from numpy (np.random.randint(10e6) where a layer
    gives none), so this also decides a Keras 2 program's initial weights and masks."""
    random.seed(seed)
    np.random.seed(seed)


def offset_script_seed(offset):
    """A script that seeds numpy itself (mnist_acgan.py: np.random.seed(1337)) gets seed +
    offset: config["seed"] 0 leaves it as written, every other seed gives another run."""
    seed = np.random.seed

    def offset_seed(value=None):
        seed(None if value is None else (value + offset) % 2 ** 32)
    np.random.seed = offset_seed


class PinnedNamespace(dict):
    """A script's globals in which an assignment to a pinned name stores the pinned value: how
    a runner sets a module constant (O-GAN's img_dim, the WGAN's batchSize) of a script that
    has no command line, without editing it. The runner's hooks read the script's objects
    from it (namespace["train_model"])."""

    def __init__(self, path, pinned):
        super().__init__(__name__="__main__", __file__=os.path.abspath(path),
                         __builtins__=__builtins__)
        self.pinned = pinned

    def __setitem__(self, name, value):
        dict.__setitem__(self, name, self.pinned.get(name, value))


def run_original(path, argv=(), namespace=None):
    """Execute the original's file as __main__ with `argv` (in `namespace`, a PinnedNamespace,
    when given), until a hook raises Finished; whether one did."""
    sys.argv = [path] + list(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        if namespace is None:
            runpy.run_path(path, run_name="__main__")
        else:
            with open(path) as f:
                exec(compile(f.read(), os.path.abspath(path), "exec"), namespace)
    except Finished:
        return True
    return False


def load_mnist(path):
    """((x_train, y_train), (x_test, y_test)) as keras.datasets.mnist.load_data returns them,
    from an .npz with those four arrays or a folder of IDX files (raw or .gz)."""
    if os.path.isfile(path):
        with np.load(path) as data:
            return (data["x_train"], data["y_train"]), (data["x_test"], data["y_test"])
    return ((_idx(path, "train-images-idx3-ubyte"), _idx(path, "train-labels-idx1-ubyte")),
            (_idx(path, "t10k-images-idx3-ubyte"), _idx(path, "t10k-labels-idx1-ubyte")))


def _idx(folder, stem):
    import gzip
    for name, opener in ((stem, open), (stem + ".gz", gzip.open)):
        if os.path.exists(os.path.join(folder, name)):
            with opener(os.path.join(folder, name), "rb") as f:
                data = f.read()
            dims = data[3]
            shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
            return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)
    raise FileNotFoundError(os.path.join(folder, stem))


def order_keras2_updates():
    """Keras 2 on TensorFlow 1 puts every update of a train step into one session run with no
    order among them (keras-team/keras#10769): a weight can be overwritten before the gradients
    of earlier layers have read it, and Adam can read its step counter after incrementing it.
    The result changes from run to run. This hook makes every optimizer update wait for every
    gradient and for the counter's read, so the original computes the update its code describes
    (what Theano computed), the same in every run; updates that assign one variable run in
    their listed order (order_repeated_assignments). --as-released leaves it out."""
    from keras import optimizers

    order_repeated_assignments()
    get_gradients = optimizers.Optimizer.get_gradients

    def stash(self, loss, params):
        self._stashed_gradients = get_gradients(self, loss, params)
        return self._stashed_gradients
    optimizers.Optimizer.get_gradients = stash
    from keras.legacy import interfaces
    for cls in (optimizers.SGD, optimizers.RMSprop, optimizers.Adagrad, optimizers.Adadelta,
                optimizers.Adam, optimizers.Adamax, optimizers.Nadam):
        # Keras' legacy wrapper again outside: scripts of Keras 1's time (the WGAN) call
        # get_updates(params, constraints, loss)
        cls.get_updates = interfaces.legacy_get_updates_support(_ordered(cls.get_updates))


def order_repeated_assignments():
    """A layer called several times in one train step (O-GAN's encoder: on the real, the fake
    and the stop-gradient fake batch) gives Keras 2 one update per call, each assigning the same
    variable (a zero-debiased moving average ends in a plain assign of that call's average), all
    in the same unordered session run: the variable keeps whichever call's average TensorFlow 1
    happens to assign last. On two cores that was the fake call's with its default threads and
    the real call's with TF_NUM_INTEROP_THREADS=1. This hook runs the assignments of one
    variable in the order Keras lists the updates (the order of the calls), so the last call's
    lands in every run, as the list reads."""
    from keras import backend as K
    function = K.function

    def ordered_function(inputs, outputs, updates=None, **kwargs):
        last = {}
        for update in updates or []:
            if isinstance(update, tuple):  # (variable, new value): Function assigns it later
                continue
            op = getattr(update, "op", update)  # a tensor's op, or an op (as _ordered reads it)
            if op.type not in ("Assign", "AssignVariableOp"):
                continue
            target = op.inputs[0].op.name
            if target in last:
                op._add_control_inputs([last[target]])
            last[target] = op
        return function(inputs, outputs, updates=updates, **kwargs)
    K.function = ordered_function


def _ordered(get_updates):
    def ordered(self, loss, params):
        updates = get_updates(self, loss, params)
        reads = [g.op for g in self._stashed_gradients if g is not None]
        reads += list(self.iterations.value().consumers())
        for update in updates:
            op = getattr(update, "op", update)
            op._add_control_inputs([read for read in reads if read is not op])
        return updates
    return ordered
