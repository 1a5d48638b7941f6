import dataclasses
import json
import pickle
import random
import typing

import keras
import numpy as np
import pytest

from common import cli, latents, rundir
from common.checkpoint import Checkpoint, has_checkpoint
from common.errors import UserError
from common.options import options_class


def demo_parser():
    parser = cli.add_common_flags(cli.parser("demo", "demo"), "demo")
    parser.add_argument("--z_dim", type=cli.positive_int, default=100)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--z_dist", type=latents.distribution_flag, default=None)
    return parser


DemoOptions = options_class("DemoOptions", demo_parser(), __name__,
                            derived=[("c_dim", typing.Optional[int], None)])


def make_args(tmp_path, argv=()):
    return DemoOptions.parse(["--output-dir", str(tmp_path), *argv])


def fake_checkpoint(tmp_path):
    """A real checkpoint (step 1) of a one-layer network in tmp_path/checkpoints."""
    network = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    checkpoint = Checkpoint(str(tmp_path / "checkpoints"), {"net": network}, {})
    checkpoint.step = checkpoint.epoch = 1
    checkpoint.save()


def test_shared_flags_and_defaults(tmp_path):
    args = make_args(tmp_path)
    assert (args.seed, args.fresh, args.jit_compile, args.mixed_precision, args.strategy) == \
        (0, False, False, False, "default")
    help_text = cli.add_common_flags(cli.parser("demo", "d"), "demo").format_help()
    assert "runs/demo" in help_text and "--strategy" in help_text


def test_options_json_and_refusal_on_network_change(tmp_path):
    rundir.prepare_output_dir(make_args(tmp_path), ["z_dim"])
    saved = json.loads((tmp_path / "options.json").read_text())
    assert saved["z_dim"] == 100 and saved["program"] == "demo"
    assert saved["options_format"] == rundir.OPTIONS_FORMAT
    fake_checkpoint(tmp_path)
    rundir.prepare_output_dir(make_args(tmp_path, ["--epochs", "9"]), ["z_dim"])
    with pytest.raises(UserError, match="z_dim: saved 100, now 64"):
        rundir.prepare_output_dir(make_args(tmp_path, ["--z_dim", "64"]), ["z_dim"])


def test_a_workers_run_gets_its_own_folder_and_the_command_lines_options_stay(tmp_path,
                                                                                 monkeypatch):
    """Under --strategy multiworker a worker other than the chief writes into
    OUTPUT_DIR/worker-1: prepare_output_dir returns the run's options with that folder (and
    options.json there says so); the options it was given are left as parsed."""
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:2"]},
                                                "task": {"type": "worker", "index": 1}}))
    args = make_args(tmp_path, ["--strategy", "multiworker"])
    run = rundir.prepare_output_dir(args, ["z_dim"])
    assert args.output_dir == str(tmp_path) and run.output_dir == str(tmp_path / "worker-1")
    saved = json.loads((tmp_path / "worker-1" / "options.json").read_text())
    assert saved["output_dir"] == run.output_dir and not (tmp_path / "options.json").exists()


def test_fresh_removes_previous_run(tmp_path):
    rundir.prepare_output_dir(make_args(tmp_path), ["z_dim"])
    fake_checkpoint(tmp_path)
    (tmp_path / "history.csv").write_text("epoch\n1\n")
    rundir.prepare_output_dir(make_args(tmp_path, ["--z_dim", "64", "--fresh"]), ["z_dim"])
    assert not has_checkpoint(str(tmp_path / "checkpoints"))
    assert not (tmp_path / "history.csv").exists()


def test_exits_cleanly_on_user_error(capsys):
    @cli.exits_cleanly
    def main(argv=None):
        raise UserError("data directory x does not exist")

    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: data directory x does not exist"


