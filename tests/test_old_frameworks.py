"""The originals' update rules (common.old_frameworks) against NumPy recomputations, and what they
change in a real train_step."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from acgan_mnist.gan import ACGAN, random_inputs
from acgan_mnist.model import build_discriminator, build_generator
from common.checkpoint import Checkpoint
from common.old_frameworks import (Keras2RMSprop, LegacyBatchNormalization, TF1Adam, TorchAdam,
                           debias_stream, float32, keras2_batch_norm, tf1_fused_batch_norm,
                           torch_batch_norm)
from ogan_keras.gan import OGAN
from ogan_keras.model import build_encoder
from ogan_keras.model import build_generator as build_ogan_generator


def numpy_keras2_rmsprop(gradients, lr, rho, epsilon):
    """p -= lr * g / (sqrt(a) + eps), a = rho * a + (1 - rho) * g^2, in float64."""
    p = np.zeros_like(gradients[0], np.float64)
    a = np.zeros_like(p)
    for g in gradients:
        a = rho * a + (1 - rho) * g.astype(np.float64) ** 2
        p = p - lr * g / (np.sqrt(a) + epsilon)
    return p


@pytest.mark.parametrize("epsilon", [1e-7, 1e-8])
def test_keras2_rmsprop_step_equals_numpy_including_tiny_gradients(epsilon):
    rng = np.random.default_rng(0)
    gradients = [np.array([1e-5, -3e-5, 5e-5, 1e-3, -0.2], np.float32) * rng.uniform(0.5, 1.5)
                 for _ in range(4)]
    variable = keras.Variable(np.zeros(5, np.float32))
    optimizer = Keras2RMSprop(5e-5, rho=0.9, epsilon=epsilon)
    optimizer.build([variable])
    for g in gradients:
        optimizer.apply([g], [variable])
    expected = numpy_keras2_rmsprop(gradients, 5e-5, 0.9, epsilon)
    np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-5)
    # Keras 3's RMSprop puts epsilon under the root: a gradient of 1e-5 moves a few percent.
    keras3 = keras.Variable(np.zeros(5, np.float32))
    plain = keras.optimizers.RMSprop(5e-5, rho=0.9, epsilon=epsilon)
    plain.build([keras3])
    for g in gradients:
        plain.apply([g], [keras3])
    assert abs(keras3.numpy()[0]) < 0.2 * abs(expected[0])


def test_keras2_rmsprop_serialises():
    optimizer = Keras2RMSprop(1e-4, rho=0.99, epsilon=1e-7)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(restored, Keras2RMSprop)
    assert (restored.rho, restored.epsilon) == (0.99, 1e-7)


def numpy_adam(gradients, lr, beta_1, beta_2, epsilon):
    """PyTorch's Adam in float64 (exact arithmetic for these purposes)."""
    p = np.zeros_like(gradients[0], np.float64)
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(gradients, 1):
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g.astype(np.float64) ** 2
        p = p - lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t) * m / (np.sqrt(v) + epsilon)
    return p


def test_torch_adam_steps_as_exact_arithmetic_where_keras_3s_adam_is_short():
    """The anime DCGAN's Adam (PyTorch's) within float32 rounding of float64 over 3 steps;
    Keras 3's, given the same beta_2 = 0.999, steps 6.4e-6 of the step short at step 1
    (its b2^t from float32(0.999), its v from the Python float)."""
    rng = np.random.default_rng(0)
    gradients = [np.array([0.05, -0.5, 5e-3, 1.0, -2e-4], np.float32) * rng.uniform(0.5, 1.5)
                 for _ in range(3)]
    # Bounds from exact arithmetic: a float32 step is a handful of ops, each within 2^-24
    # (6e-8) relative, so three steps stay within 1e-6 of float64; Keras 3's step is short by
    # 1 - sqrt((1 - float32(0.999)) / (1 - 0.999)) = 6.44e-6, whatever the gradient, so > 5e-6.
    for optimizer, steps, bound in ((TorchAdam, 3, 1e-6), (keras.optimizers.Adam, 1, None)):
        variable = keras.Variable(np.zeros(5, np.float32))
        adam = optimizer(2e-4, beta_1=0.5, beta_2=0.999, epsilon=1e-8)
        adam.build([variable])
        for g in gradients[:steps]:
            adam.apply([g], [variable])
        error = np.abs(variable.numpy() / numpy_adam(gradients[:steps], 2e-4, 0.5, 0.999,
                                                     1e-8) - 1)
        if bound:
            assert error.max() < bound, error
        else:
            assert error.min() > 5e-6, error


