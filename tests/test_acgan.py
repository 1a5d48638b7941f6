import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from acgan_mnist import train
from acgan_mnist.gan import ACGAN, auxiliary_loss, generation_loss, random_inputs
from acgan_mnist.model import build_discriminator, build_generator
from conftest import saved_counters, write_idx, write_mnist_dir


def count(variables):
    return sum(int(np.prod(v.shape)) for v in variables)


def test_parameter_counts_and_shapes():
    g, d = build_generator(), build_discriminator()
    assert g.count_params() == 2_657_897 and count(g.trainable_variables) == 2_657_321
    assert d.count_params() == 525_835
    image = g([np.zeros((2, 100), np.float32), np.array([[3], [7]])], training=False)
    assert image.shape == (2, 28, 28, 1)
    generation, aux = d(image, training=False)
    assert generation.shape == (2, 1) and aux.shape == (2, 10)
    assert [layer.name for layer in d.layers[-2:]] == ["generation", "auxiliary"]


def make_gan():
    gan = ACGAN(build_generator(), build_discriminator())
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    return gan


def batch(n=8):
    """(images, labels) with the train step's noise and classes from random_inputs."""
    rng = np.random.default_rng(0)
    images = (tf.constant(rng.uniform(-1, 1, (n, 28, 28, 1)), tf.float32),
              tf.constant(np.arange(n) % 10, tf.int32))
    return random_inputs(100)(images, tf.constant([1, 2], tf.int64))


def test_train_step_updates_both_networks_and_generator_bn_statistics():
    gan = make_gan()
    g_before = [v.numpy().copy() for v in gan.generator.trainable_variables]
    d_before = [v.numpy().copy() for v in gan.discriminator.trainable_variables]
    bn_before = [v.numpy().copy() for v in gan.generator.non_trainable_variables]
    logs = gan.train_step(batch())
    assert set(logs) == {f"{w}_{n}" for w in "dg"
                         for n in ("loss", "generation_loss", "auxiliary_loss")}
    changed = lambda before, after: any(not np.allclose(b, a.numpy())
                                        for b, a in zip(before, after))
    assert changed(g_before, gan.generator.trainable_variables)
    assert changed(d_before, gan.discriminator.trainable_variables)
    assert changed(bn_before, gan.generator.non_trainable_variables)
    assert int(gan.d_optimizer.iterations) == 1 and int(gan.g_optimizer.iterations) == 1


def test_auxiliary_head_gets_no_gradient_from_fake_images():
    gan = make_gan()
    images, labels = batch(4)[:2]
    fakes = tf.Variable(np.random.default_rng(1).uniform(-1, 1, (4, 28, 28, 1)), dtype=tf.float32)
    sampled = tf.constant([[1], [2], [3], [4]])
    with tf.GradientTape(persistent=True) as tape:
        gen_loss, aux_loss = gan.discriminator_losses(images, labels, fakes, sampled, 0.95, 2.0,
                                                      training=False)
    assert np.all(tape.gradient(aux_loss, fakes).numpy() == 0)
    assert np.any(tape.gradient(gen_loss, fakes).numpy() != 0)


def test_auxiliary_loss_uses_keras_22_normalisation():
    probs = np.full((4, 10), 0.1, np.float32)
    probs[0] = [0.5] + [0.5 / 9] * 9
    labels = np.zeros((4, 1), np.int32)
    ce = -np.log(probs[:, 0])
    weights = np.array([2, 2, 0, 0], np.float32)
    got = float(auxiliary_loss(labels, probs, weights))
    assert got == pytest.approx(2 * ce[:2].mean(), rel=1e-5)


def saturated(loss, activation, logits, target):
    """loss(target, activation(logits)) through a Keras layer (which caches the logits, as the
    discriminator's heads do) and its gradient with respect to the logits."""
    logits = tf.Variable(logits)
    with tf.GradientTape() as tape:
        value = loss(target, keras.layers.Activation(activation)(logits))
    return float(value), tape.gradient(value, logits).numpy()


def test_saturated_heads_give_keras_224_clipped_losses_and_no_gradient():
    """Keras 2.2.4 clipped the probabilities to [1e-7, 1 - 1e-7] before the log: the generation
    head at logit -20 against 0.95 gives 15.31 and the auxiliary head at a class margin of 20
    gives 16.12, both with zero gradient (Keras 3's cached logits: 19.0 / 20.0, gradient
    -0.95 / +-1)."""
    value, gradient = saturated(generation_loss, "sigmoid", [[-20.0]], np.full((1, 1), 0.95))
    assert value == pytest.approx(0.95 * np.log((1 - 1e-7) / 1e-7), rel=1e-4)  # 15.31
    assert np.all(gradient == 0)
    margin = np.zeros((1, 10), np.float32)
    margin[0, 3] = 20.0
    value, gradient = saturated(auxiliary_loss, "softmax", margin, np.array([[7]]))
    assert value == pytest.approx(16.12, abs=0.01)
    assert np.all(gradient == 0)
    # inside the clip both are the ordinary cross-entropies and their gradients
    value, gradient = saturated(generation_loss, "sigmoid", [[0.5]], np.full((1, 1), 0.95))
    p = 1 / (1 + np.exp(-0.5))
    assert value == pytest.approx(-(0.95 * np.log(p) + 0.05 * np.log(1 - p)), rel=1e-5)
    assert gradient[0, 0] == pytest.approx(p - 0.95, rel=1e-4)