def test_setup_and_startup_line(tmp_path):
    args = make_args(tmp_path)
    strategy = cli.setup(args)
    line = cli.startup_line(args, strategy, 123)
    assert line.startswith("device: ") and "precision: float32" in line
    assert "XLA: off" in line and "strategy: default" in line and "123 images" in line
    assert strategy.num_replicas_in_sync == 1
    # --seed seeds NumPy, Python and Keras: the same draws after every setup
    draws = [np.random.rand(), random.random(), float(keras.random.uniform(()))]
    cli.setup(args)
    assert [np.random.rand(), random.random(), float(keras.random.uniform(()))] == draws


@pytest.mark.parametrize("module", ["acgan_mnist.generate", "dcgan_tf.generate",
                                    "ogan_keras.generate", "pix2pix_tf.evaluate"])
def test_a_run_of_another_program_is_one_error_line(tmp_path, capsys, module):
    """Every program loads a trained run through its program.load_run, which reads the program
    the run names before building anything: a run of another program is refused by name."""
    import importlib
    from common import rundir
    other = "acgan_mnist" if not module.startswith("acgan") else "ogan_keras"
    rundir.write_options(str(tmp_path), {"program": other, "output_dir": str(tmp_path)})
    out = [] if module.endswith("evaluate") else ["--output-dir", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as exit_info:
        importlib.import_module(module).main(["--checkpoint", str(tmp_path), *out])
    assert exit_info.value.code != 0
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == f"error: --checkpoint {tmp_path} is a run of {other}, not of " \
                   f"{module.split('.')[0]}", last


def test_options_are_typed_frozen_and_copied_on_change(tmp_path):
    """A program's options are a frozen dataclass whose fields carry the types their flags
    parse to; a step that derives more gets a copy (cli.replaced), and a change that names no
    option is an error, not a new attribute."""
    args = make_args(tmp_path, ["--z_dist", "normal01"])
    types = {field.name: field.type for field in dataclasses.fields(args)}
    assert (types["z_dim"], types["epochs"], types["fresh"]) == (int, int, bool)
    assert types["strategy"] == typing.Literal["default", "mirrored", "multiworker"]
    assert types["z_dist"] == typing.Optional[typing.Literal[latents.DISTRIBUTIONS]]
    assert args.z_dist == "normal"  # carpedm20's name read as the one name of N(0, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        args.c_dim = 3
    copy = cli.replaced(args, c_dim=3)
    assert (copy.c_dim, args.c_dim, copy.z_dim) == (3, None, 100)
    with pytest.raises(TypeError):
        cli.replaced(args, c_dimm=3)
    assert pickle.loads(pickle.dumps(copy)) == copy  # importable by name: it pickles
    with pytest.raises(UserError, match="--z_dist: must be one of normal, .*got 'gauss'"):
        make_args(tmp_path, ["--z_dist", "gauss"])  # validated by the flag's type


@pytest.mark.parametrize("program", ["acgan_mnist", "dcgan_tf", "ogan_keras", "pix2pix_tf"])
def test_a_saved_run_comes_back_as_its_programs_options(tmp_path, program):
    """options.json written by prepare_output_dir reads back (find_run with the program's
    defaults) as the same options of the same class; a key the class does not have (an older
    file's) is left out, one it lacks takes the default."""
    import importlib
    program_module = importlib.import_module(f"{program}.program")
    argv = ["--mode", "train"] if program == "pix2pix_tf" else []
    args = program_module.parse_options([*argv, "--output-dir", str(tmp_path), "--seed", "7"])
    args = rundir.prepare_output_dir(args, program_module.NETWORK_OPTIONS)
    fake_checkpoint(tmp_path)
    defaults = program_module.parse_options(argv)
    run = rundir.find_run(str(tmp_path), program, defaults)
    assert type(run.options) is program_module.Options and run.options == args
    saved = json.loads((tmp_path / "options.json").read_text())
    saved.pop("seed")
    saved["a_flag_from_before"] = 1
    (tmp_path / "options.json").write_text(json.dumps(saved))
    run = rundir.find_run(str(tmp_path), program, defaults)
    assert run.options == cli.replaced(args, seed=defaults.seed)
