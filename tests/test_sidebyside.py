"""Side by side with the tutorial code: each original runs unmodified in its own framework
(`make originals`) beside its port for a few steps, and the harness must find the same update
(and must find a different one when the port is broken). Skipped, with the reason, where the
originals' environments or sources are missing."""
import os
import subprocess
import sys

import pytest
from PIL import Image

from conftest import write_images, write_mnist_dir
from sidebyside import environments, sources
from sidebyside.harness import program_module

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def available(program):
    """None, or why `program`'s original cannot run here."""
    module = program_module(program)
    if environments.environment_python(module.ENVIRONMENT) is None:
        return f"the {module.ENVIRONMENT} environment is not built (make originals)"
    source = sources.SOURCES[module.SOURCE]
    if not environments.ORIGINALS_SRC or not os.path.isdir(
            os.path.join(environments.ORIGINALS_SRC, source.folder)):
        return "../shared/originals-src is not here (and tests never download)"
    return None


def side_by_side(program, data, tmp_path, *extra):
    reason = available(program)
    if reason:
        pytest.skip(reason)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "sidebyside", program, "--data", str(data),
                           "--output-dir", str(tmp_path / "out"), *map(str, extra)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def assert_same_update(result, tmp_path):
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert "same update: within tolerance" in result.stdout
    assert Image.open(tmp_path / "out" / "side_by_side.png").size[0] > 0


def test_acgan(tmp_path):
    data = write_mnist_dir(str(tmp_path / "mnist"), 300, 100)
    result = side_by_side("acgan", data, tmp_path, "--steps", 3)
    assert_same_update(result, tmp_path)
    step_one = [line for line in result.stdout.splitlines() if line.startswith("    1 |")]
    assert len(step_one) == 6 and all(float(line.split("|")[4].split()[0]) < 1e-6
                                      for line in step_one), step_one


def photos(directory, count, size):
    """`count` random-noise images of `size` (JPEG): the originals only need files to read."""
    return os.path.dirname(write_images(str(directory), count, size=size, ext="jpg")[0])


def test_ogan(tmp_path):
    data = photos(tmp_path / "faces", 20, (64, 64))
    assert_same_update(side_by_side("ogan", data, tmp_path, "--steps", 3), tmp_path)


def test_ogan_with_keras_3s_stock_rmsprop_diverges_at_step_1(tmp_path, monkeypatch, capsys):
    """The harness can fail: the port's RMSprop replaced by Keras 3's own (epsilon inside the
    square root) is reported as diverging after the first step."""
    reason = available("ogan")
    if reason:
        pytest.skip(reason)
    import keras
    from common.legacy import Keras2RMSprop
    from sidebyside.harness import main
    monkeypatch.setattr(Keras2RMSprop, "update_step", keras.optimizers.RMSprop.update_step)
    data = photos(tmp_path / "faces", 20, (64, 64))
    with pytest.raises(SystemExit) as exit_info:
        main(["ogan", "--data", data, "--steps", "1", "--output-dir", str(tmp_path / "out")])
    assert exit_info.value.code == 1
    assert "diverged after step 1:" in capsys.readouterr().out


def test_dcgan(tmp_path):
    data = photos(tmp_path / "photos", 24, (48, 48))
    assert_same_update(side_by_side("dcgan", data, tmp_path, "--steps", 3), tmp_path)


def test_dcgan_mnist(tmp_path):
    data = write_mnist_dir(str(tmp_path / "mnist"), 300, 100)
    assert_same_update(side_by_side("dcgan-mnist", data, tmp_path, "--steps", 3), tmp_path)


def test_anime(tmp_path):
    data = photos(tmp_path / "faces", 16, (96, 96))
    result = side_by_side("anime", data, tmp_path, "--steps", 2, "--batch-size", 4)
    assert_same_update(result, tmp_path)


def test_wgan(tmp_path):
    """One step of five critic and one generator updates of the full-width networks (the
    script fixes ngf 1024): the slowest original here, ~30 s a step on 2 cores."""
    data = photos(tmp_path / "faces", 16, (96, 96))
    result = side_by_side("wgan", data, tmp_path, "--steps", 1, "--batch-size", 4)
    assert_same_update(result, tmp_path)
