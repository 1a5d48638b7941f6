"""Fixtures that make the small datasets the tests need: image folders, IDX MNIST, pairs."""
import gzip
import json
import os
import tempfile

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# real-image statistics are cached under $XDG_CACHE_HOME: each test session has its own
os.environ.setdefault("XDG_CACHE_HOME", tempfile.mkdtemp(prefix="gan-tests-cache-"))


def write_images(directory, count, size=(24, 20), mode="RGB", ext="png", seed=0):
    """`count` random images of `size` (w, h) in `directory`; returns their paths."""
    rng = np.random.default_rng(seed)
    os.makedirs(directory, exist_ok=True)
    paths = []
    for i in range(count):
        channels = {"RGB": 3, "L": 1}[mode]
        array = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
        image = Image.fromarray(array[..., 0] if channels == 1 else array, mode)
        path = os.path.join(directory, f"{i:03d}.{ext}")
        image.save(path)
        paths.append(path)
    return paths


def write_idx(path, array, magic):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if path.endswith(".gz"):
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)


def write_mnist_dir(directory, n_train=60, n_test=20, gz=False, seed=0):
    """An MNIST-format IDX directory of digit-like blobs whose position depends on the label."""
    rng = np.random.default_rng(seed)
    os.makedirs(directory, exist_ok=True)
    suffix = ".gz" if gz else ""
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = rng.integers(0, 30, (n, 28, 28), dtype=np.uint8)
        for i, label in enumerate(labels):
            r, c = 4 + 2 * (label // 5) * 5, 4 + 4 * (label % 5)
            images[i, r:r + 8, c:c + 4] = 255
        write_idx(os.path.join(directory, f"{split}-images-idx3-ubyte{suffix}"), images, 2051)
        write_idx(os.path.join(directory, f"{split}-labels-idx1-ubyte{suffix}"), labels, 2049)
    return directory


def write_pairs(directory, count):
    """pix2pix A|B pairs, 512x256, whose B half is 255 - A."""
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        a = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
        Image.fromarray(np.concatenate([a, 255 - a], axis=1)).save(
            os.path.join(directory, f"{i}.png"))
    return directory


def saved_counters(checkpoint_dir):
    """(step, epoch) of the current checkpoint in checkpoint_dir."""
    with open(os.path.join(checkpoint_dir, "state.json")) as f:
        state = json.load(f)
    return state["step"], state["epoch"]


@pytest.fixture
def mnist_dir(tmp_path):
    return write_mnist_dir(str(tmp_path / "mnist"))
