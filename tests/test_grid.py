import os

import numpy as np
from PIL import Image

from common.grid import image_manifold_size, make_gif, merge, save_grid


def test_manifold_size():
    assert image_manifold_size(64) == (8, 8)
    assert image_manifold_size(6) == (2, 3)
    assert image_manifold_size(7) == (3, 3)


def test_merge_row_major():
    images = np.arange(6).reshape(6, 1, 1, 1) * np.ones((6, 2, 3, 1))
    grid = merge(images, (2, 3))
    assert grid.shape == (4, 9, 1)
    assert grid[0, 3, 0] == 1 and grid[2, 0, 0] == 3 and grid[3, 8, 0] == 5


def test_save_grid_signed_rgb(tmp_path):
    images = -np.ones((4, 5, 6, 3), np.float32)
    images[1] = 1.0
    path = save_grid(images, str(tmp_path / "g.png"))
    array = np.asarray(Image.open(path))
    assert array.shape == (10, 12, 3)
    assert array[0, 0, 0] == 0 and array[0, 6, 0] == 255


def test_save_grid_unit_gray_non_square(tmp_path):
    images = np.full((3, 4, 4, 1), 0.5, np.float32)
    path = save_grid(images, str(tmp_path / "g.png"), size=(1, 3), value_range=(0, 1))
    image = Image.open(path)
    assert image.mode == "L" and image.size == (12, 4)
    assert np.asarray(image)[0, 0] == 128


def test_make_gif_has_every_frame(tmp_path):
    paths = []
    for i in range(3):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.new("RGB", (4, 4), (i * 100, 0, 0)).save(paths[-1])
    gif = make_gif(paths, str(tmp_path / "out.gif"))
    with Image.open(gif) as image:
        assert image.n_frames == 3
    assert os.path.getsize(gif) > 0


def test_save_grid_without_range_stretches_like_scipy_imsave(tmp_path):
    images = np.full((2, 2, 2, 3), 0.1, np.float32)
    images[1] = 0.3
    array = np.asarray(Image.open(save_grid(images, str(tmp_path / "g.png"), value_range=None)))
    assert array[0, 0, 0] == 0 and array[0, 2, 0] == 255
