"""The benchmark's FLOP count: the real multiply-adds of the ops that run, nothing else."""
import os

import tensorflow as tf

from bench.throughput import graph_flops


def flops_of(function, *shapes):
    specs = [tf.TensorSpec(shape, tf.float32) for shape in shapes]
    return graph_flops(tf.function(function).get_concrete_function(*specs).graph)


def test_matmul_counts_two_flops_per_multiply_add():
    assert flops_of(lambda a, b: tf.matmul(a, b), (8, 16), (16, 4)) == 2 * 8 * 16 * 4


def test_valid_transposed_convolution_counts_only_real_taps():
    # AC-GAN's first deconvolution: 3x3 -> 7x7 with a 5x5 kernel, 'valid' padding. Each input
    # pixel meets the whole kernel once: 9 x 25 taps, not 49 output pixels x 25.
    kernel = tf.ones((5, 5, 6, 4))  # (kh, kw, output channels, input channels)

    def deconv(x):
        return tf.nn.conv2d_transpose(x, kernel, (2, 7, 7, 6), 1, padding="VALID")

    assert flops_of(deconv, (2, 3, 3, 4)) == 2 * 2 * 9 * 25 * 4 * 6


def test_a_kernel_gradient_counts_the_forward_products():
    # The WGAN critic's last convolution: 8x8 -> 3x3, 4x4 kernel, stride 2, 'valid'. Its
    # kernel gradient takes the forward pass's products, 9 output pixels x 16 taps; TF's own
    # count goes by the 8x8 input (1.6x more).
    kernel_shape = (4, 4, 6, 5)

    def kernel_gradient(x, upstream):
        return tf.compat.v1.nn.conv2d_backprop_filter(x, kernel_shape, upstream, [1, 2, 2, 1],
                                                      "VALID")

    assert flops_of(kernel_gradient, (2, 8, 8, 6), (2, 3, 3, 5)) == 2 * 2 * 9 * 16 * 6 * 5


def test_layer_table_counts_each_layers_products():
    from bench.layers import layer_flops, measured_layers, network_rows
    import keras
    from common import transposed_conv
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 4, strides=2, name="conv")(inputs)
    # built as the product form, as a program builds its small-image transposed convolutions
    deconv = transposed_conv.Conv2DTranspose(2, 4, strides=2, name="deconv")
    x = keras.Sequential([deconv])(x)
    x = keras.layers.Dense(5, name="dense")(keras.layers.Flatten()(x))
    network = keras.Model(inputs, x)  # a nested model's layers are measured too
    flops = {layer.name: layer_flops(layer, 3) for layer in measured_layers(network)}
    assert flops == {"conv": 2 * 3 * 9 * 16 * 3 * 4, "deconv": 2 * 3 * 9 * 16 * 4 * 2,
                     "dense": 2 * 3 * 8 * 8 * 2 * 5}
    rows = network_rows(network, 3, repeats=1)
    assert [row[0] for row in rows] == ["conv", "deconv", "dense"]
    assert all(row[4] > 0 and row[5] > 0 for row in rows)
    # the transposed convolution alone is timed again as the product form
    assert [row[6] is not None for row in rows] == [False, True, False]
    assert all(seconds > 0 for seconds in rows[1][6])
    assert [row[7] for row in rows] == [4 * (4 * 4 * 3 * 4 + 4), 4 * (4 * 4 * 2 * 4 + 2),
                                        4 * (8 * 8 * 2 * 5 + 5)]
    assert [row[8] for row in rows] == [False, True, False]  # the form the program built


def test_a_layers_floor_is_its_products_or_its_weights_whichever_is_longer():
    from bench.layers import floors
    peak, bandwidth = 1e11, 1e10  # FLOP/s, bytes/s
    # compared exactly: each quotient of these integers rounds to the literal's double
    # 1 GFLOP on 1 MB of weights: the products bound it (10 ms), the gradients twice that
    assert floors(1e9, 1e6, peak, bandwidth) == (1e-2, 2e-2)
    # pix2pix's decoder_7 at batch 1: 0.07 GFLOP on 33.5 MB, bound by its weights
    assert floors(7e7, 3.35e7, peak, bandwidth) == (3.35e-3, 6.7e-3)


def test_a_transposed_convolution_is_timed_as_keras_layer_whichever_form_the_program_built():
    """bench.layers' first column is Keras' layer: its twin of a product-form layer is
    keras.layers.Conv2DTranspose with the same weights and output, and the reverse."""
    import keras
    import numpy as np
    from bench.layers import twin
    from common import transposed_conv
    product = transposed_conv.Conv2DTranspose(3, 5, strides=2, padding="same")
    product(keras.Input((3, 3, 4)))  # as in a program's functional network
    x = tf.random.normal((2, 3, 3, 4))
    keras_layer = twin(product, keras.layers.Conv2DTranspose)
    assert type(keras_layer) is keras.layers.Conv2DTranspose
    # float32 sums of at most 9 taps x 4 channels in two orders, outputs of order 1: a few
    # 1e-7 apart (test_transposed_conv holds the sums to float64); a twin without the weights
    # (another initialisation) is order 1 off and fails
    np.testing.assert_allclose(keras_layer(x), product(x), rtol=1e-5, atol=1e-5)
    keras_layer(keras.Input((3, 3, 4)))
    assert type(twin(keras_layer, transposed_conv.Conv2DTranspose)) is \
        transposed_conv.Conv2DTranspose


def test_memory_bandwidth_is_a_rate():
    from bench.throughput import memory_bandwidth
    rate = memory_bandwidth(megabytes=4, repeats=2)
    assert 1e8 < rate < 1e13  # bytes/s: between a floppy disk's and no machine's


