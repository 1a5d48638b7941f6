import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from common import latents as latent_draws
from common.callbacks import LossHistory, SampleGif, SampleGrid, read_history
from common.checkpoint import Checkpoint
from common.training import fit_resumable
from conftest import saved_counters


class TinyGAN(keras.Model):
    """Two networks, two optimizers and a custom train_step, as every port has."""

    def __init__(self):
        super().__init__()
        self.generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
        self.discriminator = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        self.d_tracker = keras.metrics.Mean(name="d_loss")

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        return [self.d_tracker]

    def train_step(self, real):
        z = keras.random.normal((keras.ops.shape(real)[0], 2))
        import tensorflow as tf
        with tf.GradientTape() as tape:
            d_loss = keras.ops.mean(self.discriminator(self.generator(z, training=True),
                                                       training=True)
                                    - self.discriminator(real, training=True))
        grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.d_optimizer.apply(grads, self.discriminator.trainable_variables)
        with tf.GradientTape() as tape:
            g_loss = -keras.ops.mean(self.discriminator(self.generator(z, training=True),
                                                        training=True))
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply(grads, self.generator.trainable_variables)
        self.d_tracker.update_state(d_loss)
        return {"d_loss": self.d_tracker.result()}


def run(directory, epochs):
    """Build, restore if possible, train to `epochs` with 2 steps an epoch."""
    model = TinyGAN()
    model.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    checkpoint = Checkpoint(directory, {"generator": model.generator,
                                        "discriminator": model.discriminator},
                            {"d_optimizer": model.d_optimizer, "g_optimizer": model.g_optimizer})
    resumed = checkpoint.restore()
    data = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    batches = tf.data.Dataset.from_tensor_slices(data).batch(2).repeat()
    fit_resumable(model, lambda start: batches.skip(start % 2), checkpoint, epochs,
                  steps_per_epoch=2, verbose=0, callbacks=[checkpoint])
    return model, checkpoint, resumed


def test_checkpoint_resume_continues_counters_and_optimizers(tmp_path):
    directory = str(tmp_path / "checkpoints")
    first, checkpoint, resumed = run(directory, epochs=1)
    assert not resumed and checkpoint.step == 2
    saved_kernel = first.generator.get_weights()[0]

    second = TinyGAN()
    second.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    probe = Checkpoint(directory, {"generator": second.generator,
                                   "discriminator": second.discriminator},
                       {"d_optimizer": second.d_optimizer, "g_optimizer": second.g_optimizer})
    assert probe.restore()
    np.testing.assert_array_equal(second.generator.get_weights()[0], saved_kernel)
    assert int(second.d_optimizer.iterations) == 2 and int(second.g_optimizer.iterations) == 2
    np.testing.assert_array_equal(second.g_optimizer.variables[-1].numpy(),
                                  first.g_optimizer.variables[-1].numpy())

    model, checkpoint, resumed = run(directory, epochs=2)
    assert resumed and checkpoint.step == 4 and checkpoint.epoch == 2
    assert int(model.d_optimizer.iterations) == 4 and int(model.g_optimizer.iterations) == 4
    assert saved_counters(directory) == (4, 2)


def test_checkpoint_refuses_mismatched_optimizer_state(tmp_path):
    directory = str(tmp_path)
    run(directory, epochs=1)
    model = TinyGAN()
    model.compile(keras.optimizers.Adam(1e-3), keras.optimizers.SGD(1e-3, momentum=0.9))
    from common.errors import UserError
    with pytest.raises(UserError, match="optimizer state"):
        Checkpoint(directory, {"generator": model.generator,
                               "discriminator": model.discriminator},
                   {"d_optimizer": model.d_optimizer, "g_optimizer": model.g_optimizer}).restore()


def two_layers():
    """A network whose two layers' variables have the same shapes: state loaded by position
    into an optimizer built in another order would fit, and be wrong."""
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(3), keras.layers.Dense(3)])


def trained_adam(network, order):
    optimizer = keras.optimizers.Adam(1e-2)
    variables = [network.trainable_variables[i] for i in order]
    optimizer.build(variables)
    rng = np.random.default_rng(0)
    for _ in range(2):
        optimizer.apply([rng.normal(size=v.shape).astype("float32") for v in variables],
                        variables)
    return optimizer


def slots(optimizer, network):
    """Adam's (momentum, velocity) of each of the network's variables, in the network's
    order."""
    return [(optimizer._momentums[optimizer._get_variable_index(v)].numpy(),
             optimizer._velocities[optimizer._get_variable_index(v)].numpy())
            for v in network.trainable_variables]


