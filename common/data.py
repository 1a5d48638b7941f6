"""tf.data pipelines: image folders or glob patterns, MNIST (keras.datasets / IDX / .npz).

Replaces the originals' glob + scipy imread loops, DCGAN's load_mnist and the Keras examples'
in-memory arrays. Decoding goes through PIL so every file the tutorials met (grey, RGBA,
palette, CMYK) decodes; a corrupt file is skipped and counted instead of stopping the run.
"""
import glob
import gzip
import os
import sys
import threading

import numpy as np
import tensorflow as tf

from common.color import preprocess_lab, rgb_to_lab
from common.errors import UserError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049
MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def list_images(source, pattern=None):
    """Sorted image paths from a directory (searched recursively, or with `pattern` inside it)
    or from a glob pattern such as 'data/lfw/*/*.jpg'. Raises UserError when nothing matches."""
    if os.path.isdir(source):
        if pattern:
            paths = glob.glob(os.path.join(source, pattern))
        else:
            paths = glob.glob(os.path.join(source, "**", "*"), recursive=True)
    elif glob.has_magic(source):
        paths = glob.glob(source, recursive=True)
    else:
        raise UserError(f"data directory {source} does not exist; pass a folder of images or a "
                        "glob pattern such as 'data/lfw/*/*.jpg'")
    paths = sorted(p for p in paths if p.lower().endswith(IMAGE_EXTENSIONS) and os.path.isfile(p))
    if not paths:
        where = os.path.join(source, pattern) if pattern and os.path.isdir(source) else source
        raise UserError(f"no images (jpg, png, bmp, gif) match {where}; check the path and pattern")
    return paths


def first_readable(paths, load, where):
    """(path, load(path)) for the first path `load` can read, in order. When none can, one
    UserError for the whole folder (naming the first file's problem) instead of a pipeline
    that filters forever: the probe stops at the first good file, so it costs one decode."""
    first_error = None
    for path in paths:
        try:
            return path, load(path)
        except UserError as error:
            first_error = first_error or error
    raise UserError(f"none of the {len(paths)} files in {where} could be used: {first_error}")


