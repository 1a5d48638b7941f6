"""Flags every program shares, the clean exit for user errors and the one-line start-up report.

Replaces the originals' tf.app.flags / argparse preambles; options.json is common.rundir's.
"""
import argparse
import dataclasses
import functools
import os
import sys

import keras
import tensorflow as tf

from common.errors import UserError


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag ends like every other user error: the usage, then one
    `error: ...` line as the last line, exit status 2 (through exits_cleanly)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        raise UserError(message)


def parser(program, description, module="train"):
    """The parser of `python -m {program}.{module}`; --help shows every default. A train
    parser's options name their program (the package: options.json's "program", by which
    common.sampler finds the package's endpoints)."""
    result = Parser(prog=f"python -m {program}.{module}", description=description,
                    formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    if module == "train":
        result.set_defaults(program=program)
    return result


def replaced(args, **changes):
    """A copy of the options `args` (a program's frozen options, or a tool's Namespace) with
    `changes`: options a command has parsed are never rewritten, a step that derives more (a
    worker's folder, the channels of the data, a checkpoint's network options) returns a
    copy. A change that names no option is a TypeError."""
    if dataclasses.is_dataclass(args):
        return dataclasses.replace(args, **changes)
    return argparse.Namespace(**{**vars(args), **changes})


def tool_parser(prog, doc):
    """The parser of a tool whose module docstring is its --help text."""
    return Parser(prog=prog, description=doc,
                  formatter_class=argparse.RawDescriptionHelpFormatter)


def number(kind, convert, accept):
    """An argparse type: `convert`, then `accept` or one line saying the flag must be `kind`."""
    def check(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {kind}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"must be {kind}, got {text}")
        return value
    check.__name__ = kind.replace(" ", "_")
    check.result_type = convert  # the options' field type (common.options)
    return check


# argparse types for the flags every program checks at start-up (counts, sizes, rates,
# frequencies): a bad value is one line naming the flag, before any data is read.
positive_int = number("a positive integer", int, lambda v: v > 0)
non_negative_int = number("an integer >= 0", int, lambda v: v >= 0)
positive_float = number("a positive number", float,
                         lambda v: v > 0 and v == v and v != float("inf"))
non_negative_float = number("a number >= 0", float,
                             lambda v: v >= 0 and v == v and v != float("inf"))
unit_fraction = number("a number in [0, 1)", float, lambda v: 0 <= v < 1)
fraction = number("a number in [0, 1]", float, lambda v: 0 <= v <= 1)
positive_size = number("a positive number (inf: all)", float, lambda v: v > 0)
power_of_two_from_32 = number("a power of two >= 32", int,
                              lambda v: v >= 32 and not v & (v - 1))


def add_common_flags(parser, program, seed=0):
    """--output-dir, --seed, --fresh, --jit-compile, --mixed-precision, --strategy."""
    group = parser.add_argument_group("shared flags")
    group.add_argument("--output-dir", "--output_dir", default=os.path.join("runs", program),
                       help="where samples/, checkpoints/, history.csv, losses.png go")
    group.add_argument("--seed", type=int, default=seed,
                       help="seeds NumPy, Python and Keras; fixes the sample latents")
    group.add_argument("--fresh", action="store_true",
                       help="start over instead of resuming from --output-dir's checkpoint")
    group.add_argument("--jit-compile", action="store_true",
                       help="compile train_step with XLA (slower on CPU; try it on a GPU)")
    group.add_argument("--mixed-precision", action="store_true",
                       help="bfloat16 compute where the device has it (GPUs of compute "
                            "capability >= 8.0), else float16 with dynamic loss scaling; "
                            "variables, last layers and losses stay float32")
    group.add_argument("--steps-per-execution", type=positive_int, default=1,
                       help="train steps per compiled call: fewer Python round trips; "
                            "callbacks then see every N-th step")
    group.add_argument("--cache-mb", type=positive_int, default=1024,
                       help="decoded images (at the training size) are kept in memory up to "
                            "this size, else cached as files under OUTPUT_DIR/cache")
    group.add_argument("--strategy", choices=("default", "mirrored", "multiworker"),
                       default="default", help="tf.distribute strategy")
    return parser


def exits_cleanly(main):
    """Turn a UserError into one 'error: ...' line on stderr and exit status 2, and a
    Ctrl-C outside training (which saves and exits itself) into exit status 130."""
    @functools.wraps(main)
    def wrapper(argv=None):
        try:
            return main(argv)
        except UserError as error:
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(2) from None
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            raise SystemExit(130) from None
    return wrapper


def mixed_precision_policy():
    """mixed_bfloat16 on GPUs of compute capability >= 8.0 (A100, H100...), whose tensor cores
    take bfloat16 and need no loss scaling; mixed_float16 on older GPUs and on the CPU (whose
    TensorFlow kernels cover float16 for every layer the ports use)."""
    gpus = tf.config.list_physical_devices("GPU")
    capabilities = [tf.config.experimental.get_device_details(gpu).get("compute_capability",
                                                                       (0, 0)) for gpu in gpus]
    if gpus and min(capabilities) >= (8, 0):
        return "mixed_bfloat16"
    return "mixed_float16"


def compile_options(args):
    """compile() arguments from the shared flags (a run saved before a flag existed has its
    default: common.options)."""
    return {"jit_compile": args.jit_compile, "steps_per_execution": args.steps_per_execution}


def setup(args):
    """Seed, precision policy and distribution strategy from the shared flags."""
    keras.utils.set_random_seed(args.seed)
    keras.mixed_precision.set_global_policy(mixed_precision_policy() if args.mixed_precision
                                            else "float32")
    if args.strategy == "mirrored":
        return tf.distribute.MirroredStrategy()
    if args.strategy == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def startup_line(args, strategy, dataset_size, unit="images"):
    """One line: device, precision, XLA, strategy and dataset size."""
    gpus = tf.config.list_physical_devices("GPU")
    device = f"{len(gpus)} GPU" if gpus else "CPU"
    precision = keras.mixed_precision.global_policy().name
    return (f"device: {device} | precision: {precision} | XLA: "
            f"{'on' if args.jit_compile else 'off'} | steps/execution: "
            f"{args.steps_per_execution} | strategy: {args.strategy} "
            f"({strategy.num_replicas_in_sync} replica) | dataset: {dataset_size} {unit}")