def test_optimizer_state_is_keyed_by_the_variables_place_in_the_network(tmp_path):
    """Slots are saved under their variable's structural path (network/layer/name), not the
    optimizer's order or Keras' process-wide auto-names: an optimizer built with the layers
    in the other order, in networks whose layers were auto-named differently (built later in
    this process), gets each variable's own slots back."""
    first = two_layers()
    saved = trained_adam(first, [0, 1, 2, 3])
    checkpoint = Checkpoint(str(tmp_path), {"net": first}, {"opt": saved})
    checkpoint.set_counters(2, 0)
    checkpoint.save()
    second = two_layers()
    assert second.layers[0].name != first.layers[0].name  # auto-named dense_2, not dense
    loaded = keras.optimizers.Adam(1e-2)
    loaded.build([second.trainable_variables[i] for i in (2, 3, 0, 1)])
    assert Checkpoint(str(tmp_path), {"net": second}, {"opt": loaded}).restore()
    expected, found = slots(saved, first), slots(loaded, second)
    for (m, v), (m_found, v_found) in zip(expected, found):
        np.testing.assert_array_equal(m_found, m)
        np.testing.assert_array_equal(v_found, v)
    # what loading by position would have done: the first kernel's slots are not the second's
    assert not np.array_equal(expected[0][0], expected[2][0])
    assert int(loaded.iterations) == 2


def test_optimizer_state_saved_by_position_still_loads(tmp_path):
    """A checkpoint from before the keys (v0, v1, ... in the optimizer's order) loads in that
    order."""
    network = two_layers()
    saved = trained_adam(network, [0, 1, 2, 3])
    checkpoint = Checkpoint(str(tmp_path), {"net": network}, {"opt": saved})
    checkpoint.set_counters(2, 0)
    checkpoint.save()
    folder = tmp_path / "step-000000002"
    np.savez(folder / "opt.npz", **{f"v{i}": v.numpy() for i, v in enumerate(saved.variables)})
    loaded = keras.optimizers.Adam(1e-2)
    loaded.build(network.trainable_variables)
    assert Checkpoint(str(tmp_path), {"net": network}, {"opt": loaded}).restore()
    for a, b in zip(slots(loaded, network), slots(saved, network)):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_optimizer_state_of_other_networks_is_refused_by_name(tmp_path):
    network = two_layers()
    checkpoint = Checkpoint(str(tmp_path), {"net": network},
                            {"opt": trained_adam(network, [0, 1, 2, 3])})
    checkpoint.set_counters(2, 0)
    checkpoint.save()
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])
    from common.errors import UserError
    with pytest.raises(UserError, match=r"opt state .* missing net/dense/bias:momentum|"
                                        r"opt state .*unexpected net/dense_1"):
        Checkpoint(str(tmp_path), {"net": other},
                   {"opt": trained_adam(other, [0, 1])}).restore()


def test_fixed_latents_are_reproducible():
    a = latent_draws.fixed((4, 3), seed=5)
    assert np.array_equal(a, latent_draws.fixed((4, 3), seed=5))
    assert not np.array_equal(a, latent_draws.fixed((4, 3), seed=6))
    u = latent_draws.fixed((1000,), 1, "uniform_signed")
    assert u.min() >= -1 and u.max() <= 1 and u.min() < -0.9


def test_one_owner_draws_every_distribution_by_carpedm20s_names():
    """NumPy and stateless TensorFlow draws of each --z_dist (normal01 is normal), in range
    and of the right spread; an unknown name is an error, not silently N(0, 1)."""
    rng, n = np.random.default_rng(0), 20000
    for name, (low, high, std) in {"uniform_signed": (-1, 1, 2 / 12 ** 0.5),
                                   "uniform_unsigned": (0, 1, 1 / 12 ** 0.5),
                                   "normal01": (-6, 6, 1.0), "normal": (-6, 6, 1.0)}.items():
        for z in (latent_draws.draw(rng, (n,), name),
                  latent_draws.stateless((n,), [1, 2], name).numpy()):
            assert z.dtype == np.float32 and low <= z.min() and z.max() <= high, name
            # five standard errors of n draws (the mean's std / sqrt(n), the standard
            # deviation's about std / sqrt(2n)): U(0, 1) for U(-1, 1), or N(0, 2), fails
            assert abs(z.mean() - (low + high) / 2) < 5 * std / n ** 0.5, name
            assert abs(z.std() - std) < 5 * std / (2 * n) ** 0.5, name
    with pytest.raises(ValueError, match="unknown latent distribution"):
        latent_draws.stateless((2,), [1, 2], "gaussian")


