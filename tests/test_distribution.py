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


@pytest.mark.parametrize("program", ["acgan", "dcgan"])
def test_one_mirrored_step_computes_the_single_device_gradients(tmp_path, program):
    """The gradients (read at full precision from SGD momentum slots), BatchNorm statistics and
    losses of one step agree within float32 summation order; taking out the global-batch loss
    scaling or synchronized BatchNorm makes them disagree by far more."""
    data = write_mnist_dir(str(tmp_path / "mnist"), 40, 10)
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "mirrored_step.py"),
                             program, data, "as_built", "no_loss_scaling", "unsynchronized"],
                            capture_output=True, text=True, timeout=300, env=ENV, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    exact = report["as_built"]
    assert exact["replicas"] == 2 and exact["compared"] > 20, exact
    assert exact["gradient_size"] > 1e-6, exact  # the step had gradients to compare
    # measured: gradients 6e-6 (oneDNN on) to 2e-2 (off: AC-GAN's generator gradients at
    # initialisation are sums that nearly cancel, and a ReLU at zero within one rounding step
    # flips with the summation order), never more than the single device differs from itself
    # on the same batch in reverse order; statistics 3e-5 (AC-GAN's generator variances ~6e-5
    # are differences of near-equal sums), losses 1e-7
    assert exact["gradient_difference"] < max(1e-4, 10 * exact["gradient_floor"]), exact
    assert exact["statistics_difference"] < 5e-4, exact
    assert exact["loss_difference"] < 1e-5, exact
    # measured: gradients 0.7-2.4, losses 1e-4-1e-3, unsynchronized statistics 0.1-1.3
    for mode in ("no_loss_scaling", "unsynchronized"):
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