def numpy_tf1_adam(gradients, lr, beta_1, beta_2, epsilon):
    """TF1's ApplyAdam in float64 with its float32 constants: m += (g - m)(1 - b1), v += (g^2 -
    v)(1 - b2), p -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)."""
    lr, beta_1, beta_2, epsilon = (float(np.float32(x)) for x in (lr, beta_1, beta_2, epsilon))
    p, m, v = (np.zeros_like(gradients[0], np.float64) for _ in range(3))
    for t, g in enumerate(gradients, 1):
        m = m + (g - m) * (1 - beta_1)
        v = v + (g.astype(np.float64) ** 2 - v) * (1 - beta_2)
        p = p - lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t) * m / (np.sqrt(v) + epsilon)
    return p


def test_tf1_adam_is_one_fused_kernel_stepping_as_tf1s_formula():
    """carpedm20's and pix2pix's Adam: TensorFlow's ApplyAdam kernel (not Keras 3's ten ops),
    within float32 rounding of TF1's formula over 3 steps of mixed signs, a gradient element
    at 1e-4 of the others included. The bound from exact arithmetic: b2^t in float32 is
    within 2^-24, which 1 - b2^t (>= 1e-3 here) magnifies 1,000x and the square root halves,
    so each step's length is within 3e-5 + a few 2^-24 of TF1's formula: 4e-5 of the summed
    step lengths (swapped moments, a step count off by one or epsilon under the root are
    orders of magnitude beyond it)."""
    rng = np.random.default_rng(0)
    gradients = [np.array([0.05, -0.5, 5e-3, 1.0, -2e-4, 1e-4], np.float32) * rng.uniform(0.5, 1.5)
                 * rng.choice([-1, 1], 6) for _ in range(3)]
    variable = keras.Variable(np.zeros(6, np.float32))
    adam = TF1Adam(2e-4, beta_1=0.5, beta_2=float32(0.999), epsilon=1e-8)
    adam.build([variable])
    update = tf.function(lambda g: adam.apply([g], [variable]))
    for g in gradients:
        update(tf.constant(g))
    expected = numpy_tf1_adam(gradients, 2e-4, 0.5, 0.999, 1e-8)
    lengths = sum(np.abs(numpy_tf1_adam(gradients[:t], 2e-4, 0.5, 0.999, 1e-8)
                         - numpy_tf1_adam(gradients[:t - 1], 2e-4, 0.5, 0.999, 1e-8))
                  for t in range(2, 4)) + np.abs(numpy_tf1_adam(gradients[:1], 2e-4, 0.5,
                                                                0.999, 1e-8))
    assert (np.abs(variable.numpy() - expected) <= 4e-5 * lengths).all()
    graph = update.get_concrete_function(tf.constant(gradients[0])).graph
    assert "ResourceApplyAdam" in {op.type for op in graph.get_operations()}


def batches(count, shape=(6, 3, 3, 4), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(rng.uniform(-2, 2), rng.uniform(0.5, 3), shape).astype(np.float32)
            for _ in range(count)]


def numpy_moving_statistics(xs, momentum, correction, debias, epsilon):
    """TF's assign_moving_average of each batch's (corrected) mean and variance."""
    mean, var = np.zeros(xs[0].shape[-1]), np.ones(xs[0].shape[-1])
    biased_mean, biased_var = np.zeros_like(mean), np.zeros_like(var)
    for step, x in enumerate(xs, start=1):
        n = x.size / x.shape[-1]
        batch_mean, batch_var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
        if correction in ("bessel", "keras2"):
            batch_var = batch_var * n / (n - 1)
        if correction == "keras2":
            batch_var = batch_var * n / (n - (1 + epsilon))
        if debias:
            biased_mean = momentum * biased_mean + (1 - momentum) * batch_mean
            biased_var = momentum * biased_var + (1 - momentum) * batch_var
            mean = biased_mean / (1 - momentum ** step)
            var = biased_var / (1 - momentum ** step)
        else:
            mean = momentum * mean + (1 - momentum) * batch_mean
            var = momentum * var + (1 - momentum) * batch_var
    return mean, var


@pytest.mark.parametrize("make,momentum,correction,debias,epsilon", [
    (keras2_batch_norm, 0.99, "keras2", True, 1e-3),
    (lambda: tf1_fused_batch_norm(momentum=0.9, epsilon=1e-5), 0.9, "bessel", False, 1e-5),
    (torch_batch_norm, 0.9, "bessel", False, 1e-5),
])
@pytest.mark.parametrize("steps", [1, 5])
def test_moving_statistics_equal_numpy(make, momentum, correction, debias, epsilon, steps):
    layer = make()
    xs = batches(steps)
    for x in xs:
        layer(x, training=True)
    mean, var = numpy_moving_statistics(xs, momentum, correction, debias, epsilon)
    np.testing.assert_allclose(layer.moving_mean.numpy(), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), var, rtol=1e-5)


