"""dcgan_tf.import_original: the originals' own files, written here in their exact layouts
(a TF1 Saver checkpoint of carpedm20's variable scopes, a PyTorch 0.4 legacy pickle written
without torch, a Keras 2.1.2 model file written with h5py), imported and checked against the
originals' forward passes; then, where the originals' environments are built, files written
by the original code itself."""
import collections
import contextlib
import itertools
import json
import os
import pickle
import shlex
import shutil
import struct
import subprocess
import sys
import types

import h5py
import numpy as np
import pytest
import tensorflow as tf

from common import cli, rundir
from common.errors import UserError
from common.keras2_files import keras2_weights
from common.torch_pickles import LEGACY_MAGIC
from conftest import saved_counters, write_images
from dcgan_tf import generate, import_original, train, visualize
from dcgan_tf.program import NETWORK_OPTIONS, load_run, parse_options

try:
    from sidebyside.environments import ORIGINALS_SRC, environment_python
except ImportError:  # the originals' environments are optional
    ORIGINALS_SRC, environment_python = None, lambda name: None


def run_import(*argv):
    return import_original.main([str(a) for a in argv])


def expect_error(capsys, *argv):
    """The import's one `error:` line (exit status 2)."""
    with pytest.raises(SystemExit) as exit_info:
        run_import(*argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def report(capsys, line):
    """A measured difference, shown in pytest's output (not captured)."""
    with capsys.disabled():
        print(f"\n  {line}", end="")


def train_flags(out):
    """The flags of the `train on:` line the import printed."""
    line = next(line for line in out.splitlines() if line.startswith("train on: "))
    return shlex.split(line)[5:]  # after "train on: python -m dcgan_tf.train"


def refusal(output_dir, flags, c_dim):
    """rundir's refusal of train with `flags` (data of c_dim channels) on the run: None when
    no network option differs from the saved ones and the run resumes, else its message."""
    args = parse_options(flags)
    args = cli.replaced(args, c_dim=args.c_dim or c_dim)  # what folder_data derives
    saved = rundir.read_options_file(output_dir)
    try:
        rundir.refuse_other_networks(output_dir, saved, args, NETWORK_OPTIONS)
    except UserError as error:
        return str(error)
    return None


# ---- (a) carpedm20: a TF1 graph with its variable scopes, its forward pass, its Saver ----

class Carpedm20Graph:
    """carpedm20's ops.py ops written with tf.compat.v1 (not copied: the same definitions),
    creating their variables under carpedm20's names from random values; batch norm in
    inference mode (its sampler)."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def variable(self, name, shape, kind="weight", fan_in=1):
        if kind == "weight":
            value = self.rng.normal(0, 1 / np.sqrt(fan_in), shape)
        elif kind == "variance":
            value = self.rng.uniform(0.5, 2.0, shape)
        elif kind == "gamma":
            value = self.rng.uniform(0.5, 1.5, shape)
        else:
            value = self.rng.normal(0, 0.2, shape)
        return tf.compat.v1.get_variable(name, initializer=value.astype(np.float32))

    def linear(self, x, units, scope):
        with tf.compat.v1.variable_scope(scope):
            matrix = self.variable("Matrix", [x.shape[1], units], fan_in=x.shape[1])
            return tf.matmul(x, matrix) + self.variable("bias", [units], "shift")

    def conv2d(self, x, filters, scope):
        with tf.compat.v1.variable_scope(scope):
            w = self.variable("w", [5, 5, x.shape[-1], filters], fan_in=25 * x.shape[-1])
            conv = tf.nn.conv2d(x, w, strides=[1, 2, 2, 1], padding="SAME")
            return conv + self.variable("biases", [filters], "shift")

    def deconv2d(self, x, output_shape, scope):
        with tf.compat.v1.variable_scope(scope):
            w = self.variable("w", [5, 5, output_shape[-1], x.shape[-1]],
                              fan_in=25 * x.shape[-1] / 4)
            deconv = tf.nn.conv2d_transpose(x, w, output_shape=output_shape,
                                            strides=[1, 2, 2, 1])
            return deconv + self.variable("biases", [output_shape[-1]], "shift")

    def batch_norm(self, x, scope):
        # tf.contrib.layers.batch_norm's variables, in inference mode (is_training=False)
        with tf.compat.v1.variable_scope(scope):
            size = [x.shape[-1]]
            beta, gamma = self.variable("beta", size, "shift"), self.variable("gamma", size,
                                                                              "gamma")
            mean = self.variable("moving_mean", size, "shift")
            variance = self.variable("moving_variance", size, "variance")
            return tf.compat.v1.nn.batch_normalization(x, mean, variance, beta, gamma, 1e-5)

    @staticmethod
    def cond_concat(x, y):
        b, h, w = x.shape[0], x.shape[1], x.shape[2]
        return tf.concat([x, tf.reshape(y, [b, 1, 1, -1]) * tf.ones([b, h, w, y.shape[-1]])],
                         3)


def lrelu(x):
    return tf.maximum(x, 0.2 * x)


def carpedm20_networks(ops, z, x, s, gf, df):
    """carpedm20's sampler and discriminator (unconditional) on z and x, sizes s = [s, s/2,
    s/4, s/8, s/16] (ceil)."""
    b, c = x.shape[0], x.shape[-1]
    with tf.compat.v1.variable_scope("generator"):
        h = tf.reshape(ops.linear(z, gf * 8 * s[4] * s[4], "g_h0_lin"), [-1, s[4], s[4], gf * 8])
        h = tf.nn.relu(ops.batch_norm(h, "g_bn0"))
        for i, (size, filters) in enumerate(((s[3], gf * 4), (s[2], gf * 2), (s[1], gf)), 1):
            h = ops.deconv2d(h, [b, size, size, filters], f"g_h{i}")
            h = tf.nn.relu(ops.batch_norm(h, f"g_bn{i}"))
        image = tf.nn.tanh(ops.deconv2d(h, [b, s[0], s[0], c], "g_h4"))
    with tf.compat.v1.variable_scope("discriminator"):
        h = lrelu(ops.conv2d(x, df, "d_h0_conv"))
        for i in (1, 2, 3):
            h = lrelu(ops.batch_norm(ops.conv2d(h, df * 2 ** i, f"d_h{i}_conv"), f"d_bn{i}"))
        logit = ops.linear(tf.reshape(h, [b, -1]), 1, "d_h4_lin")
    return image, logit


def carpedm20_mnist_networks(ops, z, y, x, gf, df, gfc, dfc):
    """carpedm20's conditional (MNIST, 28x28) sampler and discriminator."""
    b, c = x.shape[0], x.shape[-1]
    with tf.compat.v1.variable_scope("generator"):
        h = tf.concat([z, y], 1)
        h = tf.nn.relu(ops.batch_norm(ops.linear(h, gfc, "g_h0_lin"), "g_bn0"))
        h = tf.concat([h, y], 1)
        h = tf.nn.relu(ops.batch_norm(ops.linear(h, gf * 2 * 7 * 7, "g_h1_lin"), "g_bn1"))
        h = ops.cond_concat(tf.reshape(h, [b, 7, 7, gf * 2]), y)
        h = tf.nn.relu(ops.batch_norm(ops.deconv2d(h, [b, 14, 14, gf * 2], "g_h2"), "g_bn2"))
        h = ops.cond_concat(h, y)
        image = tf.nn.sigmoid(ops.deconv2d(h, [b, 28, 28, c], "g_h3"))
    with tf.compat.v1.variable_scope("discriminator"):
        h = lrelu(ops.conv2d(ops.cond_concat(x, y), c + 10, "d_h0_conv"))
        h = ops.cond_concat(h, y)
        h = lrelu(ops.batch_norm(ops.conv2d(h, df + 10, "d_h1_conv"), "d_bn1"))
        h = tf.concat([tf.reshape(h, [b, -1]), y], 1)
        h = lrelu(ops.batch_norm(ops.linear(h, dfc, "d_h2_lin"), "d_bn2"))
        logit = ops.linear(tf.concat([h, y], 1), 1, "d_h3_lin")
    return image, logit


