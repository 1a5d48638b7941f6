"""One train step of each program in float32 with TensorFlow's oneDNN CPU kernels off, with
them on, and in float64, from the same weights, batch and draws; prints each float32 update's
error against the float64 update, per variable, relative to the update's size, and the same
for the gradients.

`python -m bench.float64_step [--programs acgan,ogan,...] [--batch-size N]`

Each setting runs in its own process (oneDNN is chosen when TensorFlow starts): the first
builds the program as its train command does (tutorial sizes, default flags), draws the batch
and its latents, and saves them with the initial weights; the others load them (float64: cast,
under Keras' float64 dtype policy, the old frameworks' optimizers and BatchNorm included).
Dropout is off in all three: its masks are drawn in the layer's dtype, so float32 and float64
runs would draw different masks. The update of a variable is its value after the step less its value
before; a BatchNorm statistic's update is its change. The gradients come from the same step
with every optimizer replaced by SGD (learning rate GRADIENT_LR, a momentum of 1e-30): its
momentum slot then holds -lr x the gradient of the variable's last update at full precision
(Adam's first step is about lr x sign(g), which turns a gradient element at rounding level into
an lr-sized difference: the update table measures that, the gradient table the kernels).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

GRADIENT_LR = 1e-4
SETTINGS = {"oneDNN off": ("0", "float32"), "oneDNN on": ("1", "float32"),
            "float64": ("0", "float64")}


def build_without_dropout(program, dtype, extra=(), batch_size=0):
    """(the program's GAN as its train command builds it, with `extra` flags, under the `dtype`
    policy; its options). Dropout is off: its masks are drawn in the layer's dtype, so float32
    and float64 steps would draw different ones."""
    import keras
    from bench.throughput import configure
    from common import cli
    args, build = configure(program, extra=extra)
    if batch_size:
        args = cli.replaced(args, batch_size=batch_size)
    keras.config.set_dtype_policy(dtype)
    try:
        gan = build(args)
    finally:
        keras.config.set_dtype_policy("float32")
    for layer in gan._flatten_layers():
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = 0.0
    return gan, args


def networks(gan):
    """The weights and BatchNorm statistics a step changes (not the dropout seeds)."""
    return [v for v in gan.variables
            if "seed_generator" not in v.path and v.dtype in ("float32", "float64")]


def gradient_optimizers(gan):
    """Every optimizer of `gan` replaced by SGD whose momentum slot keeps -lr x gradient."""
    import keras
    replaced = []
    for name in ("optimizer", "d_optimizer", "g_optimizer"):
        if isinstance(getattr(gan, name, None), keras.optimizers.Optimizer):
            setattr(gan, name, keras.optimizers.SGD(GRADIENT_LR, momentum=1e-30))
            replaced.append(getattr(gan, name))
    return replaced


def gradients(variables, optimizers):
    """-slot / lr of each variable (zeros for one no optimizer updates)."""
    found = []
    for variable in variables:
        value = np.zeros(variable.shape)
        for optimizer in optimizers:
            try:
                index = optimizer._get_variable_index(variable)
            except KeyError:
                continue
            value = -np.asarray(optimizer.momentums[index], np.float64) / GRADIENT_LR
        found.append(value)
    return found


def worker(program, dtype, state, out, batch_size, kind="update"):
    """One setting, in this process: the step from `state` (written first if absent); `kind`
    "gradient" keeps the gradients (SGD slots) instead of the weights after the step."""
    import common  # noqa: F401  (TensorFlow's start-up settings)
    import tensorflow as tf
    from bench.throughput import batch_for

    gan, args = build_without_dropout(program, dtype, batch_size=batch_size)
    batch, _ = batch_for(program, args)
    flat = tf.nest.flatten(batch)
    variables = networks(gan)
    if not os.path.exists(state):
        np.savez(state, **{f"batch_{i}": np.asarray(t) for i, t in enumerate(flat)},
                 **{f"var_{i}": np.asarray(v) for i, v in enumerate(variables)})
    with np.load(state) as saved:
        flat = [tf.cast(saved[f"batch_{i}"], dtype) if np.issubdtype(
                saved[f"batch_{i}"].dtype, np.floating) else tf.constant(saved[f"batch_{i}"])
                for i in range(len(flat))]
        for i, variable in enumerate(variables):
            variable.assign(saved[f"var_{i}"].astype(variable.dtype))
    optimizers = gradient_optimizers(gan) if kind == "gradient" else []
    losses = tf.function(gan.train_step)(tf.nest.pack_sequence_as(batch, flat))
    values = (gradients(variables, optimizers) if optimizers
              else [np.asarray(v, np.float64) for v in variables])
    np.savez(out, **{f"var_{i}": value for i, value in enumerate(values)})
    with open(out + ".json", "w") as f:
        json.dump({"paths": [v.path for v in variables],
                   "losses": {k: float(v) for k, v in losses.items()}}, f)


def run_settings(program, batch_size, folder, kind="update"):
    """{setting: (variables after the step or gradients, losses, paths)}; initial variables."""
    state = os.path.join(folder, f"{program}-state.npz")
    results = {}
    for name, (onednn, dtype) in SETTINGS.items():
        out = os.path.join(folder, f"{program}-{kind}-{name.replace(' ', '_')}.npz")
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "CUDA_VISIBLE_DEVICES": ""}
        subprocess.run([sys.executable, "-m", "bench.float64_step", "--worker", program, dtype,
                        state, out, str(batch_size or 0), kind], env=env, check=True)
        with np.load(out) as after, open(out + ".json") as f:
            meta = json.load(f)
            results[name] = ([after[f"var_{i}"] for i in range(len(meta["paths"]))],
                             meta["losses"], meta["paths"])
    with np.load(state) as saved:
        initial = [saved[f"var_{i}"].astype(np.float64) if kind == "update"
                   else np.zeros(saved[f"var_{i}"].shape)
                   for i in range(len(results["float64"][2]))]
    return results, initial


def update_errors(after, reference, initial, others):
    """(errors, still): per variable ||u - u64|| / ||u64|| of the updates u = after - initial
    (for gradients, initial is zero), and which variables have no exact update: the float64
    one under 1% of what the float32 runs (`others`, every float32 setting's values) did. A
    bias before BatchNorm, a BatchNorm over one value per channel (pix2pix's innermost layers
    at batch 1) have an exact gradient of 0; any float32 sum of it is rounding, which Adam's
    first step turns into a step of about lr: not an approximation of anything."""
    errors, still = [], []
    for index, (a, r, b) in enumerate(zip(after, reference, initial)):
        exact = np.linalg.norm(r - b)
        float32 = max(np.linalg.norm(other[index] - b) for other in others)
        still.append(exact < 0.01 * float32)
        errors.append(float(np.linalg.norm((a - b) - (r - b)) / exact) if exact else 0.0)
    return errors, still


def report(program, results, initial, kind="update"):
    """Prints one program's rows; returns {setting: (median, largest, its variable, loss
    error, count of variables without an exact value)}."""
    reference, losses64, paths = results["float64"]
    if kind == "gradient":  # only what an optimizer updates has a gradient
        keep = [i for i, r in enumerate(reference) if np.any(r)]
        reference, paths, initial = ([x[i] for i in keep] for x in (reference, paths, initial))
        results = {name: ([after[i] for i in keep], losses, p)
                   for name, (after, losses, p) in results.items()}
    others = [results[name][0] for name in ("oneDNN off", "oneDNN on")]
    rows = {}
    for name in ("oneDNN off", "oneDNN on"):
        after, losses, _ = results[name]
        errors, still = update_errors(after, reference, initial, others)
        moving = [e for e, s in zip(errors, still) if not s]
        worst = max((i for i in range(len(errors)) if not still[i]), key=errors.__getitem__)
        loss_error = max(abs(losses[k] - v) / max(abs(v), 1e-12) for k, v in losses64.items())
        rows[name] = (float(np.median(moving)), errors[worst], paths[worst], loss_error,
                      sum(still))
        print(f"| {program} | {kind} | {name} | {len(moving)} | {rows[name][0]:.1e} | "
              f"{errors[worst]:.1e} (`{paths[worst]}`) | {sum(still)} | {loss_error:.1e} |",
              flush=True)
    return rows


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        program, dtype, state, out, batch_size, kind = argv[1:]
        return worker(program, dtype, state, out, int(batch_size), kind)
    from bench.throughput import PROGRAMS
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", default=",".join(PROGRAMS))
    parser.add_argument("--batch-size", type=int, default=0,
                        help="default: the tutorial's")
    args = parser.parse_args(argv)
    print("| program | compared | float32 kernels | variables | median error | largest "
          "(variable) | without an exact value | largest loss error |"
          "\n|---|---|---|---|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        for program in args.programs.split(","):
            for kind in ("update", "gradient"):
                report(program, *run_settings(program, args.batch_size, folder, kind), kind)


if __name__ == "__main__":
    main()
