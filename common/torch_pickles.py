"""PyTorch pickles of whole modules (Anime_GAN's .t7), read without PyTorch and without running
any code they name: a restricted unpickler builds containers, tensors and inert stand-ins of the
module classes allowed, and refuses anything else."""
import collections
import io
import pickle
import struct
import zipfile

import numpy as np

from common.errors import UserError, describe


# The torch.nn classes a pickled module may name; the importer adds its original's own module
# classes (torch_state_dict's `module_classes`). Module classes become inert stand-ins holding
# the pickled attributes; nothing named here is imported. Anything else is refused.
TORCH_MODULES = {
    "torch.nn.modules.container": {"Sequential", "ModuleList", "ModuleDict"},
    "torch.nn.modules.conv": {"Conv2d", "ConvTranspose2d"},
    "torch.nn.modules.batchnorm": {"BatchNorm2d", "BatchNorm1d"},
    "torch.nn.modules.activation": {"ReLU", "LeakyReLU", "Tanh", "Sigmoid"},
    "torch.nn.modules.linear": {"Linear"},
    "torch.nn.backends.thnn": {"THNNFunctionBackend"},  # PyTorch 0.4's Module._backend
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

    def __init__(self, file, storages, read_storage=None, module_classes=None):
        super().__init__(file, encoding="latin1")
        self.storages, self.read_storage = storages, read_storage
        self.module_classes = module_classes or TORCH_MODULES

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
        if name in self.module_classes.get(module, ()):
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


def torch_state_dict(path, module_classes=None):
    """{parameter or buffer name: array} of a torch.save() file of a whole module (or of a
    state_dict), in the pre-1.6 format PyTorch 0.4 wrote or the zip format of later versions;
    names as module.state_dict() gives them (conv_bolck1.0.weight, ...). `module_classes`
    ({module: {class name}}): the original's own nn.Module classes the file may name, besides
    torch.nn's."""
    classes = {**TORCH_MODULES, **(module_classes or {})}
    try:
        with open(path, "rb") as f:
            head = f.read(4)
        obj = _load_zip(path, classes) if head.startswith(b"PK") else \
            _load_legacy(path, classes)
    except (pickle.UnpicklingError, EOFError, ValueError, struct.error, KeyError,
            zipfile.BadZipFile, OSError) as error:
        raise UserError(f"cannot load {path} as a PyTorch file: {describe(error)}") from error
    return _flatten_module(obj)


def _load_legacy(path, classes):
    storages = {}
    with open(path, "rb") as f:
        def load():
            return RestrictedUnpickler(f, storages, module_classes=classes).load()
        magic = load()
        if magic != LEGACY_MAGIC:
            raise ValueError("not a torch.save() file (no magic number)")
        load()  # protocol version
        load()  # sys_info
        obj = load()
        keys = load()
        for key in keys:
            storage = storages[key]
            count = struct.unpack("<q", f.read(8))[0]
            itemsize = np.dtype(storage.dtype).itemsize
            storage.data = np.frombuffer(f.read(count * itemsize), storage.dtype, count)
    return obj


def _load_zip(path, classes):
    with zipfile.ZipFile(path) as archive:
        pickle_name = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
        root = pickle_name[:-len("data.pkl")]

        def read_storage(key, dtype, count):
            raw = archive.read(f"{root}data/{key}")
            return np.frombuffer(raw, dtype, len(raw) // np.dtype(dtype).itemsize)

        with archive.open(pickle_name) as f:
            return RestrictedUnpickler(io.BytesIO(f.read()), {}, read_storage,
                                       module_classes=classes).load()


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