def write_carpedm20(folder, step, build, inputs, seed=0):
    """checkpoint/<model_dir>/DCGAN.model-<step> (tf.compat.v1.train.Saver) and the graph's
    outputs on `inputs`."""
    os.makedirs(folder, exist_ok=True)
    with tf.Graph().as_default():
        placeholders = {k: tf.constant(v) for k, v in inputs.items()}
        outputs = build(Carpedm20Graph(seed), **placeholders)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            values = session.run(outputs)
            tf.compat.v1.train.Saver().save(session, os.path.join(folder, "DCGAN.model"),
                                            global_step=step)
    return values


@pytest.fixture(scope="module")
def celeba_style(tmp_path_factory):
    """Unconditional, gf = df = 4, z 5, 28x28x3 (4 -> 7 -> 14 -> 28: both output paddings)."""
    root = tmp_path_factory.mktemp("carpedm20")
    rng = np.random.default_rng(1)
    inputs = {"z": rng.uniform(-1, 1, (3, 5)).astype(np.float32),
              "x": rng.uniform(-1, 1, (3, 28, 28, 3)).astype(np.float32)}
    sizes = [28, 14, 7, 4, 2]
    image, logit = write_carpedm20(
        root / "checkpoint" / "faces_3_28_28", 12,
        lambda ops, z, x: carpedm20_networks(ops, z, x, sizes, 4, 4), inputs)
    return root, inputs, image, logit


@pytest.fixture(scope="module")
def mnist_style(tmp_path_factory):
    root = tmp_path_factory.mktemp("carpedm20_mnist")
    rng = np.random.default_rng(2)
    inputs = {"z": rng.uniform(-1, 1, (3, 5)).astype(np.float32),
              "y": np.eye(10, dtype=np.float32)[[1, 7, 3]],
              "x": rng.uniform(0, 1, (3, 28, 28, 1)).astype(np.float32)}
    image, logit = write_carpedm20(
        root / "checkpoint" / "mnist_3_28_28", 7,
        lambda ops, z, y, x: carpedm20_mnist_networks(ops, z, y, x, 4, 4, 8, 8), inputs)
    return root, inputs, image, logit


def test_carpedm20_checkpoint_matches_its_tf1_forward_pass_and_resumes(celeba_style, tmp_path,
                                                                        capsys):
    root, inputs, image, logit = celeba_style
    out = tmp_path / "run"
    data = tmp_path / "data"
    write_images(str(data / "faces"), 6, size=(28, 28), ext="jpg")
    gan = run_import(root / "checkpoint", "--output-dir", out, "--data_dir", data, "--verbose")
    printed = capsys.readouterr().out
    lines = printed.rstrip().splitlines()
    assert len(lines) == 9 + 8 + 2  # a line per scope, the summary, the train command
    assert lines[0] == "  generator/g_h0_lin: Matrix (5, 128), bias (128,)"
    assert lines[-2].startswith("imported 48 tensors in 17 groups from ")
    options = json.loads((out / "options.json").read_text())
    assert (options["dataset"], options["batch_size"], options["output_height"],
            options["c_dim"], options["gf_dim"], options["z_dim"]) == ("faces", 3, 28, 3, 4, 5)
    assert saved_counters(out / "checkpoints") == (12, 0)  # DCGAN.model-12; epochs restart
    assert int(gan.d_optimizer.iterations) == 0  # no Adam state in the file
    # carpedm20's sampler (moving statistics) and discriminator logit, from the written run
    loaded, _ = load_run(str(out))
    diff_g = np.abs(loaded.generator(inputs["z"], training=False).numpy() - image).max()
    diff_d = np.abs(gan.discriminator(inputs["x"], training=False).numpy() - logit).max()
    report(capsys, f"carpedm20 max |diff|: G {diff_g:.2e}, D {diff_d:.2e}")
    assert diff_g < 1e-5 and diff_d < 1e-5
    # the printed flags resume it: step 12 + 2 (6 images, batch 3)
    flags = train_flags(printed)
    assert flags[:3] == ["--train", "--dataset", "faces"]
    train.main(flags + ["--epoch", "1"])
    assert " [*] Load SUCCESS" in capsys.readouterr().out
    assert saved_counters(out / "checkpoints") == (14, 1)


