"""tf.data pipelines: image folders or glob patterns, MNIST (keras.datasets / IDX / .npz).

Replaces the originals' glob + scipy imread loops, DCGAN's load_mnist and the Keras examples'
in-memory arrays. Images are decoded once, in TensorFlow ops (PIL for what TensorFlow cannot
read), into a cache at the training size; a corrupt file is skipped and counted instead of
stopping the run.
"""
import dataclasses
import glob
import gzip
import hashlib
import math
import os
import sys
import time
import zipfile
import zlib

import numpy as np
import tensorflow as tf
from PIL import Image

from common.color import preprocess_lab, rgb_to_lab
from common.errors import UserError, describe
from common.images import center_crop, read_image, resize

# Every file Pillow opens by its extension (JPEG, PNG, BMP, GIF, WebP, TIFF, PPM...), less the
# formats Pillow only names (stubs needing other libraries: HDF5, FITS...) or that are not
# raster images (EPS needs Ghostscript, MPEG is video). TensorFlow decodes JPEG, PNG, BMP and
# GIF; the rest goes through PIL.
NOT_IMAGES = {"BUFR", "GRIB", "HDF5", "FITS", "WMF", "EPS", "MPEG"}
Image.init()
IMAGE_EXTENSIONS = tuple(sorted(ext for ext, fmt in Image.registered_extensions().items()
                                if fmt in Image.OPEN and fmt not in NOT_IMAGES))
IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049
MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def list_images(source, pattern=None):
    """Sorted image paths from a directory (searched recursively, or with `pattern` inside it)
    or from a glob pattern such as 'data/lfw/*/*.jpg'. Files left out (not images by their
    extension, or not matched by `pattern`) are counted in one line; UserError when no image
    is left."""
    if os.path.isdir(source):
        everything = glob.glob(os.path.join(source, "**", "*"), recursive=True)
        paths = glob.glob(os.path.join(source, pattern)) if pattern else everything
    elif glob.has_magic(source):
        everything = paths = glob.glob(source, recursive=True)
    else:
        raise UserError(f"data directory {source} does not exist; pass a folder of images or a "
                        "glob pattern such as 'data/lfw/*/*.jpg'")
    images = sorted(p for p in paths if p.lower().endswith(IMAGE_EXTENSIONS) and os.path.isfile(p))
    report_ignored(source, pattern, sorted(set(p for p in everything if os.path.isfile(p))
                                           - set(images)))
    if not images:
        where = os.path.join(source, pattern) if pattern and os.path.isdir(source) else source
        raise UserError(f"no images match {where}; check the path and pattern (image files: "
                        f"{', '.join(e[1:] for e in ('.jpg', '.png', '.bmp', '.gif', '.webp'))}, "
                        "tiff and the rest Pillow reads)")
    return images


_REPORTED = set()


