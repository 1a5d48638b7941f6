import io
import os
import struct

import numpy as np
import pytest

from PIL import Image

from common.cache import ImageFolder, image_folder

from common.decode import ImageSpec

from common.files import list_images

from common.errors import UserError
from common.mnist import load_mnist
from conftest import write_idx, write_images, write_mnist_dir

SPEC_8X8 = ImageSpec(size=(8, 8))


def test_list_images_directory_and_glob(tmp_path):
    write_images(str(tmp_path / "a"), 3)
    write_images(str(tmp_path / "b"), 2, ext="jpg")
    (tmp_path / "a" / "notes.txt").write_text("x")
    assert len(list_images(str(tmp_path))) == 5
    assert len(list_images(str(tmp_path / "*" / "*.jpg"))) == 2
    assert len(list_images(str(tmp_path / "a"), "*.png")) == 3


def test_list_images_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        list_images(str(tmp_path / "missing"))
    with pytest.raises(UserError, match="no images"):
        list_images(str(tmp_path / "*.jpg"))


def test_image_folder_dataset_batches_static_shape(tmp_path):
    write_images(str(tmp_path), 10)
    folder = image_folder(str(tmp_path), SPEC_8X8, batch_size=4, seed=1)
    data = folder.dataset(4)
    assert data.element_spec.shape.as_list() == [4, 8, 8, 3]
    batch = next(iter(data)).numpy()
    assert batch.min() >= -1 and batch.max() <= 1 and batch.std() > 0.1
    assert len(folder) == 10


def test_corrupt_images_are_skipped_and_counted(tmp_path, capsys):
    write_images(str(tmp_path), 6)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (tmp_path / "empty.png").write_bytes(b"")
    folder = ImageFolder(list_images(str(tmp_path)), SPEC_8X8, seed=0)
    images = np.concatenate([b.numpy() for b in folder.dataset(2, shuffle=False, repeat=False)])
    assert len(images) == 6
    assert len(folder.skipped) == 2
    assert "skipped unreadable image" in capsys.readouterr().err


def test_a_file_that_stops_the_first_pass_midway_loses_no_other(tmp_path, monkeypatch):
    """Broken files in the middle of the first pass (one inside a batch of decoded ones):
    every readable file is in the cache once, with its own pixels, and PIL's retry reads the
    broken files alone."""
    from common import cache as cache_module
    monkeypatch.setattr(cache_module, "FILL_BATCH", 2)
    retried = []
    read = ImageSpec.read
    monkeypatch.setattr(ImageSpec, "read", lambda self, path: retried.append(path) or read(
        self, path))
    write_images(str(tmp_path), 9, size=(12, 12), ext="jpg")
    folder = ImageFolder(list_images(str(tmp_path)), SPEC_8X8, seed=0)
    for position in (5, 7):  # broken in the third batch (its second file), and after it
        with open(folder.paths[position], "wb") as file:
            file.write(b"\xff\xd8\xff garbage")
    cache = folder.prepare()
    assert cache.count == 7 and sorted(folder.skipped) == sorted(retried)
    readable = [path for path in folder.paths if path not in folder.skipped]
    for position, path in enumerate(readable):  # (the antialiased resize: within 1 level)
        np.testing.assert_allclose(cache.image(position).numpy(), SPEC_8X8.read(path), atol=1)


def test_fewer_images_than_batch_is_a_user_error(tmp_path):
    write_images(str(tmp_path), 3)
    with pytest.raises(UserError, match="less than the configured batch_size"):
        image_folder(str(tmp_path), SPEC_8X8, batch_size=4)


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_idx(tmp_path, gz):
    (x, y), (xt, yt) = load_mnist(write_mnist_dir(str(tmp_path), 30, 10, gz=gz))
    assert x.shape == (30, 28, 28) and x.dtype == np.uint8
    assert list(y[:3]) == [0, 1, 2] and xt.shape == (10, 28, 28) and len(yt) == 10


def test_load_mnist_wrong_magic(tmp_path):
    write_mnist_dir(str(tmp_path), 10, 10)
    write_idx(str(tmp_path / "train-images-idx3-ubyte"), np.zeros((10, 28, 28)), 2049)
    with pytest.raises(UserError, match="magic number 2049"):
        load_mnist(str(tmp_path))


def test_load_mnist_label_count_mismatch(tmp_path):
    write_mnist_dir(str(tmp_path), 10, 10)
    write_idx(str(tmp_path / "t10k-labels-idx1-ubyte"), np.zeros(9), 2049)
    with pytest.raises(UserError, match="10 images but 9 labels"):
        load_mnist(str(tmp_path))


