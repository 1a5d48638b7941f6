"""The side-by-side run: the original in its own environment (a subprocess running its runner),
then the port from the same initial weights on the same batches, then the comparison.

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

import numpy as np
import tensorflow as tf

from common import cli, features
from common.errors import UserError
from common.grid import merge, save_grid
from common.images import to_signed, to_uint8
from common.metrics import FeatureStatistics, fid
from sidebyside import environments, sources

PROGRAMS = ("acgan", "ogan", "dcgan", "dcgan-mnist", "anime", "wgan", "pix2pix")
RUNNERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runners")
LOSS_RTOL, LOSS_ATOL = 1e-4, 1e-6
VARIABLE_TOL = 1e-4  # of each variable's scale (its largest |value| in the original)
UPDATE_TOL = 1e-3  # of the L2 of the original's change since step 0: the same update to 0.1%
# The float32 floor: the port run again from weights moved by one rounding step (FLOOR_RUNS
# times; a program may ask for more), from inputs so moved, and on its batches in reverse
# order. Adam's and
# RMSprop's first steps are about lr * sign(g), so gradients at rounding level, which no two
# float32 programs sum alike, and ReLUs within one rounding step of zero make trajectories part
# by ~3-10x a step; a difference within FLOOR_FACTOR x what rounding alone does to the port
# itself is the same update (see README: Side by side with the original).
FLOOR_RUNS, FLOOR_FACTOR = 2, 10.0
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
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default=None, help="default: runs/sidebyside/PROGRAM")
    parser.add_argument("--as-released", action="store_true",
                        help="run the original without the hook that orders its updates after "
                             "its gradients (Keras 2 on TensorFlow 1 races; see README)")
    return parser.parse_args(argv)


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
    env = original_environment()
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


def original_environment():
    """The environment the original runs in: this process's, less what TensorFlow 2 set in it
    on import (TF2_BEHAVIOR=1 would switch TF 1.15 to eager execution), CPU only, one thread
    per op so that its sums run in one order."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF2_BEHAVIOR", "TPU_ML_PLATFORM", "TPU_ML_PLATFORM_VERSION",
                        "ENABLE_RUNTIME_UPTIME_TELEMETRY", "HDF5_PLUGIN_PATH")}
    return {**env, "PYTHONPATH": RUNNERS, "CUDA_VISIBLE_DEVICES": "",
            "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}


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
    config.update(program.runner_config(args))
    with open(os.path.join(workdir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    return config


# ---- the port ----

def train_port(program, workdir, config, perturbation=None, reverse=False,
               input_perturbation=None):
    """The port from the original's initial weights, trained on the recorded batches; returns
    (model, [{loss: value}] per step, seconds per step). The float32 floor's runs: with a
    `perturbation` seed every weight first moves by about one rounding step (a relative 2^-23,
    random sign); with an `input_perturbation` seed every float input of every batch does;
    with `reverse` every batch's samples come in reverse order (the same update in exact
    arithmetic: losses are means and BatchNorm statistics symmetric, but the float32 sums run
    in another order)."""
    model = program.load("initial", config)
    if perturbation is not None:
        rng = np.random.default_rng(perturbation)
        for _, variable in program.compared_variables(model):
            value = np.asarray(variable)
            if value.dtype.kind == "f":
                signs = rng.choice([-1.0, 1.0], value.shape)
                variable.assign((value * (1 + signs * 2.0 ** -23)).astype(value.dtype))
    rows, seconds = [], []
    rng = np.random.default_rng(input_perturbation)
    for batch in program.batches(workdir, config):
        if reverse:
            batch = reversed_samples(batch)
        if input_perturbation is not None:
            batch = rounded_differently(batch, rng)
        for tracker in model.metrics:  # each step's own losses, as the originals printed them
            tracker.reset_state()
        started = time.time()
        rows.append(program.step(model, batch))
        seconds.append(time.time() - started)
    return model, rows, seconds


def reversed_samples(batch):
    """`batch` (arrays or tensors, in tuples, lists or dicts) with every array's first axis,
    the samples, reversed."""
    if isinstance(batch, dict):
        return {key: reversed_samples(value) for key, value in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(reversed_samples(value) for value in batch)
    if batch is None or np.ndim(batch) == 0:
        return batch
    flipped = np.flip(np.asarray(batch), axis=0).copy()
    return flipped if isinstance(batch, np.ndarray) else tf.convert_to_tensor(flipped)


def rounded_differently(batch, rng):
    """`batch` with every float array moved by about one rounding step (relative 2^-23)."""
    if isinstance(batch, dict):
        return {key: rounded_differently(value, rng) for key, value in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(rounded_differently(value, rng) for value in batch)
    if batch is None or np.asarray(batch).dtype.kind != "f":
        return batch
    value = np.asarray(batch)
    moved = (value * (1 + rng.choice([-1.0, 1.0], value.shape) * 2.0 ** -23)).astype(value.dtype)
    return moved if isinstance(batch, np.ndarray) else tf.convert_to_tensor(moved)


def floor_runs(program, workdir, config):
    """The float32 floor's runs: FLOOR_RUNS weight perturbations (more where the program says
    so), one of the inputs (what tells rounding apart at batch 1, where reversing the samples
    changes nothing) and one run on reversed batches."""
    perturbations = getattr(program, "FLOOR_RUNS", FLOOR_RUNS)
    return [train_port(program, workdir, config, perturbation=seed)
            for seed in range(perturbations)] + [
        train_port(program, workdir, config, input_perturbation=0),
        train_port(program, workdir, config, reverse=True)]


def relative(a, b):
    return abs(a - b) / max(abs(b), 1e-12)


def float32_floors(port_rows, floor_runs):
    """[{loss: largest relative difference between the port and its perturbed runs}] per
    step: how far float32 rounding alone carries the same program by that step."""
    return [{name: max(relative(run[k][name], value) for run in floor_runs)
             for name, value in row.items()} for k, row in enumerate(port_rows)]


def compare_losses(original_steps, port_rows, floors):
    """One row per step and loss; a loss diverges when it differs from the original's by more
    than LOSS_RTOL (or LOSS_ATOL) and by more than FLOOR_FACTOR x its float32 floor."""
    rows = []
    for step, (original, port, floor) in enumerate(zip(original_steps, port_rows, floors), 1):
        for name, value in original["losses"].items():
            mine = port.get(name, float("nan"))
            rel = relative(mine, value)
            allowed = max(LOSS_RTOL, FLOOR_FACTOR * floor.get(name, 0.0))
            rows.append({"step": step, "loss": name, "original": value, "port": mine,
                         "rel": rel, "floor": floor.get(name, 0.0),
                         "diverged": not (abs(mine - value) <= LOSS_ATOL or rel <= allowed)})
    return rows


def print_losses(rows, every=1, floors=True):
    """The table of losses per step (every `every` steps, and every diverged row); `floors`
    False leaves out the float32 floor (statistical mode has none: dropout masks differ)."""
    print(f"\n{'step':>5s} | {'loss':<22s} | {'original':>14s} | {'port':>14s} | rel. diff"
          + (" | float32 floor" if floors else ""))
    for row in rows:
        if row["step"] % every == 0 or row["step"] == 1 or row["diverged"]:
            print(f"{row['step']:5d} | {row['loss']:<22s} | {row['original']:14.8f} | "
                  f"{row['port']:14.8f} | {row['rel']:.2e}"
                  + (f"  | {row['floor']:.2e}" if floors else "")
                  + ("  <-" if row["diverged"] else ""))


def compare_variables(program, models):
    """[(name, largest |port - original| / scale, L2 of port - original relative to the
    original's change since step 0, the same L2 for the perturbed runs)] after the last step.
    `models`: the port, the original (its final weights imported), its initial weights, and
    the perturbed runs."""
    port, final, initial, *floor_models = [program.compared_variables(m) for m in models]
    rows = []
    for index, (name, mine) in enumerate(port):
        a, b, b0 = (np.asarray(v[index][1], np.float64) for v in (port, final, initial))
        scale = float(np.max(np.abs(b))) or 1.0
        moved = float(np.linalg.norm(b - b0)) or 1.0
        floor = max([float(np.linalg.norm(a - np.asarray(m[index][1], np.float64))) / moved
                     for m in floor_models] or [0.0])
        rows.append((name, float(np.max(np.abs(a - b))) / scale,
                     float(np.linalg.norm(a - b)) / moved, floor))
    return rows


def report_variables(rows):
    """Prints the variables; returns the first one beyond its tolerance (or None): within
    VARIABLE_TOL of its scale, or in L2 within UPDATE_TOL of the original's change or
    FLOOR_FACTOR x its float32 floor. (At batch 1 the floor misses one kind of rounding: TF 1's
    and TF 2's convolution kernels sum in other orders, which Adam's first steps amplify in
    gradient elements at rounding level; pix2pix's decoder kernels then differ by ~1e-4 of
    their scale, 8e-4 of their change, with every loss equal to 1e-7.)"""
    print(f"\nafter the last step, {len(rows)} variables: largest |port - original| / scale; "
          "L2 of port - original / L2 of the original's change; the same for the float32 floor")
    first = None
    for name, rel, l2, floor in rows:
        bad = rel > VARIABLE_TOL and l2 > max(UPDATE_TOL, FLOOR_FACTOR * floor)
        first = first or (bad and name)
        print(f"  {name:<56s} {rel:.2e}  {l2:.2e}  {floor:.2e}{'  <-' if bad else ''}")
    return first


# ---- statistical mode ----

def running_means(rows, names):
    """{loss: (mean, std of the per-step values)} over all steps."""
    return {name: (float(np.mean([r[name] for r in rows])),
                   float(np.std([r[name] for r in rows]))) for name in names}


def compare_statistics(original_steps, port_rows):
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
    return failed


def eight_bit(images, value_range):
    """Images in value_range as a saved image has them: 256 levels, in [-1, 1]."""
    return to_signed(to_uint8(images, value_range))


def quality_scores(program, args, config, models):
    """{name: FID} of each of `models` ({name: port model}): --num-samples samples from the
    same latents, both at 8 bits, against the real images the original trained on, with
    the --features extractor. The original's generator is its final weights imported into the
    port (the importer's tests hold its forward pass to the original's within 1e-5)."""
    extractor = features.extractor(args.features or ("classifier" if args.classifier
                                                     else "thumbnail"),
                                   args.classifier, args.inception_weights)
    real = FeatureStatistics()
    reals = eight_bit(program.real_images(config["workdir"], config), program.VALUE_RANGE)
    for start in range(0, len(reals), 100):
        real.update(extractor(reals[start:start + 100])[0])
    latents = program.latents(args, args.num_samples, np.random.default_rng(args.seed + 1))
    scores = {}
    for name, model in models.items():
        fake = FeatureStatistics()
        for start in range(0, len(latents), 100):
            images = program.samples(model, latents[start:start + 100])
            fake.update(extractor(eight_bit(images, program.VALUE_RANGE))[0])
        scores[name] = fid(fake, real)
    print(f"\nquality score ({extractor.description}; {len(latents)} samples each, "
          f"{real.count} real images): FID original {scores['original']:.2f}, "
          f"port {scores['port']:.2f}")
    return scores


# ---- the picture ----

def write_picture(program, model, workdir, output_dir):
    """side_by_side.png: the original's samples (left) beside the port's (right), same latents."""
    latents = np.load(os.path.join(workdir, "latents.npy"))
    theirs = np.load(os.path.join(workdir, "samples.npy"))
    mine = np.asarray(program.samples(model, latents))
    low, high = program.VALUE_RANGE
    side = int(np.ceil(np.sqrt(len(mine))))
    grids = [merge(np.clip(images, low, high), (side, side)) for images in (theirs, mine)]
    gap = np.full((grids[0].shape[0], 8, grids[0].shape[2]), high, grids[0].dtype)
    path = os.path.join(output_dir, "side_by_side.png")
    save_grid(np.concatenate([grids[0], gap, grids[1]], axis=1)[None], path, (1, 1),
              value_range=(low, high))
    return path, float(np.max(np.abs(theirs - mine)))


# ---- the command ----

@cli.exits_cleanly
def main(argv=None):
    args = parse_args(argv)
    program = program_module(args.program)
    args.batch_size = args.batch_size or program.BATCH_SIZE
    output_dir = args.output_dir or os.path.join("runs", "sidebyside", args.program)
    workdir = os.path.join(output_dir, "work")
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    program.check_data(args.data)
    config = write_config(program, args, workdir)
    original_steps = run_original(program, args, workdir)
    model, port_rows, seconds = train_port(program, workdir, config)
    if args.keep_dropout:
        rows = compare_losses(original_steps, port_rows, [{}] * len(port_rows))
        print_losses([{**row, "diverged": False} for row in rows],
                     every=max(1, args.steps // 20), floors=False)
        diverged = compare_statistics(original_steps, port_rows)
        quality_scores(program, args, config,
                       {"original": program.load("final", config), "port": model})
    else:
        floors = floor_runs(program, workdir, config)
        rows = compare_losses(original_steps, port_rows,
                              float32_floors(port_rows, [run[1] for run in floors]))
        print_losses(rows)
        bad = [r for r in rows if r["diverged"]]
        diverged = bad and f"at step {bad[0]['step']}: {bad[0]['loss']} (relative difference " \
                           f"{bad[0]['rel']:.2e}, float32 floor {bad[0]['floor']:.2e})"
        models = [model, program.load("final", config), program.load("initial", config)]
        name = report_variables(compare_variables(program, models + [r[0] for r in floors]))
        if name and not diverged:
            diverged = f"after step {args.steps}: {name} beyond its tolerance"
    picture, sample_difference = write_picture(program, model, workdir, output_dir)
    original_time = np.median([s["seconds"] for s in original_steps])
    print(f"\ntime per step (median): original {original_time:.3f} s, port "
          f"{np.median(seconds):.3f} s")
    print(f"samples from the same latents: largest difference {sample_difference:.2e}; "
          f"wrote {picture}")
    if diverged:
        print(f"diverged {diverged}")
        raise SystemExit(1)
    print("same statistics: running means within their spread" if args.keep_dropout
          else "same update: within tolerance")
    return 0
