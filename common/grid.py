"""Sample grids and GIFs: carpedm20's image_manifold_size / merge / save_images, and the GIFs.

Grids are written with PIL as uint8 PNGs (no scipy byte-scaling; see common.images.bytescale).
"""
import math
import os

import numpy as np
from PIL import Image

from common.images import bytescale, to_uint8


def image_manifold_size(num_images):
    """carpedm20's layout: floor(sqrt(n)) rows x ceil(sqrt(n)) columns, which must multiply to n.

    For counts the original could not tile (7, 13...) it falls back to ceil(n / cols) rows so
    a grid is still written, with the last row partly empty.
    """
    rows = int(math.floor(math.sqrt(num_images)))
    cols = int(math.ceil(math.sqrt(num_images)))
    if rows * cols < num_images:
        rows = int(math.ceil(num_images / cols))
    return rows, cols


def merge(images, size):
    """Tile N x H x W x C images row-major into a (rows*H) x (cols*W) x C array (zeros pad)."""
    rows, cols = size
    images = np.asarray(images)
    if len(images) > rows * cols:
        raise ValueError(f"{len(images)} images do not fit a {rows}x{cols} grid")
    n, h, w, c = images.shape
    canvas = np.zeros((rows * h, cols * w, c), dtype=images.dtype)
    for index, image in enumerate(images):
        row, col = divmod(index, cols)
        canvas[row * h:(row + 1) * h, col * w:(col + 1) * w] = image
    return canvas


def save_grid(images, path, size=None, value_range=(-1.0, 1.0)):
    """Save N x H x W x C float images (C = 1 or 3, values in value_range) as one PNG grid.

    value_range=None reproduces scipy.misc.imsave on floats: the grid is stretched to its own
    min..max (common.images.bytescale), as the anime DCGAN and the Keras WGAN saved theirs."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    size = size or image_manifold_size(len(images))
    if value_range is None:
        grid = bytescale(merge(images, size))
    else:
        grid = merge(to_uint8(images, value_range), size)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(path)
    return path


def make_gif(frame_paths, path, seconds_per_frame=0.3):
    """Write an animated GIF from image files in the given order."""
    frame_paths = list(frame_paths)
    if not frame_paths:
        return None
    return save_gif([Image.open(p).convert("RGB") for p in frame_paths], path, seconds_per_frame)


def save_gif(frames, path, seconds_per_frame=0.3):
    """Write PIL images or uint8 HxWx{1,3} arrays as a looping GIF (PIL takes milliseconds)."""
    frames = [f if isinstance(f, Image.Image) else
              Image.fromarray(f[..., 0] if f.shape[-1] == 1 else f) for f in frames]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], loop=0,
                   duration=max(1, int(round(seconds_per_frame * 1000))))
    return path