def report_ignored(source, pattern, ignored):
    """One line (once per process): how many files of `source` are left out, by extension."""
    if not ignored or (source, pattern) in _REPORTED:
        return
    _REPORTED.add((source, pattern))
    counts = {}
    for path in ignored:
        ext = os.path.splitext(path)[1].lower() or "(no extension)"
        counts[ext] = counts.get(ext, 0) + 1
    kinds = ", ".join(f"{ext} x{n}" for ext, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    why = f"not images, or not matching {pattern}" if pattern else "not images"
    print(f"note: ignored {len(ignored)} files in {source} ({why}): {kinds}", file=sys.stderr)


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


@dataclasses.dataclass(frozen=True)
class ImageSpec:
    """How a program reads one image file into its training size: `channels` (1 or 3),
    carpedm20's center `crop` (h, w), a resize to `size` (h, w) with PIL's `method`
    (bilinear, area, nearest, bicubic), then `scale` "signed" [-1, 1] or "unit" [0, 1].

    Two implementations that agree: `decode` in TensorFlow ops (GIL-free, parallel) and
    `read` with PIL, the fallback for files TensorFlow cannot decode (CMYK JPEGs...). JPEGs
    are decoded with the accurate IDCT and greyscale with PIL's integer luma, so both give the
    same pixels; the bilinear resize is antialiased as PIL's (within 1 level of 255), and
    nearest picks PIL's own pixels."""
    channels: int = 3
    crop: tuple = None
    size: tuple = None
    method: str = "bilinear"
    scale: str = "signed"

    def decode(self, path, jpeg=False):
        """uint8 H x W x channels at the training size, in TensorFlow ops. A file whose header
        announces more pixels than Pillow's limit fails before it is decoded (PIL then
        refuses it too, and the file is skipped as unreadable). `jpeg`: the file is taken for
        a JPEG without looking (no branch on its format: 1.3-1.6x the files/s; one that is not
        fails, and the cache's PIL retry reads it)."""
        raw = tf.io.read_file(path)
        if jpeg:
            shape = tf.cast(tf.io.extract_jpeg_shape(raw), tf.int64)
            pixels = shape[0] * shape[1]
        else:
            pixels = header_pixels(raw)
        tf.debugging.assert_less_equal(pixels, tf.constant(Image.MAX_IMAGE_PIXELS, tf.int64),
                                       message="more pixels than Pillow's limit")
        if jpeg:
            image = tf.io.decode_jpeg(raw, channels=3, dct_method="INTEGER_ACCURATE")
        else:
            image = tf.cond(tf.equal(tf.strings.substr(raw, 0, 2), b"\xff\xd8"),
                            lambda: tf.io.decode_jpeg(raw, channels=3,
                                                      dct_method="INTEGER_ACCURATE"),
                            lambda: tf.io.decode_image(raw, channels=3,
                                                       expand_animations=False))
        if self.channels == 1:  # PIL's convert("L"): (19595 R + 38470 G + 7471 B + 2^15) >> 16
            weights = tf.constant([19595, 38470, 7471], tf.int32)
            luma = tf.reduce_sum(tf.cast(image, tf.int32) * weights, axis=-1, keepdims=True)
            image = tf.cast(tf.bitwise.right_shift(luma + 32768, 16), tf.uint8)
        if self.crop:
            image = _center_crop(image, *self.crop)
        if self.size:
            image = self._resize(image)
        return image

    def _resize(self, image):
        height, width = self.size
        shape = tf.shape(image)
        if self.method == "nearest":
            rows = tf.numpy_function(pil_nearest, [shape[0], height], tf.int64, stateful=False)
            cols = tf.numpy_function(pil_nearest, [shape[1], width], tf.int64, stateful=False)
            return tf.gather(tf.gather(image, rows), cols, axis=1)
        method = {"bilinear": "bilinear", "bicubic": "bicubic", "area": "area"}[self.method]
        resized = tf.cast(tf.clip_by_value(tf.round(tf.image.resize(
            image, (height, width), method=method, antialias=method != "area")), 0, 255),
            tf.uint8)
        if self.crop:  # the size is known: the crop's
            return image if tuple(self.crop) == tuple(self.size) else resized
        same = tf.logical_and(tf.equal(shape[0], height), tf.equal(shape[1], width))
        return tf.cond(same, lambda: image, lambda: resized)

    def read(self, path):
        """The same with PIL (raises UserError for a file PIL cannot read either)."""
        image = read_image(path, grayscale=self.channels == 1)
        if self.crop:
            image = center_crop(image, *self.crop)
        if self.size and image.shape[:2] != tuple(self.size):
            image = resize(image, *self.size, self.method)
        return image

    def to_float(self, image):
        image = tf.cast(image, tf.float32)
        return image / 127.5 - 1.0 if self.scale == "signed" else image / 255.0

    def shape(self):
        return (*(self.size or (None, None)), self.channels)


def header_pixels(raw):
    """Width x height from a JPEG, PNG, GIF or BMP header, without decoding (0 for other
    formats, which PIL reads and checks itself)."""
    def big_endian(offset):
        b = tf.cast(tf.io.decode_raw(tf.strings.substr(raw, offset, 4), tf.uint8), tf.int64)
        return ((b[0] * 256 + b[1]) * 256 + b[2]) * 256 + b[3]

    def little_endian(offset, size):
        b = tf.cast(tf.io.decode_raw(tf.strings.substr(raw, offset, size), tf.uint8), tf.int64)
        return tf.reduce_sum(b * tf.constant([1, 256, 65536, 16777216][:size], tf.int64))

    def jpeg():
        shape = tf.cast(tf.io.extract_jpeg_shape(raw), tf.int64)
        return shape[0] * shape[1]

    head = tf.strings.substr(raw, 0, 4)
    size = tf.strings.length(raw)
    return tf.case([
        (tf.equal(tf.strings.substr(raw, 0, 2), b"\xff\xd8"), jpeg),
        (tf.logical_and(tf.equal(head, b"\x89PNG"), size >= 24),
         lambda: big_endian(16) * big_endian(20)),
        (tf.logical_and(tf.equal(tf.strings.substr(raw, 0, 3), b"GIF"), size >= 10),
         lambda: little_endian(6, 2) * little_endian(8, 2)),
        (tf.logical_and(tf.equal(tf.strings.substr(raw, 0, 2), b"BM"), size >= 26),
         lambda: little_endian(18, 4) * tf.abs(little_endian(22, 4)))],
        default=lambda: tf.constant(0, tf.int64))


def _center_crop(image, crop_h, crop_w):
    """carpedm20's offsets round((h - crop_h) / 2), as common.images.center_crop: for a
    whole d = h - crop_h >= 0, floor(d / 2 + 0.5) = (d + 1) // 2. tf.slice fails on an image
    smaller than the crop (a negative offset, or a size past the edge)."""
    shape = tf.shape(image)
    top, left = (shape[0] - crop_h + 1) // 2, (shape[1] - crop_w + 1) // 2
    return tf.slice(image, [top, left, 0], [crop_h, crop_w, -1])


def pil_nearest(size_in, size_out):
    """The source rows (or columns) PIL's NEAREST resize samples: its ImagingScaleAffine starts
    at scale / 2 and adds scale per pixel in double precision, truncating each."""
    size_in, size_out = int(size_in), int(size_out)
    scale, position, rows = size_in / size_out, size_in / size_out * 0.5, []
    for _ in range(size_out):
        rows.append(min(int(position), size_in - 1))
        position += scale
    return np.array(rows, np.int64)


class ImageFolder:
    """A list of image files (shuffled once with `seed`) decoded once into a cache of uint8
    images at the training size, and tf.data pipelines over that cache.

    The first use runs one parallel TensorFlow pass over every file. Files TensorFlow cannot
    decode are retried with PIL; files neither can read are reported once each on stderr and
    counted in `skipped`; if none is readable the run stops with one error. The cache is in
    memory when it fits under `cache_mb`, else one raw file per image under
    `cache_dir/<fingerprint>/`, which a later run over the same files reuses. Every epoch then
    reshuffles the whole list and reads the cache: no decoding, no Python, so the pipeline
    runs as fast as the device can consume it."""

    def __init__(self, paths, spec, seed=None, cache_dir=None, cache_mb=1024, limit=None):
        self.paths = list(paths)
        np.random.default_rng(seed).shuffle(self.paths)
        self.paths = self.paths[:limit]  # a random subset (evaluation needs no more)
        self.spec, self.seed = spec, seed
        self.cache_dir, self.cache_mb = cache_dir, cache_mb
        self.skipped = set()
        self._cache, self._first_error = None, None

    def __len__(self):
        return len(self.paths)

    def check_readable(self, where):
        """Decode the folder into the cache (if not done yet); UserError if nothing is readable,
        naming the first file's problem."""
        if self.prepare().count == 0:
            raise UserError(f"none of the {len(self.paths)} files in {where} could be used: "
                            f"{self._first_error}")

    def prepare(self):
        if self._cache is None:
            self._cache = _build_cache(self)
        return self._cache

    def report_skip(self, path, error):
        if path not in self.skipped:
            self.skipped.add(path)
            if len(self.skipped) == 1:
                self._first_error = error
            print(f"warning: skipped unreadable image ({len(self.skipped)} so far): {error}",
                  file=sys.stderr)

    def dataset(self, batch_size, shuffle=True, repeat=True, transform=None, per_pass=None,
                pass_batches=False, start=0):
        """Batches of float32 images (spec.scale) from the cache, prefetched. Each pass
        reshuffles every readable image; `per_pass` uses only the first that many of each
        pass (carpedm20's epochs of batch_idxs * batch_size files). `transform(image, seed)`
        (tf ops on one image, e.g. pix2pix's paired crop; `seed` a stateless seed pair of the
        image's place in the stream) runs after; it may return a tuple.

        A repeated stream runs its batches across passes (all of the same size), except
        with `pass_batches`: each pass is batched on its own and ends with a short batch of
        the count mod batch_size images left (O-GAN's img_generator), so ceil(count /
        batch_size) batches are exactly one pass.

        The stream is a function of its position: pass p's order is a stateless permutation
        of (seed, p), each image's transform seed is (seed, its position), so the stream
        from batch `start` on (a resumed run's) is the tail of the stream from batch 0,
        found without reading what came before."""
        cache = self.prepare()
        length = cache.count if per_pass is None else min(per_pass, cache.count)
        if pass_batches:
            first_pass, skip = divmod(start, math.ceil(length / batch_size))
            skip *= batch_size
        else:
            first_pass, skip = divmod(start * batch_size, length)
        passes = tf.data.Dataset.range(first_pass, tf.int64.max if repeat else first_pass + 1)
        one_pass = self._pass_order(cache.count, length, shuffle, first_pass, skip)
        spec, seed = self.spec, self.seed or 0

        def load(index, position):
            image = spec.to_float(tf.ensure_shape(cache.image(index), spec.shape()))
            if transform is None:
                return image
            return transform(image, tf.stack([tf.constant(seed, tf.int64), position]))

        def decoded(pairs):
            return pairs.map(load, num_parallel_calls=tf.data.AUTOTUNE)
        if pass_batches:
            data = passes.flat_map(lambda number: decoded(one_pass(number)).batch(batch_size))
            return data.prefetch(tf.data.AUTOTUNE)
        data = decoded(passes.flat_map(one_pass))
        return data.batch(batch_size, drop_remainder=repeat).prefetch(tf.data.AUTOTUNE)

    def _pass_order(self, count, length, shuffle, first_pass, skip):
        """one_pass(number): the (cache index, place in the stream) pairs of pass `number`,
        the first `length` images of a permutation drawn from (seed, number), pass
        `first_pass` less its first `skip` images."""
        seed = tf.constant(self.seed or 0, tf.int64)

        def one_pass(number):
            indices = tf.range(length, dtype=tf.int64)
            if shuffle:  # one op for the whole pass
                indices = tf.random.experimental.index_shuffle(
                    indices, tf.stack([seed, number]), count - 1)
            places = number * length + tf.range(length, dtype=tf.int64)
            pairs = tf.data.Dataset.from_tensor_slices((indices, places))
            return pairs.skip(tf.where(number == first_pass, tf.constant(skip, tf.int64), 0))
        return one_pass

    def first(self, count):
        """The first `count` readable images (in shuffled-list order) as one float32 array."""
        batch = next(iter(self.dataset(count, shuffle=False, repeat=False)))
        return np.asarray(batch)


def _fingerprint(folder):
    return files_key(folder.paths, repr(folder.spec))[:16]


def files_key(paths, *extra):
    """A hash of the files' paths, sizes and modification times (and `extra` strings): what
    identifies a dataset for the decode cache and the real-image statistics."""
    digest = hashlib.sha1("|".join(extra).encode())
    for path in paths:
        info = os.stat(path)
        digest.update(f"{path}|{info.st_size}|{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


FILL_BATCH = 64
JPEG_EXTENSIONS = (".jpg", ".jpeg", ".jpe")


def _build_cache(folder):
    """Decode every file once (TensorFlow in parallel, PIL for what it rejects) into a
    MemoryCache, or, when the images would not fit under cache_mb, a FileCache written as the
    images arrive."""
    paths, spec = folder.paths, folder.spec
    directory = os.path.join(folder.cache_dir, _fingerprint(folder)) if folder.cache_dir else None
    if directory and os.path.exists(os.path.join(directory, "index.npz")):
        cache = FileCache.load(directory)
        for path, error in cache.skipped:
            folder.report_skip(path, error)
        return cache
    start = time.time()
    store = FileCache(directory) if directory and \
        _estimated_bytes(folder) > folder.cache_mb * 2 ** 20 else MemoryCache()
    decoded = None
    for jpeg in (True, False):  # JPEGs by name need no branch on the format (see decode)
        chosen = [i for i, path in enumerate(paths)
                  if path.lower().endswith(JPEG_EXTENSIONS) == jpeg]
        if chosen:
            part = tf.data.Dataset.from_tensor_slices((np.array(chosen, np.int64),
                                                       [paths[i] for i in chosen]))
            part = part.map(lambda i, path, jpeg=jpeg: (i, spec.decode(path, jpeg)),
                            num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
            decoded = part if decoded is None else decoded.concatenate(part)
    if decoded is None:  # no files: nothing for TensorFlow
        decoded = tf.data.Dataset.from_tensor_slices((tf.zeros([0], tf.int64),
                                                      tf.zeros([0, 1, 1, spec.channels], tf.uint8)))
    decoded = decoded.ignore_errors()
    if spec.size:  # every image at the training size: they cross into Python a batch at a time
        decoded = decoded.batch(FILL_BATCH).prefetch(2)  # (2.5x the files/s of one at a time)
        for indices, images in decoded.as_numpy_iterator():
            for index, image in zip(indices, images):
                store.add(int(index), image)
    else:
        for index, image in decoded.as_numpy_iterator():
            store.add(int(index), image)
    for index in sorted(set(range(len(paths))) - store.indices()):  # TensorFlow could not
        try:
            store.add(index, spec.read(paths[index]))
        except UserError as error:
            folder.report_skip(paths[index], error)
            store.skipped.append((paths[index], str(error)))
    store.finish()
    print(f"decoded {store.count} images in {time.time() - start:.1f} s "
          f"({store.nbytes / 2 ** 20:.0f} MB at the training size, {store.where}); later "
          "epochs read this cache", flush=True)
    return store


def _estimated_bytes(folder):
    """The cache's size: exact when the spec fixes the size, else from the first image."""
    if folder.spec.size:
        return len(folder.paths) * int(np.prod(folder.spec.shape()))
    try:
        _, image = first_readable(folder.paths, folder.spec.read, "the folder")
    except UserError:
        return 0  # nothing readable: the pass reports it
    return len(folder.paths) * image.nbytes


class MemoryCache:
    """Every image's bytes in one flat uint8 tensor, sliced by (offset, shape) per position
    (images in the folder's shuffled-list order)."""

    where = "in memory"

    def __init__(self):
        self.images, self.skipped = {}, []

    def add(self, index, image):
        self.images[index] = image

    def indices(self):
        return set(self.images)

    def finish(self):
        images = [self.images.pop(i) for i in sorted(self.images)]
        self.count = len(images)
        self.nbytes = sum(image.nbytes for image in images)
        sizes = [image.size for image in images]
        self.offsets = tf.constant(np.cumsum([0] + sizes[:-1]), tf.int64)
        self.shapes = tf.constant(np.array([image.shape for image in images], np.int64)
                                  .reshape(-1, 3))
        self.flat = tf.constant(np.concatenate([image.ravel() for image in images])
                                if images else np.zeros(0, np.uint8))

    def image(self, position):
        shape = self.shapes[position]
        return tf.reshape(tf.slice(self.flat, [self.offsets[position]],
                                   [tf.reduce_prod(shape)]), shape)


class FileCache:
    """One raw uint8 file per image (DIR/{index}.u8, index in the shuffled list) and
    DIR/index.npz with the readable indices, their shapes and the skipped files; index.npz
    is written last, so a cache on disk is complete or ignored."""

    def __init__(self, directory):
        self.directory, self.skipped, self.where = directory, [], f"in {directory}"
        self.shape_of, self.nbytes = {}, 0
        os.makedirs(directory, exist_ok=True)

    def add(self, index, image):
        with open(os.path.join(self.directory, f"{index}.u8"), "wb") as f:
            f.write(np.ascontiguousarray(image).tobytes())
        self.shape_of[index] = image.shape
        self.nbytes += image.nbytes

    def indices(self):
        return set(self.shape_of)

    def finish(self):
        order = sorted(self.shape_of)
        np.savez(os.path.join(self.directory, "index.tmp.npz"), indices=np.array(order, np.int64),
                 shapes=np.array([self.shape_of[i] for i in order], np.int64).reshape(-1, 3),
                 skipped=np.array(self.skipped, dtype=str).reshape(-1, 2))
        os.replace(os.path.join(self.directory, "index.tmp.npz"),
                   os.path.join(self.directory, "index.npz"))
        self._tables(np.array(order, np.int64), [self.shape_of[i] for i in order])

    def _tables(self, indices, shapes):
        self.count = len(indices)
        self.index_table = tf.constant(indices, tf.int64)
        self.shapes = tf.constant(np.asarray(shapes, np.int64).reshape(-1, 3))

    @classmethod
    def load(cls, directory):
        cache = cls(directory)
        with np.load(os.path.join(directory, "index.npz")) as index:
            cache._tables(index["indices"], index["shapes"])
            cache.skipped = [tuple(pair) for pair in index["skipped"]]
            cache.nbytes = int(np.sum(np.prod(index["shapes"], axis=1)))
        return cache

    def image(self, position):
        name = tf.strings.as_string(self.index_table[position])
        raw = tf.io.read_file(tf.strings.join([self.directory, "/", name, ".u8"]))
        return tf.reshape(tf.io.decode_raw(raw, tf.uint8), self.shapes[position])


def image_folder(source, spec, batch_size, pattern=None, seed=None, **options):
    """The images of a folder or glob, checked for at least one batch; nothing is decoded
    until check_readable() or dataset() (after the run has claimed its output directory,
    where the cache goes)."""
    folder = ImageFolder(list_images(source, pattern), spec, seed=seed, **options)
    if len(folder) < batch_size:
        raise UserError(f"[!] Entire dataset size ({len(folder)}) is less than the configured "
                        f"batch_size ({batch_size}) in {source}")
    return folder


def with_random(dataset, draw, seed, start=0):
    """Each element of `dataset` extended by draw(element, seed_pair): a train step's random
    inputs (latents, sampled labels) drawn in the input pipeline with stateless ops from a
    seeded stream, so a distributed run splits them with the global batch (one device or
    several draw the same values) and a run is reproducible from --seed. `dataset` starting
    at element `start` of its stream (a resumed run) gets the seed pairs from `start` on."""
    seeds = tf.data.Dataset.random(seed=seed).batch(2).skip(start)
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
                     crop_size=256, flip=True, seed=0):
    """transform(image, seed_pair): one decoded sRGB image in [0, 1] -> (inputs, targets) in
    [-1, 1], as pix2pix's load_examples: A|B halves (or Lab L | ab), direction, then a
    random flip, an AREA resize to scale_size and one random crop_size crop, all applied to
    inputs and targets together (they are stacked on the channel axis), so the pair stays
    aligned. The flip and crop are drawn with stateless ops from `seed_pair` (default
    (seed, 0)): ImageFolder.dataset passes each image's place in the stream, so a resumed
    run draws what the uninterrupted one drew."""
    def transform(image, seed_pair=None):
        if seed_pair is None:
            seed_pair = tf.constant([seed, 0], tf.int64)
        flip_seed, crop_seed = tf.unstack(tf.random.experimental.stateless_split(seed_pair, 2))
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
            both = tf.image.stateless_random_flip_left_right(both, flip_seed)
        both = tf.image.resize(both, [scale_size, scale_size], method="area")
        if scale_size > crop_size:
            offset = tf.cast(tf.floor(tf.random.stateless_uniform(
                [2], crop_seed, 0, scale_size - crop_size + 1)), tf.int32)
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
