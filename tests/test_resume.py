"""Resume is exact: every program, stopped at an epoch's end or in the middle of an epoch and
run again, ends with the same bits as the run that never stopped.

Each program runs twice three steps an epoch at tiny sizes: straight through (6 steps);
1 epoch then 2 (a stop at the epoch boundary); and from a copy of that run rewound to its
checkpoint of step 4, inside the second epoch (what a kill after that save leaves). Every
array of the final checkpoint (weights, BatchNorm and debias state, optimizer slots and
counters, dropout seeds, loss averages) must be equal bit for bit.
"""
import json
import os
import shutil

import h5py
import numpy as np
import pytest

from conftest import write_images, write_mnist_dir, write_pairs

STEPS = 6  # two epochs of three steps


def acgan(data, out, epochs):
    from acgan_mnist import train
    train.main(["--data-dir", data, "--output-dir", out, "--epochs", str(epochs),
                "--batch-size", "10", "--steps-per-epoch", "3", "--checkpoint-every", "2"])


def dcgan(arch, dataset, *extra):
    def run(data, out, epochs):
        from dcgan_tf import train
        train.main(["--train", "--arch", arch, "--dataset", dataset, "--data_dir", data,
                    "--output-dir", out, "--epoch", str(epochs), "--batch_size", "2",
                    "--gf_dim", "2", "--df_dim", "4", "--gfc_dim", "8", "--dfc_dim", "8",
                    "--z_dim", "4", "--sample_freq", "2", "--ckpt_freq", "2", *extra])
    return run


def ogan(data, out, epochs):
    from ogan_keras import train
    train.main(["--data", os.path.join(data, "*", "*.jpg"), "--output-dir", out,
                "--img_dim", "32", "--z_dim", "16", "--batch_size", "4",
                "--epochs", str(epochs), "--sample_every", "2"])


def pix2pix(data, out, epochs):
    from pix2pix_tf import train
    train.main(["--mode", "train", "--input_dir", data, "--output_dir", out, "--ngf", "4",
                "--ndf", "4", "--max_steps", str(3 * epochs), "--save_freq", "2",
                "--display_freq", "2", "--summary_freq", "3", "--progress_freq", "1"])


def mnist_data(tmp_path):
    return write_mnist_dir(str(tmp_path / "mnist"), 60, 20)


def folder_data(subdir, count, size):
    def make(tmp_path):
        write_images(str(tmp_path / "data" / subdir), count, size=size, ext="jpg")
        return str(tmp_path / "data")
    return make


def dcgan_mnist_data(tmp_path):
    write_mnist_dir(str(tmp_path / "data" / "mnist"), 16, 4)
    return str(tmp_path / "data")


def ogan_data(tmp_path):
    write_images(str(tmp_path / "faces" / "a"), 6, size=(40, 36), ext="jpg")
    write_images(str(tmp_path / "faces" / "b"), 4, size=(30, 30), ext="jpg", seed=1)
    return str(tmp_path / "faces")


PROGRAMS = {
    # 60 digits at batch 10: an epoch is half a pass, the second starts at batch 3
    "acgan": (acgan, mnist_data),
    # 7 images at batch 2: 3 steps an epoch, each a fresh permutation's first 6
    "dcgan": (dcgan("dcgan", "celebA", "--output_height", "16"),
              folder_data("celebA", 7, (16, 16))),
    "dcgan-mnist": (dcgan("dcgan", "mnist", "--train_size", "6"), dcgan_mnist_data),
    "anime": (dcgan("anime", "faces"), folder_data("faces", 6, (96, 96))),
    # 12 images, 2 critic batches of 2 a step: 3 steps an epoch, rotations drawn per batch
    "wgan": (dcgan("wgan", "faces", "--n_critic", "2"), folder_data("faces/x", 12, (96, 96))),
    # 10 images at batch 4: one pass of 4, 4, 2 an epoch
    "ogan": (ogan, ogan_data),
    # 3 pairs at batch 1: random flips and crops, dropout at training and display
    "pix2pix": (pix2pix, lambda tmp_path: write_pairs(str(tmp_path / "pairs"), 3)),
}


def checkpoint_arrays(run_dir):
    """{file:array name: value} of every array in the run's current checkpoint."""
    checkpoints = os.path.join(run_dir, "checkpoints")
    with open(os.path.join(checkpoints, "state.json")) as f:
        folder = os.path.join(checkpoints, json.load(f)["folder"])
    arrays = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.endswith(".h5"):
            with h5py.File(path, "r") as f:
                f.visititems(lambda key, item: arrays.__setitem__(
                    f"{name}:{key}", item[()]) if isinstance(item, h5py.Dataset) else None)
        elif name.endswith(".npz"):
            with np.load(path) as saved:
                arrays.update({f"{name}:{key}": saved[key] for key in saved.files})
    return arrays


def assert_same_bits(expected_run, run):
    expected, actual = checkpoint_arrays(expected_run), checkpoint_arrays(run)
    assert sorted(actual) == sorted(expected)
    different = [key for key in expected if not np.array_equal(expected[key], actual[key])]
    assert not different, f"{len(different)} of {len(expected)} arrays differ: {different[:6]}"


def rewind(run_dir, copy_dir, step):
    """A copy of run_dir as a kill right after its checkpoint of `step` would have left it:
    that checkpoint current, the later ones not written."""
    shutil.copytree(run_dir, copy_dir)
    checkpoints = os.path.join(copy_dir, "checkpoints")
    folder = f"step-{step:09d}"
    for name in os.listdir(checkpoints):
        if name.startswith("step-") and name > folder:
            shutil.rmtree(os.path.join(checkpoints, name))
    with open(os.path.join(checkpoints, folder, "counters.json")) as f:
        counters = json.load(f)
    with open(os.path.join(checkpoints, "state.json"), "w") as f:
        json.dump({**counters, "folder": folder}, f)


@pytest.mark.parametrize("program", list(PROGRAMS))
def test_resumed_runs_end_with_the_same_bits(tmp_path, program):
    run, make_data = PROGRAMS[program]
    data = make_data(tmp_path)
    straight, stopped, rewound = (str(tmp_path / name) for name in ("straight", "stopped",
                                                                     "rewound"))
    run(data, straight, 2)
    run(data, stopped, 1)  # saved at steps 2 and 3 (the epoch's end)
    run(data, stopped, 2)
    assert_same_bits(straight, stopped)
    rewind(stopped, rewound, 4)  # step 4: one step into the second epoch
    run(data, rewound, 2)
    assert_same_bits(straight, rewound)
