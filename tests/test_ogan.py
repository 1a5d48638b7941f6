import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from common import training
from common.cache import image_folder
from common.old_frameworks import LegacyBatchNormalization
from common.training import fit_resumable
from ogan_keras import train
from ogan_keras.gan import OGAN, correlation
from ogan_keras.model import ScaleShift, build_encoder, build_generator
from ogan_keras.program import image_spec
from conftest import saved_counters, write_images


def non_trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.non_trainable_variables)


def test_parameter_counts_at_128():
    encoder, generator = build_encoder(), build_generator()
    assert encoder.count_params() == 13_251_136 and non_trainable(encoder) == 3_840
    assert generator.count_params() == 13_939_651 and non_trainable(generator) == 3_968
    assert sum(isinstance(layer, ScaleShift) for layer in generator.layers) == 5


@pytest.mark.parametrize("img_dim", [16, 48, 100])
def test_bad_img_dim_is_a_clear_error(img_dim, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--img_dim", str(img_dim), "--data", "nowhere"])
    assert exit_info.value.code == 2
    assert "power of two >= 32" in capsys.readouterr().err


def test_correlation_matches_numpy():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 16)), rng.normal(size=(5, 16))
    y[0] = 3 * x[0] + 1
    expected = [np.corrcoef(a, b)[0, 1] for a, b in zip(x, y)]
    got = np.asarray(correlation(x.astype(np.float32), y.astype(np.float32)))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert got[0] == pytest.approx(1.0, abs=1e-5)


def small_gan():
    gan = OGAN(build_encoder(32, 16), build_generator(32, 16))
    gan.compile(optimizer=keras.optimizers.RMSprop(1e-4, rho=0.99))
    return gan


def small_batch(n=4):
    rng = np.random.default_rng(3)
    return (tf.constant(rng.uniform(-1, 1, (n, 32, 32, 3)), tf.float32),
            tf.constant(rng.normal(size=(n, 16)), tf.float32))


def numpy_corr(a, b):
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_train_step_metrics_equal_numpy_recomputation():
    gan = small_gan()
    x, z = small_batch()
    x_fake = gan.generator(z, training=True).numpy()
    z_real = gan.encoder(x, training=True).numpy()
    z_fake = gan.encoder(x_fake, training=True).numpy()
    t1 = z_real.mean(1) - z_fake.mean(1)
    z_corr = numpy_corr(z.numpy(), z_fake)
    qp = 0.25 * t1 ** 2 / ((x.numpy() - x_fake) ** 2).mean(axis=(1, 2, 3))
    loss = np.mean(t1 - 0.5 * z_corr) + qp.mean()
    before = [v.numpy().copy() for v in gan.generator.trainable_variables]
    logs = gan.train_step((x, z))
    assert float(logs["t1_loss"]) == pytest.approx(t1.mean(), rel=1e-4, abs=1e-5)
    assert float(logs["z_corr"]) == pytest.approx(z_corr.mean(), rel=1e-4, abs=1e-5)
    assert float(logs["loss"]) == pytest.approx(loss, rel=1e-4, abs=1e-5)
    assert any(not np.allclose(b, a.numpy())
               for b, a in zip(before, gan.generator.trainable_variables))
    assert int(gan.optimizer.iterations) == 1


def test_stop_gradient_structure():
    gan = small_gan()
    x, z = small_batch()
    g_vars, e_vars = gan.generator.trainable_variables, gan.encoder.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        terms = gan.forward(x, z)
        t1, t2, qp = (keras.ops.mean(terms[k]) for k in ("t1", "t2", "qp"))
    assert all(g is None or np.all(g.numpy() == 0) for g in tape.gradient(t1, g_vars))
    assert all(g is None or np.all(g.numpy() == 0) for g in tape.gradient(qp, g_vars))
    assert any(g is not None and np.any(g.numpy() != 0) for g in tape.gradient(t2, g_vars))
    assert any(g is not None and np.any(g.numpy() != 0) for g in tape.gradient(t1, e_vars))
    assert float(t2) == pytest.approx(0.0, abs=1e-6)


def run_cli(tmp_path, epochs):
    return train.main(["--data", str(tmp_path / "faces" / "*" / "*.jpg"), "--img_dim", "32",
                       "--z_dim", "16", "--batch_size", "4", "--epochs", str(epochs),
                       "--steps_per_epoch", "2", "--sample_every", "2",
                       "--output-dir", str(tmp_path / "run")])


def test_cli_writes_grids_and_resumes(tmp_path, capsys):
    write_images(str(tmp_path / "faces" / "person_a"), 6, size=(40, 36), ext="jpg")
    write_images(str(tmp_path / "faces" / "person_b"), 4, size=(30, 30), ext="jpg", seed=1)
    run_cli(tmp_path, 1)
    samples = tmp_path / "run" / "samples"
    assert Image.open(samples / "test_0.png").size == (9 * 32, 9 * 32)
    assert Image.open(samples / "test_ae_0.png").size == (8 * 32, 8 * 32)
    assert Image.open(samples / "test_interp_0.png").size == (10 * 32, 8 * 32)
    assert (tmp_path / "run" / "evolution.gif").exists()
    gan = run_cli(tmp_path, 2)
    assert "resuming from" in capsys.readouterr().out
    assert int(gan.optimizer.iterations) == 4
    assert (samples / "test_2.png").exists()
    assert saved_counters(tmp_path / "run" / "checkpoints") == (4, 2)