def test_load_mnist_truncated_and_missing(tmp_path):
    write_mnist_dir(str(tmp_path), 10, 10)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(UserError, match="truncated"):
        load_mnist(str(tmp_path))
    os.remove(path)
    with pytest.raises(UserError, match="train-images-idx3-ubyte"):
        load_mnist(str(tmp_path))
    with pytest.raises(UserError, match="does not exist"):
        load_mnist(str(tmp_path / "nowhere"))


def test_load_mnist_npz(tmp_path):
    x = np.zeros((14, 28, 28), np.uint8)
    np.savez(tmp_path / "a.npz", x=x, y=np.arange(14) % 10)
    (xtr, ytr), (xte, yte) = load_mnist(str(tmp_path / "a.npz"))
    assert len(xtr) == 12 and len(xte) == 2
    np.savez(tmp_path / "b.npz", x_train=x, y_train=np.zeros(14), x_test=x[:3], y_test=np.zeros(3))
    assert len(load_mnist(str(tmp_path / "b.npz"))[1][0]) == 3
    x[:, 10:18, 10:18] = 255
    for bad, message in ((x / 255.0, "every pixel is 0 or 1"),
                         (x * 2.0 - 1, "is not a grey level"),
                         (x.astype(np.float32) + 0.5, "is not a grey level")):
        np.savez(tmp_path / "d.npz", x=bad, y=np.arange(14) % 10)
        with pytest.raises(UserError, match=message):
            load_mnist(str(tmp_path / "d.npz"))
    np.savez(tmp_path / "e.npz", x=x.astype(np.float64), y=np.arange(14) % 10)
    assert load_mnist(str(tmp_path / "e.npz"))[0][0].dtype == np.uint8
    np.savez(tmp_path / "c.npz", images=x)
    with pytest.raises(UserError, match="needs arrays x and y"):
        load_mnist(str(tmp_path / "c.npz"))


# ---- the TensorFlow decoding path agrees with the PIL one ----

