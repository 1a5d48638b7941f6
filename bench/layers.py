"""Where a train step's time goes, layer by layer: `python -m bench.layers --program wgan`.

For each convolution, transposed convolution and dense layer of the program's networks, at
its train batch size (pix2pix: 1): the forward pass alone, then its two gradients (the
input's and the kernel's), each timed as a bare tf.function (best of --repeats calls) and as a
share of the float32 matmul peak measured in the same process. The products are counted as
bench.throughput counts them: a forward convolution's multiply-adds, twice that for the
gradients. What the table shows is
TensorFlow's kernels at the tutorials' shapes; the ports call them as any Keras model does.
Transposed convolutions are timed a second time as common.transposed_conv's product and
overlap-add (same weights), which a program uses where it is the faster.

Each layer's floor is the least time its passes could take on this machine: its products at
the matmul peak, or its weights streamed at the measured memory bandwidth (read once forward;
read for the input's gradient and the kernel's gradient written), whichever is longer.
Layers whose weights bound them (pix2pix's 1x1-8x8 layers at batch 1) cannot reach the
peak's share a convolution over a large image can; the totals say what share the program's
layers could reach at their floors.
"""
import argparse

import common  # noqa: F401  (quiets TensorFlow's start-up log)
import keras
import numpy as np
import tensorflow as tf

from bench.throughput import PROGRAMS, _timed, configure, matmul_peak, memory_bandwidth
from common import transposed_conv

NETWORKS = ("generator", "discriminator", "critic", "encoder")
MEASURED = (keras.layers.Conv2D, keras.layers.Conv2DTranspose, keras.layers.Dense)


def layer_flops(layer, batch):
    """2 x the multiply-adds of `layer`'s forward pass on `batch` samples."""
    kernel = layer.kernel.shape
    if isinstance(layer, keras.layers.Dense):
        return 2 * batch * kernel[0] * kernel[1]
    if isinstance(layer, keras.layers.Conv2DTranspose):  # every input pixel meets the kernel
        return 2 * batch * int(np.prod(layer.input.shape[1:3])) * int(np.prod(kernel))
    return 2 * batch * int(np.prod(layer.output.shape[1:3])) * int(np.prod(kernel))


def weight_bytes(layer):
    return sum(4 * int(np.prod(weight.shape)) for weight in layer.weights)


def floors(flops, weights, peak, bandwidth):
    """(forward, gradients) seconds at least: the products at `peak` FLOP/s or the weights
    streamed at `bandwidth` bytes/s (once forward, twice for the gradients), the longer."""
    return (max(flops / peak, weights / bandwidth),
            max(2 * flops / peak, 2 * weights / bandwidth))


def layer_times(layer, batch, repeats, like=None):
    """(seconds of the forward pass, seconds of the gradients) of `layer` on random inputs of
    the shape `like` (default: `layer`) was called on."""
    like = layer if like is None else like
    x = tf.random.normal((batch, *like.input.shape[1:]))
    upstream = tf.random.normal((batch, *like.output.shape[1:]))

    @tf.function
    def forward(x):
        return layer(x)

    @tf.function
    def gradients(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        return tape.gradient(y, [x, layer.kernel], output_gradients=upstream)

    def best(function):
        function(x)  # tracing
        return min(_timed(lambda: [t.numpy() for t in tf.nest.flatten(function(x))])
                   for _ in range(repeats))
    return best(forward), best(gradients)


def twin(layer, cls):
    """A `cls` layer of the Conv2DTranspose `layer`'s configuration, holding its weights:
    Keras' layer or common.transposed_conv's product form, whichever the program built."""
    copy = cls.from_config(layer.get_config())
    copy.build(layer.input.shape)
    copy.set_weights(layer.get_weights())
    return copy


def measured_layers(network):
    """The convolutions and dense layers of `network` in order, inside nested models too."""
    for layer in network.layers:
        if isinstance(layer, keras.Model):
            yield from measured_layers(layer)
        elif isinstance(layer, MEASURED):
            yield layer


def network_rows(network, batch, repeats):
    """[(name, input shape, output shape, forward FLOPs, forward s, gradients s, product
    form's (forward s, gradients s) or None, weight bytes, whether the program uses the product
    form)] of the measured layers of `network`; a transposed convolution's first times are
    Keras' layer's, whichever form the program uses."""
    rows = []
    for layer in measured_layers(network):
        timed, product = layer, None
        if isinstance(layer, keras.layers.Conv2DTranspose):
            product = layer_times(twin(layer, transposed_conv.Conv2DTranspose), batch,
                                  repeats, like=layer)
            timed = twin(layer, keras.layers.Conv2DTranspose)
        forward, gradients = layer_times(timed, batch, repeats, like=layer)
        rows.append((layer.name, tuple(layer.input.shape[1:]), tuple(layer.output.shape[1:]),
                     layer_flops(layer, batch), forward, gradients, product,
                     weight_bytes(layer), isinstance(layer, transposed_conv.Conv2DTranspose)))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.layers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--program", choices=PROGRAMS, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    options, build = configure(args.program)
    model = build(options)
    batch = 1 if args.program == "pix2pix" else options.batch_size
    peak, bandwidth = matmul_peak(), memory_bandwidth()
    print(f"{args.program}, batch {batch}; matmul peak {peak / 1e9:.0f} GFLOP/s, memory "
          f"bandwidth {bandwidth / 1e9:.1f} GB/s")
    networks = [getattr(model, name) for name in NETWORKS if hasattr(model, name)]
    totals = np.zeros(3)
    for index, network in enumerate(networks):
        if not any(network is other for other in networks[:index]):  # the WGAN's critic is D
            totals += print_network(network, batch, args.repeats, peak, bandwidth)
    print(f"\nall layers, forward and gradients (transposed: the form the program uses): "
          f"{totals[1] * 1e3:.0f} ms, {totals[0] / totals[1] / peak:.0%} of the peak; at their "
          f"floors {totals[2] * 1e3:.0f} ms, {totals[0] / totals[2] / peak:.0%}")


def print_network(network, batch, repeats, peak, bandwidth):
    """Prints `network`'s rows; returns (FLOPs of all passes, seconds as the program runs
    them, seconds at the floors)."""
    print(f"\n{network.name}: layer, input -> output, GFLOP, weights MB, forward ms (share "
          f"of the peak), gradients ms (share), the floors' ms; transposed: Keras' layer, "
          f"then as product and overlap-add (* the form the program uses)")
    totals = np.zeros(3)
    for name, shape_in, shape_out, flops, forward, gradients, product, weights, uses_product \
            in network_rows(network, batch, repeats):
        floor = floors(flops, weights, peak, bandwidth)
        used = sum(product) if uses_product else forward + gradients
        totals += (3 * flops, used, sum(floor))
        line = (f"  {name:24s} {str(shape_in):16s} -> {str(shape_out):16s} "
                f"{flops / 1e9:6.2f} {weights / 2 ** 20:7.1f} "
                f"{times(flops, forward, gradients, peak)}  floors "
                f"{floor[0] * 1e3:.1f} / {floor[1] * 1e3:.1f}")
        mark = "*" if uses_product else " "
        print(line + (f"  |{mark}product {times(flops, *product, peak)}" if product else ""))
    return totals

def times(flops, forward, gradients, peak):
    return (f"{forward * 1e3:8.1f} ({flops / forward / peak:4.0%}) "
            f"{gradients * 1e3:8.1f} ({2 * flops / gradients / peak:4.0%})")


if __name__ == "__main__":
    main()