def test_carpedm20_conditional_mnist(mnist_style, tmp_path, capsys):
    root, inputs, image, logit = mnist_style
    out = tmp_path / "run"
    # the prefix itself; the sizes come from the shapes, the dataset from the folder's name
    prefix = root / "checkpoint" / "mnist_3_28_28" / "DCGAN.model-7"
    gan = run_import(prefix, "--output-dir", out)
    printed = capsys.readouterr().out
    assert len(printed.strip().splitlines()) == 2
    options = json.loads((out / "options.json").read_text())
    assert options["mnist"] and options["c_dim"] == 1
    assert (options["gfc_dim"], options["dfc_dim"], options["df_dim"]) == (8, 8, 4)
    z, y, x = inputs["z"], inputs["y"], inputs["x"]
    diff_g = np.abs(gan.generator([z, y], training=False).numpy() - image).max()
    diff_d = np.abs(gan.discriminator([x, y], training=False).numpy() - logit).max()
    report(capsys, f"carpedm20 MNIST max |diff|: G {diff_g:.2e}, D {diff_d:.2e}")
    assert diff_g < 1e-5 and diff_d < 1e-5
    assert refusal(str(out), train_flags(printed), 1) is None
    flags = train_flags(printed)
    flags[flags.index("--gfc_dim") + 1] = "16"  # a network that is not the run's
    assert "gfc_dim: saved 8, now 16" in refusal(str(out), flags, 1)
    generate.main(["--checkpoint", str(out), "--num", "2", "--output-dir",
                   str(tmp_path / "samples")])
    assert (tmp_path / "samples" / "class_9.png").exists()
    visualize.main(["--checkpoint_dir", str(out / "checkpoints"), "--option", "0",
                    "--sample_dir", str(tmp_path / "vis")])
    assert len(os.listdir(tmp_path / "vis")) == 1


def test_wrong_sizes_and_wrong_programs_are_one_error_line(celeba_style, tmp_path, capsys):
    root = celeba_style[0]
    folder = root / "checkpoint" / "faces_3_28_28"
    line = expect_error(capsys, folder, "--gf_dim", "8", "--output-dir", tmp_path / "a")
    assert "generator/g_h0_lin/Matrix has shape (5, 128)" in line and "(5, 256)" in line
    # 48 = 16 x 3: a 3x3 first layer; (28 and 32 would both fit: 2x2)
    line = expect_error(capsys, folder / "DCGAN.model-12.index", "--output_height", "48",
                        "--output-dir", tmp_path / "b")
    assert "generator/g_h0_lin/Matrix has shape (5, 128)" in line and "(5, 288)" in line
    line = expect_error(capsys, folder, "--dataset", "mnist", "--output-dir", tmp_path / "c")
    assert "generator/g_h0_lin/Matrix has shape (5, 128)" in line and "(15, 1024)" in line
    line = expect_error(capsys, folder, "--arch", "anime", "--output-dir", tmp_path / "d")
    assert "generate.t7 does not exist" in line
    assert not (tmp_path / "a").exists() and not (tmp_path / "d").exists()
    # a run is never overwritten
    run_import(folder, "--output-dir", tmp_path / "e")
    line = expect_error(capsys, folder, "--output-dir", tmp_path / "e")
    assert "already holds a run" in line


def test_checkpoint_file_naming_another_machines_path(celeba_style, tmp_path, capsys):
    """As carpedm20's load(), the newest name the `checkpoint` file records is looked up in
    its own folder (older TF wrote the path it was given: absolute, or relative to the
    working directory of the run)."""
    folder = tmp_path / "faces_3_28_28"
    shutil.copytree(celeba_style[0] / "checkpoint" / "faces_3_28_28", folder)
    (folder / "checkpoint").write_text(
        'model_checkpoint_path: "/home/someone/DCGAN/checkpoint/faces_3_28_28/DCGAN.model-12"\n'
        'all_model_checkpoint_paths: "/home/someone/DCGAN/checkpoint/faces_3_28_28/'
        'DCGAN.model-12"\n')
    run_import(folder, "--output-dir", tmp_path / "run")
    assert "imported 48 tensors" in capsys.readouterr().out
    assert saved_counters(tmp_path / "run" / "checkpoints") == (12, 0)


def test_a_renamed_folder_needs_the_output_size(celeba_style, tmp_path, capsys):
    folder = tmp_path / "mine"
    shutil.copytree(celeba_style[0] / "checkpoint" / "faces_3_28_28", folder)
    line = expect_error(capsys, folder, "--output-dir", tmp_path / "a")
    assert "pass --output_height" in line
    run_import(folder, "--output_height", 28, "--output-dir", tmp_path / "b")
    options = json.loads((tmp_path / "b" / "options.json").read_text())
    assert (options["dataset"], options["batch_size"], options["output_width"]) == \
        ("celebA", 64, 28)
    assert "--dataset celebA --z_dim 5 --gf_dim 4 --df_dim 4 --output_height 28 --output_width" \
        " 28 --output_dir" in capsys.readouterr().out


# ---- (b) Anime_GAN: a PyTorch 0.4 torch.save() of whole modules, written without torch ----

class FakeModule:
    """nn.Module as PyTorch 0.4 pickled it: its __dict__."""

    def __init__(self, parameters=(), buffers=(), modules=(), **attributes):
        self.__dict__.update(
            _backend=THNNFunctionBackend(), _parameters=collections.OrderedDict(parameters),
            _buffers=collections.OrderedDict(buffers), _backward_hooks=collections.OrderedDict(),
            _forward_hooks=collections.OrderedDict(),
            _forward_pre_hooks=collections.OrderedDict(),
            _modules=collections.OrderedDict(modules), training=True, **attributes)


class FakeStorage:
    keys = itertools.count(94000000000000, 64)  # torch keyed storages by their C address

    def __init__(self, array):
        self.array = np.ascontiguousarray(array).reshape(-1)
        self.key = str(next(self.keys))


class FakeStorageView:
    """A slice of a root storage: PyTorch 0.4 pickled it with view metadata."""

    def __init__(self, root, offset, count):
        self.root, self.offset, self.count = root, offset, count
        self.key = str(next(FakeStorage.keys))


class FakeTensor:
    def __init__(self, array, requires_grad=False, storage=None):
        self.storage = storage or STORAGES[array.dtype.type](array)
        self.shape, self.requires_grad = array.shape, requires_grad

    def __reduce_ex__(self, protocol):  # torch 0.4's Tensor.__reduce_ex__
        strides = tuple(int(np.prod(self.shape[i + 1:])) for i in range(len(self.shape)))
        return _rebuild_tensor_v2, (self.storage, 0, tuple(self.shape), strides,
                                    self.requires_grad, None)


