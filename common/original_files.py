"""The originals' own checkpoint files, read without their frameworks and without running any
code they name: TF1 Saver checkpoints (carpedm20, pix2pix), Keras 2 HDF5 weight and model files
(mnist_acgan.py, O-GAN, wgan_keras.py) and PyTorch pickles of whole modules (Anime_GAN's .t7).

Each reader returns plain NumPy arrays by the original's own names; `Importer` assigns them to
a port's variables, checking every shape, so each package's import_original.py is a mapping.
"""
import collections
import io
import os
import pickle
import re
import struct
import zipfile

import h5py
import numpy as np

from common import cli, rundir
from common.checkpoint import Checkpoint
from common.errors import UserError, describe


# ---- TF1 Saver checkpoints ----

def tf1_checkpoint_prefix(path):
    """The checkpoint prefix of `path`: a prefix (model-100, DCGAN.model-7), one of its files
    (.index, .meta, .data-*), or a folder whose `checkpoint` file names the newest (or that
    file itself)."""
    import tensorflow as tf
    if os.path.basename(path) == "checkpoint" and os.path.isfile(path):
        path = os.path.dirname(path) or "."  # the Saver's state file: its folder's newest
    if os.path.isdir(path):
        prefix = _named_in_folder(path) or tf.train.latest_checkpoint(path)
        if prefix is None:
            raise UserError(f"{path} holds no TF1 checkpoint (no 'checkpoint' file naming one)")
        return prefix
    for suffix in (".index", ".meta"):
        if path.endswith(suffix):
            return path[:-len(suffix)]
    if ".data-" in os.path.basename(path):
        return path[:path.rindex(".data-")]
    return path


def _named_in_folder(folder):
    """The newest checkpoint the `checkpoint` file names, looked up in `folder` itself, as
    carpedm20's load() did: the file may record a path of the machine that wrote it, or the
    path of the folder this one was copied from."""
    import tensorflow as tf
    try:
        state = tf.train.get_checkpoint_state(folder)
    except (tf.errors.OpError, ValueError):
        return None
    if not state or not state.model_checkpoint_path:
        return None
    prefix = os.path.join(folder, os.path.basename(state.model_checkpoint_path))
    return prefix if os.path.exists(prefix + ".index") or os.path.exists(prefix) else None


def tf1_checkpoint(path):
    """{variable name: array} of a TF1 Saver checkpoint (V1 or V2 format)."""
    import tensorflow as tf
    prefix = tf1_checkpoint_prefix(path)
    try:
        reader = tf.train.load_checkpoint(prefix)
        names = reader.get_variable_to_shape_map()
        return {name: reader.get_tensor(name) for name in sorted(names)}
    except (tf.errors.OpError, ValueError) as error:
        raise UserError(f"cannot read the TF1 checkpoint {prefix} "
                        f"({str(error).splitlines()[0]})") from error


# ---- Keras 2 HDF5 ----

def keras2_weights(path):
    """[(layer name, [(weight name, array), ...]), ...] of a Keras 2 HDF5 file in the file's
    layer order: save_weights() files (.h5, .hdf5, O-GAN's .weights) and whole-model save()
    files (their model_weights group). A nested model is one layer whose weights are its
    layers' (trainable first, then non-trainable, as Keras 2 listed them)."""
    try:
        with h5py.File(path, "r") as f:
            group = f["model_weights"] if "model_weights" in f else f
            if "layer_names" not in group.attrs:
                raise UserError(f"{path} is not a Keras 2 weight file (no layer_names)")
            return [(_text(name), [(_text(w), np.asarray(group[_text(name)][_text(w)]))
                                   for w in group[_text(name)].attrs.get("weight_names", [])])
                    for name in group.attrs["layer_names"]]
    except (OSError, KeyError) as error:
        raise UserError(f"cannot read {path} as a Keras 2 HDF5 file ({describe(error)})") \
            from error


def keras2_version(path):
    """The keras_version attribute of a Keras 2 HDF5 file ("" when absent)."""
    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        return _text(group.attrs.get("keras_version", f.attrs.get("keras_version", b"")))


