"""The side-by-side run: the original in its own environment (a subprocess running its runner),
then the port from the same initial weights on the same batches, then the comparison: the
command, the runs, the tolerances and the verdicts. sidebyside.report prints and writes what
they found (tables, results.json, pictures, the statistics over --runs).

Each program is a module of sidebyside.programs (what the port does) and a runner script of
sidebyside/runners (what the hooks do inside the original's process); see
sidebyside/programs/__init__.py for the contract between them.
"""
import importlib
import json
import os
import shutil
import subprocess
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from common import cli, features
from common.checkpoint import saved_variables
from common.errors import UserError
from common.images import to_signed, to_uint8
from common.metrics import FeatureStatistics, fid
from sidebyside import environments, report, sources
from sidebyside.programs import stepped_eagerly

PROGRAMS = ("acgan", "ogan", "dcgan", "dcgan-mnist", "anime", "wgan", "pix2pix")
RUNNERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runners")
LOSS_RTOL, LOSS_ATOL = 1e-4, 1e-6
VARIABLE_TOL = 1e-4  # of each variable's scale (its largest |value| in the original)
UPDATE_TOL = 1e-3  # of the L2 of the original's change since step 0: the same update to 0.1%
# (These fixed tolerances let the anime DCGAN's Keras 3 Adam, 6.4e-6 of each step short of
# PyTorch's, pass; without them PyTorch's own rounding on noise images fails it at step 2:
# sidebyside/README.md. tests/test_old_frameworks.py holds that Adam to exact arithmetic instead.)
# The float32 floor: the port run again from weights moved by one rounding step (FLOOR_RUNS
# times; a program may ask for more), from inputs so moved, and on its batches in reverse
# order. Adam's and
# RMSprop's first steps are about lr * sign(g), so gradients at rounding level, which no two
# float32 programs sum alike, and ReLUs within one rounding step of zero make trajectories part
# by ~3-10x a step; a difference within FLOOR_FACTOR x what rounding alone does to the port
# itself is the same update (see README: Side by side with the original).
FLOOR_RUNS, FLOOR_FACTOR = 2, 10.0
# The float64 reference: the port's steps rerun in float64 from the same weights, batches and
# draws, i.e. the port's computation in (nearly) exact arithmetic. If the original computes
# the same thing, its distance from that reference is float32 rounding, of the size the port's
# own float32 runs show (the port and the floor's runs: every float32 kernel set and summation
# order the harness can try): a value also passes when the original's distance from float64 is
# within F64_FACTOR x the largest of the port runs' distances, plus F64_ATOL (eight float32
# rounding steps, relative). The reference is the port's, so it cannot excuse a port that
# computes something else: then the original is far from it and the port runs are not.
F64_FACTOR, F64_ATOL = 3.0, 2.0 ** -20
# Two float32 kernel sets need not round alike: where the original's own kernels measurably
# carry more rounding than the port's, at the step's first evaluation (before any update, where
# the two programs must agree within LOSS_RTOL), the floor adds runs from weights moved by that
# many rounding steps, at most RATIO_CAP (the WGAN's generator-then-critic pass on TF 1.15,
# AVX-512: 12): after sign-like optimizer steps, the trajectories rounding of that size gives.
RATIO_CAP = 30.0
SAMPLES = 64