def test_debiased_statistics_equal_the_first_batch_after_one_step():
    layer = keras2_batch_norm()
    x = batches(1)[0]
    out = layer(x, training=True)
    n = x.size / x.shape[-1]
    np.testing.assert_allclose(layer.moving_mean.numpy(), x.mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(),
                               x.var(axis=(0, 1, 2)) * n / (n - 1) * n / (n - 1.001), rtol=1e-5)
    # normalisation itself is Keras 3's (population variance)
    reference = keras.layers.BatchNormalization()
    np.testing.assert_allclose(out.numpy(), reference(x, training=True).numpy(), atol=1e-5)
    # inference mode normalises with those statistics (gamma 1, beta 0), against float64:
    # float32 rounding of (x - mean) / sqrt(var + eps) is a few ulps (~1e-7 relative); the
    # population variance in place of the corrected one is off by ~n / (n - 1), far outside
    mean, variance = layer.moving_mean.numpy(), layer.moving_variance.numpy()
    expected = (x.astype(np.float64) - mean) / np.sqrt(variance.astype(np.float64) +
                                                       layer.epsilon)
    np.testing.assert_allclose(layer(x, training=False).numpy(), expected, rtol=1e-5,
                               atol=1e-6)


def test_debias_state_is_saved_with_weights_but_not_counted(tmp_path):
    def model():
        return keras.Sequential([keras.Input((3, 3, 4)), keras2_batch_norm()])
    first = model()
    for x in batches(3):
        first(x, training=True)
    assert first.count_params() == 4 * 4  # gamma, beta, moving mean and variance
    first.save_weights(str(tmp_path / "m.weights.h5"))
    second = model()
    second.load_weights(str(tmp_path / "m.weights.h5"))
    for a, b in zip(first.layers[0].debias_variables(), second.layers[0].debias_variables()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert float(second.layers[0].debias_variables()[-1].numpy()) == 3.0
    first.save(str(tmp_path / "m.keras"))
    loaded = keras.saving.load_model(str(tmp_path / "m.keras"))
    assert isinstance(loaded.layers[0], LegacyBatchNormalization)
    assert loaded.layers[0].zero_debias


def test_acgan_inference_output_matches_training_output_early(mnist_dir):
    """The example's D batch uses generator.predict: with Keras 2.2's debiased statistics
    inference mode looks like training mode after a few dozen steps. (With Keras 3's own
    BatchNormalization the inference-mode std here is ~17x too small at step 60.) The
    per-image mean may lag by a little while the generator drifts fast on this tiny set,
    as it did in Keras 2.2: it is compared to the output range [-1, 1], the std relatively."""
    from common.mnist import load_mnist
    keras.utils.set_random_seed(0)
    (x, y), _ = load_mnist(mnist_dir)
    gan = ACGAN(build_generator(), build_discriminator())
    gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    images = (x.astype(np.float32) - 127.5) / 127.5
    step = tf.function(gan.train_step)
    for i in range(60):
        start = (10 * i) % 60
        step(random_inputs(100)((tf.constant(images[start:start + 10, ..., None]),
                                 tf.constant(y[start:start + 10].astype(np.int32))),
                                tf.constant([i, 0], tf.int64)))
    rng = np.random.default_rng(1)
    inputs = [rng.uniform(-1, 1, (100, 100)).astype(np.float32), (np.arange(100) % 10)[:, None]]
    inference = gan.generator(inputs, training=False).numpy()
    training = gan.generator(inputs, training=True).numpy()
    std_inference, std_training = (np.std(x, axis=(1, 2, 3)) for x in (inference, training))
    assert np.mean(np.abs(std_inference - std_training)) <= 0.1 * np.mean(std_training)
    mean_inference, mean_training = (np.mean(x, axis=(1, 2, 3)) for x in (inference, training))
    assert np.mean(np.abs(mean_inference - mean_training)) <= 0.1 * 2.0


def ogan_after(steps, checkpoint_dir=None, restart_at=None):
    """A small O-GAN trained `steps` steps on fixed batches; with restart_at, the run is
    checkpointed there and continued by a freshly built model restored from it."""
    def build():
        keras.utils.set_random_seed(0)
        gan = OGAN(build_encoder(32, 8), build_ogan_generator(32, 8))
        gan.compile(optimizer=Keras2RMSprop(1e-4, rho=0.99))
        return gan, Checkpoint.of(checkpoint_dir, gan)
    rng = np.random.default_rng(2)
    data = [(tf.constant(rng.uniform(-1, 1, (4, 32, 32, 3)), tf.float32),
             tf.constant(rng.normal(size=(4, 8)), tf.float32)) for _ in range(steps)]
    gan, checkpoint = build()
    for i, batch in enumerate(data):
        if i == restart_at:
            checkpoint.step = i
            checkpoint.save()
            gan, checkpoint = build()
            assert checkpoint.restore() and checkpoint.step == i
        gan.train_step(batch)
    return gan


def state_of(gan):
    layers = [layer for network in (gan.encoder, gan.generator) for layer in network.layers
              if isinstance(layer, LegacyBatchNormalization)]
    return ([v.numpy() for v in gan.encoder.weights + gan.generator.weights]
            + [v.numpy() for layer in layers for v in layer.debias_variables()]
            + [v.numpy() for v in gan.optimizer.variables])


def test_resume_continues_the_debias_state_exactly(tmp_path):
    uninterrupted = state_of(ogan_after(4, str(tmp_path / "a")))
    resumed = state_of(ogan_after(4, str(tmp_path / "b"), restart_at=2))
    assert len(uninterrupted) == len(resumed)
    for a, b in zip(uninterrupted, resumed):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def streams_of(layer):
    """[(moving mean, moving variance) each debias stream holds: biased / (1 - 0.99^step)]."""
    values = [v.numpy() for v in layer.debias_variables()]
    return [(mean / (1 - 0.99 ** step), variance / (1 - 0.99 ** step))
            for mean, variance, step in zip(values[0::3], values[1::3], values[2::3])]


def test_each_call_keeps_its_own_debiased_average_and_the_last_call_lands():
    """Keras 2.2 built one zero-debiased assign_moving_average per call of the layer, each
    with its own shadow state, all assigning the same moving variables (O-GAN's encoder, three
    calls a step): each stream averages its own batches only, and the variables hold the
    average of the step's last call."""
    model = keras.Sequential([keras.Input((3, 3, 4)), keras2_batch_norm(debias_streams=3)])
    layer = model.layers[0]
    steps = [batches(3, seed=step) for step in range(4)]
    for calls in steps:
        for index, x in enumerate(calls):
            with debias_stream(model, index):
                model(x, training=True)
    assert layer.active_stream == 0
    for index, (mean, variance) in enumerate(streams_of(layer)):
        expected = numpy_moving_statistics([calls[index] for calls in steps], 0.99, "keras2",
                                           True, 1e-3)
        np.testing.assert_allclose(mean, expected[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(variance, expected[1], rtol=1e-5)
        assert float(layer.debias_variables()[3 * index + 2].numpy()) == len(steps)
    last = numpy_moving_statistics([calls[-1] for calls in steps], 0.99, "keras2", True, 1e-3)
    np.testing.assert_allclose(layer.moving_mean.numpy(), last[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), last[1], rtol=1e-5)
    with pytest.raises(ValueError, match="3 debias streams"), debias_stream(model, 3):
        model(steps[0][0], training=True)


def test_streams_are_saved_continued_and_one_stream_files_still_load(tmp_path):
    def model(streams):
        return keras.Sequential([keras.Input((3, 3, 4)),
                                 keras2_batch_norm(debias_streams=streams)])
    first = model(3)
    for index, x in enumerate(batches(3)):
        with debias_stream(first, index):
            first(x, training=True)
    first.save_weights(str(tmp_path / "three.weights.h5"))
    second = model(3)
    second.load_weights(str(tmp_path / "three.weights.h5"))
    for a, b in zip(first.layers[0].debias_variables(), second.layers[0].debias_variables()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    first.save(str(tmp_path / "m.keras"))
    assert keras.saving.load_model(str(tmp_path / "m.keras")).layers[0].debias_streams == 3
    # a checkpoint of one stream (before debias_streams) continues in every stream
    single = model(1)
    single(batches(1)[0], training=True)
    single.save_weights(str(tmp_path / "one.weights.h5"))
    third = model(3)
    third.load_weights(str(tmp_path / "one.weights.h5"))
    continued = third.layers[0].debias_variables()
    for index, variable in enumerate(continued):
        np.testing.assert_array_equal(
            variable.numpy(), single.layers[0].debias_variables()[index % 3].numpy())
    # imported statistics: every stream continues them
    third.layers[0].continue_debias(600)
    for mean, variance in streams_of(third.layers[0]):
        np.testing.assert_allclose(mean, third.layers[0].moving_mean.numpy(), rtol=1e-5)
        np.testing.assert_allclose(variance, third.layers[0].moving_variance.numpy(), rtol=1e-5)
