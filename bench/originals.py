"""Each original beside its port on this machine, in images per second: `python -m
bench.originals [--steps 4] [--only acgan,ogan] [--skip-harness]`.

First, as the programs run: the original as its script trains, at the tutorial's sizes and batch
(`python -m sidebyside PROGRAM --time-original`: its framework's default threads, dropout on, no
ordering hook; the median of its steps after the first), and the port as its train command runs
it (bench.throughput: fit() on the compiled train step, the same sizes and batch, the median of
--runs epochs after a warm-up one). Then, as a second table, the side-by-side harness's own
timings (the sizes it pins, one thread per op for the original, the port stepped eagerly except
O-GAN and pix2pix). Needs `make originals`. Data: the tests' kind (random JPEGs, MNIST-format
digits, A|B pairs), made here at each dataset's size.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from conftest import write_images, write_mnist_dir  # noqa: E402

PROGRAMS = ("acgan", "ogan", "dcgan", "dcgan-mnist", "anime", "wgan", "pix2pix")
# The tutorial's batch, and what a step of it consumes (the WGAN: five critic batches).
TUTORIAL_BATCH = {"acgan": 100, "ogan": 64, "dcgan": 64, "dcgan-mnist": 64, "anime": 64,
                  "wgan": 64, "pix2pix": 1}
IMAGES_PER_STEP = {**TUTORIAL_BATCH, "wgan": 64 * 5}
TUTORIAL_SIZE = {"acgan": "28x28", "ogan": "128x128, z_dim 128", "dcgan": "64x64",
                 "dcgan-mnist": "28x28, y_dim 10", "anime": "96x96",
                 "wgan": "96x96, 5 critic + 1 generator updates",
                 "pix2pix": "256x256, ngf = ndf = 64"}


def data_for(program, root):
    """A small dataset of the kind `program` reads, made once under `root` (one batch of the
    tutorial's and more: the WGAN's and O-GAN's runners feed whole batches only)."""
    if program in ("acgan", "dcgan-mnist"):
        return write_mnist_dir(os.path.join(root, "mnist"), 1000, 100)
    if program == "pix2pix":
        folder = os.path.join(root, "pairs")
        os.makedirs(folder, exist_ok=True)
        for i in range(8):
            pair = np.random.default_rng(i).integers(0, 256, (256, 512, 3), np.uint8)
            Image.fromarray(pair).save(os.path.join(folder, f"{i}.png"))
        return folder
    size = {"anime": (96, 96), "wgan": (96, 96), "ogan": (128, 128)}.get(program, (64, 64))
    folder = os.path.join(root, f"images{size[0]}")
    if not os.path.isdir(folder):
        write_images(folder, 128, size=size, ext="jpg")
    return folder


def sidebyside(program, data, steps, root, *extra):
    """The results.json of `python -m sidebyside PROGRAM ...`, or (None, its last line)."""
    output = os.path.join(root, program + "".join(extra))
    result = subprocess.run(
        [sys.executable, "-m", "sidebyside", program, "--data", data, "--steps", str(steps),
         "--output-dir", output, *extra], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    try:
        with open(os.path.join(output, "results.json")) as f:
            return json.load(f), None
    except (OSError, ValueError):
        tail = (result.stdout + result.stderr).strip().splitlines()[-1:]
        return None, tail[0] if tail else "no output"


def original_as_trained(program, data, steps, root):
    """(images/s of the original as its script trains, or None; why not)."""
    results, error = sidebyside(program, data, steps, root, "--time-original",
                                "--batch-size", str(TUTORIAL_BATCH[program]))
    if results is None:
        return None, error
    return IMAGES_PER_STEP[program] / results["seconds"]["original"], None


def port_as_trained(program, steps, runs):
    """Images/s of the port's train command at the tutorial's batch (bench.throughput), in a
    process of its own."""
    batch = [] if program == "acgan" else ["--batch_size", str(TUTORIAL_BATCH[program])]
    code = ("import sys, json; from bench.throughput import port_throughput; "
            f"print(json.dumps(port_throughput({program!r}, {steps}, {runs}, "
            f"extra={batch!r})))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    lines = result.stdout.strip().splitlines()
    return float(lines[-1]) if result.returncode == 0 and lines else None


def harness_times(program, data, steps, root):
    """(original s/step, port s/step, verdict) as `python -m sidebyside` takes them."""
    results, error = sidebyside(program, data, steps, root)
    if results is None:
        return None, None, error
    verdict = "same update" if results["verdict"] == "same" else "diverged"
    return results["seconds"]["original"], results["seconds"]["port"], verdict


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=4,
                        help="steps of each original (the first is not timed)")
    parser.add_argument("--runs", type=int, default=3, help="timed epochs of the port")
    parser.add_argument("--only", default=",".join(PROGRAMS))
    parser.add_argument("--skip-harness", action="store_true",
                        help="only the first table")
    args = parser.parse_args(argv)
    programs = args.only.split(",")
    with tempfile.TemporaryDirectory() as root:
        print("as the programs run (images/s, the tutorial's sizes and batch):")
        print("| program | size, batch | original as its script trains | port as its train "
              "command | port / original |\n|---|---|---|---|---|")
        for program in programs:
            original, error = original_as_trained(program, data_for(program, root),
                                                  args.steps, root)
            port = port_as_trained(program, max(1, args.steps - 1), args.runs)
            ratio = f"{port / original:.2f}x" if original and port else "-"
            print(f"| {program} | {TUTORIAL_SIZE[program]}, {TUTORIAL_BATCH[program]} | "
                  f"{f'{original:.1f}' if original else error} | "
                  f"{f'{port:.1f}' if port else '-'} | {ratio} |", flush=True)
        if args.skip_harness:
            return
        print("\nas the side-by-side harness takes them (s/step, its sizes):")
        print("| program | original s/step | port s/step | side by side |\n|---|---|---|---|")
        for program in programs:
            original, port, verdict = harness_times(program, data_for(program, root),
                                                    args.steps, root)
            if original is None:
                print(f"| {program} | - | - | {verdict} |")
            else:
                print(f"| {program} | {original:.3f} | {port:.3f} | {verdict} |", flush=True)


if __name__ == "__main__":
    main()
