"""One train step of AC-GAN or the conditional DCGAN under the default strategy and under
MirroredStrategy on 2 logical CPU devices, from the same weights on the same global batch and
latents; prints the largest relative difference of the updated variables as JSON.

Run by tests/test_distribution.py in its own process: logical devices are fixed when
TensorFlow starts. `python tests/mirrored_step.py acgan|dcgan DATA_DIR`.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # noqa: E402

CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(CPU, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from common.data import load_mnist  # noqa: E402


def acgan(data_dir):
    from acgan_mnist import model
    from acgan_mnist.gan import ACGAN
    from acgan_mnist.train import batches, scale

    def build():
        gan = ACGAN(model.build_generator(), model.build_discriminator())
        for layer in gan.discriminator.get_layer("sequential").layers:
            if isinstance(layer, keras.layers.Dropout):
                layer.rate = 0.0  # dropout masks are drawn per device and cannot agree
        gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5),
                    keras.optimizers.Adam(2e-4, beta_1=0.5))
        return gan
    (x, y), _ = load_mnist(data_dir)
    return build, batches(scale(x[:16]), y[:16], 8, True, 100, seed=3)


def dcgan(data_dir):
    import argparse
    from dcgan_tf.train import build_gan, training_data
    args = argparse.Namespace(
        arch="dcgan", dataset="mnist", data_dir=os.path.dirname(data_dir), batch_size=8,
        n_critic=5, train_size=np.inf, z_dim=8, z_dist="uniform_signed", seed=3, mnist=True,
        c_dim=1,
        gf_dim=4, df_dim=4, gfc_dim=16, dfc_dim=16, output_height=28, output_width=28,
        g_steps=2, learning_rate=2e-4, beta1=0.5, jit_compile=False, steps_per_execution=1)
    data = training_data(args, None)[0]
    return lambda: build_gan(args), data


def variables(gan):
    return [v.numpy() for v in gan.generator.variables + gan.discriminator.variables]


def biases_into_batchnorm(gan):
    """Biases of layers whose output goes straight into BatchNormalization: BN removes them,
    so their true gradient is zero and what they get is rounding noise, which Adam scales
    up to lr-sized steps of either sign (as in the originals): no two summation orders
    agree on it."""
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


def outputs(gan, batch):
    """The networks' inference-mode outputs on a fixed batch (what the update is for; the
    training mode would move the BatchNorm statistics)."""
    images, labels = batch
    if hasattr(gan, "latent_size"):
        noise = np.linspace(-1, 1, 8 * 100, dtype=np.float32).reshape(8, 100)
        fakes = gan.generator([noise, labels[:, None]], training=False)
        return [fakes.numpy()] + [o.numpy() for o in gan.discriminator(images, training=False)]
    z = np.linspace(-1, 1, 8 * gan.z_dim, dtype=np.float32).reshape(8, gan.z_dim)
    y = np.eye(10, dtype=np.float32)[labels]
    return [gan.generator([z, y], training=False).numpy(),
            gan.discriminator([images, y], training=False).numpy()]


def main():
    program, data_dir = sys.argv[1], sys.argv[2]
    build, data = {"acgan": acgan, "dcgan": dcgan}[program](data_dir)
    keras.utils.set_random_seed(0)
    single = build()
    start = variables(single)
    with tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope():
        mirrored = build()
        for variable, value in zip(mirrored.generator.variables
                                   + mirrored.discriminator.variables, start):
            variable.assign(value)
    (x, y), _ = load_mnist(data_dir)
    batch = ((x[:8, ..., None] / 127.5 - 1).astype(np.float32), y[:8].astype(np.int32))
    before = outputs(single, batch)
    for gan in (single, mirrored):
        gan.fit(data, steps_per_epoch=1, epochs=1, verbose=0)
    noise_only = biases_into_batchnorm(single)
    paths = [v.path for v in single.generator.variables + single.discriminator.variables]
    pairs = [(a, b) for path, a, b in zip(paths, variables(single), variables(mirrored))
             if path not in noise_only]
    after, after_mirrored = outputs(single, batch), outputs(mirrored, batch)
    print(json.dumps({
        "replicas": mirrored.distribute_strategy.num_replicas_in_sync,
        "compared": len(pairs), "left_out": sorted(noise_only),
        "variable_difference": max(float(np.max(np.abs(a - b))) for a, b in pairs),
        "output_change": max(float(np.max(np.abs(a - b))) for a, b in zip(before, after)),
        "output_difference": max(float(np.max(np.abs(a - b)))
                                 for a, b in zip(after, after_mirrored))}))


if __name__ == "__main__":
    main()