def fit_with(callbacks, epochs=2, steps=3):
    model = TinyGAN()
    model.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    data = np.zeros((steps * 2, 3), np.float32)
    model.fit(data, batch_size=2, epochs=epochs, verbose=0, callbacks=callbacks)
    return model


def test_sample_grid_every_steps_reuses_inputs(tmp_path):
    seen = []

    def generate(latents):
        seen.append(latents)
        return np.tanh(latents).reshape(-1, 2, 2, 1)

    latents = latent_draws.fixed((4, 4), seed=0)
    grid = SampleGrid(generate, latents, str(tmp_path), "s_{step:03d}_{epoch}.png",
                      every_steps=2, first_step=1, initial_step=10)
    fit_with([grid])
    names = sorted(os.listdir(tmp_path))
    assert names == ["s_011_1.png", "s_013_1.png", "s_015_2.png"]
    assert all(s is latents for s in seen)
    assert Image.open(tmp_path / names[0]).size == (4, 4)


def test_sample_grid_per_epoch(tmp_path):
    grid = SampleGrid(lambda x: x, np.zeros((2, 3, 3, 3)), str(tmp_path), "e{epoch:03d}.png")
    fit_with([grid], epochs=3)
    assert sorted(os.listdir(tmp_path)) == ["e001.png", "e002.png", "e003.png"]


def test_loss_history_csv_plot_and_append(tmp_path):
    fit_with([LossHistory(str(tmp_path))], epochs=2)
    fit_with([LossHistory(str(tmp_path), initial_step=6)], epochs=1)
    history = read_history(str(tmp_path / "history.csv"))
    assert list(history["step"]) == [3, 6, 9]
    assert np.all(np.isfinite(history["d_loss"]))
    assert Image.open(tmp_path / "losses.png").size[0] > 100


def test_loss_history_appends_rows_and_redraws_only_at_epoch_end(tmp_path, monkeypatch):
    """Recording 2,000 rows costs per row what recording 20 does: one appended line each, the
    file is written whole only when a row gains columns (a score joining it), and losses.png
    is drawn at the epoch's end, not per row."""
    import common.callbacks as callbacks
    drawn = []
    monkeypatch.setattr(callbacks, "plot_history", lambda *args: drawn.append(args))
    costs = {}
    for count in (20, 2000):
        os.makedirs(tmp_path / str(count))
        history = LossHistory(str(tmp_path / str(count)))
        rewrites = []
        monkeypatch.setattr(history, "_rewrite", lambda h=history: (rewrites.append(1),
                                                                     type(h)._rewrite(h)))
        for step in range(1, count + 1):
            history.step = step
            history.record({"d_loss": 0.5, "g_loss": 1.5})
        history.record({}, {"fid": 3.0})  # a score joins the last row: one rewrite
        costs[count] = len(rewrites)
        assert len(read_history(str(tmp_path / str(count) / "history.csv"))["step"]) == count
    assert costs == {20: 2, 2000: 2}  # the header's first write, then the joining score
    assert drawn == []
    history.on_epoch_end(0, {"d_loss": 0.1, "g_loss": 0.2})
    assert len(drawn) == 1


def test_sample_gif_in_step_order(tmp_path):
    for step in (100, 20, 3):
        Image.new("L", (4, 4), step).save(tmp_path / f"test_{step}.png")
    gif = SampleGif(str(tmp_path / "test_*.png"), str(tmp_path / "evolution.gif"))
    gif.on_train_end()
    with Image.open(tmp_path / "evolution.gif") as image:
        assert image.n_frames == 3
        assert image.convert("L").getpixel((0, 0)) == 3


def test_checkpoint_without_epoch_end_saves_counts_epochs(tmp_path):
    model = TinyGAN()
    model.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    checkpoint = Checkpoint(str(tmp_path), {"generator": model.generator},
                            {"g_optimizer": model.g_optimizer}, every_steps=3,
                            at_epoch_end=False)
    model.fit(np.zeros((4, 3), np.float32), batch_size=2, epochs=2, verbose=0,
              callbacks=[checkpoint])
    assert saved_counters(tmp_path) == (3, 1)
    assert checkpoint.epoch == 2
