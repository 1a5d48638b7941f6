"""Keras 2 HDF5 weight and model files (mnist_acgan.py, O-GAN, wgan_keras.py), read with h5py:
plain NumPy arrays by the original's layer and weight names; no code from them is run."""
import re

import h5py
import numpy as np

from common.errors import UserError, describe


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
