"""Every program's train step on this machine's accelerator, in one script for a lent GPU:
`python -m bench.gpu [--programs ...] [--budget-s 420] [--readme bench/README.md]`.

For each program at the tutorial's batch size and shapes: images/s of the train command's step
(fit() over batches) with the default flags, --jit-compile, --mixed-precision and
--steps-per-execution 8; then whether the input pipeline keeps the step fed: images/s of the
image folder's first epoch (decoding every file) and of a cached epoch, against the fastest
step. The figures, with the device's name, replace the section between the GPU markers of
`--readme`. Past `--budget-s` seconds the remaining measurements are skipped (and say so), so
the whole run fits a lent machine's minutes. `--tiny` runs tiny sizes (the test, on the CPU).
"""
import argparse
import os
import time

import common  # noqa: F401  (TensorFlow's start-up settings)
import keras
import tensorflow as tf

from bench.throughput import PROGRAMS, pipeline_throughput, port_throughput

START, END = "<!-- bench.gpu: start -->", "<!-- bench.gpu: end -->"
VARIANTS = (("default flags", {}), ("--jit-compile", {"jit": True}),
            ("--mixed-precision", {"mixed": True}),
            ("--steps-per-execution 8", {"extra": ["--steps-per-execution", "8"]}))
# Tiny sizes of each program (the CPU test): its own flags.
TINY = {
    "acgan": ["--batch-size", "8"],
    "ogan": ["--img_dim", "32", "--z_dim", "16", "--batch_size", "4"],
    "dcgan": ["--input_height", "16", "--output_height", "16", "--batch_size", "4",
              "--gf_dim", "8", "--df_dim", "8"],
    "dcgan-mnist": ["--batch_size", "4", "--gf_dim", "8", "--df_dim", "8"],
    "anime": ["--batch_size", "4"],
    "wgan": ["--batch_size", "2", "--gf_dim", "16", "--df_dim", "16"],
    "pix2pix": ["--ngf", "8", "--ndf", "8"],
}


def device_name():
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return f"CPU ({os.cpu_count()} cores)"
    details = tf.config.experimental.get_device_details(gpus[0])
    return f"{len(gpus)} x {details.get('device_name', 'GPU')}"


def measure(programs, steps, runs, images, budget, tiny=False):
    """[(program, {variant: images/s or None}, (first epoch, cached) or None)]."""
    started, rows = time.perf_counter(), []
    for program in programs:
        sizes = TINY[program] if tiny else []
        rates = {}
        for name, options in VARIANTS:
            if time.perf_counter() - started > budget:
                rates[name] = None
                continue
            extra = sizes + options.get("extra", [])
            rates[name] = port_throughput(program, steps, runs, options.get("jit", False),
                                          options.get("mixed", False), extra=extra)
            print(f"{program}: {name}: {rates[name]:.1f} images/s", flush=True)
        keras.mixed_precision.set_global_policy("float32")
        pipeline = None
        if time.perf_counter() - started <= budget:
            pipeline = pipeline_throughput(program, images, extra=sizes)
            print(f"{program}: pipeline {pipeline[0]:.0f} / {pipeline[1]:.0f} images/s "
                  "(first / cached epoch)", flush=True)
        rows.append((program, rates, pipeline))
    return rows


def table(rows, device, seconds):
    """The GPU section's markdown."""
    head = [f"### {device}, TensorFlow {tf.__version__}, Keras {keras.__version__}, "
            f"{time.strftime('%Y-%m-%d')}", "",
            f"`python -m bench.gpu` ({seconds:.0f} s). Train step in images/s (the images one "
            "step consumes; the WGAN's five critic batches count); the input pipeline's "
            "first epoch (decoding every file) and cached epoch, and how many times the "
            "fastest step each is (under 1x: the pipeline cannot keep the accelerator fed).",
            "", "| program | " + " | ".join(name for name, _ in VARIANTS)
            + " | pipeline first epoch | cached epoch |",
            "|---|" + "---|" * (len(VARIANTS) + 2)]
    for program, rates, pipeline in rows:
        cells = [f"{rate:.1f}" if rate else "skipped (time)" for rate in rates.values()]
        fastest = max([r for r in rates.values() if r] or [0])
        if pipeline and fastest:
            cells += [f"{rate:.0f} ({rate / fastest:.1f}x)" for rate in pipeline]
        else:
            cells += ["skipped (time)"] * 2
        head.append(f"| {program} | " + " | ".join(cells) + " |")
    return "\n".join(head)


def write_section(readme, text):
    """Replace the GPU section of `readme` (between START and END), or append one."""
    with open(readme) as f:
        content = f.read()
    section = f"{START}\n{text}\n{END}"
    if START in content and END in content:
        before, rest = content.split(START, 1)
        content = before + section + rest.split(END, 1)[1]
    else:
        content = content.rstrip("\n") + "\n\n## GPU\n\n" + section + "\n"
    with open(readme, "w") as f:
        f.write(content)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", default=",".join(PROGRAMS))
    parser.add_argument("--steps", type=int, default=20, help="steps per timed run")
    parser.add_argument("--runs", type=int, default=2, help="timed runs (median reported)")
    parser.add_argument("--images", type=int, default=1000,
                        help="synthetic files for the input pipeline")
    parser.add_argument("--budget-s", type=float, default=420.0,
                        help="skip what is left after this many seconds")
    parser.add_argument("--readme", default=os.path.join(os.path.dirname(__file__),
                                                         "README.md"))
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (the CPU test)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = measure(args.programs.split(","), args.steps, args.runs, args.images,
                   args.budget_s, args.tiny)
    text = table(rows, device_name(), time.perf_counter() - started)
    write_section(args.readme, text)
    print(text)


if __name__ == "__main__":
    main()