def _text(value):
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def keras2_layer_order(arrays):
    """{kind: [layer name, ...]} of a Keras 2 file's weight names ({name: array}), in the
    order the script created the layers: Keras 2 numbered each kind as it went (dense_1,
    dense_2, ...), whatever order the file lists them in."""
    found = {}
    for name in arrays:
        layer = name.split("/")[0]
        kind, number = re.fullmatch(r"(.*?)(?:_(\d+))?", layer).groups()
        found.setdefault(kind, set()).add((int(number or 0), layer))
    return {kind: [layer for _, layer in sorted(names)] for kind, names in found.items()}


def require_keras2(path, program_file):
    """One UserError when the HDF5 file was written by another Keras than 2.x."""
    version = keras2_version(path)
    if version and not version.startswith("2."):
        raise UserError(f"{path} was written by Keras {version}, not by Keras 2 as "
                        f"{program_file} was")


def flat_keras2_weights(path):
    """[(layer/weight name, array)] of keras2_weights(), in order, layers with no weights
    left out."""
    return [(f"{layer}/{name}", array) for layer, weights in keras2_weights(path)
            for name, array in weights]


# ---- PyTorch pickles ----

# What a pickled PyTorch module may name. Module classes become inert stand-ins holding the
# pickled attributes; nothing named here is imported. Anything else is refused.
TORCH_MODULES = {
    "torch.nn.modules.container": {"Sequential", "ModuleList", "ModuleDict"},
    "torch.nn.modules.conv": {"Conv2d", "ConvTranspose2d"},
    "torch.nn.modules.batchnorm": {"BatchNorm2d", "BatchNorm1d"},
    "torch.nn.modules.activation": {"ReLU", "LeakyReLU", "Tanh", "Sigmoid"},
    "torch.nn.modules.linear": {"Linear"},
    "torch.nn.backends.thnn": {"THNNFunctionBackend"},  # PyTorch 0.4's Module._backend
    "model": {"Generate", "Discriminator"},  # Anime_GAN's DCGAN/model.py
    "__main__": {"Generate", "Discriminator"},
}
STORAGE_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64,
                  "HalfStorage": np.float16, "LongStorage": np.int64, "IntStorage": np.int32,
                  "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
                  "BoolStorage": np.bool_}
LEGACY_MAGIC = 0x1950a86a20f9469cfc6c


class TorchModule:
    """A stand-in for a pickled nn.Module: its attributes (_parameters, _buffers, _modules)
    and the class name the file gave."""

    def __setstate__(self, state):
        self.__dict__.update(state)


class Storage:
    """A storage a tensor views: its dtype and, once read, its elements."""

    def __init__(self, dtype, key, count):
        self.dtype, self.key, self.count = dtype, key, count
        self.data = None


class StorageView:
    """A slice of a storage (PyTorch 0.4 pickled views of a root storage)."""

    def __init__(self, root, offset, count):
        self.root, self.offset, self.count = root, offset, count

    @property
    def data(self):
        return self.root.data[self.offset:self.offset + self.count]


