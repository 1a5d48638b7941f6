"""Where a train step's time goes: `python -m bench.ops --program acgan [--steps 5]`.

TensorFlow's profiler over --steps calls of the program's train step (the plain tf.function of
bench.throughput, the tutorial's sizes), ops run one at a time (one inter-op thread, so their
times add up to the step), summed by op type: oneDNN's kernels (the `_Mkl` ops: convolutions,
matrix products) against the rest (elementwise ops, BatchNorm, dropout's random numbers, the
optimizers' updates, concatenations). Then the ceiling that rest puts on the share of the
matmul peak: a step that ran every oneDNN kernel at the peak and the rest as measured would
take rest + FLOPs / peak.
"""
import argparse
import collections
import glob
import os
import tempfile
import time

# One op at a time, read when TensorFlow's runtime starts (bench.throughput's import starts it).
# Only as a command: set on import, it reached every later subprocess of the test session (the
# O-GAN original, unordered, then kept another encoder call's BatchNorm average; CI failed).
if __name__ == "__main__":
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

import common  # noqa: E402,F401  (quiets TensorFlow's start-up log)
import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

from bench.throughput import (PROGRAMS, matmul_peak, plain_loop, plain_step,  # noqa: E402
                              step_flops)

ONEDNN_PREFIX = "_Mkl"  # TensorFlow's names of the ops it hands to oneDNN


def op_type(event_name):
    """The op type of a profiler event named "node name:OpType", or None for the executor's
    own events (ExecutorState::Process, Record, StartRegion...)."""
    if "::" in event_name or ":" not in event_name:
        return None
    return event_name.rsplit(":", 1)[1].strip() or None


def op_seconds(xspace):
    """{op type: seconds} summed over the op events of the host's TensorFlow threads in a
    parsed XSpace (the Python thread's events hold the whole call of the step)."""
    totals = collections.Counter()
    for plane in xspace.planes:
        if plane.name != "/host:CPU":
            continue
        for line in plane.lines:
            if not line.name.startswith("tf_"):
                continue
            for event in line.events:
                kind = op_type(plane.event_metadata[event.metadata_id].name)
                if kind is not None:
                    totals[kind] += event.duration_ps * 1e-12
    return totals


def profiled_step(step, batch, steps):
    """({op type: seconds a step}, wall seconds a step) of `steps` calls of `step`, run as
    bench.throughput's plain loop."""
    plain_loop(step, batch, 2)()  # tracing and warm-up
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        plain_loop(step, batch, steps)()
        wall = (time.perf_counter() - start) / steps
        tf.profiler.experimental.stop()
        xspace = xplane_pb2.XSpace()
        with open(glob.glob(logdir + "/**/*.xplane.pb", recursive=True)[0], "rb") as file:
            xspace.ParseFromString(file.read())
    return {kind: seconds / steps for kind, seconds in op_seconds(xspace).items()}, wall


def ceiling(flops, peak, other_seconds):
    """The share of `peak` a step of `flops` reaches if its products run at the peak and its
    other ops take `other_seconds`."""
    at_peak = flops / peak
    return at_peak / (at_peak + other_seconds)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.ops", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--program", choices=PROGRAMS, required=True)
    parser.add_argument("--steps", type=int, default=5, help="profiled steps")
    parser.add_argument("--top", type=int, default=12, help="op types listed")
    args = parser.parse_args(argv)
    step, batch, _ = plain_step(args.program)
    seconds, wall = profiled_step(step, batch, args.steps)
    onednn = sum(s for kind, s in seconds.items() if kind.startswith(ONEDNN_PREFIX))
    other = sum(seconds.values()) - onednn
    print(f"{args.program}: {wall * 1e3:.1f} ms a step (profiled, inter-op threads: "
          f"{os.environ.get('TF_NUM_INTEROP_THREADS', 'default')}); "
          f"ops {1e3 * (onednn + other):.1f} ms: oneDNN {1e3 * onednn:.1f} ms "
          f"({onednn / wall:.0%} of the step), the rest {1e3 * other:.1f} ms "
          f"({other / wall:.0%})")
    for kind, s in sorted(seconds.items(), key=lambda item: -item[1])[:args.top]:
        print(f"  {kind:40s} {1e3 * s:8.1f} ms  {s / wall:5.1%}")
    flops, peak = step_flops(step, batch), matmul_peak()
    print(f"  {flops / 1e9:.1f} GFLOP a step, matmul peak {peak / 1e9:.0f} GFLOP/s: this step "
          f"ran at {flops / wall / peak:.0%} of it; with every oneDNN kernel at the peak and "
          f"the rest as measured it would reach {ceiling(flops, peak, other):.0%}")


if __name__ == "__main__":
    main()
