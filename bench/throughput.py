"""Train-step throughput of each program against a plain loop, its input pipeline, and FLOPs:
`python -m bench.throughput --program dcgan [--steps 5 --runs 3 --images 2000]`.

In one process, at the tutorial's batch size and shapes: (a) the port as its train command
runs it (compiled by build_gan, fit() on batches), (b) with --jit-compile, (c) with
--mixed-precision, (d) a plain loop: the same train step as a bare tf.function over the same
in-memory batch, no fit(), callbacks or tf.data (the tensorflow.org tutorials' style), timed
between (a)'s epochs so that (a) and (d) see the machine in the same state. Each is warmed up
(tracing excluded) and reported as the median of --runs runs of --steps steps, with the ratios
a/d, b/d, c/d. Then the input pipeline alone (images/s of its first epoch, which
decodes every file, and of a cached epoch) on --images synthetic JPEGs of the dataset's size
(or --data), and the FLOPs of one step against a measured float32 matmul peak.
"""
import argparse
import os
import statistics
import tempfile
import time

import common  # noqa: F401  (quiets TensorFlow's start-up log)
import keras
import numpy as np
import tensorflow as tf
from PIL import Image
from tensorflow.python.framework import ops
from tensorflow.python.profiler.internal import flops_registry  # noqa: F401 (op counts)

from common import cli
from common.cache import ImageFolder

PROGRAMS = ("ogan", "dcgan", "dcgan-mnist", "anime", "wgan", "acgan", "pix2pix")
SEED = tf.constant([1, 2], tf.int64)
# The tutorials' image files: (height, width) of a source image.
SOURCES = {"ogan": (250, 250), "dcgan": (218, 178), "anime": (96, 96), "wgan": (96, 96),
           "pix2pix": (256, 512)}


def configure(program, jit=False, mixed=False, extra=()):
    """(args of the program's train command at its defaults, or with the `extra` flags, its
    build function)."""
    keras.mixed_precision.set_global_policy(cli.mixed_precision_policy() if mixed
                                            else "float32")
    flags = (["--jit-compile"] if jit else []) + list(extra)
    if program == "acgan":
        from acgan_mnist.program import build_gan, parse_options
        return parse_options(flags), build_gan
    if program == "ogan":
        from ogan_keras.program import build_gan, parse_options
        return parse_options(flags), build_gan
    if program == "pix2pix":
        from pix2pix_tf.program import build_model, parse_options
        return parse_options(["--mode", "train", *flags]), build_model
    from dcgan_tf.program import build_gan, parse_options
    arch = {"anime": "anime", "wgan": "wgan"}.get(program, "dcgan")
    dataset = "mnist" if program == "dcgan-mnist" else "faces"
    args = parse_options(["--train", "--arch", arch, "--dataset", dataset, *flags])
    args = cli.replaced(args, c_dim=args.c_dim or 3)
    return args, build_gan


def uniform(*shape):
    return tf.random.uniform(shape, -1, 1)


def batch_for(program, args):
    """(one in-memory batch as the program's pipeline makes it, images it consumes)."""
    if program == "acgan":
        from acgan_mnist.gan import random_inputs
        images = (uniform(100, 28, 28, 1), tf.zeros((100,), tf.int32))
        return random_inputs(args.latent_size)(images, SEED), 100
    if program == "ogan":
        size, batch = args.img_dim, args.batch_size
        return (uniform(batch, size, size, 3), tf.random.normal((batch, args.z_dim))), batch
    if program == "pix2pix":
        return (uniform(1, 256, 256, 3),) * 2, args.batch_size
    batch, z = args.batch_size, uniform(args.batch_size, args.z_dim)
    if program == "wgan":
        from dcgan_tf.gan import with_critic_noise
        real = uniform(batch, args.n_critic, 96, 96, 3)
        return with_critic_noise(args.z_dim)(real, SEED), batch * args.n_critic
    if program == "dcgan-mnist":
        return (uniform(batch, 28, 28, 1), tf.one_hot(tf.zeros(batch, tf.int32), 10), z), batch
    size = args.output_height
    return (uniform(batch, size, size, 3), z), batch


class EpochTimer(keras.callbacks.Callback):
    """Times each fit() epoch and, right after it, `plain_run` (the same steps as a plain
    loop), so that both see the machine in the same state: a shared machine's speed drifts by
    2x within minutes, and timing one after the other would measure the drift."""

    def __init__(self, plain_run=None):
        super().__init__()
        self.plain_run, self.seconds, self.plain_seconds = plain_run, [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)
        if self.plain_run:
            self.plain_seconds.append(_timed(self.plain_run))