class LazyTensor:
    """A tensor rebuilt from a storage that may not have been read yet."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, offset
        self.size, self.stride = tuple(size), tuple(stride)

    def array(self):
        data = self.storage.data[self.offset:]
        strides = [s * data.itemsize for s in self.stride]
        return np.array(np.lib.stride_tricks.as_strided(data, self.size, strides))


def _rebuild_tensor(storage, offset, size, stride, *rest):
    return LazyTensor(storage, offset, size, stride)


def _rebuild_parameter(data, *rest):
    return data


def _no_backend():
    return None


class RestrictedUnpickler(pickle.Unpickler):
    """Builds only containers, tensors and stand-in modules; names anything else and stops."""

    def __init__(self, file, storages, read_storage=None):
        super().__init__(file, encoding="latin1")
        self.storages, self.read_storage = storages, read_storage

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch._utils" and name in ("_rebuild_parameter",
                                                 "_rebuild_parameter_with_state"):
            return _rebuild_parameter
        if module == "torch" and name in STORAGE_DTYPES:
            return STORAGE_DTYPES[name]
        if module == "torch.nn.parameter" and name == "Parameter":
            return _rebuild_parameter
        if (module, name) == ("torch.nn.backends.thnn", "_get_thnn_function_backend"):
            return _no_backend  # how PyTorch 0.4-1.x pickled Module._backend (its __reduce__)
        if name in TORCH_MODULES.get(module, ()):
            return type(name, (TorchModule,), {"origin": f"{module}.{name}"})
        raise pickle.UnpicklingError(f"it names {module}.{name}, which is not a tensor or an "
                                     "allowed module class; refusing to load it")

    def persistent_load(self, pid):
        if pid[0] == "module":  # the legacy format's ('module', class, source file, source)
            return pid[1]  # the class, already allowed (or refused) by find_class
        kind, dtype, key, _, count = pid[:5]
        if kind != "storage" or not isinstance(dtype, type):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid[:2]!r}")
        if key not in self.storages:
            self.storages[key] = Storage(dtype, key, count)
            if self.read_storage:
                self.storages[key].data = self.read_storage(key, dtype, count)
        view = pid[5] if len(pid) > 5 else None  # PyTorch 0.4: (view key, offset, size)
        if view is not None:
            return StorageView(self.storages[key], view[1], view[2])
        return self.storages[key]


def torch_state_dict(path):
    """{parameter or buffer name: array} of a torch.save() file of a whole module (or of a
    state_dict), in the pre-1.6 format PyTorch 0.4 wrote or the zip format of later versions;
    names as module.state_dict() gives them (conv_bolck1.0.weight, ...)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
        obj = _load_zip(path) if head.startswith(b"PK") else _load_legacy(path)
    except (pickle.UnpicklingError, EOFError, ValueError, struct.error, KeyError,
            zipfile.BadZipFile, OSError) as error:
        raise UserError(f"cannot load {path} as a PyTorch file: {describe(error)}") from error
    return _flatten_module(obj)


def _load_legacy(path):
    storages = {}
    with open(path, "rb") as f:
        magic = RestrictedUnpickler(f, storages).load()
        if magic != LEGACY_MAGIC:
            raise ValueError("not a torch.save() file (no magic number)")
        RestrictedUnpickler(f, storages).load()  # protocol version
        RestrictedUnpickler(f, storages).load()  # sys_info
        obj = RestrictedUnpickler(f, storages).load()
        keys = RestrictedUnpickler(f, storages).load()
        for key in keys:
            storage = storages[key]
            count = struct.unpack("<q", f.read(8))[0]
            itemsize = np.dtype(storage.dtype).itemsize
            storage.data = np.frombuffer(f.read(count * itemsize), storage.dtype, count)
    return obj


