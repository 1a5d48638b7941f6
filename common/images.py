"""Image reading, cropping, resizing and value scaling shared by every tutorial port.

Replaces the originals' scipy.misc imread/imresize/imsave, including scipy's float byte-scaling.
"""
import contextlib
import warnings

import numpy as np
from PIL import Image

from common.errors import UserError

RESAMPLING = {"bilinear": Image.BILINEAR, "area": Image.BOX, "bicubic": Image.BICUBIC,
              "nearest": Image.NEAREST}


@contextlib.contextmanager
def opened(path):
    """PIL's Image.open of `path`, with every way a file can fail as one UserError naming it:
    unreadable, truncated, or over Pillow's pixel limit (a decompression bomb: refused before
    it is decoded, even between the limit and twice it, where Pillow only warns)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                yield image
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as error:
        raise UserError(f"cannot read image {path}: {error}") from error


def read_image(path, grayscale=False):
    """Decode an image file Pillow reads to uint8 HxWx3 RGB (HxWx1 when grayscale).

    Grayscale, RGBA, palette and CMYK files are converted (alpha is dropped, as the originals'
    readers did). An unreadable file raises UserError naming it.
    """
    with opened(path) as image:
        array = np.asarray(image.convert("L" if grayscale else "RGB"), dtype=np.uint8)
    return array[..., None] if grayscale else array


def is_greyscale_file(path):
    """Whether an image file decodes to one channel (L, 1, I, I;16), as carpedm20's check of
    the first image for 2-D arrays. An unreadable file raises UserError naming it."""
    with opened(path) as image:
        image.load()
        return image.mode in ("L", "1", "I", "I;16")


def center_crop(image, crop_h, crop_w=None):
    """carpedm20's center_crop: offsets round((h - crop_h) / 2), round((w - crop_w) / 2).

    The original ran on Python 2, whose round() goes half away from zero; Python 3 rounds half
    to even, so floor(x + 0.5) is used to keep the same offsets.
    """
    crop_w = crop_h if crop_w is None else crop_w
    h, w = image.shape[:2]
    if crop_h > h or crop_w > w:
        raise UserError(f"cannot center-crop {crop_h}x{crop_w} from an image of {h}x{w}; "
                        "use a smaller --input_height/--input_width")
    top = int(np.floor((h - crop_h) / 2 + 0.5))
    left = int(np.floor((w - crop_w) / 2 + 0.5))
    return image[top:top + crop_h, left:left + crop_w]


def resize(image, height, width, method="bilinear"):
    """Resize a uint8 HxWxC image with PIL, as scipy's imresize did for uint8 input (no stretch)."""
    channels = image.shape[-1]
    pil = Image.fromarray(image[..., 0] if channels == 1 else image)
    out = np.asarray(pil.resize((width, height), RESAMPLING[method]), dtype=np.uint8)
    return out[..., None] if channels == 1 else out


def bytescale(array):
    """scipy.misc.bytescale: stretch a float array's own min..max to 0..255 uint8.

    imresize and imsave applied this silently to float input (scipy 1.1 misc/pilutil.py:
    toimage); a constant array maps to 0 as scipy's did.
    """
    array = np.asarray(array, dtype=np.float64)
    low, high = array.min(), array.max()
    scale = 255.0 / (high - low) if high > low else 1.0
    return np.clip((array - low) * scale + 0.5, 0, 255).astype(np.uint8)


def to_signed(image):
    """uint8 0..255 -> float32 in [-1, 1] (x / 127.5 - 1, the tutorials' normalisation)."""
    return np.asarray(image, dtype=np.float32) / 127.5 - 1.0


def to_unit(image):
    """uint8 0..255 -> float32 in [0, 1]."""
    return np.asarray(image, dtype=np.float32) / 255.0


def to_uint8(images, value_range=(-1.0, 1.0)):
    """Float images in value_range -> uint8, rounded and clipped ((x + 1) / 2 * 255 for [-1, 1])."""
    low, high = value_range
    scaled = (np.asarray(images, dtype=np.float32) - low) / (high - low) * 255.0
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