def parse_args(argv):
    parser = cli.tool_parser("python -m sidebyside", __doc__)
    parser.add_argument("program", choices=PROGRAMS)
    parser.add_argument("--data", required=True,
                        help="acgan, dcgan-mnist: an MNIST-format .npz or IDX folder; ogan, "
                             "dcgan, anime, wgan: an image folder; pix2pix: a folder of A|B "
                             "pairs")
    parser.add_argument("--original", default=None,
                        help="the original's file (or folder); default: ../shared/originals-src, "
                             "else GitHub at the pinned commit")
    parser.add_argument("--steps", type=cli.positive_int, default=10)
    parser.add_argument("--batch-size", type=cli.positive_int, default=None,
                        help="default: a small batch of the program's (the originals' own "
                             "framework is slow on the CPU)")
    parser.add_argument("--keep-dropout", action="store_true",
                        help="keep dropout on in both (statistical mode: compare running means "
                             "and quality scores over a few hundred steps)")
    group = parser.add_argument_group("statistical mode's quality score")
    group.add_argument("--features", choices=features.EXTRACTORS, default=None,
                       help="feature extractor of the FIDs (default: classifier when "
                            "--classifier is given, else thumbnail)")
    group.add_argument("--classifier", default=None,
                       help="a .keras file from python -m common.classifier (MNIST programs)")
    group.add_argument("--inception-weights", default=None)
    group.add_argument("--num-samples", type=cli.positive_int, default=1000,
                       help="samples of each program scored")
    group.add_argument("--held-out", default=None,
                       help="pix2pix: a folder of A|B pairs neither program trained on, scored "
                            "by PSNR and SSIM (default: the pairs of --data the original "
                            "never read)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=cli.positive_int, default=1,
                        help="statistical mode: this many runs (seeds --seed, --seed + 1, ...), "
                             "then each program's scores over them and an equivalence test; a "
                             "run found finished in OUTPUT_DIR/run-k with the same settings "
                             "is reused")
    parser.add_argument("--margin", type=cli.positive_float, default=None,
                        help="--runs: the equivalence margin of the score (default: the "
                             "original's own run-to-run standard deviation)")
    parser.add_argument("--output-dir", default=None, help="default: runs/sidebyside/PROGRAM")
    parser.add_argument("--port-only", action="store_true",
                        help="rerun only the port's side against the original's run recorded "
                             "in OUTPUT_DIR/work by an earlier run (after changing the port; "
                             "with --runs, in each OUTPUT_DIR/run-k/work)")
    parser.add_argument("--as-released", action="store_true",
                        help="run the original without the hook that orders its updates after "
                             "its gradients (Keras 2 on TensorFlow 1 races; see README)")
    parser.add_argument("--time-original", action="store_true",
                        help="run the original alone, as its script trains: the tutorial's "
                             "sizes (where the comparison pins small ones), dropout on, its "
                             "framework's default threads, no ordering hook; print its step "
                             "times and stop (bench.originals)")
    args = parser.parse_args(argv)
    if args.time_original:
        if args.port_only or args.runs > 1:
            parser.error("--time-original runs the original alone, once")
        args.keep_dropout = args.as_released = True
    # the options resolved here, once: nothing after parse_args rewrites them
    args.batch_size = args.batch_size or program_module(args.program).BATCH_SIZE
    return args


def program_module(name):
    return importlib.import_module(f"sidebyside.programs.{name.replace('-', '_')}")


# ---- the original ----

def run_original(program, args, workdir):
    """Copy the original's files into workdir/original and run its runner there under the
    original's python; returns what the runner recorded (steps.json)."""
    python = environments.environment_python(program.ENVIRONMENT)
    if python is None:
        raise UserError(f"the {program.ENVIRONMENT} environment is not built; run make originals "
                        "(see README: Side by side with the original)")
    source = sources.SOURCES[program.SOURCE]
    where = sources.fetch_source(source, args.original, os.path.join(workdir, "original"))
    config = os.path.join(workdir, "config.json")
    print(f"original: {where}, in {program.ENVIRONMENT} ({python})", flush=True)
    env = original_environment(own_threads=args.time_original)
    started = time.time()
    result = subprocess.run([python, os.path.join(RUNNERS, program.RUNNER), config],
                            cwd=os.path.join(workdir, "original"), env=env,
                            capture_output=True, text=True)
    with open(os.path.join(workdir, "original.log"), "w") as f:
        f.write(result.stdout + result.stderr)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        print(tail, file=sys.stderr)
        raise UserError(f"the original stopped with status {result.returncode} (its output: "
                        f"{os.path.join(workdir, 'original.log')})")
    print(f"original: {args.steps} steps in {time.time() - started:.0f} s (with start-up)")
    with open(os.path.join(workdir, "steps.json")) as f:
        return json.load(f)


def recorded_original(args, workdir):
    """--port-only: (options, config, steps) of the original's run recorded in `workdir`:
    the options a copy of the command line's with the run's own steps, batch size, dropout
    and seed."""
    try:
        with open(os.path.join(workdir, "config.json")) as f:
            config = json.load(f)
        with open(os.path.join(workdir, "steps.json")) as f:
            steps = json.load(f)
    except (OSError, ValueError) as error:
        raise UserError(f"--port-only: no complete run of the original in {workdir} "
                        f"({error}); run once without --port-only") from None
    if config["program"] != args.program:
        raise UserError(f"--port-only: {workdir} holds a run of {config['program']}, not "
                        f"{args.program}")
    recorded = cli.replaced(args, steps=config["steps"], batch_size=config["batch_size"],
                            keep_dropout=config["keep_dropout"], seed=config["seed"])
    print(f"original: the run recorded in {workdir} ({recorded.steps} steps)")
    return recorded, config, steps


