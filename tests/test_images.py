import numpy as np
import pytest
from PIL import Image

from common.errors import UserError
from common.images import (bytescale, center_crop, read_image, resize, to_signed, to_uint8,
                           to_unit)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "RGB"])
def test_read_image_converts_every_mode_to_rgb(tmp_path, mode):
    image = Image.new("RGB", (7, 5), (200, 40, 10)).convert(mode)
    path = tmp_path / ("x.jpg" if mode == "CMYK" else "x.png")
    image.save(path)
    array = read_image(str(path))
    assert array.shape == (5, 7, 3) and array.dtype == np.uint8


def test_read_image_grayscale_and_gif_bmp(tmp_path):
    Image.new("RGB", (4, 3), (255, 255, 255)).save(tmp_path / "a.gif")
    Image.new("RGB", (4, 3), (0, 0, 0)).save(tmp_path / "b.bmp")
    assert read_image(str(tmp_path / "a.gif"), grayscale=True).shape == (3, 4, 1)
    assert read_image(str(tmp_path / "b.bmp")).max() == 0


def test_read_image_corrupt_file_names_it(tmp_path):
    path = tmp_path / "bad.jpg"
    path.write_bytes(b"\xff\xd8not a jpeg")
    with pytest.raises(UserError, match="bad.jpg"):
        read_image(str(path))


def test_center_crop_uses_carpedm20_offsets():
    image = np.arange(218 * 178).reshape(218, 178, 1)
    crop = center_crop(image, 108)
    assert crop.shape == (108, 108, 1)
    assert crop[0, 0, 0] == image[55, 35, 0]
    # (5 - 2) / 2 = 1.5 rounds half away from zero (Python 2) -> offset 2
    assert center_crop(np.arange(5)[:, None, None] * np.ones((5, 5, 1)), 2)[0, 0, 0] == 2


def test_center_crop_too_large_is_a_user_error():
    with pytest.raises(UserError):
        center_crop(np.zeros((10, 10, 3)), 20)


def test_resize_bilinear_and_area():
    image = np.zeros((4, 4, 3), np.uint8)
    image[:, 2:] = 200
    small = resize(image, 2, 2, "area")
    assert small.shape == (2, 2, 3) and small[0, 0, 0] == 0 and small[0, 1, 0] == 200
    big = resize(image[..., :1], 8, 8, "bilinear")
    assert big.shape == (8, 8, 1) and 0 < big[0, 3, 0] < 200


def test_scaling_round_trip():
    x = np.array([0, 127, 128, 255], np.uint8)
    signed = to_signed(x)
    assert signed[0] == -1 and signed[-1] == 1
    assert np.array_equal(to_uint8(signed), x)
    assert np.array_equal(to_uint8(to_unit(x), (0, 1)), x)


def test_bytescale_stretches_own_range():
    out = bytescale(np.array([0.5, 0.75, 1.0]))
    assert list(out) == [0, 128, 255]
    assert list(bytescale(np.array([3.0, 3.0]))) == [0, 0]