class FakeParameter:
    def __init__(self, array):
        self.tensor = FakeTensor(array, requires_grad=True)

    def __reduce_ex__(self, protocol):
        # torch 0.4: Parameter, (super(Parameter, self), requires_grad), where the super()
        # object reduces as the tensor does
        return Parameter, (self.tensor, True)


class THNNFunctionBackend:
    def __reduce__(self):  # torch 0.4's backend pickles as a call
        return _get_thnn_function_backend, ()


def _rebuild_tensor_v2(*args):
    raise AssertionError("only pickled, never called")


def _get_thnn_function_backend():
    raise AssertionError("only pickled, never called")


class Parameter:
    pass


def _stand_in(cls_or_function, module, name=None):
    name = name or cls_or_function.__name__
    cls_or_function.__module__, cls_or_function.__qualname__ = module, name
    cls_or_function.__name__ = name
    return cls_or_function


FAKE_NAMES = {
    "torch": {"FloatStorage": _stand_in(type("FloatStorage", (FakeStorage,), {}), "torch"),
              "LongStorage": _stand_in(type("LongStorage", (FakeStorage,), {}), "torch")},
    "torch._utils": {"_rebuild_tensor_v2": _stand_in(_rebuild_tensor_v2, "torch._utils")},
    "torch.nn.parameter": {"Parameter": _stand_in(Parameter, "torch.nn.parameter")},
    "torch.nn.backends.thnn": {
        "THNNFunctionBackend": _stand_in(THNNFunctionBackend, "torch.nn.backends.thnn"),
        "_get_thnn_function_backend": _stand_in(_get_thnn_function_backend,
                                                "torch.nn.backends.thnn")},
}
STORAGES = {np.float32: FAKE_NAMES["torch"]["FloatStorage"],
            np.int64: FAKE_NAMES["torch"]["LongStorage"]}
for _module, _names in (("torch.nn.modules.conv", ("Conv2d", "ConvTranspose2d")),
                        ("torch.nn.modules.batchnorm", ("BatchNorm2d",)),
                        ("torch.nn.modules.activation", ("ReLU", "LeakyReLU", "Tanh",
                                                         "Sigmoid")),
                        ("torch.nn.modules.container", ("Sequential",)),
                        ("model", ("Generate", "Discriminator"))):
    FAKE_NAMES[_module] = {n: _stand_in(type(n, (FakeModule,), {}), _module) for n in _names}


@contextlib.contextmanager
def fake_torch():
    """The modules a PyTorch 0.4 pickle names, in sys.modules only while writing one."""
    saved = {name: sys.modules.get(name) for name in FAKE_NAMES}
    for name, members in FAKE_NAMES.items():
        module = types.ModuleType(name)
        module.__dict__.update(members)
        sys.modules[name] = module
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                del sys.modules[name]
            else:
                sys.modules[name] = module


class LegacyPickler(pickle.Pickler):
    """torch 0.4's persistent_id: module classes with their source, storages by key."""

    def __init__(self, f):
        super().__init__(f, protocol=2)
        self.classes, self.storages = set(), {}

    def persistent_id(self, obj):
        if isinstance(obj, type) and issubclass(obj, FakeModule):
            if obj in self.classes:
                return None
            self.classes.add(obj)
            return ("module", obj, f"/home/user/Anime_GAN/DCGAN/{obj.__module__}.py",
                    f"class {obj.__name__}(nn.Module): ...\n")
        if isinstance(obj, FakeStorage):
            self.storages[obj.key] = obj
            return ("storage", type(obj), obj.key, "cuda:0", len(obj.array), None)
        if isinstance(obj, FakeStorageView):
            root = obj.root
            self.storages[root.key] = root
            return ("storage", type(root), root.key, "cuda:0", len(root.array),
                    (obj.key, obj.offset, obj.count))
        return None


def torch_save(module, path):
    """torch.save (PyTorch 0.4, the legacy format): magic number, protocol 1001, sys_info,
    the object, the sorted storage keys, then each storage as an 8-byte little-endian count
    and its raw elements."""
    with fake_torch(), open(path, "wb") as f:
        for header in (LEGACY_MAGIC, 1001, dict(protocol_version=1001, little_endian=True,
                                                type_sizes=dict(short=2, int=4, long=4))):
            pickle.dump(header, f, protocol=2)
        pickler = LegacyPickler(f)
        pickler.dump(module)
        keys = sorted(pickler.storages)
        pickle.dump(keys, f, protocol=2)
        for key in keys:
            array = pickler.storages[key].array
            f.write(struct.pack("<q", len(array)) + array.tobytes())


def torch_layer(kind, weight, **attributes):
    return FAKE_NAMES[f"torch.nn.modules.{kind[0]}"][kind[1]](
        parameters=[("weight", FakeParameter(weight)), ("bias", None)], **attributes)


