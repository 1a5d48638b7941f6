"""Every shared performance flag works in every program: one short CPU run per flag per
program (--jit-compile, --mixed-precision, --steps-per-execution)."""
import importlib
import os

import keras
import numpy as np
import pytest
from PIL import Image

from conftest import saved_counters, write_images, write_mnist_dir

TINY_DCGAN = ["--batch_size", "2", "--gf_dim", "2", "--df_dim", "4", "--gfc_dim", "8",
              "--dfc_dim", "8", "--z_dim", "4", "--sample_freq", "2", "--ckpt_freq", "2"]


def program_argv(program, data, out):
    """(module, argv) of a 2-step run of `program` on the test's small data."""
    if program == "acgan":
        return "acgan_mnist", ["--data-dir", str(data / "mnist"), "--epochs", "1",
                               "--batch-size", "10", "--steps-per-epoch", "2",
                               "--output-dir", out]
    if program == "ogan":
        return "ogan_keras", ["--data", str(data / "faces"), "--img_dim", "32", "--z_dim", "8",
                              "--batch_size", "2", "--epochs", "1", "--steps_per_epoch", "2",
                              "--sample_every", "2", "--output-dir", out]
    if program == "dcgan":
        return "dcgan_tf", ["--train", "--dataset", "mnist", "--data_dir", str(data),
                            "--epoch", "1", "--train_size", "4", "--output-dir", out,
                            *TINY_DCGAN]
    if program == "wgan":
        return "dcgan_tf", ["--train", "--arch", "wgan", "--dataset", "faces96", "--data_dir",
                            str(data), "--epoch", "1", "--n_critic", "1", "--batch_size", "2",
                            "--gf_dim", "2", "--df_dim", "2", "--z_dim", "4", "--train_size",
                            "4", "--sample_freq", "2", "--output-dir", out]
    return "pix2pix_tf", ["--mode", "train", "--input_dir", str(data / "pairs"), "--output_dir",
                          out, "--ngf", "4", "--ndf", "4", "--max_steps", "2",
                          "--progress_freq", "2", "--summary_freq", "0"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    write_mnist_dir(str(root / "mnist"), 40, 10)
    write_images(str(root / "faces"), 6, size=(40, 40), ext="jpg")
    write_images(str(root / "faces96" / "all"), 8, size=(96, 96), ext="jpg")
    os.makedirs(root / "pairs")
    for i in range(2):
        Image.fromarray(np.random.default_rng(i).integers(0, 256, (256, 512, 3), np.uint8)).save(
            root / "pairs" / f"{i}.png")
    return root


@pytest.fixture(autouse=True)
def float32_afterwards():
    yield
    keras.mixed_precision.set_global_policy("float32")


FLAGS = {"jit": (["--jit-compile"], "XLA: on"),
         "mixed": (["--mixed-precision"], "precision: mixed_"),
         "spe": (["--steps-per-execution", "2"], "steps/execution: 2")}


@pytest.mark.parametrize("flag", FLAGS)
@pytest.mark.parametrize("program", ["acgan", "ogan", "dcgan", "wgan", "pix2pix"])
def test_flag_in_program(program, flag, data, tmp_path, capsys):
    module, argv = program_argv(program, data, str(tmp_path / "run"))
    extra, startup = FLAGS[flag]
    model = importlib.import_module(f"{module}.train").main([*argv, *extra])
    assert startup in capsys.readouterr().out
    # the flag took effect on the model that trained, not only in the start-up line
    assert model.jit_compile is (flag == "jit")
    assert model.steps_per_execution == (2 if flag == "spe" else 1)
    dtypes = {layer.compute_dtype for layer in model.generator._flatten_layers()}
    if flag == "mixed":
        assert dtypes & {"float16", "bfloat16"}, dtypes
        assert model.generator.outputs[0].dtype == "float32"  # last layers stay float32
    else:
        assert dtypes == {"float32"}, dtypes
    # every step ran and was counted, also when Keras reports only every second one (with
    # --steps-per-execution 2 the two steps are one execution: counting those would give 1)
    assert saved_counters(tmp_path / "run" / "checkpoints")[0] == 2