def port_throughput(program, steps, runs, jit=False, mixed=False, plain_run=None, extra=()):
    """Images/s of fit() as the train command runs it, and with a `plain_run` also of that,
    timed between its epochs; the first epoch (tracing, warm-up) is dropped."""
    args, build = configure(program, jit, mixed, extra)
    gan = build(args)
    batch, images = batch_for(program, args)
    timer = EpochTimer(plain_run)
    gan.fit(tf.data.Dataset.from_tensors(batch).repeat(), steps_per_epoch=steps,
            epochs=runs + 1, verbose=0, callbacks=[timer])
    rate = images * steps / statistics.median(timer.seconds[1:])
    if plain_run is None:
        return rate
    return rate, images * steps / statistics.median(timer.plain_seconds[1:])


def plain_step(program):
    """(the program's train step as a bare tf.function at the default flags, its in-memory
    batch, the images one step consumes)."""
    args, build = configure(program)
    batch, images = batch_for(program, args)
    return tf.function(build(args).train_step), batch, images


def plain_loop(step, batch, steps):
    """`steps` calls of `step` on `batch` (as the tensorflow.org tutorials train), ending with
    the host reading a loss."""
    def run():
        for _ in range(steps):
            logs = step(batch)
        float(next(iter(logs.values())))
    return run


def step_flops(step, batch):
    """Floating-point operations of one train step (2 a multiply-add): TensorFlow's per-op
    counts (those its profiler sums) over the ops that run, i.e. those a variable update or an
    output depends on. The traced graph also holds gradients no update uses (a frozen
    network's weights), which TensorFlow prunes before running (a fifth of the conditional
    MNIST DCGAN's traced count)."""
    return graph_flops(step.get_concrete_function(batch).graph)


def graph_flops(graph):
    """FLOPs of the ops of `graph` that a stateful op (a variable update) or an output needs."""
    roots = [op for op in graph.get_operations() if op._is_stateful]
    roots += [tensor.op for tensor in graph.outputs]
    return sum(_op_flops(graph, op) for op in _ancestors(roots))


def _ancestors(roots):
    seen, stack = set(), list(roots)
    while stack:
        op = stack.pop()
        if op not in seen:
            seen.add(op)
            stack.extend(tensor.op for tensor in op.inputs)
            stack.extend(op.control_inputs)
    return seen


def _op_flops(graph, op):
    # A convolution's two gradients (Conv2DBackpropInput is also a transposed convolution)
    # take the forward products: every gradient element meets every kernel tap of every input
    # channel once. TF's own counts go by the larger side: BackpropInput's counts the taps
    # that land in the padding (five times the real work of AC-GAN's 3x3 -> 7x7 'valid'
    # deconvolution), BackpropFilter's the input pixels the strides leave unused (1.6x for the
    # WGAN critic's 8x8 -> 3x3 'valid' convolution).
    if op.type in ("Conv2DBackpropInput", "Conv2DBackpropFilter"):
        kernel = (op.inputs[1] if op.type == "Conv2DBackpropInput" else op.outputs[0]).shape
        gradient = op.inputs[2].shape
        return 2 * gradient.num_elements() * kernel[0] * kernel[1] * kernel[2]
    try:
        return ops.get_stats_for_node_def(graph, op.node_def, "flops").value or 0
    except ValueError:  # no shape function for this op's statistics, or unknown shapes
        return 0


def matmul_peak(size=2048, chain=4, repeats=20):
    """float32 FLOP/s of square matmuls on the default device: `chain` products in one call,
    best of `repeats` calls (on a shared machine the slower calls measure the neighbours)."""
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size)) / size ** 0.5

    @tf.function
    def products(x, y):
        for _ in range(chain):
            x = tf.matmul(x, y)
        return tf.reduce_sum(x)

    float(products(a, b))
    best = min(_timed(lambda: float(products(a, b))) for _ in range(repeats))
    return 2 * size ** 3 * chain / best


