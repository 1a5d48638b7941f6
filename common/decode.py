"""Decoding one image file into a program's training size (ImageSpec): TensorFlow ops for the
parallel first pass, PIL for what TensorFlow cannot read, the two agreeing pixel for pixel."""
import dataclasses

import numpy as np
import tensorflow as tf
from PIL import Image

from common.images import center_crop, read_image, resize


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

    # Plain Python around TensorFlow ops (no branch on a tensor): AutoGraph, which tf.data
    # would run over this method and the two it calls at every trace, only costs time (0.2 s
    # of a 2,000-file first pass, measured; bench/README.md).
    @tf.autograph.experimental.do_not_convert
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

        def resized():  # built inside the branch that needs it: no resize of a same-size image
            return tf.cast(tf.clip_by_value(tf.round(tf.image.resize(
                image, (height, width), method=method, antialias=method != "area")), 0, 255),
                tf.uint8)
        if self.crop:  # the size is known: the crop's
            return image if tuple(self.crop) == tuple(self.size) else resized()
        same = tf.logical_and(tf.equal(shape[0], height), tf.equal(shape[1], width))
        return tf.cond(same, lambda: image, resized)

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
