"""The part every two-player port shares: a keras.Model that owns a generator and a
discriminator (or critic), an optimizer for each, and Mean trackers named like the
original's printed losses. Each program's gan.py subclasses it and writes train_step.
"""
import keras
import tensorflow as tf
from keras import ops


def full_precision():
    """The dtype of the layers that keep full precision under --mixed-precision (each
    network's last layers): float32, or float64 where the global policy is float64 (the float64
    reference of the side-by-side runs and bench.float64_step)."""
    return "float64" if keras.config.dtype_policy().variable_dtype == "float64" else "float32"


def with_loss_scaling(optimizer):
    """Under the mixed_float16 policy, a LossScaleOptimizer around `optimizer` (what
    Model.compile does for its one optimizer); train steps differentiate update_loss()."""
    if keras.mixed_precision.global_policy().name == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def update_loss(optimizer, loss):
    """What a train step differentiates for `optimizer`: the loss divided by the number of
    replicas in sync (Keras sums the replicas' gradients, so each update is the global
    batch's, as on the originals' one device; Keras' own train_step does the same), then
    multiplied by the loss scale under mixed float16 (identity otherwise)."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas > 1:
        loss = loss / ops.cast(replicas, loss.dtype)
    return optimizer.scale_loss(loss)


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


def several_workers():
    """Whether the current strategy is MultiWorkerMirroredStrategy with more than one worker
    (chief and workers of TF_CONFIG's cluster)."""
    strategy = tf.distribute.get_strategy()
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    cluster = strategy.cluster_resolver.cluster_spec().as_dict()
    return sum(len(cluster.get(kind, [])) for kind in ("chief", "worker")) > 1


class GANModel(keras.Model):
    """A keras.Model that owns built networks and reports its losses through trackers:
    `record(name=value, ...)` updates them (epoch means, or each step's value with
    `per_step`) and returns their results, the dict a train_step returns."""

    def __init__(self, tracked=(), per_step=False, **kwargs):
        super().__init__(**kwargs)
        tracker = LastValue if per_step else keras.metrics.Mean
        self.trackers = {name: tracker(name=name) for name in tracked}
        # The networks are built functional models; fit() under a tf.distribute strategy
        # would otherwise try to build this wrapper by calling it.
        self.built = True

    @property
    def metrics(self):
        return list(self.trackers.values())

    def checkpoint_state(self):
        """What a checkpoint of this GAN holds besides its counters, as common.checkpoint's
        Checkpoint takes it: {"networks": {name: network}, "optimizers": {name: optimizer},
        "extra": {name: [variables]}}. Every train command and importer saves through it."""
        raise NotImplementedError

    def record(self, **values):
        for name, value in values.items():
            self.trackers[name].update_state(value)
        results = {name: tracker.result() for name, tracker in self.trackers.items()}
        if several_workers():
            # Keras 3 reduces a step's logs across workers with strategy.reduce(MEAN, axis=0),
            # which rejects scalars (keras-team/keras#20585): give them that axis; callbacks
            # receive the reduced scalars.
            results = {name: ops.reshape(value, (1,)) for name, value in results.items()}
        return results

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Under a strategy, Keras 3's fit() reduces the first batch across replicas only to
        # build compiled losses and metrics symbolically; under MultiWorkerMirroredStrategy
        # that reduce fails for any batch structure (keras-team/keras#20585, open). These
        # models have neither: their networks are built and they report through trackers.
        return


class TwoPlayerGAN(GANModel):
    """compile(d_optimizer=..., g_optimizer=...), and record() of GANModel."""

    def __init__(self, generator, discriminator, tracked=(), per_step=False, **kwargs):
        super().__init__(tracked, per_step, **kwargs)
        self.generator, self.discriminator = generator, discriminator

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = with_loss_scaling(d_optimizer)
        self.g_optimizer = with_loss_scaling(g_optimizer)
        # Built now so a checkpoint's optimizer state can be restored before the first step.
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    def checkpoint_networks(self):
        """{name in a checkpoint: network}."""
        return {"generator": self.generator, "discriminator": self.discriminator}

    def checkpoint_state(self):
        return {"networks": self.checkpoint_networks(),
                "optimizers": {"d_optimizer": self.d_optimizer, "g_optimizer": self.g_optimizer},
                "extra": {}}