class ImageFolder:
    """A shuffled list of image files and the tf.data pipeline that decodes them in parallel.

    `load(path) -> float32 array` is plain Python (PIL): read, crop, resize, scale. Files it
    cannot read are skipped: each is reported once on stderr and counted in `skipped`.
    """

    def __init__(self, paths, load, image_shape, seed=None):
        self.paths = list(paths)
        np.random.default_rng(seed).shuffle(self.paths)
        self.load = load
        self.image_shape = tuple(image_shape)
        self.seed = seed
        self.skipped = set()
        self._lock = threading.Lock()

    def __len__(self):
        return len(self.paths)

    def _load_or_skip(self, path):
        path = path.decode()
        try:
            return self.load(path).astype(np.float32), True
        except UserError as error:
            with self._lock:
                if path not in self.skipped:
                    self.skipped.add(path)
                    print(f"warning: skipped unreadable image ({len(self.skipped)} so far): "
                          f"{error}", file=sys.stderr)
            return np.zeros([d or 1 for d in self.image_shape], np.float32), False

    def _decode(self, path):
        image, ok = tf.numpy_function(self._load_or_skip, [path], [tf.float32, tf.bool])
        return tf.ensure_shape(image, self.image_shape), ok

    def check_readable(self, where):
        """UserError unless at least one file loads, so that the repeating pipeline (which
        skips unreadable files) always finds images."""
        first_readable(self.paths, self.load, where)

    def dataset(self, batch_size, shuffle=True, repeat=True, transform=None, per_pass=None):
        """Batches of decoded images with static shape, prefetched. `transform` (tf ops on one
        image) runs after decoding, e.g. pix2pix's paired crop; it may return a tuple.
        `per_pass`: use only the first that many files of each reshuffled pass (carpedm20's
        epochs of batch_idxs * batch_size files)."""
        data = tf.data.Dataset.from_tensor_slices(self.paths)
        if shuffle:
            data = data.shuffle(len(self.paths), seed=self.seed, reshuffle_each_iteration=True)
        if per_pass is not None:
            data = data.take(per_pass)
        if repeat:
            data = data.repeat()
        data = data.map(self._decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
        data = data.filter(_is_ok).map(_drop_flag)
        if transform is not None:
            data = data.map(transform, num_parallel_calls=tf.data.AUTOTUNE)
        return data.batch(batch_size, drop_remainder=repeat).prefetch(tf.data.AUTOTUNE)

    def first(self, count):
        """The first `count` readable images (in shuffled-list order) as one array."""
        images = []
        for path in self.paths:
            image, ok = self._load_or_skip(path.encode())
            if ok:
                images.append(image)
            if len(images) == count:
                break
        return np.stack(images)


def _is_ok(image, ok):
    return ok


def _drop_flag(image, ok):
    return image


def image_folder_dataset(source, load, image_shape, batch_size, pattern=None, seed=None):
    """The common case in one call: list, check there is at least one batch, build the pipeline.

    Returns (ImageFolder, dataset); the dataset repeats, so pass steps_per_epoch to fit()."""
    folder = ImageFolder(list_images(source, pattern), load, image_shape, seed=seed)
    folder.check_readable(source)
    if len(folder) < batch_size:
        raise UserError(f"[!] Entire dataset size ({len(folder)}) is less than the configured "
                        f"batch_size ({batch_size}) in {source}")
    return folder, folder.dataset(batch_size)


def with_random(dataset, draw, seed):
    """Each element of `dataset` extended by draw(element, seed_pair): a train step's random
    inputs (latents, sampled labels) drawn in the input pipeline with stateless ops from a
    seeded stream, so a distributed run splits them with the global batch (one device or
    several draw the same values) and a run is reproducible from --seed."""
    seeds = tf.data.Dataset.random(seed=seed).batch(2)
    return tf.data.Dataset.zip((dataset, seeds)).map(draw, num_parallel_calls=tf.data.AUTOTUNE)


def list_paired_images(input_dir, split=True):
    """pix2pix's input list: input_dir/*.jpg, or *.png when there are no JPEGs; sorted, by
    number when every stem is digits. With `split`, every image must be cut into equal A|B
    halves, checked from the headers up front so a bad file stops the run before training."""
    if not os.path.isdir(input_dir):
        raise UserError(f"--input_dir {input_dir} does not exist")
    paths = glob.glob(os.path.join(input_dir, "*.jpg")) or \
        glob.glob(os.path.join(input_dir, "*.png"))
    if not paths:
        raise UserError(f"--input_dir {input_dir} contains no image files (*.jpg or *.png)")
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    if all(stem.isdigit() for stem in stems):
        paths = [p for _, p in sorted(zip((int(s) for s in stems), paths))]
    else:
        paths = sorted(paths)
    if split:
        for path in paths:
            width = _image_width(path)
            if width is not None and (width < 2 or width % 2):
                raise UserError(f"{path} is {width} pixels wide and cannot be split into equal "
                                "A|B halves; combine pairs with pix2pix_tf.process --operation "
                                "combine, or use --lab_colorization for single photos")
    return paths


def _image_width(path):
    from PIL import Image
    try:
        with Image.open(path) as image:
            return image.size[0]
    except (OSError, ValueError, SyntaxError):
        return None  # unreadable: skipped and counted when decoded


def paired_transform(which_direction="AtoB", lab_colorization=False, scale_size=286,
                     crop_size=256, flip=True, seed=None):
    """One decoded sRGB image in [0, 1] -> (inputs, targets) in [-1, 1], as pix2pix's
    load_examples: A|B halves (or Lab L | ab), direction, then a random flip, an AREA
    resize to scale_size and one random crop_size crop, all applied to inputs and targets
    together (they are stacked on the channel axis), so the pair stays aligned."""
    def transform(image):
        if lab_colorization:
            a_images, b_images = preprocess_lab(rgb_to_lab(image))
        else:
            half = tf.shape(image)[1] // 2
            a_images, b_images = image[:, :half] * 2 - 1, image[:, half:2 * half] * 2 - 1
        inputs, targets = (a_images, b_images) if which_direction == "AtoB" else \
            (b_images, a_images)
        input_channels = inputs.shape[-1]
        both = tf.concat([inputs, targets], axis=-1)
        if flip:
            both = tf.image.random_flip_left_right(both, seed=seed)
        both = tf.image.resize(both, [scale_size, scale_size], method="area")
        if scale_size > crop_size:
            offset = tf.cast(tf.floor(tf.random.uniform([2], 0, scale_size - crop_size + 1,
                                                        seed=seed)), tf.int32)
            both = both[offset[0]:offset[0] + crop_size, offset[1]:offset[1] + crop_size]
        both = tf.ensure_shape(both, (crop_size, crop_size, None))
        return both[..., :input_channels], both[..., input_channels:]
    return transform


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
    with _open_maybe_gz(path) as f:
        data = f.read()
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
    labels = read_idx(_find_idx(directory, labels_stem), IDX_LABELS_MAGIC)
    if len(images) != len(labels):
        raise UserError(f"{directory}: {split} has {len(images)} images but {len(labels)} labels")
    return images, labels


def _read_npz(path):
    try:
        with np.load(path) as npz:
            arrays = dict(npz)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot read {path} as .npz: {error}") from error
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
    return (x_train, y_train), (x_test, y_test)
