"""The part every two-player port shares: a keras.Model that owns a generator and a
discriminator (or critic), an optimizer for each, and Mean trackers named like the
original's printed losses. Each program's gan.py subclasses it and writes train_step.
"""
import keras
from keras import ops


def with_loss_scaling(optimizer):
    """Under the mixed_float16 policy, a LossScaleOptimizer around `optimizer` (what
    Model.compile does for its one optimizer); train steps call optimizer.scale_loss(loss)."""
    if keras.mixed_precision.global_policy().name == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


class LastValue(keras.metrics.Metric):
    """The latest value, not a running mean: for originals that printed and plotted each
    batch's own losses (carpedm20, Anime_GAN, the Keras WGAN)."""

    def __init__(self, name, **kwargs):
        super().__init__(name=name, **kwargs)
        self.value = self.add_variable((), "zeros", aggregation="mean", name="value")

    def update_state(self, value):
        self.value.assign(ops.cast(value, self.dtype))

    def result(self):
        return ops.convert_to_tensor(self.value)

    def reset_state(self):
        self.value.assign(0.0)


class TwoPlayerGAN(keras.Model):
    """compile(d_optimizer=..., g_optimizer=...); `record(name=value, ...)` updates the
    trackers (epoch means, or each step's value with `per_step`) and returns their results,
    the dict a train_step returns."""

    def __init__(self, generator, discriminator, tracked=(), per_step=False, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        tracker = LastValue if per_step else keras.metrics.Mean
        self.trackers = {name: tracker(name=name) for name in tracked}
        # The networks are built functional models; fit() under a tf.distribute strategy
        # would otherwise try to build this wrapper by calling it.
        self.built = True

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = with_loss_scaling(d_optimizer)
        self.g_optimizer = with_loss_scaling(g_optimizer)
        # Built now so a checkpoint's optimizer state can be restored before the first step.
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def record(self, **values):
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}