def torch_bn(rng, channels):
    stats = {"weight": rng.uniform(0.5, 1.5, channels), "bias": rng.normal(0, 0.2, channels),
             "running_mean": rng.normal(0, 0.2, channels),
             "running_var": rng.uniform(0.5, 2.0, channels)}
    stats = {k: v.astype(np.float32) for k, v in stats.items()}
    # the running statistics as two views of one storage (a layout PyTorch 0.4 could write)
    root = STORAGES[np.float32](np.concatenate([stats["running_mean"], stats["running_var"]]))
    views = {"running_mean": FakeStorageView(root, 0, channels),
             "running_var": FakeStorageView(root, channels, channels)}
    module = FAKE_NAMES["torch.nn.modules.batchnorm"]["BatchNorm2d"](
        parameters=[(k, FakeParameter(stats[k])) for k in ("weight", "bias")],
        buffers=[(k, FakeTensor(stats[k], storage=views[k])) for k in views]
        + [("num_batches_tracked", FakeTensor(np.array(40, np.int64)))],
        num_features=channels, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    return module, stats


def sequential(*modules):
    return FAKE_NAMES["torch.nn.modules.container"]["Sequential"](
        modules=[(str(i), m) for i, m in enumerate(modules)])


def activation(name, **attributes):
    return FAKE_NAMES["torch.nn.modules.activation"][name](**attributes)


def anime_modules(rng, z_dim, ngf, ndf):
    """Anime_GAN's Generate and Discriminator (model.py's module names and typos) at widths
    ngf / ndf, and {name: array} of their weights in PyTorch's layout."""
    weights = {}

    def conv(kind, name, shape, **attributes):
        weights[name] = (rng.normal(0, 1, shape) / np.sqrt(np.prod(shape[1:]))).astype(
            np.float32)
        return torch_layer(("conv", kind), weights[name], stride=(2, 2), **attributes)

    def bn(name, channels):
        module, stats = torch_bn(rng, channels)
        weights.update({f"{name}.{k}": v for k, v in stats.items()})
        return module

    channels = [z_dim, ngf * 8, ngf * 4, ngf * 2, ngf, 3]
    blocks = []
    for i in range(5):
        k = 6 if i == 0 else 4
        name = f"convtrans{i + 1}_block"
        layer = conv("ConvTranspose2d", f"{name}.0.weight", (channels[i], channels[i + 1], k, k),
                     padding=(0, 0) if i == 0 else (1, 1))
        blocks.append((name, sequential(layer, bn(f"{name}.1", channels[i + 1]),
                                        activation("ReLU", inplace=True)) if i < 4
                       else sequential(layer, activation("Tanh"))))
    generator = FAKE_NAMES["model"]["Generate"](modules=blocks)
    channels = [3, ndf, ndf * 2, ndf * 4, ndf * 8, 1]
    names = ["conv_bolck1", "conv_bolok2", "conv_bolok3", "conv_bolok4", "conv_bolok5"]
    blocks = []
    for i, name in enumerate(names):
        k = 5 if i == 4 else 4
        layer = conv("Conv2d", f"{name}.0.weight", (channels[i + 1], channels[i], k, k),
                     padding=(0, 0) if i == 4 else (1, 1))
        leaky = activation("LeakyReLU", negative_slope=0.2, inplace=True)
        if i == 0:
            blocks.append((name, sequential(layer, leaky)))
        elif i == 4:
            blocks.append((name, sequential(layer, activation("Sigmoid"))))
        else:
            blocks.append((name, sequential(layer, bn(f"{name}.1", channels[i + 1]), leaky)))
    discriminator = FAKE_NAMES["model"]["Discriminator"](modules=blocks)
    return generator, discriminator, weights


# NumPy references of PyTorch's definitions (NCHW; Conv2d weight [out, in, kh, kw],
# ConvTranspose2d weight [in, out, kh, kw]; both cross-correlate, nothing flipped).

def torch_conv2d(x, w, stride, padding):
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    k = w.shape[2]
    size = (x.shape[2] - k) // stride + 1
    out = np.zeros((x.shape[0], w.shape[0], size, size))
    for a in range(k):
        for b in range(k):
            patch = x[:, :, a:a + stride * (size - 1) + 1:stride, b:b + stride * (size - 1) + 1:stride]
            out += np.einsum("ncij,oc->noij", patch, w[:, :, a, b])
    return out


def torch_conv_transpose2d(x, w, stride, padding):
    k, size = w.shape[2], x.shape[2]
    full = (size - 1) * stride + k
    out = np.zeros((x.shape[0], w.shape[1], full, full))
    for a in range(k):
        for b in range(k):
            out[:, :, a:a + stride * (size - 1) + 1:stride,
                b:b + stride * (size - 1) + 1:stride] += np.einsum("ncij,co->noij", x,
                                                                   w[:, :, a, b])
    return out[:, :, padding:full - padding, padding:full - padding]


def torch_batch_norm_eval(x, w, b, mean, var, eps):
    shape = (1, -1, 1, 1)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * w.reshape(shape) \
        + b.reshape(shape)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def anime_reference(weights, z, x):
    """Anime_GAN's Generate and Discriminator forward passes in eval() mode, NHWC out."""
    h = z[:, :, None, None].astype(np.float64)
    for i in range(1, 6):
        name = f"convtrans{i}_block"
        h = torch_conv_transpose2d(h, weights[f"{name}.0.weight"], 2, 0 if i == 1 else 1)
        if i < 5:
            bn = [weights[f"{name}.1.{k}"] for k in ("weight", "bias", "running_mean",
                                                     "running_var")]
            h = np.maximum(torch_batch_norm_eval(h, *bn, 1e-5), 0)
    image = np.tanh(h).transpose(0, 2, 3, 1)
    h = x.transpose(0, 3, 1, 2).astype(np.float64)
    for i, name in enumerate(["conv_bolck1", "conv_bolok2", "conv_bolok3", "conv_bolok4"]):
        h = torch_conv2d(h, weights[f"{name}.0.weight"], 2, 1)
        if i:
            bn = [weights[f"{name}.1.{k}"] for k in ("weight", "bias", "running_mean",
                                                     "running_var")]
            h = torch_batch_norm_eval(h, *bn, 1e-5)
        h = np.where(h > 0, h, 0.2 * h)
    score = sigmoid(torch_conv2d(h, weights["conv_bolok5.0.weight"], 2, 0)).reshape(-1, 1)
    return image, score


@pytest.fixture(scope="module")
def anime_files(tmp_path_factory):
    saved = tmp_path_factory.mktemp("anime") / "saved"
    os.makedirs(saved)
    rng = np.random.default_rng(3)
    generator, discriminator, weights = anime_modules(rng, 6, 2, 2)
    torch_save(generator, saved / "generate.t7")
    torch_save(discriminator, saved / "discriminator.t7")
    return saved, weights


def test_anime_t7_matches_a_numpy_reference_of_pytorch(anime_files, tmp_path, capsys):
    saved, weights = anime_files
    out, data = tmp_path / "run", tmp_path / "data"
    gan = run_import(saved / "generate.t7", "--arch", "anime", "--output-dir", out, "--verbose",
                     "--data_dir", data, "--batch_size", 2)
    printed = capsys.readouterr().out
    assert "  generate.t7 convtrans1_block.0: convtrans1_block.0.weight (6, 6, 16, 6)" in printed
    assert "imported 38 tensors in 17 groups from " in printed
    assert "torch" not in sys.modules or hasattr(sys.modules["torch"], "__file__")
    options = json.loads((out / "options.json").read_text())
    assert (options["arch"], options["dataset"], options["z_dim"], options["gf_dim"],
            options["df_dim"], options["c_dim"]) == ("anime", "faces", 6, 2, 2, 3)
    rng = np.random.default_rng(4)
    z = rng.normal(size=(2, 6)).astype(np.float32)
    x = rng.uniform(-1, 1, (2, 96, 96, 3)).astype(np.float32)
    image, score = anime_reference(weights, z, x)
    loaded, _ = load_run(str(out))
    diff_g = np.abs(loaded.generator(z, training=False).numpy() - image).max()
    diff_d = np.abs(gan.discriminator(x, training=False).numpy() - score).max()
    report(capsys, f"anime (NumPy reference) max |diff|: G {diff_g:.2e}, D {diff_d:.2e}")
    assert diff_g < 1e-5 and diff_d < 1e-5
    # the printed flags resume it (the files record no step: 0 + 2)
    write_images(str(data / "faces"), 4, size=(96, 96), ext="jpg")
    train.main(train_flags(printed) + ["--epoch", "1"])
    assert " [*] Load SUCCESS" in capsys.readouterr().out
    assert saved_counters(out / "checkpoints") == (2, 1)


def test_a_pickle_naming_os_system_is_refused_unrun(anime_files, tmp_path, capsys):
    saved = tmp_path / "saved"
    os.makedirs(saved)
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    with open(saved / "generate.t7", "wb") as f:
        for header in (LEGACY_MAGIC, 1001, {}):
            pickle.dump(header, f, protocol=2)
        pickle.dump(Payload(), f, protocol=2)
    os.symlink(anime_files[0] / "discriminator.t7", saved / "discriminator.t7")
    line = expect_error(capsys, saved, "--arch", "anime", "--output-dir", tmp_path / "run")
    assert f"{os.system.__module__}.system" in line and "refusing" in line
    assert not marker.exists() and not (tmp_path / "run").exists()


def test_the_original_module_classes_a_pickle_may_name_come_from_its_importer(anime_files):
    """common.torch_pickles allows torch.nn's classes only; Anime_GAN's own (model.Generate)
    are allowed by the importer that reads its files."""
    from common.errors import UserError
    from common.torch_pickles import torch_state_dict
    from dcgan_tf.originals.anime import MODULE_CLASSES
    path = anime_files[0] / "generate.t7"
    with pytest.raises(UserError, match="names model.Generate"):
        torch_state_dict(path)
    assert "convtrans1_block.0.weight" in torch_state_dict(path, MODULE_CLASSES)


def test_anime_wrong_width_names_the_tensor(anime_files, tmp_path, capsys):
    line = expect_error(capsys, anime_files[0], "--arch", "anime", "--gf_dim", "4",
                        "--output-dir", tmp_path / "run")
    assert "convtrans1_block.0.weight has shape (6, 16, 6, 6)" in line
    assert "wants (6, 32, 6, 6) (PyTorch's layout)" in line


# ---- (c) the Keras WGAN: Keras 2.1.2 model.save() files, written with h5py ----

def wgan_layers(rng, z_dim, ngf, ndf):
    """[(layer name, [(weight name, array)])] of wgan_keras.py's DCGAN_D (built first) and
    DCGAN_G, as Keras 2.1.2 named them in one session."""
    counters = collections.Counter()

    def name(kind):
        counters[kind] += 1
        return f"{kind}_{counters[kind]}"

    def conv(kind, shape):
        layer = name(kind)
        fan_in = np.prod(shape[:2]) * shape[3 if kind == "conv2d_transpose" else 2] / (
            4 if kind == "conv2d_transpose" else 1)
        return layer, [(f"{layer}/kernel:0",
                        (rng.normal(0, 1, shape) / np.sqrt(fan_in)).astype(np.float32))]

    def bn(channels):
        layer = name("batch_normalization")
        values = [rng.uniform(0.5, 1.5, channels), rng.normal(0, 0.2, channels),
                  rng.normal(0, 0.2, channels), rng.uniform(0.5, 2.0, channels)]
        return layer, [(f"{layer}/{w}:0", v.astype(np.float32)) for w, v in
                       zip(("gamma", "beta", "moving_mean", "moving_variance"), values)]

    def plain(kind):
        return name(kind), []

    d = [plain("input"), plain("zero_padding2d"), conv("conv2d", (4, 4, 3, ndf)),
         plain("leaky_re_lu")]
    for _ in range(4):
        d += [plain("zero_padding2d"), conv("conv2d", (4, 4, ndf, ndf * 2)), bn(ndf * 2),
              plain("leaky_re_lu")]
        ndf *= 2
    d += [conv("conv2d", (3, 3, ndf, 1)), plain("flatten")]
    g = [plain("input"), plain("reshape"), conv("conv2d_transpose", (3, 3, ngf, z_dim))]
    for _ in range(4):
        g += [conv("conv2d_transpose", (4, 4, ngf // 2, ngf)), plain("cropping2d"),
              bn(ngf // 2), plain("activation")]
        ngf //= 2
    g += [conv("conv2d_transpose", (4, 4, 3, ngf)), plain("cropping2d"), plain("activation")]
    return g, d


def keras212_save(layers, path):
    """model.save()'s HDF5 layout in Keras 2.1.2 (no optimizer: the models were never
    compiled): model_config and the model_weights group."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.1.2"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps({"class_name": "Model", "config": {
            "layers": [{"name": n} for n, _ in layers]}}).encode()
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [n.encode() for n, _ in layers]
        group.attrs["backend"] = b"tensorflow"
        group.attrs["keras_version"] = b"2.1.2"
        for layer, weights in layers:
            g = group.create_group(layer)
            g.attrs["weight_names"] = [w.encode() for w, _ in weights]
            for w, value in weights:
                g.create_dataset(w, data=value)


def wgan_reference(g_layers, d_layers, z, x):
    """wgan_keras.py's networks in inference mode (moving statistics), NHWC out: a Keras
    ConvTranspose (valid) cropped by 1 is PyTorch's padding 1, ZeroPadding 1 + a valid conv
    is padding 1 (kernels rearranged to PyTorch's layout for the reference)."""
    g = [w for _, ws in g_layers for w in ws]
    d = [w for _, ws in d_layers for w in ws]
    h = z[:, :, None, None].astype(np.float64)
    kernel = g.pop(0)[1]
    h = torch_conv_transpose2d(h, kernel.transpose(3, 2, 0, 1), 2, 0)
    for _ in range(5):
        kernel = g.pop(0)[1]
        h = torch_conv_transpose2d(h, kernel.transpose(3, 2, 0, 1), 2, 1)
        if g:
            gamma, beta, mean, var = (g.pop(0)[1] for _ in range(4))
            h = np.maximum(torch_batch_norm_eval(h, gamma, beta, mean, var, 1.01e-5), 0)
    image = np.tanh(h).transpose(0, 2, 3, 1)
    h = x.transpose(0, 3, 1, 2).astype(np.float64)
    for i in range(5):
        h = torch_conv2d(h, d.pop(0)[1].transpose(3, 2, 0, 1), 2, 1)
        if i:
            gamma, beta, mean, var = (d.pop(0)[1] for _ in range(4))
            h = torch_batch_norm_eval(h, gamma, beta, mean, var, 1.01e-5)
        h = np.where(h > 0, h, 0.2 * h)
    score = torch_conv2d(h, d.pop(0)[1].transpose(3, 2, 0, 1), 1, 0).reshape(-1, 1)
    return image, score


@pytest.fixture(scope="module")
def wgan_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wgan")
    g_layers, d_layers = wgan_layers(np.random.default_rng(5), 6, 16, 2)
    keras212_save(g_layers, folder / "generate.h5")
    keras212_save(d_layers, folder / "discriminator.h5")
    return folder, g_layers, d_layers


def test_wgan_h5_matches_a_numpy_reference(wgan_files, tmp_path, capsys):
    folder, g_layers, d_layers = wgan_files
    out, data = tmp_path / "run", tmp_path / "data"
    gan = run_import(folder, "--arch", "wgan", "--output-dir", out, "--verbose", "--data_dir",
                     data, "--batch_size", 2)
    printed = capsys.readouterr().out
    assert "  generate.h5 conv2d_transpose_1: kernel:0 (3, 3, 16, 6)" in printed
    assert "imported 44 tensors in 20 groups" in printed
    options = json.loads((out / "options.json").read_text())
    assert (options["arch"], options["z_dim"], options["gf_dim"], options["df_dim"]) == \
        ("wgan", 6, 1, 2)
    rng = np.random.default_rng(6)
    z = rng.normal(size=(2, 6)).astype(np.float32)
    x = rng.uniform(-1, 1, (2, 96, 96, 3)).astype(np.float32)
    image, score = wgan_reference(g_layers, d_layers, z, x)
    loaded, _ = load_run(str(out))
    diff_g = np.abs(loaded.generator(z, training=False).numpy() - image).max()
    diff_d = np.abs(gan.critic(x, training=False).numpy() - score).max()
    report(capsys, f"WGAN (NumPy reference) max |diff|: G {diff_g:.2e}, D {diff_d:.2e}")
    assert diff_g < 1e-5 and diff_d < 1e-5
    # the printed flags resume it: one step of 5 critic batches of 2 (flow_from_directory
    # reads faces/'s subfolders)
    write_images(str(data / "faces" / "sub"), 10, size=(96, 96), ext="jpg")
    train.main(train_flags(printed) + ["--epoch", "1"])
    assert " [*] Load SUCCESS" in capsys.readouterr().out
    assert saved_counters(out / "checkpoints") == (1, 1)
    line = expect_error(capsys, folder, "--arch", "wgan", "--df_dim", "4", "--output-dir",
                        tmp_path / "other")
    assert "conv2d_1/conv2d_1/kernel:0 has shape (4, 4, 3, 2)" in line
    line = expect_error(capsys, folder, "--output-dir", tmp_path / "other")
    assert "pass --arch wgan" in line


# ---- the originals' own code, in their own frameworks (when `make originals` built them) ----

def original_python(name):
    python = environment_python(name)
    if python is None or ORIGINALS_SRC is None:
        pytest.skip(f"the originals' {name} environment is not built (make originals)")
    return python


TORCH_SCRIPT = """
import sys
import numpy as np
import torch
sys.path.insert(0, {src!r})
from model import Generate, Discriminator

torch.manual_seed(0)
generate, discriminator = Generate(), Discriminator()
with torch.no_grad():  # running statistics of a few training batches, as a trained model has
    for _ in range(3):
        generate(torch.randn(8, 100, 1, 1))
        discriminator(torch.rand(8, 3, 96, 96) * 2 - 1)
torch.save(generate, "saved/generate.t7")  # main.py's calls
torch.save(discriminator, "saved/discriminator.t7")
z, x = torch.randn(4, 100, 1, 1), torch.rand(4, 3, 96, 96) * 2 - 1
with torch.no_grad():
    generate.eval(), discriminator.eval()
    out = dict(z=z.numpy(), x=x.numpy(), g=generate(z).numpy(), d=discriminator(x).numpy())
    generate.train()
    out["g_train"] = generate(z).numpy()
np.savez("forward.npz", **out)
"""


def test_original_anime_networks_saved_by_pytorch(tmp_path, capsys):
    python = original_python("torch")
    os.makedirs(tmp_path / "saved")
    script = TORCH_SCRIPT.format(src=os.path.join(ORIGINALS_SRC, "anime", "DCGAN"))
    subprocess.run([python, "-c", script], cwd=tmp_path, check=True, timeout=300)
    gan = run_import(tmp_path / "saved", "--arch", "anime", "--output-dir", tmp_path / "run")
    assert "imported 38 tensors in 17 groups" in capsys.readouterr().out
    ref = np.load(tmp_path / "forward.npz")
    z = ref["z"][:, :, 0, 0]
    diffs = [np.abs(gan.generator(z, training=False).numpy()
                    - ref["g"].transpose(0, 2, 3, 1)).max(),
             np.abs(gan.generator(z, training=True).numpy()
                    - ref["g_train"].transpose(0, 2, 3, 1)).max(),
             np.abs(gan.discriminator(ref["x"].transpose(0, 2, 3, 1), training=False).numpy()
                    - ref["d"].reshape(-1, 1)).max()]
    report(capsys, "anime (PyTorch 1.0.1) max |diff|: G eval {:.2e}, G train {:.2e}, "
                   "D eval {:.2e}".format(*diffs))
    assert max(diffs) < 1e-4


KERAS212_SCRIPT = """
import ast
import numpy as np

path = {path!r}
with open(path) as f:
    tree = ast.parse(f.read())
# the script's definitions only (imports, initializers, DCGAN_D, DCGAN_G): its module-level
# training loop starts at the constants after them
end = next(i for i, node in enumerate(tree.body)
           if isinstance(node, ast.FunctionDef) and node.name == "DCGAN_G") + 1
namespace = {{}}
exec(compile(ast.Module(body=tree.body[:end]), path, "exec"), namespace)
np.random.seed(0)
netD = namespace["DCGAN_D"](96, 3, 8)  # built first, as the script does
netG = namespace["DCGAN_G"](96, 10, 64)
for layer in netD.layers + netG.layers:  # moving statistics as training leaves them
    if type(layer).__name__ == "BatchNormalization":
        gamma, beta, mean, var = layer.get_weights()
        layer.set_weights([gamma, np.random.normal(0, .1, beta.shape),
                           np.random.normal(0, .1, mean.shape),
                           np.random.uniform(.5, 1.5, var.shape)])
netD.save("discriminator.h5")
netG.save("generate.h5")
z = np.random.normal(size=(4, 10)).astype("float32")
x = np.random.uniform(-1, 1, (4, 96, 96, 3)).astype("float32")
np.savez("forward.npz", z=z, x=x, g=netG.predict(z), d=netD.predict(x))
"""


def test_original_wgan_models_saved_by_keras_2_1_2(tmp_path, capsys):
    python = original_python("keras212")
    script = KERAS212_SCRIPT.format(
        path=os.path.join(ORIGINALS_SRC, "anime", "WGAN_keras", "wgan_keras.py"))
    # TensorFlow 2 sets TF2_BEHAVIOR in this process's environment: TF 1.15 would turn eager
    env = {k: v for k, v in os.environ.items() if k != "TF2_BEHAVIOR"}
    env.update(KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
    subprocess.run([python, "-c", script], cwd=tmp_path, check=True, timeout=300, env=env,
                   stdout=subprocess.DEVNULL)
    # this test's h5py writer has the real files' layout
    g_layers, d_layers = wgan_layers(np.random.default_rng(0), 10, 64, 8)
    for name, layers in (("generate.h5", g_layers), ("discriminator.h5", d_layers)):
        real = keras2_weights(tmp_path / name)
        assert [(n, [w for w, _ in ws]) for n, ws in real] == \
            [(n, [w for w, _ in ws]) for n, ws in layers]
        assert [a.shape for _, ws in real for _, a in ws] == \
            [a.shape for _, ws in layers for _, a in ws]
    gan = run_import(tmp_path / "generate.h5", "--arch", "wgan", "--output-dir",
                     tmp_path / "run")
    assert "imported 44 tensors in 20 groups" in capsys.readouterr().out
    ref = np.load(tmp_path / "forward.npz")
    # the script's BatchNormalization always ran with training=1 (batch statistics)
    diffs = [np.abs(gan.generator(ref["z"], training=True).numpy() - ref["g"]).max(),
             np.abs(gan.critic(ref["x"], training=True).numpy() - ref["d"]).max()]
    report(capsys, "WGAN (Keras 2.1.2) max |diff|: G {:.2e}, D {:.2e}".format(*diffs))
    assert max(diffs) < 1e-4


CARPEDM20_SCRIPT = """
import sys
import numpy as np
import tensorflow as tf
sys.path.insert(0, {src!r})
from model import DCGAN

rng = np.random.RandomState(0)
with tf.Session() as session:
    dcgan = DCGAN(session, input_height=28, input_width=28, output_height=28, output_width=28,
                  batch_size=3, sample_num=3, z_dim=5, gf_dim=4, df_dim=4, crop=False,
                  dataset_name="faces", data_dir="data", checkpoint_dir="checkpoint")
    tf.global_variables_initializer().run()
    for v in tf.global_variables():  # weights of O(1) activations, statistics as trained
        shape = v.shape.as_list()
        if "moving_variance" in v.name:
            value = rng.uniform(0.5, 2.0, shape)
        elif "moving_mean" in v.name or "beta" in v.name or "bias" in v.name:
            value = rng.normal(0, 0.2, shape)
        elif "gamma" in v.name:
            value = rng.uniform(0.5, 1.5, shape)
        else:
            value = rng.normal(0, 1 / np.sqrt(np.prod(shape[:-1])), shape)
        session.run(v.assign(value))
    dcgan.save("checkpoint", 12)  # checkpoint/faces_3_28_28/DCGAN.model-12
    z = rng.uniform(-1, 1, (3, 5)).astype(np.float32)
    x = rng.uniform(-1, 1, (3, 28, 28, 3)).astype(np.float32)
    # the sampler (moving statistics); D and G as training ran them (batch statistics)
    out = dict(z=z, x=x, sampler=session.run(dcgan.sampler, {{dcgan.z: z}}),
               d_logits=session.run(dcgan.D_logits, {{dcgan.inputs: x}}),
               g=session.run(dcgan.G, {{dcgan.z: z}}))
np.savez("forward.npz", **out)
"""


def test_original_carpedm20_checkpoint_saved_by_its_saver(tmp_path, capsys):
    python = original_python("keras224")
    write_images(str(tmp_path / "data" / "faces"), 3, size=(28, 28), ext="jpg")
    env = {k: v for k, v in os.environ.items() if k != "TF2_BEHAVIOR"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    subprocess.run([python, "-c", CARPEDM20_SCRIPT.format(
        src=os.path.join(ORIGINALS_SRC, "dcgan"))], cwd=tmp_path, check=True, timeout=300,
        env=env, stdout=subprocess.DEVNULL)
    gan = run_import(tmp_path / "checkpoint", "--output-dir", tmp_path / "run")
    assert "imported 48 tensors in 17 groups" in capsys.readouterr().out
    assert saved_counters(tmp_path / "run" / "checkpoints") == (12, 0)
    ref = np.load(tmp_path / "forward.npz")
    diffs = [np.abs(gan.generator(ref["z"], training=False).numpy() - ref["sampler"]).max(),
             np.abs(gan.generator(ref["z"], training=True).numpy() - ref["g"]).max(),
             np.abs(gan.discriminator(ref["x"], training=True).numpy()
                    - ref["d_logits"]).max()]
    report(capsys, "carpedm20 (TF 1.15) max |diff|: sampler {:.2e}, G {:.2e}, "
                   "D {:.2e}".format(*diffs))
    assert max(diffs) < 1e-4
