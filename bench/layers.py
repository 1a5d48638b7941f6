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
"""
import argparse

import common  # noqa: F401  (quiets TensorFlow's start-up log)
import keras
import numpy as np
import tensorflow as tf

from bench.throughput import PROGRAMS, _timed, configure, matmul_peak
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


def product_form(layer):
    """common.transposed_conv's twin of the Conv2DTranspose `layer`, holding its weights."""
    twin = transposed_conv.Conv2DTranspose.from_config(layer.get_config())
    twin.build(layer.input.shape)
    twin.set_weights(layer.get_weights())
    return twin


def measured_layers(network):
    """The convolutions and dense layers of `network` in order, inside nested models too."""
    for layer in network.layers:
        if isinstance(layer, keras.Model):
            yield from measured_layers(layer)
        elif isinstance(layer, MEASURED):
            yield layer


def network_rows(network, batch, repeats):
    """[(name, input shape, output shape, forward FLOPs, forward s, gradients s, product
    form's (forward s, gradients s) or None)] of the measured layers of `network`."""
    rows = []
    for layer in measured_layers(network):
        forward, gradients = layer_times(layer, batch, repeats)
        product = layer_times(product_form(layer), batch, repeats, like=layer) \
            if isinstance(layer, keras.layers.Conv2DTranspose) else None
        rows.append((layer.name, tuple(layer.input.shape[1:]), tuple(layer.output.shape[1:]),
                     layer_flops(layer, batch), forward, gradients, product))
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
    peak = matmul_peak()
    print(f"{args.program}, batch {batch}; matmul peak {peak / 1e9:.0f} GFLOP/s")
    networks = [getattr(model, name) for name in NETWORKS if hasattr(model, name)]
    for index, network in enumerate(networks):
        if any(network is other for other in networks[:index]):  # the WGAN's critic is its D
            continue
        print(f"\n{network.name}: layer, input -> output, GFLOP, forward ms (share of the "
              f"peak), gradients ms (share); transposed: the same as product and overlap-add")
        for layer, shape_in, shape_out, flops, forward, gradients, product in \
                network_rows(network, batch, args.repeats):
            line = (f"  {layer:24s} {str(shape_in):16s} -> {str(shape_out):16s} "
                    f"{flops / 1e9:6.2f} {times(flops, forward, gradients, peak)}")
            print(line + (f"  | product {times(flops, *product, peak)}" if product else ""))


def times(flops, forward, gradients, peak):
    return (f"{forward * 1e3:8.1f} ({flops / forward / peak:4.0%}) "
            f"{gradients * 1e3:8.1f} ({2 * flops / gradients / peak:4.0%})")


if __name__ == "__main__":
    main()