def memory_bandwidth(megabytes=256, repeats=10):
    """Bytes/s of adding one `megabytes` float32 array into another in place (a variable's
    assign_add: two reads and one write an element, as an optimizer's update streams its
    slots), best of `repeats` calls: the rate at which tensors that do not fit in the caches
    can be read, what bounds a layer whose weights are many times its products."""
    count = megabytes * 2 ** 20 // 4
    total, increment = tf.Variable(tf.zeros((count,))), tf.random.normal((count,))

    @tf.function
    def add():
        total.assign_add(increment)

    add()  # tracing
    best = min(_timed(add) for _ in range(repeats))
    return 3 * 4 * count / best


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def synthetic_photos(directory, count, size):
    """`count` smooth JPEGs of `size` (h, w), like photographs (noise would inflate them)."""
    rng = np.random.default_rng(0)
    height, width = size
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    for i in range(count):
        waves = [np.sin(x * rng.uniform(2, 12) + y * rng.uniform(2, 12) + rng.uniform(0, 6))
                 for _ in range(3)]
        image = ((np.stack(waves, -1) + 1) * 127.5).astype(np.uint8)
        Image.fromarray(image).save(os.path.join(directory, f"{i:05d}.jpg"), quality=90)
    return sorted(os.path.join(directory, name) for name in os.listdir(directory))


def pipeline_throughput(program, count, data=None, extra=()):
    """(first epoch images/s including the decoding pass, cached epoch images/s)."""
    args, _ = configure(program, extra=extra)
    if program in ("acgan", "dcgan-mnist"):
        images = tf.data.Dataset.from_tensor_slices(np.zeros((60000, 28, 28, 1), np.float32))
        seconds = _timed(lambda: sum(1 for _ in images.batch(100).prefetch(2)))
        return 60000 / seconds, 60000 / seconds
    with tempfile.TemporaryDirectory() as directory:
        paths = sorted(os.path.join(data, n) for n in os.listdir(data)) if data else \
            synthetic_photos(directory, count, SOURCES[program])
        folder, transform = ImageFolder(paths, spec_for(program, args), seed=0), None
        if program == "pix2pix":  # its per-epoch flip, AREA resize and random crop
            from pix2pix_tf.pairs import paired_transform
            transform = paired_transform(args.which_direction, args.lab_colorization,
                                         args.scale_size, 256, args.flip, seed=0)
        first = _timed(lambda: _drain(folder, args, transform))
        cached = _timed(lambda: _drain(folder, args, transform))
    return len(paths) / first, len(paths) / cached


def spec_for(program, args):
    if program == "ogan":
        from ogan_keras.program import image_spec
        return image_spec(args.img_dim)
    if program == "pix2pix":
        from common.decode import ImageSpec
        return ImageSpec(scale="unit")
    from dcgan_tf.program import image_spec
    return image_spec(cli.replaced(args, crop=program == "dcgan"))


def _drain(folder, args, transform=None):
    for _ in folder.dataset(args.batch_size, repeat=False, transform=transform):
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--program", choices=PROGRAMS, required=True)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed run")
    parser.add_argument("--runs", type=int, default=3, help="timed runs (median reported)")
    parser.add_argument("--images", type=int, default=2000, help="synthetic files for the "
                                                                 "input pipeline")
    parser.add_argument("--data", default=None, help="a folder of real images instead")
    parser.add_argument("--skip", default="", help="comma list of: jit, mixed, pipeline")
    args = parser.parse_args(argv)
    skip = set(args.skip.split(","))
    gpus = tf.config.list_physical_devices("GPU")
    device = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU") \
        if gpus else f"CPU ({os.cpu_count()} cores)"
    print(f"{args.program} on {device}, TensorFlow {tf.__version__}, Keras {keras.__version__}")
    step, batch, images = plain_step(args.program)
    port, plain = port_throughput(args.program, args.steps, args.runs,
                                  plain_run=plain_loop(step, batch, args.steps))
    rows = [("(a) port, default flags", port)]
    if "jit" not in skip:
        rows.append(("(b) port, --jit-compile",
                     port_throughput(args.program, args.steps, args.runs, jit=True)))
    if "mixed" not in skip:
        rows.append(("(c) port, --mixed-precision",
                     port_throughput(args.program, args.steps, args.runs, mixed=True)))
    rows.append(("(d) plain tf.function loop", plain))
    keras.mixed_precision.set_global_policy("float32")
    for name, rate in rows:
        print(f"  {name:32s} {rate:9.1f} images/s   {rate / plain:5.2f}x plain")
    flops, peak = step_flops(step, batch), matmul_peak()
    print(f"  {flops / 1e9:.1f} GFLOP per step; matmul peak {peak / 1e9:.0f} GFLOP/s; the "
          f"port runs at {100 * flops * port / images / peak:.0f}% of it")
    if "pipeline" not in skip:
        first, cached = pipeline_throughput(args.program, args.images, args.data)
        print(f"  input pipeline: {first:9.0f} images/s first epoch (decoding, "
              f"{first / port:.0f}x the train step), {cached:9.0f} images/s cached "
              f"({cached / port:.0f}x)")


if __name__ == "__main__":
    main()