def test_gradients_no_update_uses_are_not_counted():
    weights = tf.Variable(tf.ones((16, 4)))
    other = tf.Variable(tf.ones((4, 2)))

    def step(x, update_other):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(tf.matmul(tf.matmul(x, weights), other)))
        # Both gradients are traced; TensorFlow prunes the one no update uses.
        weights_gradient, other_gradient = tape.gradient(loss, [weights, other])
        weights.assign_sub(weights_gradient)
        if update_other:
            other.assign_sub(other_gradient)

    one = flops_of(lambda x: step(x, False), (8, 16))
    both = flops_of(lambda x: step(x, True), (8, 16))
    assert both - one == 2 * 4 * 8 * 2  # other's gradient: h^T (4x8) @ dloss/dy (8x2)


def test_the_gpu_script_runs_at_a_tiny_size_and_rewrites_its_section(tmp_path):
    """bench.gpu on the CPU at tiny sizes, one program (an image folder's, so the first pass and
    the cached epoch are timed too): every variant timed, the pipeline against the step, the
    section between its markers replaced (not added) on a second run."""
    import subprocess
    import sys
    readme = tmp_path / "README.md"
    readme.write_text("# Benchmarks\n\nkept\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    command = [sys.executable, "-m", "bench.gpu", "--tiny", "--programs", "dcgan",
               "--steps", "2", "--runs", "1", "--images", "8", "--readme", str(readme)]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}

    def rows(*budget):
        result = subprocess.run(command + list(budget), cwd=root, env=env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        text = readme.read_text()
        assert text.startswith("# Benchmarks\n\nkept\n") and text.count("bench.gpu: start") == 1
        assert "### CPU (" in text
        lines = [line for line in text.splitlines() if line.startswith("| dcgan")]
        assert len(lines) == 1
        return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    for cells in rows():
        assert len(cells) == 7 and all(float(cell.split()[0]) > 0 for cell in cells[1:])
    # a second run replaces the section; with no time budget it measures nothing
    for cells in rows("--budget-s", "0"):
        assert cells[1:] == ["skipped (time)"] * 6


def test_op_times_sum_the_tensorflow_threads_op_events_by_type(monkeypatch):
    """The profile's op events summed by type: the executor's own events and the Python
    thread's (which spans the whole step call) are not ops."""
    import importlib
    from tensorflow.tsl.profiler.protobuf import xplane_pb2
    import bench.ops
    from bench.ops import op_seconds, op_type
    # the command's one inter-op thread stays the command's (set on import, it reached the
    # side-by-side's originals run later in the test session); reloaded, so that the module's
    # code runs here whichever test imported it first
    monkeypatch.delenv("TF_NUM_INTEROP_THREADS", raising=False)
    importlib.reload(bench.ops)
    assert "TF_NUM_INTEROP_THREADS" not in os.environ
    assert op_type("sequential/conv2d/Conv2D:_MklNativeConv2D") == "_MklNativeConv2D"
    assert op_type("ExecutorState::Process") is None and op_type("Record") is None
    space = xplane_pb2.XSpace()
    plane = space.planes.add(name="/host:CPU")
    names = ["d/conv:_MklNativeConv2D", "ExecutorState::Process", "d/mul:Mul",
             "EagerExecute: __inference_train_step_1"]
    for index, name in enumerate(names):
        plane.event_metadata[index + 1].name = name
    compute, python = plane.lines.add(name="tf_Compute/1"), plane.lines.add(name="python")
    for metadata_id, seconds in ((1, 2.0), (2, 5.0), (3, 0.5), (1, 1.0)):
        compute.events.add(metadata_id=metadata_id, duration_ps=int(seconds * 1e12))
    python.events.add(metadata_id=4, duration_ps=int(9e12))
    assert op_seconds(space) == {"_MklNativeConv2D": 3.0, "Mul": 0.5}


def test_a_profiled_steps_ops_add_up_to_no_more_than_the_step():
    """bench.ops on the conditional MNIST DCGAN's step (the smallest): with one inter-op thread
    the ops' times add up to the step's (with TF_NUM_INTEROP_THREADS=2, TensorFlow's default on
    two cores, they overlap and sum past it: 541 ms of ops in a 318 ms step when tried),
    oneDNN's among them."""
    import re
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-m", "bench.ops", "--program", "dcgan-mnist",
                             "--steps", "2", "--top", "3"], cwd=root, capture_output=True,
                            text=True, timeout=600,
                            env={**{k: v for k, v in os.environ.items()
                                    if k != "TF_NUM_INTEROP_THREADS"},
                                 "CUDA_VISIBLE_DEVICES": ""})
    assert result.returncode == 0, result.stderr[-3000:]
    wall, ops = map(float, re.search(r"([\d.]+) ms a step .* ops ([\d.]+) ms",
                                     result.stdout).groups())
    # One at a time, the ops are disjoint intervals inside the timed window, so they sum to at
    # most the step (measured 98-99% of it); the 2% is for the profiler's clock against
    # perf_counter's. Overlapping ops fail the upper bound (1.70x above), double-counted
    # nested events (a function call's op and its body's) would too; a profile that finds no
    # op thread fails the lower one (tried: 0 ms of ops). Reading the Python thread instead
    # passes both (its step-long call event covers the step) and fails the `_Mkl` check below.
    assert 0.5 * wall < ops <= 1.02 * wall, result.stdout
    assert "_Mkl" in result.stdout and "would reach" in result.stdout