def original_environment(own_threads=False):
    """The environment the original runs in: this process's, less what TensorFlow 2 set in it
    on import (TF2_BEHAVIOR=1 would switch TF 1.15 to eager execution), CPU only, one thread
    per op so that its sums run in one order (`own_threads`: its framework's default)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF2_BEHAVIOR", "TPU_ML_PLATFORM", "TPU_ML_PLATFORM_VERSION",
                        "ENABLE_RUNTIME_UPTIME_TELEMETRY", "HDF5_PLUGIN_PATH")}
    return {**env, "PYTHONPATH": RUNNERS, "CUDA_VISIBLE_DEVICES": "",
            "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0",
            **({} if own_threads else {"OMP_NUM_THREADS": "1"})}


def write_config(program, args, workdir):
    """config.json for the runner; latents.npy for the samples both sides draw."""
    rng = np.random.default_rng(args.seed)
    np.save(os.path.join(workdir, "latents.npy"), program.latents(args, SAMPLES, rng))
    config = {"program": args.program, "workdir": os.path.abspath(workdir),
              "data": os.path.abspath(args.data), "steps": args.steps,
              "batch_size": args.batch_size, "keep_dropout": args.keep_dropout,
              "as_released": args.as_released,
              "seed": args.seed, "latents": os.path.abspath(os.path.join(workdir,
                                                                        "latents.npy"))}
    config.update(program.runner_config(args, workdir))
    with open(os.path.join(workdir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    return config


# ---- the port ----

class Port:
    """The port loaded once from the original's initial weights (in float64 with `float64`:
    built under Keras' float64 dtype policy, every float input cast: the float64 reference),
    then run() on the recorded batches as often as asked, each run from that start: every
    variable a checkpoint of the port holds (common.checkpoint.saved_variables) is put back to
    its value before the first run. So the floor's runs are runs of a freshly loaded port
    without building and tracing its step again (3-5 s of each 3.5-6 s run at the tests'
    sizes); exact_comparison's last run checks, every time, that they are. (Only a
    `restartable` port copies its start: pix2pix's is 0.7 GB at the tutorial's size.)"""

    def __init__(self, program, workdir, config, float64=False, restartable=False):
        self.program, self.workdir, self.config, self.float64 = program, workdir, config, float64
        policy = keras.config.dtype_policy()
        keras.config.set_dtype_policy("float64" if float64 else policy)
        try:
            self.model = program.load("initial", config)
        finally:
            keras.config.set_dtype_policy(policy)
        if float64:  # run once: eagerly, where a trace costs more
            stepped_eagerly(self.model)
        self.state = saved_variables(self.model) if restartable else None
        self.start = [np.array(variable) for variable in self.state or []]
        self.started = False

    def run(self, perturbation=None, reverse=False, input_perturbation=None, steps=1.0):
        """([{loss: value}] per step, seconds per step). The float32 floor's runs: with a
        `perturbation` seed every weight first moves by about `steps` rounding steps (a relative
        steps x 2^-23, random sign); with an `input_perturbation` seed every float input of
        every batch does; with `reverse` every batch's samples come in reverse order (the same
        update in exact arithmetic: losses are means and BatchNorm statistics symmetric, but
        the float32 sums run in another order)."""
        if self.started:
            self.restart()
        self.started = True
        model = self.model
        if perturbation is not None:
            rng = np.random.default_rng(perturbation)
            for _, variable in self.program.compared_variables(model):
                value = np.asarray(variable)
                if value.dtype.kind == "f":
                    signs = rng.choice([-1.0, 1.0], value.shape)
                    variable.assign((value * (1 + signs * steps * 2.0 ** -23)).astype(value.dtype))
        rows, seconds = [], []
        rng = np.random.default_rng(input_perturbation)
        for batch in self.program.batches(self.workdir, self.config):
            if reverse:
                batch = reversed_samples(batch)
            if input_perturbation is not None:
                batch = rounded_differently(batch, rng)
            if self.float64:
                batch = cast_floats(batch, np.float64)
            for tracker in model.metrics:  # each step's own losses, as the originals printed
                tracker.reset_state()
            started = time.time()
            rows.append(self.program.step(model, batch))
            seconds.append(time.time() - started)
        return rows, seconds

    def restart(self):
        """Every variable of the port's training state back to its value at the start."""
        if self.state is None:
            raise RuntimeError("this port was not made restartable")
        if [id(v) for v in saved_variables(self.model)] != [id(v) for v in self.state]:
            raise RuntimeError(f"{self.program.__name__}: the port's training state gained or "
                               "lost variables in a run; its runs cannot restart from the start")
        for variable, value in zip(self.state, self.start):
            variable.assign(value)

    def values(self):
        """The compared variables' current values: [(name, array)]."""
        return compared_values(self.program, self.model)

    def initial_values(self):
        """The compared variables' values at the start (the initial weights program.load
        read), from the restartable port's copy: [(name, array)]."""
        start = {id(variable): value for variable, value in zip(self.state, self.start)}
        return [(name, start[id(variable)])
                for name, variable in self.program.compared_variables(self.model)]


