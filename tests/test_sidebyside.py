"""Side by side with the tutorial code: each original runs unmodified in its own framework
(`make originals`) beside its port for a few steps, and the harness must find the same update;
then the port is broken by one plausible porting mistake and rerun against the same recorded
original (`--port-only`), and the harness must find a different one. Verdicts are read from
the run's results.json. Skipped, with the reason, where the originals' environments or sources
are missing."""
import json
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

from conftest import write_images, write_mnist_dir
from sidebyside import environments, sources
from sidebyside.harness import main, program_module

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
    """python -m sidebyside PROGRAM in a subprocess; returns its results.json."""
    reason = available(program)
    if reason:
        pytest.skip(reason)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONUNBUFFERED": "1"}
    result = subprocess.run([sys.executable, "-m", "sidebyside", program, "--data", str(data),
                             "--output-dir", str(tmp_path / "out"), *map(str, extra)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    path = tmp_path / "out" / "results.json"
    assert path.exists(), (result.stdout + result.stderr)[-4000:]
    results = json.loads(path.read_text())
    assert result.returncode == (1 if results["diverged"] else 0)
    return results


def same_update(results):
    assert results["verdict"] == "same", results["diverged"]
    assert results["mode"] == "exact" and results["losses"] and results["variables"]
    assert not any(row["diverged"] for row in results["losses"] + results["variables"])
    return results


def port_only(program, data, tmp_path, capsys):
    """The port's side again, in this process (where the test has broken the port), against
    the original's run recorded by side_by_side; returns results.json."""
    with pytest.raises(SystemExit) as exit_info:
        main([program, "--data", str(data), "--output-dir", str(tmp_path / "out"),
              "--port-only"])
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert exit_info.value.code == 1 and results["verdict"] == "diverged"
    assert f"diverged {results['diverged']}" in capsys.readouterr().out
    return results


def step_one(results):
    return [row for row in results["losses"] if row["step"] == 1]


def photos(directory, count, size):
    """`count` random-noise images of `size` (JPEG): the originals only need files to read."""
    return os.path.dirname(write_images(str(directory), count, size=size, ext="jpg")[0])


def batch_norm_without(module, name, **changes):
    """module.name (a BatchNorm factory) with `changes` to the layer it builds."""
    factory = getattr(module, name)
    return lambda **kwargs: factory(**{**kwargs, **changes})


def xy_npz(tmp_path):
    """An .npz of `x` and `y` (what common.mnist.load_mnist accepts besides keras' four
    arrays): the harness hands the runner the digits as the port read them."""
    from common.mnist import load_mnist
    (x, y), (x_test, y_test) = load_mnist(write_mnist_dir(str(tmp_path / "mnist"), 300, 100))
    path = tmp_path / "digits.npz"
    np.savez(path, x=np.concatenate([x, x_test]), y=np.concatenate([y, y_test]))
    return path


def with_webp(folder, size):
    """`folder` with one WebP more, sorted into the first batch: both sides list it (the
    runners take the port's list; the WGAN's Keras 2.1.2 gets it as a PNG)."""
    write_images(folder, 1, size=size, ext="webp", seed=1)
    os.rename(os.path.join(folder, "000.webp"), os.path.join(folder, "000a.webp"))
    return folder


def test_acgan(tmp_path, monkeypatch, capsys):
    """Step 1 equal to rounding, on an .npz of x and y; two porting mistakes are found: Keras
    3's Adam on the class embedding's IndexedSlices gradient (squared row by row: the
    second moment a sum of squares; after step 2 the embedding is ~50% of its change off, so
    2 steps, where the chaos floor of step 3 would let it pass), and Keras 3's moving
    averages (no zero-debiasing, as a port that kept keras.layers.BatchNormalization would
    have)."""
    data = xy_npz(tmp_path)
    results = same_update(side_by_side("acgan", data, tmp_path, "--steps", 2))
    assert len(step_one(results)) == 6
    assert all(row["rel"] < 1e-6 for row in step_one(results)), step_one(results)
    from acgan_mnist import gan, model
    with monkeypatch.context() as patch:
        patch.setattr(gan, "dense_gradients", lambda gradients: gradients)
        # (the layer's name carries Keras' process-wide count: embedding_41 in a long session)
        assert re.fullmatch(r"after step 2: embedding(_\d+)?/embeddings beyond its tolerance",
                            port_only("acgan", data, tmp_path, capsys)["diverged"])
    from common.old_frameworks import LegacyBatchNormalization
    monkeypatch.setattr(model, "keras2_batch_norm", lambda **kwargs: LegacyBatchNormalization(
        variance_correction="keras2", zero_debias=False, **kwargs))
    results = port_only("acgan", data, tmp_path, capsys)
    assert results["diverged"].startswith("at step 2:")  # fakes come from predict()


def test_ogan(tmp_path, monkeypatch, capsys):
    """The same update; with Keras 3's own RMSprop (epsilon inside the square root) in place
    of Keras 2's, the port diverges after step 1."""
    data = photos(tmp_path / "faces", 20, (64, 64))
    # One inter-op thread: the schedule on which TF 1.15, left unordered, assigns the encoder's
    # BatchNorm statistics the real call's average last (the port keeps the last call's; tried
    # without hooks.order_repeated_assignments: "after step 2: legacy_batch_normalization/
    # moving_mean beyond its tolerance", every statistic holding the real call's average).
    monkeypatch.setenv("TF_NUM_INTEROP_THREADS", "1")
    same_update(side_by_side("ogan", data, tmp_path, "--steps", 2))
    with np.load(tmp_path / "out" / "work" / "record.npz") as record:
        landed = [record[f"step_{k}/bn_landed"] for k in (1, 2)]
    assert all(np.all(mask & 4) for mask in landed), landed  # 4: the stop-gradient fake call
    monkeypatch.delenv("TF_NUM_INTEROP_THREADS")
    from common.old_frameworks import Keras2RMSprop
    monkeypatch.setattr(Keras2RMSprop, "update_step", keras.optimizers.RMSprop.update_step)
    assert port_only("ogan", data, tmp_path, capsys)["diverged"].startswith("at step 2:")


def test_dcgan(tmp_path, monkeypatch, capsys):
    """The same update; without carpedm20's re-evaluated losses (printed from the first pass,
    BatchNorm moved three times fewer) the port differs at step 1."""
    data = photos(tmp_path / "photos", 24, (48, 48))
    same_update(side_by_side("dcgan", data, tmp_path, "--steps", 3))
    from dcgan_tf.gan import DCGAN
    init = DCGAN.__init__
    monkeypatch.setattr(DCGAN, "__init__",
                        lambda self, *a, **k: init(self, *a, **{**k, "reevaluate": False}))
    assert port_only("dcgan", data, tmp_path, capsys)["diverged"].startswith("at step 1:")


def test_dcgan_mnist(tmp_path, monkeypatch, capsys):
    """The same update; with Keras 3's population variance in the moving average instead of
    TF1's fused kernel's Bessel-corrected one, the port's statistics differ."""
    data = write_mnist_dir(str(tmp_path / "mnist"), 300, 100)
    same_update(side_by_side("dcgan-mnist", data, tmp_path, "--steps", 3))
    from common.old_frameworks import LegacyBatchNormalization
    from dcgan_tf import model
    monkeypatch.setattr(model, "tf1_fused_batch_norm", lambda **kwargs: LegacyBatchNormalization(
        variance_correction="none", **kwargs))
    assert "moving_variance" in port_only("dcgan-mnist", data, tmp_path, capsys)["diverged"]


def test_anime(tmp_path, monkeypatch, capsys):
    """The same update over 2 steps; with PyTorch's momentum=0.1 copied into Keras (where it
    means keep 10%, not 90%), the port's BatchNorm statistics differ. (Keras 3's Adam, 6.4e-6
    of each step short of PyTorch's, is held to exact arithmetic in tests/test_old_frameworks.py: at
    step 2 the chaos floor covers it, and at step 1 on these images PyTorch's discriminator
    gradients round more than the floor can see: sidebyside/README.md.)"""
    data = with_webp(photos(tmp_path / "faces", 16, (96, 96)), (96, 96))
    same_update(side_by_side("anime", data, tmp_path, "--steps", 2, "--batch-size", 4))
    from dcgan_tf import model
    monkeypatch.setattr(model, "torch_batch_norm",
                        batch_norm_without(model, "torch_batch_norm", momentum=0.1))
    assert "moving" in port_only("anime", data, tmp_path, capsys)["diverged"]


def test_wgan(tmp_path, monkeypatch, capsys):
    """One step of five critic and one generator updates of the full-width networks (the
    script fixes ngf 1024): the slowest original here, ~30 s a step on 2 cores. With Keras 3's
    RMSprop the critic's later steps, and so its step-1 losses, differ."""
    data = with_webp(photos(tmp_path / "faces", 16, (96, 96)), (96, 96))
    results = same_update(side_by_side("wgan", data, tmp_path, "--steps", 1, "--batch-size", 4))
    assert sorted(results["first_evaluation"]) == ["Loss_D_fake, critic call 1",
                                                   "Loss_D_real, critic call 1"]
    assert 1 <= results["rounding_ratio"] <= 30
    from common.old_frameworks import Keras2RMSprop
    monkeypatch.setattr(Keras2RMSprop, "update_step", keras.optimizers.RMSprop.update_step)
    assert port_only("wgan", data, tmp_path, capsys)["diverged"].startswith("at step 1:")


def pairs(directory, count):
    from test_pix2pix import write_pairs
    return write_pairs(str(directory), count)


def test_pix2pix(tmp_path, monkeypatch, capsys):
    """pix2pix.py beside the port for 2 steps: the same update, step 1 to rounding, and the
    port's data path remakes the batches the original's queue gave. With Keras 3's
    BatchNormalization, whose training calls move its moving statistics (pix2pix.py never ran
    the UPDATE_OPS), the port differs; so it does with the generator's gradient taken through
    the discriminator's weights before their update (pix2pix.py's control dependency read the
    updated ones: tests/test_pix2pix.py holds that one at the gradient too)."""
    data = pairs(tmp_path / "pairs", 2)
    results = same_update(side_by_side("pix2pix", data, tmp_path, "--steps", 2))
    assert len(step_one(results)) == 6
    assert all(row["rel"] < 1e-6 for row in step_one(results)), step_one(results)
    from sidebyside.programs import pix2pix as program, records
    workdir = str(tmp_path / "out" / "work")
    with open(os.path.join(workdir, "config.json")) as f:
        config = json.load(f)
    assert config["scale_size"] == 286 and config["flip"]
    record = records(workdir)
    for step, (inputs, targets) in enumerate(program.port_examples(workdir, config), 1):
        np.testing.assert_allclose(inputs, record.get(step, "inputs"), atol=1e-6)
        np.testing.assert_allclose(targets, record.get(step, "targets"), atol=1e-6)
    from pix2pix_tf.gan import Pix2Pix
    fake_pass = Pix2Pix.fake_pass
    with monkeypatch.context() as patch:  # the forward pass's own discriminator, as TF2 would
        patch.setattr(Pix2Pix, "fake_pass", lambda self, pair, recorded=None: (
            recorded if recorded is not None else fake_pass(self, pair)))
        assert re.match(r"(at|after) step 2", port_only("pix2pix", data, tmp_path,
                                                        capsys)["diverged"])
    from pix2pix_tf.model import BatchStatsNormalization
    with monkeypatch.context() as patch:
        patch.setattr(BatchStatsNormalization, "call", keras.layers.BatchNormalization.call)
        assert "moving_" in port_only("pix2pix", data, tmp_path, capsys)["diverged"]
    from sidebyside import harness
    # The floor's runs restart one port; restarts that leave out part of its training state
    # (here Adam's moments, where the last run left them) are found by its last run.
    monkeypatch.setattr(harness, "saved_variables", lambda gan: [
        v for network in gan.checkpoint_state()["networks"].values() for v in network.variables])
    with pytest.raises(RuntimeError, match="did not end where its first run did"):
        main(["pix2pix", "--data", str(data), "--output-dir", str(tmp_path / "out"),
              "--port-only"])


def test_pix2pix_statistical_mode_scores_both_programs(tmp_path):
    """--keep-dropout: dropout on in both, so the steps differ; the running means are compared
    and each program's outputs are scored by PSNR and SSIM on the pairs the original never
    read (6 pairs, 4 steps of 1: 2 held out)."""
    data = pairs(tmp_path / "pairs", 6)
    results = side_by_side("pix2pix", data, tmp_path, "--steps", 4, "--keep-dropout")
    assert results["mode"] == "statistical" and results["verdict"] == "same"
    scores = results["scores"]
    assert scores["metric"] == "PSNR (dB)" and sorted(scores["ssim"]) == ["original", "port"]
    assert all(0 < scores[side] < 60 and -1 <= scores["ssim"][side] <= 1
               for side in ("original", "port")), scores
    assert scores["held_out"] == 2
    assert len(results["losses"]) == 4 * 6 and "float64" not in results["losses"][0]
    for name, means in results["running_means"].items():
        (original, spread), (port, _) = means["original"], means["port"]
        assert abs(original - port) <= max(spread, means["port"][1]), name


def test_pix2pix_statistical_mode_needs_pairs_it_never_trained_on(tmp_path, capsys):
    """Scoring on training pairs would reward memorising: with no --held-out and steps that may
    read every pair, one error line before the original runs."""
    data = pairs(tmp_path / "pairs", 2)
    with pytest.raises(SystemExit) as exit_info:
        main(["pix2pix", "--data", data, "--output-dir", str(tmp_path / "out"), "--steps", "2",
              "--keep-dropout"])
    assert exit_info.value.code == 2
    assert "give --held-out DIR" in capsys.readouterr().err


def test_port_only_needs_a_recorded_run(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["acgan", "--data", str(tmp_path), "--output-dir", str(tmp_path / "out"),
              "--port-only"])
    assert exit_info.value.code == 2
    assert "no complete run of the original" in capsys.readouterr().err


@pytest.mark.parametrize("program, extra", [
    ("acgan", []),  # TF 1.15 + Keras 2.2.4: the example seeds numpy itself
    ("ogan", []),  # TF 1.15 + Keras 2.2.4: the script never seeds
    ("wgan", ["--batch-size", "2"]),  # Keras 2.1.2
    ("anime", ["--batch-size", "4"]),  # PyTorch 1.0.1
])
def test_seed_decides_the_originals_run(tmp_path, program, extra):
    """--seed reaches the original's initializers and draws: two seeds give different initial
    weights and first losses, the same seed twice identical ones (the original alone, one
    step)."""
    from sidebyside.harness import parse_args, run_original, write_config
    reason = available(program)
    if reason:
        pytest.skip(reason)
    if program == "acgan":
        data = write_mnist_dir(str(tmp_path / "mnist"), 300, 100)
    else:
        size = (64, 64) if program == "ogan" else (96, 96)
        data = photos(tmp_path / "faces", 16, size)
    module = program_module(program)
    runs = []
    for seed in (1, 2, 1):
        args = parse_args([program, "--data", data, "--steps", "1", "--seed", str(seed),
                           *extra])
        args.batch_size = args.batch_size or module.BATCH_SIZE
        workdir = tmp_path / f"run{len(runs)}"
        os.makedirs(workdir)
        config = write_config(module, args, str(workdir))
        losses = run_original(module, args, str(workdir))[0]["losses"]
        weights = [np.asarray(v) for _, v in
                   module.compared_variables(module.load("initial", config))]
        runs.append((losses, weights))
    (losses_1, weights_1), (losses_2, weights_2), (again_1, again_weights_1) = runs
    assert losses_1 == again_1
    assert all(np.array_equal(a, b) for a, b in zip(weights_1, again_weights_1))
    assert all(losses_1[name] != losses_2[name] for name in losses_1), (losses_1, losses_2)
    kernels = [(a, b) for a, b in zip(weights_1, weights_2) if a.ndim > 1]
    assert kernels and not any(np.array_equal(a, b) for a, b in kernels)


def finished(run_dir, args, original, port):
    """results.json of a statistical run of `args` scored `original` / `port` (3 steps)."""
    from sidebyside.harness import run_settings
    os.makedirs(run_dir)
    losses = [{"step": step, "loss": "g_loss", "original": original, "port": port}
              for step in (1, 2, 3)]
    with open(os.path.join(run_dir, "results.json"), "w") as f:
        json.dump({"mode": "statistical", "seed": args.seed, "settings": run_settings(args),
                   "scores": {"original": original, "port": port}, "losses": losses,
                   "running_means": {}}, f)


def test_many_runs_go_on_from_the_runs_found_finished(tmp_path, capsys):
    """--runs K after an interruption: each run-k whose results.json holds this command's
    settings (seed --seed + k, steps, data, scores...) is reused, so a command whose runs are
    all finished runs no original (the data is not even there) and only gives the verdict;
    one made with other settings is not reused."""
    from sidebyside.harness import finished_run, parse_args, run_settings
    argv = ["acgan", "--data", str(tmp_path / "gone"), "--keep-dropout", "--steps", "3",
            "--runs", "3", "--margin", "1", "--output-dir", str(tmp_path / "out")]
    args = parse_args(argv)
    args.batch_size = program_module("acgan").BATCH_SIZE  # as main() sets it
    for k, (original, port) in enumerate([(40.0, 40.1), (42.0, 42.05), (41.0, 40.95)]):
        args.seed = k
        finished(str(tmp_path / "out" / f"run-{k}"), args, original, port)
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert exit_info.value.code == results["exit_status"] == 0
    assert results["verdict"] == "equivalent" and results["seeds"] == [0, 1, 2]
    assert capsys.readouterr().out.count("finished before with the same settings") == 3
    args.seed = 0
    assert finished_run(str(tmp_path / "out" / "run-0"), run_settings(args))
    args.steps = 4
    assert finished_run(str(tmp_path / "out" / "run-0"), run_settings(args)) is None
    assert finished_run(str(tmp_path / "nowhere"), run_settings(args)) is None


def test_many_runs_compare_outcomes_with_an_equivalence_test(tmp_path):
    """--runs 2 in statistical mode: two seeds, each a fresh original (different initial
    weights) and the port from its weights; the scores over the runs, the paired differences'
    interval and the TOST verdict in results.json, whose exit status the command returns; the
    loss curves of both programs in runs.png."""
    reason = available("pix2pix")
    if reason:
        pytest.skip(reason)
    data = pairs(tmp_path / "pairs", 4)
    held_out = pairs(tmp_path / "held_out", 2)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONUNBUFFERED": "1"}
    result = subprocess.run([sys.executable, "-m", "sidebyside", "pix2pix", "--data", str(data),
                             "--held-out", str(held_out),
                             "--output-dir", str(tmp_path / "out"), "--keep-dropout",
                             "--steps", "4", "--runs", "2", "--seed", "5"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert result.returncode == results["exit_status"], result.stderr[-3000:]
    assert results["mode"] == "runs" and results["seeds"] == [5, 6]
    assert results["verdict"] in ("equivalent", "different", "undecided")
    assert results["metric"] == "PSNR (dB)" and set(results["reported"]) == {"ssim"}
    scores = [run["scores"] for run in results["runs"]]
    assert len({run["original"] for run in scores}) == 2  # two different original runs
    low, high = results["difference"]["ci90"]
    assert low <= results["difference"]["mean"] <= high
    assert (tmp_path / "out" / "runs.png").stat().st_size > 1000
    for k in range(2):
        assert json.loads((tmp_path / "out" / f"run-{k}" / "results.json").read_text())[
            "seed"] == 5 + k
    # after a change to the port: every run's port again against the original it recorded
    again = subprocess.run([sys.executable, "-m", "sidebyside", "pix2pix", "--data", str(data),
                            "--held-out", str(held_out), "--output-dir", str(tmp_path / "out"),
                            "--keep-dropout", "--steps", "4", "--runs", "2", "--seed", "5",
                            "--port-only"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert again.stdout.count("original: the run recorded in") == 2, again.stderr[-3000:]
    rerun = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [run["scores"]["original"] for run in rerun["runs"]] == [
        run["original"] for run in scores]  # the same recorded originals, scored again


def test_carpedm20s_sample_grid_needs_a_batch_it_can_lay_out(tmp_path, capsys):
    """At step 100 carpedm20 saves a [Sample] grid whose layout asserts floor(sqrt(B)) x
    ceil(sqrt(B)) == B: a batch of 8 for 150 steps is one error line before the original runs,
    not its AssertionError 100 steps in."""
    data = write_mnist_dir(str(tmp_path / "mnist"), 60, 20)
    with pytest.raises(SystemExit) as exit_info:
        main(["dcgan-mnist", "--data", data, "--steps", "150", "--batch-size", "8",
              "--output-dir", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: carpedm20 saves its [Sample] grid at step 100")
    assert not (tmp_path / "out" / "work" / "steps.json").exists()


@pytest.mark.parametrize("program, sizes", [
    ("ogan", {"img_dim": 128, "z_dim": 128}),  # o_gan_celeba_sm_4x4.py's constants
    ("dcgan", {"size": 64}),  # the celebA run's --output_height
    ("pix2pix", {"ngf": 64, "ndf": 64}),  # pix2pix.py's defaults
])
def test_time_original_runs_the_tutorials_sizes(tmp_path, program, sizes):
    """--time-original (bench.originals) hands the runner the tutorial's sizes where the
    comparison pins small ones, with dropout on and no ordering hook; without it the pinned
    ones stay."""
    from sidebyside.harness import parse_args
    data = pairs(tmp_path / "pairs", 2) if program == "pix2pix" else \
        photos(tmp_path / "faces", 4, (64, 64))
    module = program_module(program)
    timed, pinned = (parse_args([program, "--data", data, "--batch-size", "1", *extra])
                     for extra in (["--time-original"], []))
    assert timed.keep_dropout and timed.as_released and not pinned.keep_dropout
    config = module.runner_config(timed, str(tmp_path))
    assert {k: config[k] for k in sizes} == sizes
    pinned = module.runner_config(pinned, str(tmp_path))
    assert all(pinned[k] < v for k, v in sizes.items())
    if program == "ogan":
        assert module.latents(timed, 2, np.random.default_rng(0)).shape == (2, 128)


def test_time_original_times_the_original_alone(tmp_path):
    """--time-original runs the original alone with its framework's threads (no
    OMP_NUM_THREADS=1) and writes its step times, nothing of the port."""
    reason = available("dcgan-mnist")
    if reason:
        pytest.skip(reason)
    from sidebyside.harness import original_environment
    assert original_environment()["OMP_NUM_THREADS"] == "1"
    assert original_environment(own_threads=True).get("OMP_NUM_THREADS") == \
        os.environ.get("OMP_NUM_THREADS")
    data = write_mnist_dir(str(tmp_path / "mnist"), 300, 100)
    results = side_by_side("dcgan-mnist", data, tmp_path, "--steps", 3, "--time-original")
    assert results["mode"] == "time-original" and len(results["seconds"]["steps"]) == 3
    assert results["seconds"]["original"] == float(np.median(results["seconds"]["steps"][1:]))
    assert not os.path.exists(tmp_path / "out" / "work" / "port")
