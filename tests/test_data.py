import os

import numpy as np
import pytest

from common.data import ImageFolder, image_folder_dataset, list_images, load_mnist
from common.errors import UserError
from common.images import read_image, resize, to_signed
from conftest import write_idx, write_images, write_mnist_dir


def load_8x8(path):
    return to_signed(resize(read_image(path), 8, 8))


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
    folder, data = image_folder_dataset(str(tmp_path), load_8x8, (8, 8, 3), batch_size=4, seed=1)
    assert data.element_spec.shape.as_list() == [4, 8, 8, 3]
    batch = next(iter(data)).numpy()
    assert batch.min() >= -1 and batch.max() <= 1 and batch.std() > 0.1
    assert len(folder) == 10


def test_corrupt_images_are_skipped_and_counted(tmp_path, capsys):
    write_images(str(tmp_path), 6)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (tmp_path / "empty.png").write_bytes(b"")
    folder = ImageFolder(list_images(str(tmp_path)), load_8x8, (8, 8, 3), seed=0)
    images = np.concatenate([b.numpy() for b in folder.dataset(2, shuffle=False, repeat=False)])
    assert len(images) == 6
    assert len(folder.skipped) == 2
    assert "skipped unreadable image" in capsys.readouterr().err


def test_fewer_images_than_batch_is_a_user_error(tmp_path):
    write_images(str(tmp_path), 3)
    with pytest.raises(UserError, match="less than the configured batch_size"):
        image_folder_dataset(str(tmp_path), load_8x8, (8, 8, 3), batch_size=4)


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
    np.savez(tmp_path / "c.npz", images=x)
    with pytest.raises(UserError, match="needs arrays x and y"):
        load_mnist(str(tmp_path / "c.npz"))
