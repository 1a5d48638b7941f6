"""The time of one train step in each original's own framework and in the port, on the same
batches on the same machine: `python -m bench.originals [--steps 5] [--only acgan,ogan]`.

Runs `python -m sidebyside PROGRAM` (which needs `make originals`) and reads its medians: the
original's step (TF 1.15 on one thread per op, Keras 2.2.4 / 2.1.2, PyTorch 1.0.1) and the
port's step as the harness takes it (eagerly, except O-GAN and pix2pix, which it compiles);
bench.throughput has the port as its train command runs it. Data: the tests' kind (random
images, MNIST-format digits), made here, at the sizes the side-by-side programs use.
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


def data_for(program, root):
    """A small dataset of the kind `program` reads, made once under `root`."""
    if program in ("acgan", "dcgan-mnist"):
        return write_mnist_dir(os.path.join(root, "mnist"), 1000, 100)
    if program == "pix2pix":
        folder = os.path.join(root, "pairs")
        os.makedirs(folder, exist_ok=True)
        for i in range(4):
            pair = np.random.default_rng(i).integers(0, 256, (256, 512, 3), np.uint8)
            Image.fromarray(pair).save(os.path.join(folder, f"{i}.png"))
        return folder
    size = (96, 96) if program in ("anime", "wgan") else (64, 64)
    return os.path.dirname(write_images(os.path.join(root, f"images{size[0]}"), 48,
                                        size=size, ext="jpg")[0])


def measure(program, data, steps, root):
    """(original s/step, port s/step, verdict) from the run's results.json."""
    output = os.path.join(root, program)
    result = subprocess.run(
        [sys.executable, "-m", "sidebyside", program, "--data", data, "--steps", str(steps),
         "--output-dir", output], cwd=ROOT, capture_output=True,
        text=True, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    try:
        with open(os.path.join(output, "results.json")) as f:
            results = json.load(f)
    except (OSError, ValueError):
        tail = (result.stdout + result.stderr).strip().splitlines()[-1:]
        return None, None, tail[0] if tail else "no output"
    verdict = "same update" if results["verdict"] == "same" else "diverged"
    return results["seconds"]["original"], results["seconds"]["port"], verdict


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--only", default=",".join(PROGRAMS))
    args = parser.parse_args(argv)
    print(f"{'program':<12} {'original s/step':>16} {'port s/step':>12}  side by side")
    with tempfile.TemporaryDirectory() as root:
        for program in args.only.split(","):
            original, port, verdict = measure(program, data_for(program, root), args.steps,
                                              root)
            if original is None:
                print(f"{program:<12} {'-':>16} {'-':>12}  {verdict}")
            else:
                print(f"{program:<12} {original:16.3f} {port:12.3f}  {verdict}", flush=True)


if __name__ == "__main__":
    main()
