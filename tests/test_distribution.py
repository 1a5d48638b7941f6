"""--strategy mirrored and multiworker compute the originals' update: one step on 2 logical CPU
devices equals one step on one device (same global batch and latents), and two workers on
loopback end with identical weights."""
import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

from acgan_mnist.gan import ACGAN
from acgan_mnist.model import build_discriminator, build_generator
from common.checkpoint import Checkpoint
from conftest import saved_counters, write_mnist_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONUNBUFFERED": "1"}


def mirrored_step(program, data, modes, onednn=None):
    """tests/mirrored_step.py's report for `modes` (TensorFlow's oneDNN kernels as
    common/__init__.py sets them, or `onednn` "0"/"1")."""
    env = ENV if onednn is None else {**ENV, "TF_ENABLE_ONEDNN_OPTS": onednn}
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "mirrored_step.py"),
                             program, data, *modes],
                            capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def as_accurate_as_one_device(report):
    """The mirrored step's gradients are as far from the float64 step as a single float32
    device's are: within 10x the single device's worst variable (its own rounding, on this
    CPU; the port's mistakes below are 10,000x and more)."""
    return report["mirrored_error"] <= 10 * max(report["single_error"], 1e-7)


@pytest.mark.parametrize("program", ["acgan", "dcgan"])
def test_one_mirrored_step_computes_the_single_device_gradients(tmp_path, program):
    """The gradients (read at full precision from SGD momentum slots), BatchNorm statistics and
    losses of one step agree with one device's; taking out the global-batch loss scaling or
    synchronized BatchNorm makes them disagree by far more.

    The gradients are judged against the same step in float64. With two logical CPU devices
    in one process TensorFlow itself can get one of them wrong: on an Intel Xeon (AVX-512,
    AMX) AC-GAN's mirrored step with oneDNN on put 2.2e-2 between replica 0's generator
    gradients and float64 (the single device: 3.4e-6; with oneDNN off 1.6e-6), the error born
    in the backward pass of the discriminator's third LeakyReLU on replica 0 only, and only
    when the discriminator was updated earlier in the step on activations of the same shape;
    an AMD EPYC showed it with oneDNN off instead. The port's distribution code is the same
    Python under both settings, so the step must match float64 under at least one."""
    data = write_mnist_dir(str(tmp_path / "mnist"), 40, 10)
    report = mirrored_step(program, data, ["as_built", "no_loss_scaling", "unsynchronized"])
    exact = report["as_built"]
    assert exact["replicas"] == 2 and exact["compared"] > 20, exact
    assert exact["gradient_size"] > 1e-6, exact  # the step had gradients to compare
    if not as_accurate_as_one_device(exact):
        other = "0" if os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0" else "1"
        exact = mirrored_step(program, data, ["as_built"], onednn=other)["as_built"]
    assert as_accurate_as_one_device(exact), exact
    # measured: statistics 3e-6 (AC-GAN's generator variances ~6e-5), losses 1e-7
    assert exact["statistics_difference"] < 5e-4, exact
    assert exact["loss_difference"] < 1e-5, exact
    # measured: gradients 0.7-2.4, losses 1e-4-1e-3, unsynchronized statistics 0.1-1.3
    for mode in ("no_loss_scaling", "unsynchronized"):
        assert not as_accurate_as_one_device(report[mode]), (mode, report[mode])
        assert report[mode]["gradient_difference"] > 0.1, (mode, report[mode])
        assert report[mode]["loss_difference"] > 5e-5, (mode, report[mode])
    assert report["unsynchronized"]["statistics_difference"] > 0.01, report["unsynchronized"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_workers_on_loopback_end_with_identical_weights(tmp_path):
    data = write_mnist_dir(str(tmp_path / "mnist"), 40, 10)
    out = tmp_path / "run"
    cluster = {"worker": [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]}
    workers = []
    for index in range(2):
        env = {**ENV, "TF_CONFIG": json.dumps({"cluster": cluster,
                                               "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "acgan_mnist.train", "--strategy", "multiworker",
             "--data-dir", data, "--epochs", "1", "--batch-size", "8", "--steps-per-epoch", "2",
             "--output-dir", str(out)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True))
    try:
        results = [worker.communicate(timeout=300) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    for worker, (stdout, stderr) in zip(workers, results):
        assert worker.returncode == 0, stderr[-3000:]
        assert "strategy: multiworker (2 replica)" in stdout
    chief, other = out / "checkpoints", out / "worker-1" / "checkpoints"
    assert saved_counters(chief)[0] == saved_counters(other)[0] == 2
    weights = []
    for directory in (chief, other):
        gan = ACGAN(build_generator(), build_discriminator())
        gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
        assert Checkpoint.of(str(directory), gan).restore()
        weights.append(gan.generator.get_weights() + gan.discriminator.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, atol=1e-6)