def compared_values(program, model):
    """[(name, array)] of program.compared_variables(model), copied."""
    return [(name, np.array(variable)) for name, variable in program.compared_variables(model)]


def same_run(rows, values, other_rows, other_values):
    """Whether two runs gave the same losses and variables, bit for bit (NaN equal to NaN)."""
    return len(rows) == len(other_rows) and all(
        row.keys() == other.keys() and all(np.array_equal(row[k], other[k], equal_nan=True)
                                           for k in row)
        for row, other in zip(rows, other_rows)) and all(
        a == c and np.array_equal(b, d, equal_nan=True)
        for (a, b), (c, d) in zip(values, other_values))


def map_arrays(batch, function, floats_only=True):
    """`batch` (arrays or tensors, in tuples, lists or dicts) with `function` applied to every
    array (every float array with `floats_only`; never to None or scalars); numpy arrays stay
    numpy, tensors tensors."""
    if isinstance(batch, dict):
        return {key: map_arrays(value, function, floats_only) for key, value in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(map_arrays(value, function, floats_only) for value in batch)
    if batch is None or np.ndim(batch) == 0 or (
            floats_only and np.asarray(batch).dtype.kind != "f"):
        return batch
    value = function(np.asarray(batch))
    return value if isinstance(batch, np.ndarray) else tf.convert_to_tensor(value)


def reversed_samples(batch):
    """`batch` with every array's first axis, the samples, reversed."""
    return map_arrays(batch, lambda a: np.flip(a, axis=0).copy(), floats_only=False)


def rounded_differently(batch, rng):
    """`batch` with every float array moved by about one rounding step (relative 2^-23)."""
    return map_arrays(batch, lambda a: (a * (1 + rng.choice([-1.0, 1.0], a.shape) * 2.0 ** -23))
                      .astype(a.dtype))


def cast_floats(batch, dtype):
    """`batch` with every float array cast to `dtype`."""
    return map_arrays(batch, lambda a: a.astype(dtype))


def floor_runs(port, ratio=1.0):
    """The float32 floor's runs of `port`, [(compared values after the last step, rows)]:
    FLOOR_RUNS weight perturbations (more where the program says so), one of the inputs (what
    tells rounding apart at batch 1, where reversing the samples changes nothing) and one run
    on reversed batches; where the original's kernels measurably round `ratio` times more than
    the port's (rounding_ratio), FLOOR_RUNS more whose weights move by `ratio` rounding steps:
    the trajectories the original's rounding can give."""
    perturbations = getattr(port.program, "FLOOR_RUNS", FLOOR_RUNS)
    runs = [dict(perturbation=100 + seed, steps=ratio) for seed in range(perturbations)] \
        if ratio > 1 else []
    runs = [dict(perturbation=seed) for seed in range(perturbations)] + runs + [
        dict(input_perturbation=0), dict(reverse=True)]
    results = []
    for run in runs:
        rows, _ = port.run(**run)
        results.append((port.values(), rows))
    return results


def relative(a, b):
    return abs(a - b) / max(abs(b), 1e-12)


def float32_floors(port_rows, floor_runs):
    """[{loss: largest relative difference between the port and its perturbed runs}] per
    step: how far float32 rounding alone carries the same program by that step."""
    return [{name: max(relative(run[k][name], value) for run in floor_runs)
             for name, value in row.items()} for k, row in enumerate(port_rows)]


def first_evaluation(program, workdir, config, original_steps, runs_rows, reference_rows):
    """{name: (original, port, float64, the port runs' largest distance from float64)} of the
    first evaluation of the losses before any update: step 1's losses where the original
    printed them before any update (the program's PRE_UPDATE_LOSSES), else the program's own
    first_evaluation hook (the WGAN's first critic call), else None."""
    if getattr(program, "PRE_UPDATE_LOSSES", ()):
        return {name: (original_steps[0]["losses"][name], runs_rows[0][0][name],
                       reference_rows[0][name],
                       max(abs(rows[0][name] - reference_rows[0][name]) for rows in runs_rows))
                for name in program.PRE_UPDATE_LOSSES}
    if not hasattr(program, "first_evaluation"):
        return None
    port = program.first_evaluation(workdir, config, program.load("initial", config))
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float64")
    try:
        exact = program.first_evaluation(workdir, config, program.load("initial", config))
    finally:
        keras.config.set_dtype_policy(policy)
    return {name: (value, port[name], exact[name], abs(port[name] - exact[name]))
            for name, value in program.original_first_evaluation(workdir, config).items()}


def first_disagreement(evaluation):
    """What differs at the first evaluation, before any update, by more than LOSS_RTOL (and
    LOSS_ATOL): there the two programs compute from the same weights and inputs, so only a
    different computation can (None when all agree, or there is no such evaluation)."""
    for name, (original, port, _, _) in (evaluation or {}).items():
        if relative(port, original) > LOSS_RTOL and abs(port - original) > LOSS_ATOL:
            return (f"at the first evaluation, before any update: {name} (relative difference "
                    f"{relative(port, original):.2e})")
    return None


def rounding_ratio(evaluation):
    """How many times the port's float32 rounding the original's is at the first evaluation
    (1 to RATIO_CAP; 1 when there is none or the two programs differ there by more than
    LOSS_RTOL, where rounding cannot be told from a different computation)."""
    if not evaluation:
        return 1.0
    ratios = []
    for original, port, exact, error in evaluation.values():
        if relative(port, original) > LOSS_RTOL and abs(port - original) > LOSS_ATOL:
            return 1.0
        ratios.append(abs(original - exact) / max(error, 2.0 ** -24 * abs(exact), 1e-30))
    return float(min(RATIO_CAP, max([1.0] + ratios)))


def float64_errors(runs_rows, reference_rows):
    """[{loss: largest relative distance of the port's float32 runs from the float64
    reference}] per step: how far float32 rounding carries this computation."""
    return [{name: max(relative(run[k][name], value) for run in runs_rows)
             for name, value in row.items()} for k, row in enumerate(reference_rows)]


def compare_losses(original_steps, port_rows, floors, reference_rows=None, errors=None):
    """One row per step and loss; a loss diverges when it differs from the original's by more
    than LOSS_RTOL (or LOSS_ATOL) and by more than FLOOR_FACTOR x its float32 floor, and (with
    a float64 reference) the original's distance from float64 exceeds F64_FACTOR x the port
    runs' distances (`errors`) + F64_ATOL."""
    rows = []
    reference_rows = reference_rows or [{}] * len(port_rows)
    errors = errors or [{}] * len(port_rows)
    for step, (original, port, floor, reference, error) in enumerate(
            zip(original_steps, port_rows, floors, reference_rows, errors), 1):
        for name, value in original["losses"].items():
            mine = port.get(name, float("nan"))
            rel = relative(mine, value)
            allowed = max(LOSS_RTOL, FLOOR_FACTOR * floor.get(name, 0.0))
            row = {"step": step, "loss": name, "original": value, "port": mine,
                   "rel": rel, "floor": floor.get(name, 0.0)}
            passed = abs(mine - value) <= LOSS_ATOL or rel <= allowed
            if name in reference:
                row.update(float64=reference[name], original_error=relative(
                    value, reference[name]), float32_error=error[name])
                passed = passed or (row["original_error"]
                                    <= F64_FACTOR * row["float32_error"] + F64_ATOL)
            row["diverged"] = not passed
            rows.append(row)
    return rows


def compare_variables(port, final, initial, floors, reference=None):
    """One dict per compared variable after the last step: `max_rel` (largest |port -
    original| / scale), `l2` (L2 of port - original relative to the original's change since
    step 0), `floor` (the same L2 for the perturbed runs); with the float64 `reference`,
    `original_error` (L2 of original - float64, relative to that change) and `float32_error`
    (the largest such L2 of the port and its perturbed runs). Each argument is a run's
    compared values, [(name, array)] (`floors` a list of them): `port`'s, `final` (the
    original's last weights imported), `initial`."""
    rows = []
    for index, (name, _) in enumerate(port):
        a, b, b0 = (np.asarray(v[index][1], np.float64) for v in (port, final, initial))
        perturbed = [np.asarray(m[index][1], np.float64) for m in floors]
        scale = float(np.max(np.abs(b))) or 1.0
        moved = float(np.linalg.norm(b - b0)) or 1.0
        row = {"name": name, "max_rel": float(np.max(np.abs(a - b))) / scale,
               "l2": float(np.linalg.norm(a - b)) / moved,
               "floor": max([float(np.linalg.norm(a - f)) / moved for f in perturbed]
                            or [0.0])}
        if reference is not None:
            r = np.asarray(reference[index][1], np.float64)
            row["original_error"] = float(np.linalg.norm(b - r)) / moved
            row["float32_error"] = max(float(np.linalg.norm(m - r)) / moved
                                       for m in [a] + perturbed)
        rows.append(row)
    return rows


def judge_variables(rows):
    """Marks each row `diverged` when beyond its tolerance: within VARIABLE_TOL of its scale,
    or in L2 within UPDATE_TOL of the original's change or FLOOR_FACTOR x its float32 floor,
    or (with a float64 reference) the original within F64_FACTOR x the port runs' distance
    from float64 + F64_ATOL. (At batch 1 the floor misses one kind of rounding: TF 1's and TF
    2's convolution kernels sum in other orders, which Adam's first steps amplify in gradient
    elements at rounding level; pix2pix's decoder kernels then differ by ~1e-4 of their scale,
    8e-4 of their change, with every loss equal to 1e-7.)"""
    for row in rows:
        passed = row["max_rel"] <= VARIABLE_TOL or row["l2"] <= max(
            UPDATE_TOL, FLOOR_FACTOR * row["floor"])
        if "original_error" in row:
            passed = passed or row["original_error"] <= (F64_FACTOR * row["float32_error"]
                                                         + F64_ATOL)
        row["diverged"] = not passed
    return rows


# ---- statistical mode ----

def running_means(rows, names):
    """{loss: (mean, std of the per-step values)} over all steps."""
    return {name: (float(np.mean([r[name] for r in rows])),
                   float(np.std([r[name] for r in rows]))) for name in names}


def compare_statistics(original_steps, port_rows):
    """Prints each loss's running mean and spread in both programs; returns (the first loss
    whose means differ by more than their spread, or None; {loss: {program: [mean, std]}})."""
    names = list(original_steps[0]["losses"])
    original = running_means([s["losses"] for s in original_steps], names)
    port = running_means(port_rows, names)
    failed = None
    print("loss                   | original mean +- std | port mean +- std")
    for name in names:
        (mo, so), (mp, sp) = original[name], port[name]
        print(f"{name:<22s} | {mo:9.4f} +- {so:7.4f} | {mp:9.4f} +- {sp:7.4f}")
        if abs(mo - mp) > max(so, sp) and failed is None:
            failed = f"in {name}: running means {mo:.4f} and {mp:.4f} differ by more than " \
                     "their step-to-step spread"
    return failed, {name: {"original": original[name], "port": port[name]} for name in names}


def eight_bit(images, value_range):
    """Images in value_range as a saved image has them: 256 levels, in [-1, 1]."""
    return to_signed(to_uint8(images, value_range))


def quality_scores(program, args, config, models):
    """{name: FID} of each of `models` ({name: port model}): --num-samples samples from the
    same latents, both at 8 bits, against the real images the original trained on, with
    the --features extractor. The original's generator is its final weights imported into the
    port (the importer's tests hold its forward pass to the original's within 1e-5). A program
    with its own score (pix2pix: PSNR and SSIM on held-out pairs) computes it instead."""
    if hasattr(program, "quality_scores"):
        return program.quality_scores(args, config, models)
    extractor = features.extractor(args.features or ("classifier" if args.classifier
                                                     else "thumbnail"),
                                   args.classifier, args.inception_weights)
    real = FeatureStatistics()
    reals = eight_bit(program.real_images(config["workdir"], config), program.VALUE_RANGE)
    for start in range(0, len(reals), 100):
        real.update(extractor(reals[start:start + 100])[0])
    latents = program.latents(args, args.num_samples, np.random.default_rng(args.seed + 1))
    classes = getattr(program, "SAMPLE_CLASSES", 0)  # sample i is of class i % classes
    scores, accuracy = {}, {}
    for name, model in models.items():
        fake, correct = FeatureStatistics(), 0
        for start in range(0, len(latents), 100):
            images = program.samples(model, latents[start:start + 100])
            found, probabilities = extractor(eight_bit(images, program.VALUE_RANGE))
            fake.update(found)
            if probabilities is not None and classes:
                wanted = (start + np.arange(len(images))) % classes
                correct += int(np.sum(np.argmax(probabilities, axis=-1) == wanted))
        scores[name] = fid(fake, real)
        if probabilities is not None and classes:
            accuracy[name] = correct / len(latents)
    print(f"\nquality score ({extractor.description}; {len(latents)} samples each, "
          f"{real.count} real images): FID original {scores['original']:.2f}, "
          f"port {scores['port']:.2f}" + (
              f"; class accuracy original {accuracy['original']:.1%}, port "
              f"{accuracy['port']:.1%}" if accuracy else ""))
    if accuracy:
        scores["class_accuracy"] = accuracy
    return scores


# ---- the command ----

def side_by_side(program, args, output_dir):
    """One side-by-side run into `output_dir`; returns its results (also in results.json)."""
    workdir = os.path.join(output_dir, "work")
    if args.port_only:
        args, config, original_steps = recorded_original(args, workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
        os.makedirs(workdir)
        program.check_data(args.data)
        config = write_config(program, args, workdir)
        original_steps = run_original(program, args, workdir)
    if args.time_original:
        return original_times(args, original_steps, output_dir)
    port = Port(program, workdir, config, restartable=not args.keep_dropout)
    port_rows, seconds = port.run()
    model = port.model
    if args.keep_dropout:
        rows = compare_losses(original_steps, port_rows, [{}] * len(port_rows))
        report.print_losses([{**row, "diverged": False} for row in rows],
                            every=max(1, args.steps // 20), floors=False)
        diverged, means = compare_statistics(original_steps, port_rows)
        scores = quality_scores(program, args, config,
                                {"original": program.load("final", config), "port": model})
        results = {"mode": "statistical", "losses": rows, "running_means": means,
                   "scores": scores}
    else:
        results, diverged = exact_comparison(program, args, workdir, config, original_steps,
                                             port, port_rows)
    picture, sample_difference = report.write_picture(program, model, workdir, output_dir)
    original_time = np.median([s["seconds"] for s in original_steps])
    print(f"\ntime per step (median): original {original_time:.3f} s, port "
          f"{np.median(seconds):.3f} s")
    print(f"samples from the same latents: largest difference {sample_difference:.2e}; "
          f"wrote {picture}")
    results.update(program=args.program, steps=args.steps, seed=args.seed,
                   settings=run_settings(args), diverged=diverged or None,
                   verdict="diverged" if diverged else "same",
                   seconds={"original": float(original_time), "port": float(np.median(seconds))},
                   largest_sample_difference=sample_difference)
    report.write_results(results, output_dir)
    return results


def original_times(args, original_steps, output_dir):
    """--time-original's results: the original's seconds per step (the median over the steps
    after the first, which builds and warms up)."""
    seconds = [s["seconds"] for s in original_steps]
    median = float(np.median(seconds[1:] or seconds))
    print(f"original: {median:.3f} s per step (median of steps 2-{len(seconds)}; step 1 "
          f"{seconds[0]:.3f} s)")
    results = {"mode": "time-original", "program": args.program, "steps": args.steps,
               "batch_size": args.batch_size, "seed": args.seed, "verdict": None,
               "diverged": None, "seconds": {"original": median, "steps": seconds}}
    report.write_results(results, output_dir)
    return results


def exact_comparison(program, args, workdir, config, original_steps, port, port_rows):
    """The exact mode's verdict: every step's losses and every variable after the last, against
    the float32 floor and the float64 reference. `port` has made its run (`port_rows`); the
    floor's runs restart it, and a last run from its start must end where its first did, bit
    for bit (else the restarts were not fresh runs: RuntimeError). Returns (results, what
    diverged or None)."""
    final = port.values()
    reference = Port(program, workdir, config, float64=True)
    reference_rows, _ = reference.run()
    evaluation = first_evaluation(program, workdir, config, original_steps, [port_rows],
                                  reference_rows)
    ratio = rounding_ratio(evaluation)
    report.print_first_evaluation(evaluation, ratio)
    floors = floor_runs(port, ratio)
    replay_rows, _ = port.run()
    if not same_run(replay_rows, port.values(), port_rows, final):
        raise RuntimeError(f"{args.program}: the port run again from its start did not end "
                           "where its first run did; the floor's runs were not fresh runs")
    runs_rows = [port_rows] + [rows for _, rows in floors]
    rows = compare_losses(
        original_steps, port_rows, float32_floors(port_rows, [rows for _, rows in floors]),
        reference_rows, float64_errors(runs_rows, reference_rows))
    report.print_losses(rows)
    bad = [r for r in rows if r["diverged"]]
    # (step 1's own rows judge a first evaluation made of step 1's losses)
    diverged = None if getattr(program, "PRE_UPDATE_LOSSES", ()) else \
        first_disagreement(evaluation)
    if bad and not diverged:
        diverged = f"at step {bad[0]['step']}: {bad[0]['loss']} (relative difference " \
                   f"{bad[0]['rel']:.2e}, float32 floor {bad[0]['floor']:.2e}, original - " \
                   f"float64 {bad[0]['original_error']:.2e}, port runs - float64 " \
                   f"{bad[0]['float32_error']:.2e})"
    variables = judge_variables(compare_variables(
        final, compared_values(program, program.load("final", config)), port.initial_values(),
        [values for values, _ in floors], reference.values()))
    name = report.print_variables(variables)
    if name and not diverged:
        diverged = f"after step {args.steps}: {name} beyond its tolerance"
    return {"mode": "exact", "losses": rows, "variables": variables,
            "first_evaluation": evaluation, "rounding_ratio": ratio}, diverged or None


@cli.exits_cleanly
def main(argv=None):
    args = parse_args(argv)
    program = program_module(args.program)
    output_dir = args.output_dir or os.path.join("runs", "sidebyside", args.program)
    if args.runs > 1:
        return many_runs(program, args, output_dir)
    results = side_by_side(program, args, output_dir)
    if args.time_original:
        return 0
    if results["diverged"]:
        print(f"diverged {results['diverged']}")
        raise SystemExit(1)
    print("same statistics: running means within their spread"
          if results["mode"] == "statistical" else "same update: within tolerance")
    return 0


def run_settings(args):
    """What decides a statistical run's outcome, recorded in its results.json: --runs reuses
    a run it finds finished with the same settings (an interrupted command goes on where it
    stopped instead of redoing hours of runs)."""
    absolute = {name: os.path.abspath(getattr(args, name)) if getattr(args, name) else None
                for name in ("data", "original", "classifier", "inception_weights", "held_out")}
    return {"program": args.program, "steps": args.steps, "seed": args.seed,
            "batch_size": args.batch_size, "keep_dropout": args.keep_dropout,
            "as_released": args.as_released, "features": args.features,
            "num_samples": args.num_samples, **absolute}


def finished_run(run_dir, settings):
    """The results.json of a statistical run in `run_dir` made with exactly `settings`, or
    None (none there, unreadable, another mode, or made with other settings)."""
    try:
        with open(os.path.join(run_dir, "results.json")) as f:
            results = json.load(f)
    except (OSError, ValueError):
        return None
    if results.get("mode") != "statistical" or results.get("settings") != settings:
        return None
    return results


def many_runs(program, args, output_dir):
    """--runs K (statistical mode): K runs, run k with seed --seed + k (a fresh original and
    the port from its weights), into OUTPUT_DIR/run-k; then each program's scores over the runs
    and the equivalence test (report.equivalence). Exit 0 equivalent, 1 a difference shown, 3
    undecided. With --port-only, each run's port again against the original recorded in
    run-k (after a change to the port)."""
    if not args.keep_dropout:
        raise UserError("--runs compares outcomes over several runs: it needs --keep-dropout "
                        "(statistical mode)")
    base, runs = args.seed, []
    for k in range(args.runs):
        run_args = cli.replaced(args, seed=base + k)
        run_dir = os.path.join(output_dir, f"run-{k}")
        print(f"\n==== run {k + 1} of {args.runs} (seed {run_args.seed}) ====", flush=True)
        # --port-only: every run's port again (it changed), against the original it recorded
        finished = None if args.port_only else finished_run(run_dir, run_settings(run_args))
        if finished:
            print(f"finished before with the same settings: {run_dir}/results.json "
                  f"(scores {finished['scores']}); delete it to run again", flush=True)
        runs.append(finished or side_by_side(program, run_args, run_dir))
    summary = report.equivalence([run["scores"] for run in runs], args.margin)
    summary["metric"] = runs[0]["scores"].get("metric", "FID")
    summary["reported"] = report.reported_scores([run["scores"] for run in runs])
    summary["picture"] = report.loss_curves(runs, os.path.join(output_dir, "runs.png"))
    report.print_equivalence(summary)
    report.write_results({"mode": "runs", "program": args.program, "steps": args.steps,
                   "seeds": [base + k for k in range(args.runs)], "runs": [
                       {"seed": run["seed"], "scores": run["scores"],
                        "running_means": run["running_means"]} for run in runs],
                   **summary}, output_dir)
    raise SystemExit(summary["exit_status"])