def test_missing_data_is_one_line_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--data", str(tmp_path / "lfw" / "*" / "*.jpg"), "--img_dim", "32"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no images" in err[0]


def norm_inputs(gan, z, x_real):
    """What each encoder BatchNorm normalises in the next train step, for the real and the
    fake batch, from copies of the networks (so nothing of gan's moves)."""
    encoder, generator = build_encoder(32, 16), build_generator(32, 16)
    encoder.set_weights(gan.encoder.get_weights())
    generator.set_weights(gan.generator.get_weights())
    norms = [layer for layer in encoder.layers if isinstance(layer, LegacyBatchNormalization)]
    probe = keras.Model(encoder.input, [layer.input for layer in norms])
    x_fake = generator(z, training=True)
    return ([np.asarray(a) for a in probe(x_real, training=True)],
            [np.asarray(a) for a in probe(x_fake, training=True)])


def keras2_statistics(inputs, momentum=0.99, epsilon=1e-3):
    """Keras 2.2.4's zero-debiased moving mean and variance of one stream of 4-D batches."""
    mean = variance = 0.0
    for x in inputs:
        n = x.size / x.shape[-1]
        mean = momentum * mean + (1 - momentum) * x.mean(axis=(0, 1, 2))
        variance = momentum * variance + (1 - momentum) * x.var(axis=(0, 1, 2)) * n / (n - 1) \
            * n / (n - (1 + epsilon))
    debias = 1 - momentum ** len(inputs)
    return mean / debias, variance / debias


def test_encoder_statistics_are_the_fake_batches_as_in_the_original():
    """Issue 19.4. The script calls the encoder on the real, the fake and the stop-gradient
    fake batch; Keras 2.2.4 kept one debiased average per call and the moving statistics hold
    the fake batches' (measured with python -m sidebyside ogan on TF 1.15: the fake calls'
    update lands last), not a blend of the three."""
    gan = small_gan()
    real, fake = [], []
    for step in range(3):
        rng = np.random.default_rng(step)
        x = tf.constant(rng.uniform(-1, 1, (4, 32, 32, 3)), tf.float32)
        z = tf.constant(rng.normal(size=(4, 16)), tf.float32)
        step_real, step_fake = norm_inputs(gan, z, x)
        real.append(step_real)
        fake.append(step_fake)
        gan.train_step((x, z))
    norms = [layer for layer in gan.encoder.layers
             if isinstance(layer, LegacyBatchNormalization)]
    for index, layer in enumerate(norms):
        mean, variance = keras2_statistics([step[index] for step in fake])
        np.testing.assert_allclose(layer.moving_mean.numpy(), mean, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(layer.moving_variance.numpy(), variance, rtol=1e-4)
        real_mean, _ = keras2_statistics([step[index] for step in real])
        assert not np.allclose(layer.moving_mean.numpy(), real_mean, rtol=1e-2)


def test_data_stream_is_the_scripts_img_generator(tmp_path, monkeypatch):
    """Issue 19.5: every pass reshuffles all images and ends with a short batch of the N mod
    batch_size left, each batch with its own z; an epoch, ceil(N / batch_size) steps by
    default, is one pass."""
    write_images(str(tmp_path / "faces" / "a"), 10, size=(32, 32), ext="png")
    seen = {}

    def fit(gan, data, checkpoint, epochs, **kwargs):
        seen.update(data=data, **kwargs)
        return fit_resumable(gan, data, checkpoint, epochs, **kwargs)
    monkeypatch.setattr(training, "fit_resumable", fit)
    train.main(["--data", str(tmp_path / "faces"), "--img_dim", "32", "--z_dim", "16",
                "--batch_size", "4", "--epochs", "1", "--sample_every", "100",
                "--output-dir", str(tmp_path / "run")])
    assert seen["steps_per_epoch"] == 3
    assert saved_counters(tmp_path / "run" / "checkpoints") == (3, 1)
    batches = [(np.asarray(x), np.asarray(z)) for x, z in seen["data"](0).take(9)]
    assert [len(x) for x, _ in batches] == [4, 4, 2] * 3
    assert all(z.shape == (len(x), 16) for x, z in batches)
    everything = image_folder(str(tmp_path / "faces"), image_spec(32), 4).first(10)
    passes = [np.concatenate([x for x, _ in batches[i:i + 3]]) for i in (0, 3, 6)]
    for images in passes:  # each pass holds every image once
        assert sorted(image.tobytes() for image in images) == \
            sorted(image.tobytes() for image in everything)
    assert not all(np.array_equal(passes[0], images) for images in passes[1:])
