"""One train step of AC-GAN or the conditional DCGAN under the default strategy and under
MirroredStrategy on 2 logical CPU devices, from the same weights on the same global batch and
latents; prints, as JSON, how far the two steps' gradients, losses and statistics differ.

Both runs step with SGD and momentum, whose momentum slots then hold -lr x the gradients at
full float32 precision (a weight's own change would be rounded to the weight's precision). So
what is compared is what distribution can change (each replica's share of the loss, BatchNorm's
batch statistics), not Adam's first step, which is about lr * sign(g) and turns a rounding-level
gradient (one that flips sign with the order of a float32 sum) into an lr-sized difference.

`python tests/mirrored_step.py acgan|dcgan DATA_DIR [MODE ...]`, MODE of:
  as_built         the port as it is
  no_loss_scaling  each replica differentiates its local mean loss (not loss / replicas)
  unsynchronized   BatchNorm normalises with each replica's own half of the batch
The last two break the port on purpose, to show that the comparison can fail. Run by
tests/test_distribution.py in its own process: logical devices are fixed when TensorFlow
starts.

The reference is the same single-device step in float64 (Keras' float64 dtype policy, the
batch cast): each float32 step's gradients are measured by their distance from it, so the
bound on the mirrored step is the single-device float32 step's own error, on any CPU.
"""
import contextlib
import json
import os
import sys
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # noqa: E402

CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(CPU, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from common import old_frameworks  # noqa: E402
from common.mnist import load_mnist  # noqa: E402

LEARNING_RATE, MOMENTUM = 1e-3, 0.5


def acgan(data_dir):
    from acgan_mnist import model
    from acgan_mnist.gan import ACGAN
    from acgan_mnist.program import batches, scale

    def build():
        gan = ACGAN(model.build_generator(), model.build_discriminator())
        for layer in gan.discriminator.get_layer("sequential").layers:
            if isinstance(layer, keras.layers.Dropout):
                layer.rate = 0.0  # dropout masks are drawn per device and cannot agree
        return gan
    (x, y), _ = load_mnist(data_dir)
    return build, batches(scale(x[:16]), y[:16], 8, True, 100, seed=3), "acgan_mnist.gan"


def dcgan(data_dir):
    import argparse
    from dcgan_tf.program import build_gan
    from dcgan_tf.train import training_data
    args = argparse.Namespace(
        arch="dcgan", dataset="mnist", data_dir=os.path.dirname(data_dir), batch_size=8,
        n_critic=5, train_size=np.inf, z_dim=8, z_dist="uniform_signed", seed=3, mnist=True,
        c_dim=1,
        gf_dim=4, df_dim=4, gfc_dim=16, dfc_dim=16, output_height=28, output_width=28,
        g_steps=2, learning_rate=2e-4, beta1=0.5, jit_compile=False, steps_per_execution=1)
    data = training_data(args, None)[0](0)
    return lambda: build_gan(args), data, "dcgan_tf.gan"


def unscaled_loss(optimizer, loss):
    """update_loss without the division by the replicas in sync."""
    return optimizer.scale_loss(loss)


def unsynchronized(kwargs):
    return {"synchronized": False, **kwargs}


def broken(mode, gan_module):
    """The port as built, or with one of its distribution rules taken out."""
    if mode == "no_loss_scaling":
        return mock.patch(f"{gan_module}.update_loss", unscaled_loss)
    if mode == "unsynchronized":
        return mock.patch.object(old_frameworks, "synchronized_by_default", unsynchronized)
    return contextlib.nullcontext()


def with_sgd(gan):
    """The GAN compiled with SGD with momentum for both players."""
    gan.compile(keras.optimizers.SGD(LEARNING_RATE, MOMENTUM),
                keras.optimizers.SGD(LEARNING_RATE, MOMENTUM))
    return gan


def variables(gan):
    return [v.numpy() for v in gan.generator.variables + gan.discriminator.variables]


def gradients(gan):
    """[(variable path, -lr x its gradient)] from the optimizers' momentum slots (after one
    discriminator step and the generator's step(s))."""
    return [(variable.path, slot.numpy())
            for optimizer, network in ((gan.d_optimizer, gan.discriminator),
                                       (gan.g_optimizer, gan.generator))
            for variable, slot in zip(network.trainable_variables, optimizer.momentums)]


def statistics(gan):
    """Values of the non-trainable variables (BatchNorm's moving statistics, debias state)."""
    return [v.numpy() for v in gan.generator.non_trainable_variables
            + gan.discriminator.non_trainable_variables]


def biases_into_batchnorm(gan):
    """Biases of layers whose output goes straight into BatchNormalization: BN removes them,
    so their true gradient is zero and what they get is rounding noise that no two summation
    orders agree on (relative to itself)."""
    paths = set()
    for network in (gan.generator, gan.discriminator):
        for layer in network._flatten_layers():
            bias = getattr(layer, "bias", None)
            linear = getattr(layer, "activation", None) in (None, keras.activations.linear)
            if bias is not None and linear and any(
                    isinstance(node.operation, keras.layers.BatchNormalization)
                    for node in layer._outbound_nodes):
                paths.add(bias.path)
    return paths


def relative(a, b):
    """Largest |a - b| relative to the largest |a| (0 when both are 0)."""
    scale = float(np.max(np.abs(a)))
    difference = float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
    return difference / scale if scale else difference


def in_float64(data):
    """The batches with their floating-point tensors cast to float64 (the same values)."""
    return data.map(lambda *tensors: tuple(tf.cast(t, tf.float64) if t.dtype.is_floating
                                           else t for t in tensors))


def float64_step(build, data, start):
    """The single-device step in float64 from the float32 start."""
    keras.config.set_dtype_policy("float64")
    try:
        gan = with_sgd(build())
    finally:
        keras.config.set_dtype_policy("float32")
    for variable, value in zip(gan.generator.variables + gan.discriminator.variables, start):
        variable.assign(value.astype(variable.dtype))
    gan.fit(in_float64(data), steps_per_epoch=1, epochs=1, verbose=0)
    return gan


def single_device(build, data):
    """One step on the default strategy from fresh weights, and the same step in float64 from
    the same start: (the float32 GAN, the float64 GAN, the start, the losses). Shared by every
    mode: with one replica a broken rule changes nothing (the loss divided by 1 replica,
    BatchNorm's batch the whole batch)."""
    keras.utils.set_random_seed(0)
    single = with_sgd(build())
    start = variables(single)
    losses = single.fit(data, steps_per_epoch=1, epochs=1, verbose=0).history
    return single, float64_step(build, data, start), start, losses


def compare(build, data, gan_module, mode, strategy, reference):
    """One mirrored step from the single device's start (`reference`: single_device's): the
    worst relative differences of the gradients, of BatchNorm's statistics and of the
    losses."""
    single, exact, start, single_losses = reference
    with broken(mode, gan_module):
        with strategy.scope():
            mirrored = with_sgd(build())
            for variable, value in zip(mirrored.generator.variables
                                       + mirrored.discriminator.variables, start):
                variable.assign(value)
        losses = [single_losses,
                  mirrored.fit(data, steps_per_epoch=1, epochs=1, verbose=0).history]
    noise_only = biases_into_batchnorm(single)
    grads = [(path, g, m, e) for (path, g), (_, m), (_, e) in
             zip(gradients(single), gradients(mirrored), gradients(exact))
             if path not in noise_only]
    worst = max(grads, key=lambda u: relative(u[3], u[2]))
    stats = list(zip(statistics(single), statistics(mirrored)))
    return {"compared": len(grads), "left_out": sorted(noise_only),
            "gradient_difference": max(relative(g, m) for _, g, m, _ in grads),
            # each float32 step's distance from float64: the mirrored step's worst variable,
            # and the single device's worst over all variables (its own rounding)
            "mirrored_error": relative(worst[3], worst[2]), "worst_variable": worst[0],
            "single_error": max(relative(e, g) for _, g, _, e in grads),
            "statistics_compared": len(stats),
            "statistics_difference": max(relative(a, b) for a, b in stats),
            "loss_difference": max(relative(losses[0][k], losses[1][k]) for k in losses[0]),
            "gradient_size": max(float(np.max(np.abs(g))) for _, g, _, _ in grads),
            "replicas": mirrored.distribute_strategy.num_replicas_in_sync}


def main():
    program, data_dir, modes = sys.argv[1], sys.argv[2], sys.argv[3:] or ["as_built"]
    build, data, gan_module = {"acgan": acgan, "dcgan": dcgan}[program](data_dir)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    reference = single_device(build, data)
    print(json.dumps({mode: compare(build, data, gan_module, mode, strategy, reference)
                      for mode in modes}))


if __name__ == "__main__":
    main()
