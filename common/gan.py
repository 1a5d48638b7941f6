"""The part every two-player port shares: a keras.Model that owns a generator and a
discriminator (or critic), an optimizer for each, and Mean trackers named like the
original's printed losses. Each program's gan.py subclasses it and writes train_step.
"""
import keras


def with_loss_scaling(optimizer):
    """Under the mixed_float16 policy, a LossScaleOptimizer around `optimizer` (what
    Model.compile does for its one optimizer); train steps call optimizer.scale_loss(loss)."""
    if keras.mixed_precision.global_policy().name == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


class TwoPlayerGAN(keras.Model):
    """compile(d_optimizer=..., g_optimizer=...); `record(name=value, ...)` updates the
    trackers and returns their results, the dict a train_step returns."""

    def __init__(self, generator, discriminator, tracked=(), **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.trackers = {name: keras.metrics.Mean(name=name) for name in tracked}
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