def _load_zip(path):
    with zipfile.ZipFile(path) as archive:
        pickle_name = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
        root = pickle_name[:-len("data.pkl")]

        def read_storage(key, dtype, count):
            raw = archive.read(f"{root}data/{key}")
            return np.frombuffer(raw, dtype, len(raw) // np.dtype(dtype).itemsize)

        with archive.open(pickle_name) as f:
            return RestrictedUnpickler(io.BytesIO(f.read()), {}, read_storage).load()


def _flatten_module(obj, prefix=""):
    """state_dict() of a stand-in module tree, or of an (Ordered)dict of tensors."""
    if isinstance(obj, LazyTensor):
        return {prefix.rstrip("."): obj.array()}
    if isinstance(obj, dict):
        out = {}
        for name, value in obj.items():
            out.update(_flatten_module(value, f"{prefix}{name}."))
        return out
    if isinstance(obj, TorchModule):
        out = {}
        for attribute in ("_parameters", "_buffers"):
            for name, value in getattr(obj, attribute, {}).items():
                if value is not None:
                    out[prefix + name] = value.array()
        for name, child in getattr(obj, "_modules", {}).items():
            if child is not None:
                out.update(_flatten_module(child, f"{prefix}{name}."))
        return out
    return {}


# ---- assigning to a port's variables ----

class Importer:
    """Assigns the original's arrays to a port's variables, one named group at a time; the
    first array that does not fit ends the import with one UserError naming it, the shape
    found and the shape wanted. `verbose` prints a line per group."""

    def __init__(self, source, verbose=False):
        self.source, self.verbose = source, verbose
        self.groups = self.tensors = 0

    def assign(self, group, pairs):
        """pairs: [(original name, array, Keras variable)]; `group` names them in messages."""
        for name, array, variable in pairs:
            if tuple(array.shape) != tuple(variable.shape):
                raise UserError(f"{self.source}: {name} has shape {tuple(array.shape)}, the "
                                f"port's {variable.path} wants {tuple(variable.shape)}; is it "
                                "a file of this program at these sizes?")
        for _, array, variable in pairs:
            variable.assign(np.asarray(array, dtype=variable.dtype))
        self.groups += 1
        self.tensors += len(pairs)
        if self.verbose:
            shapes = ", ".join(f"{name.rsplit('/', 1)[-1]} {tuple(a.shape)}"
                               for name, a, _ in pairs)
            print(f"  {group}: {shapes}")

    def summary(self, output_dir):
        return (f"imported {self.tensors} tensors in {self.groups} groups from {self.source} "
                f"into {output_dir}")


def require(arrays, name, source):
    """arrays[name], or one UserError saying the file lacks it."""
    if name not in arrays:
        raise UserError(f"{source} has no {name}; is it a file of this program?")
    return arrays[name]


def refuse_leftovers(arrays, used, source, ignore=()):
    """One UserError naming the first array of the file that nothing imported (a file of
    another revision or program), unless its name contains one of `ignore`."""
    left = [n for n in arrays if n not in used and not any(i in n for i in ignore)]
    if left:
        raise UserError(f"{source} holds {left[0]} (shape {tuple(np.shape(arrays[left[0]]))}), "
                        f"which this program's original does not have ({len(left)} such)")



def import_keras2_layers(importer, network, arrays, port):
    """A Keras 2 file's layers into a port network, `port` its {kind: [layers]} in the order
    the original's script created them: each port layer gets the file's layer of its kind at
    the same place in creation order (keras2_layer_order), each variable the array of its name;
    a file with fewer layers of a kind, or with arrays left over, is one UserError."""
    originals = keras2_layer_order(arrays)
    used = set()
    for kind, port_layers in port.items():
        names = originals.get(kind, [])
        for i, layer in enumerate(port_layers):
            if i >= len(names):
                wanted = layer.weights[0]
                raise UserError(f"{importer.source} has {len(names)} {kind} layers in its "
                                f"{network}, the port {len(port_layers)}: nothing for its "
                                f"{wanted.path} {tuple(wanted.shape)}; is it a file of this "
                                "program at these sizes?")
            pairs = [(f"{names[i]}/{v.name}:0",
                      require(arrays, f"{names[i]}/{v.name}:0", importer.source), v)
                     for v in layer.weights]
            importer.assign(f"{network} {names[i]}", pairs)
            used.update(name for name, _, _ in pairs)
    refuse_leftovers(arrays, used, importer.source)


# ---- the command and the run it writes ----

def import_parser(program, doc):
    """`python -m {program}.import_original PATH [--output-dir DIR] [--verbose]`; each
    program adds the original's size flags."""
    parser = cli.tool_parser(f"python -m {program}.import_original", doc)
    parser.add_argument("path", help="the original's checkpoint file (or folder)")
    parser.add_argument("--output-dir", "--output_dir", default=None,
                        help=f"the run directory to write (default: runs/{program}-imported)")
    parser.add_argument("--verbose", action="store_true", help="one line per imported group")
    return parser


def write_run(output_dir, options, networks, optimizers, step=0, epoch=0, extra=None):
    """The imported networks as a normal run directory: options.json and one checkpoint at
    `step` that `train` resumes and evaluate / generate load. Refuses a directory that
    already holds a checkpoint."""
    rundir.claim_output_dir(output_dir)
    checkpoints = os.path.join(output_dir, getattr(options, "checkpoint_dir", "checkpoints"))
    if rundir.has_checkpoint(checkpoints):
        raise UserError(f"{output_dir} already holds a run; pass another --output-dir")
    options.output_dir = output_dir
    rundir.write_options(output_dir, options)
    checkpoint = Checkpoint(checkpoints, networks, optimizers, extra=extra)
    checkpoint.set_counters(step, epoch)  # an epoch starts at the imported step
    checkpoint.save()
    return checkpoint
