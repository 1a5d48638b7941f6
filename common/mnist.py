"""MNIST-format data: keras.datasets.mnist (downloaded once, as the tutorials), IDX files (raw or
.gz: Fashion-MNIST's work too) or an .npz; checked labels and pixels. Replaces DCGAN's
load_mnist and the Keras examples' in-memory arrays."""
import gzip
import os
import zipfile
import zlib

import numpy as np

from common.errors import UserError, describe

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049
MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def _open_maybe_gz(path):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def _find_idx(directory, stem):
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"),
                 stem.replace("-idx", ".idx") + ".gz"):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    raise UserError(f"{directory} has no {stem}[.gz]; an MNIST-format directory needs "
                    "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte "
                    "and t10k-labels-idx1-ubyte (raw or .gz)")


def read_idx(path, magic):
    """Read one IDX file, checking its magic number and that the data length matches the header."""
    try:
        with _open_maybe_gz(path) as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise UserError(f"cannot read {path}: {describe(error)} (a damaged download? fetch "
                        "it again)") from error
    found = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
    if found != magic:
        raise UserError(f"{path} is not an IDX {'image' if magic == IDX_IMAGES_MAGIC else 'label'} "
                        f"file (magic number {found}, expected {magic})")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise UserError(f"{path} is truncated or padded: header says {dims}, "
                        f"found {body.size} bytes of data")
    return body.reshape(dims)


def _read_idx_split(directory, split):
    images_stem, labels_stem = MNIST_FILES[split]
    images = read_idx(_find_idx(directory, images_stem), IDX_IMAGES_MAGIC)
    labels_path = _find_idx(directory, labels_stem)
    labels = check_labels(read_idx(labels_path, IDX_LABELS_MAGIC), labels_path)
    if len(images) != len(labels):
        raise UserError(f"{directory}: {split} has {len(images)} images but {len(labels)} labels")
    return images, labels


def check_labels(labels, where, classes=10):
    """MNIST-format labels must be the integers 0..classes-1 (AC-GAN and the conditional
    DCGAN embed or one-hot them): the first other value is one UserError naming the file."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise UserError(f"{where}: labels must be one number per image, got shape "
                        f"{labels.shape}")
    valid = np.isfinite(labels) & (labels == np.round(labels)) & (labels >= 0) & \
        (labels < classes) if labels.dtype.kind == "f" else (labels >= 0) & (labels < classes)
    if labels.dtype.kind not in "uif" or not np.all(valid):
        index = int(np.argmin(valid)) if labels.dtype.kind in "uif" else 0
        value = labels[index].item()
        raise UserError(f"{where}: label {value!r} of image {index} is not a class "
                        f"0..{classes - 1}")
    return labels.astype(np.int64)


def _read_npz(path):
    try:
        with np.load(path) as npz:
            arrays = dict(npz)
    except (OSError, ValueError, EOFError, KeyError, zlib.error, zipfile.BadZipFile) as error:
        raise UserError(f"cannot read {path} as .npz: {describe(error)}") from error
    if "x_train" in arrays:
        keys = ("x_train", "y_train", "x_test", "y_test")
        missing = [k for k in keys if k not in arrays]
        if missing:
            raise UserError(f"{path} lacks {', '.join(missing)}")
        return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
    if "x" not in arrays or "y" not in arrays:
        raise UserError(f"{path} needs arrays x and y (or x_train, y_train, x_test, y_test)")
    x, y = arrays["x"], arrays["y"]
    if len(x) != len(y):
        raise UserError(f"{path}: x has {len(x)} images but y has {len(y)} labels")
    # An x/y file has no test split: the last seventh is held out, as MNIST's 60k/10k.
    cut = len(x) - max(1, len(x) // 7)
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def load_mnist(data_dir=None):
    """((x_train, y_train), (x_test, y_test)) as uint8 N x 28 x 28 and integer labels.

    No data_dir: keras.datasets.mnist (downloads once to ~/.keras/datasets, as the tutorial).
    A directory: IDX files, raw or .gz (Fashion-MNIST's work too). A file: .npz."""
    if data_dir is None:
        import keras
        try:
            return keras.datasets.mnist.load_data()
        except Exception as error:  # keras raises a bare Exception for a failed download
            raise UserError(f"cannot download MNIST through keras.datasets ({error}); pass "
                            "--data-dir with MNIST-format IDX files (e.g. "
                            "/usr/share/datasets/fashion-mnist) or an .npz") from error
    if os.path.isdir(data_dir):
        return _read_idx_split(data_dir, "train"), _read_idx_split(data_dir, "test")
    if os.path.isfile(data_dir) and data_dir.endswith(".npz"):
        (x_train, y_train), (x_test, y_test) = _read_npz(data_dir)
    elif os.path.isfile(data_dir):
        raise UserError(f"{data_dir} is neither a directory of IDX files nor an .npz file")
    else:
        raise UserError(f"MNIST data directory {data_dir} does not exist")
    if x_train.ndim != 3 or x_train.shape[1:] != x_test.shape[1:]:
        raise UserError(f"{data_dir}: expected N x H x W images, got {x_train.shape}")
    for name, labels, images in (("y_train", y_train, x_train), ("y_test", y_test, x_test)):
        if len(labels) != len(images):
            raise UserError(f"{data_dir}: {name} has {len(labels)} labels for {len(images)} "
                            "images")
    return ((check_pixels(x_train, f"{data_dir} (x_train)"),
             check_labels(y_train, f"{data_dir} (y_train)")),
            (check_pixels(x_test, f"{data_dir} (x_test)"),
             check_labels(y_test, f"{data_dir} (y_test)")))


def check_pixels(images, where):
    """MNIST-format images are grey levels 0..255, as the IDX files hold them (the ports scale
    them as the originals did); an .npz of other numbers, e.g. floats already in [0, 1] or
    [-1, 1], is one UserError naming the first value out of place, never silently rescaled."""
    images = np.asarray(images)
    if images.dtype.kind not in "uif":
        raise UserError(f"{where}: images must be numbers (grey levels 0..255), got "
                        f"{images.dtype}")
    whole = (images >= 0) & (images <= 255) & (images == np.round(images))
    if not np.all(whole):
        index = np.unravel_index(int(np.argmin(whole)), images.shape)
        raise UserError(f"{where}: pixel {images[index].item()!r} of image {index[0]} is not a "
                        "grey level 0..255 (MNIST-format data holds whole numbers 0..255)")
    if images.dtype.kind == "f" and images.size and images.max() <= 1:
        raise UserError(f"{where}: every pixel is 0 or 1; MNIST-format images are grey levels "
                        "0..255 (multiply [0, 1] images by 255)")
    return images.astype(np.uint8)
