"""tf.data pipelines over image folders: the folder decoded once into a cache at the training
size (ImageFolder; in memory, or one raw file per image that a later run reuses), every pass
reshuffled statelessly from (seed, pass), and the random inputs of a train step drawn in the
pipeline (with_random). A corrupt file is skipped and counted instead of stopping the run.

Replaces the originals' glob + scipy imread loops."""
import hashlib
import math
import os
import sys
import time

import numpy as np
import tensorflow as tf

from common.errors import UserError
from common.files import first_readable, list_images


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
    for jpeg in (True, False):  # JPEGs by name need no branch on the format (see decode)
        chosen = [i for i, path in enumerate(paths)
                  if path.lower().endswith(JPEG_EXTENSIONS) == jpeg]
        if chosen:
            _decode_into(store, chosen, [paths[i] for i in chosen], spec, jpeg)
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


def _decode_into(store, indices, paths, spec, jpeg):
    """Decode `paths` (the folder's files `indices`) in one parallel TensorFlow pass into
    `store`; files TensorFlow cannot decode are left out (the caller retries them with PIL)."""
    decoded = tf.data.Dataset.from_tensor_slices((np.array(indices, np.int64), paths))
    decoded = decoded.map(lambda i, path: (i, spec.decode(path, jpeg)),
                          num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    decoded = decoded.ignore_errors()
    if spec.size:  # every image at the training size: they cross into Python a batch at a time
        decoded = decoded.batch(FILL_BATCH).prefetch(2)  # (2.5x the files/s of one at a time)
        for batch_indices, images in decoded.as_numpy_iterator():
            for index, image in zip(batch_indices, images):
                store.add(int(index), image)
    else:
        for index, image in decoded.as_numpy_iterator():
            store.add(int(index), image)


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