def photo_like(size=(61, 47), seed=0):
    """A smooth image with edges, like a photo (random noise would test only rounding)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size[1], 0:size[0]]
    channels = [np.sin(x / rng.uniform(3, 9) + c) * np.cos(y / rng.uniform(3, 9)) for c in range(3)]
    image = ((np.stack(channels, -1) + 1) * 127.5).astype(np.uint8)
    image[size[1] // 3:, size[0] // 2:] = rng.integers(0, 256, 3)
    return image


@pytest.fixture
def photo_files(tmp_path):
    """The same picture as JPEG, PNG, greyscale JPEG, RGBA PNG and palette PNG."""
    image = photo_like()
    Image.fromarray(image).save(tmp_path / "a.jpg", quality=90)
    Image.fromarray(image).save(tmp_path / "b.png")
    Image.fromarray(image).convert("L").save(tmp_path / "c.jpg")
    Image.fromarray(image).convert("RGBA").save(tmp_path / "d.png")
    Image.fromarray(image).convert("P").save(tmp_path / "e.png")
    return sorted(str(p) for p in tmp_path.iterdir())


@pytest.mark.parametrize("spec,tolerance", [
    (ImageSpec(), 0),                                          # decode only: JPEG IDCT as PIL
    (ImageSpec(channels=1), 0),                                # PIL's integer luma
    (ImageSpec(crop=(40, 30), size=(20, 16)), 1),              # carpedm20 crop, bilinear
    (ImageSpec(size=(96, 96), method="nearest"), 0),           # the WGAN's load_img
    (ImageSpec(channels=1, crop=(33, 33), size=(28, 28)), 1),
])
def test_tensorflow_decoding_matches_pil(photo_files, spec, tolerance):
    for path in photo_files:
        pil_image = spec.read(path).astype(int)
        # the branch-free JPEG path (decode(jpeg=True)) for the JPEGs, as the cache takes them
        for jpeg in (False, True) if path.endswith(".jpg") else (False,):
            tf_image = np.asarray(spec.decode(path, jpeg)).astype(int)
            assert tf_image.shape == pil_image.shape, path
            assert np.abs(tf_image - pil_image).max() <= tolerance, (path, jpeg)


def jpeg_claiming(path, height, width):
    """A real JPEG whose frame header (SOF0) announces height x width."""
    buffer = io.BytesIO()
    Image.fromarray(photo_like((16, 16))).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))


def test_the_cache_reads_what_a_jpeg_name_hides_and_skips_what_no_reader_takes(tmp_path,
                                                                                capsys):
    """The cache decodes files named .jpg without looking at their format: a PNG so named
    gets its pixels all the same (PIL's retry); a JPEG smaller than the crop, or announcing
    more pixels than Pillow's limit, is skipped with one warning naming it."""
    spec = ImageSpec(crop=(12, 12), size=(8, 8))
    write_images(str(tmp_path), 3, size=(16, 16), ext="jpg")
    Image.fromarray(photo_like((16, 16))).save(tmp_path / "png_inside.jpg", "PNG")
    Image.fromarray(photo_like((10, 10))).save(tmp_path / "small.jpg")
    jpeg_claiming(tmp_path / "bomb.jpg", 60000, 60000)
    paths = list_images(str(tmp_path))
    folder = ImageFolder(paths, spec, seed=0)
    cache = folder.prepare()
    assert cache.count == 4
    assert sorted(os.path.basename(p) for p in folder.skipped) == ["bomb.jpg", "small.jpg"]
    err = capsys.readouterr().err
    assert "pixels" in [line for line in err.splitlines() if "bomb.jpg" in line][0]
    position = [p for p in folder.paths if p not in folder.skipped].index(
        str(tmp_path / "png_inside.jpg"))
    np.testing.assert_array_equal(cache.image(position).numpy(),
                                  spec.read(str(tmp_path / "png_inside.jpg")))


def test_a_file_tensorflow_cannot_decode_falls_back_to_pil(tmp_path, capsys):
    write_images(str(tmp_path), 3, size=(16, 16), ext="png")
    Image.fromarray(photo_like((16, 16))).convert("CMYK").save(tmp_path / "cmyk.jpg")
    folder = ImageFolder(list_images(str(tmp_path)), ImageSpec(size=(8, 8)), seed=0)
    images = np.concatenate([b.numpy() for b in folder.dataset(4, shuffle=False, repeat=False)])
    assert len(images) == 4 and not folder.skipped
    assert "decoded 4 images" in capsys.readouterr().out


def test_file_cache_is_written_once_and_reused(tmp_path, capsys):
    paths = write_images(str(tmp_path / "img"), 7, size=(12, 10))
    spec = ImageSpec(size=(6, 6))

    def epochs(folder):
        return [np.asarray(b) for b in folder.dataset(7, shuffle=False, repeat=False)][0]

    in_memory = epochs(ImageFolder(paths, spec, seed=3))
    on_disk = ImageFolder(paths, spec, seed=3, cache_dir=str(tmp_path / "cache"), cache_mb=0)
    np.testing.assert_array_equal(epochs(on_disk), in_memory)
    assert "decoded 7 images" in capsys.readouterr().out
    (directory,) = (tmp_path / "cache").iterdir()
    assert len(list(directory.glob("*.u8"))) == 7 and (directory / "index.npz").exists()
    again = ImageFolder(paths, spec, seed=3, cache_dir=str(tmp_path / "cache"), cache_mb=0)
    np.testing.assert_array_equal(epochs(again), in_memory)
    assert "decoded" not in capsys.readouterr().out  # read back, not decoded again
    # a file replaced (new size and time), or another spec: a new fingerprint, decoded anew
    Image.new("RGB", (12, 10), (255, 0, 0)).save(paths[0])
    os.utime(paths[0], ns=(1, 1))
    changed = ImageFolder(paths, spec, seed=3, cache_dir=str(tmp_path / "cache"), cache_mb=0)
    assert not np.array_equal(epochs(changed), in_memory)
    assert "decoded 7 images" in capsys.readouterr().out
    other = ImageFolder(paths, ImageSpec(size=(4, 4)), seed=3, cache_dir=str(tmp_path / "cache"),
                        cache_mb=0)
    assert epochs(other).shape[1:3] == (4, 4) and len(list((tmp_path / "cache").iterdir())) == 3


def test_every_epoch_reshuffles_all_images(tmp_path):
    for value in range(8):
        Image.new("L", (4, 4), value * 30).save(tmp_path / f"{value}.png")
    folder = ImageFolder(list_images(str(tmp_path)), ImageSpec(channels=1, scale="unit"),
                         seed=1)
    values = [int(round(float(v[0, 0, 0]) * 255 / 30))
              for v in folder.dataset(1, repeat=True).unbatch().take(24).as_numpy_iterator()]
    epochs = [values[i:i + 8] for i in (0, 8, 16)]
    assert all(sorted(e) == list(range(8)) for e in epochs)
    assert len({tuple(e) for e in epochs}) == 3