def test_test_step_is_finite():
    logs = make_gan().test_step(batch())
    assert all(np.isfinite(float(v)) for v in logs.values())


def run_cli(tmp_path, data_dir, epochs, *extra):
    return train.main(["--data-dir", data_dir, "--epochs", str(epochs), "--batch-size", "10",
                       "--steps-per-epoch", "2", "--output-dir", str(tmp_path / "run"), *extra])


def test_cli_writes_outputs_and_resumes(tmp_path, mnist_dir, capsys):
    run_cli(tmp_path, mnist_dir, 1)
    out = tmp_path / "run"
    plot = Image.open(out / "plot_epoch_001_generated.png")
    assert plot.mode == "L" and plot.size == (21 * 28, 40 * 28)
    for name in ("generator", "discriminator"):
        assert (out / f"params_{name}_epoch_001.weights.h5").exists()
    assert (out / "history.csv").exists() and (out / "losses.png").exists()
    assert (out / "evolution.gif").exists()
    printed = capsys.readouterr().out
    assert "Testing for epoch 1:" in printed and "discriminator (test)" in printed

    gan = run_cli(tmp_path, mnist_dir, 2)
    assert "resuming from" in capsys.readouterr().out
    assert (out / "plot_epoch_002_generated.png").exists()
    assert int(gan.d_optimizer.iterations) == 4 and int(gan.g_optimizer.iterations) == 4
    assert saved_counters(out / "checkpoints") == (4, 2)
    rows = (out / "history.csv").read_text().strip().splitlines()
    assert [r.split(",")[1] for r in rows[1:]] == ["2", "4"]


def expect_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        train.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]


def test_bad_data_dir_is_one_line_exit_2(tmp_path, capsys):
    expect_exit_2(capsys, ["--data-dir", str(tmp_path / "none")], "does not exist")
    bad = write_mnist_dir(str(tmp_path / "magic"), 10, 10)
    write_idx(os.path.join(bad, "train-labels-idx1-ubyte"), np.zeros(10), 2051)
    expect_exit_2(capsys, ["--data-dir", bad], "magic number 2051")
    bad = write_mnist_dir(str(tmp_path / "count"), 10, 10)
    write_idx(os.path.join(bad, "train-labels-idx1-ubyte"), np.zeros(12), 2049)
    expect_exit_2(capsys, ["--data-dir", bad], "10 images but 12 labels")


def test_command_line_bad_data_dir_exits_2_without_traceback(tmp_path):
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "acgan_mnist.train", "--data-dir",
                             str(tmp_path / "missing")], capture_output=True, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == \
        f"error: MNIST data directory {tmp_path / 'missing'} does not exist"


def test_adam_sees_the_class_embeddings_summed_gradient():
    """A class drawn twice in a batch: Keras 2.2.4's Adam (on TF 1's dense gradient) keeps
    (1 - beta_2) x (g1 + g2)^2 as the embedding row's second moment; Keras 3's Adam given the
    IndexedSlices keeps g1^2 + g2^2 (ops.square squares row by row). gan.dense_gradients, which
    train_step applies to the generator's gradients, gives Adam the dense gradient."""
    from acgan_mnist.gan import dense_gradients
    embedding = keras.layers.Embedding(3, 2)
    classes = np.array([1, 1, 2])
    embedding.build((None,))
    with tf.GradientTape() as tape:
        loss = keras.ops.sum(embedding(classes) * np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    gradient = tape.gradient(loss, embedding.embeddings)
    assert isinstance(gradient, tf.IndexedSlices)
    dense = tf.convert_to_tensor(gradient).numpy()  # row 1: [1 + 3, 2 + 4]
    np.testing.assert_allclose(dense[1], [4.0, 6.0])
    for gradients, expected_row in ((dense_gradients([gradient]), [16.0, 36.0]),
                                    ([gradient], [10.0, 20.0])):
        optimizer = keras.optimizers.Adam(1e-3, beta_2=0.5)
        optimizer.build([embedding.embeddings])
        optimizer.apply(gradients, [embedding.embeddings])
        velocity = optimizer._velocities[0].numpy()
        # small integers, exact in float32: rtol a few float32 rounding steps (2^-23 each);
        # the two expectations are 60-80% apart
        np.testing.assert_allclose(velocity[1], 0.5 * np.array(expected_row), rtol=1e-6)
