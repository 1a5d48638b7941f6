"""The update rules of the frameworks the tutorials ran on, where Keras 3 computes differently.

Keras 2 RMSprop (epsilon outside the square root), PyTorch's Adam (its bias corrections in
double), TF1's Adam (its fused kernel) and BatchNormalization whose moving statistics
follow Keras 2.2 (zero-debiased, sample-size corrected), TF1's fused batch norm or PyTorch.
"""
import contextlib

import keras
import numpy as np
import tensorflow as tf
from keras import ops

PACKAGE = "gan_tutorials"


@keras.saving.register_keras_serializable(package=PACKAGE)
class Keras2RMSprop(keras.optimizers.RMSprop):
    """Keras 2's RMSprop: a = rho * a + (1 - rho) * g^2; p -= lr * g / (sqrt(a) + epsilon).

    Keras 3 divides by sqrt(a + epsilon) instead, a floor of sqrt(1e-7) ~ 3.2e-4 under the
    denominator: with the clipped WGAN critic's gradients (~3e-5) its steps are a few percent
    of the original's (keras 2.2.4 optimizers.py RMSprop.get_updates). epsilon: 1e-7 in Keras
    2.2 (O-GAN), 1e-8 in 2.1.2 (the anime WGAN)."""

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, rho=rho, epsilon=epsilon, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        accumulator = self._velocities[self._get_variable_index(variable)]
        self.assign(accumulator, self.rho * accumulator + (1 - self.rho) * ops.square(gradient))
        self.assign_sub(variable, lr * gradient / (ops.sqrt(accumulator) + self.epsilon))


@keras.saving.register_keras_serializable(package=PACKAGE)
class TorchAdam(keras.optimizers.Adam):
    """PyTorch's Adam (torch.optim.Adam, 0.4-1.0): m = b1 m + (1 - b1) g, v = b2 v + (1 - b2)
    g^2, p -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps), the bias corrections in
    Python's double. Keras 3's Adam casts beta_2 to a float32 tensor for b2^t but multiplies v
    by the Python float: 1 - float32(0.999) is 1.3e-5 smaller than 1 - 0.999, so its first
    steps are 6.4e-6 of their size shorter than PyTorch's (and than exact arithmetic)."""

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, "float64")

        def correction(beta):  # 1 - beta^t with beta as the Python float (not via float32)
            return 1.0 - ops.power(ops.convert_to_tensor(beta, "float64"), step)
        alpha = ops.cast(ops.cast(learning_rate, "float64") * ops.sqrt(correction(self.beta_2))
                         / correction(self.beta_1), dtype)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign(m, m * self.beta_1 + (1 - self.beta_1) * gradient)
        self.assign(v, v * self.beta_2 + (1 - self.beta_2) * ops.square(gradient))
        self.assign_sub(variable, alpha * m / (ops.sqrt(v) + self.epsilon))


@keras.saving.register_keras_serializable(package=PACKAGE)
class TF1Adam(keras.optimizers.Adam):
    """tf.train.AdamOptimizer as TF1 ran it: one fused ApplyAdam kernel per variable
    (training_ops.cc, the same kernel TensorFlow 2 still has): m += (g - m)(1 - b1), v += (g^2
    - v)(1 - b2), var -= m alpha / (sqrt(v) + eps), alpha = lr sqrt(1 - b2^t) / (1 - b1^t),
    every constant a float32 (1 - b1 is 1 - float32(b1)). Keras 3's Adam writes the same
    formulas as about ten element-wise ops, each a pass over the variable's memory: on CPU it
    took 130 ms a step for pix2pix's 57M weights, the kernel 35 ms (bench/README.md).
    b^t is Keras 3's power of the step count, so the optimizer's state and checkpoints are
    Keras 3's Adam's; TF1 kept b^t as float32 variables multiplied each step (a few ulps
    apart after thousands of steps)."""

    def update_step(self, gradient, variable, learning_rate):
        if isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = ops.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)

        def constant(value):
            return ops.cast(value, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable), m=_handle(self._momentums[index]),
            v=_handle(self._velocities[index]),
            beta1_power=ops.power(constant(self.beta_1), step),
            beta2_power=ops.power(constant(self.beta_2), step), lr=constant(learning_rate),
            beta1=constant(self.beta_1), beta2=constant(self.beta_2),
            epsilon=constant(self.epsilon), grad=ops.cast(gradient, dtype))


def _handle(variable):
    """The resource handle of a Keras or TensorFlow variable (inside a strategy's update, the
    handle of this device's copy)."""
    return (variable.value if isinstance(variable, keras.Variable) else variable).handle


def float32(value):
    """A hyperparameter as TF1 and Keras 2 held it: a float32 constant, so 1 - beta_2 is
    1 - float32(0.999) = 0.00099998713, not Python's 0.001 (Adam's v differs by 1.3e-5)."""
    return float(np.float32(value))


def replicas_in_sync():
    return tf.distribute.get_strategy().num_replicas_in_sync


def synchronized_by_default(kwargs):
    """BatchNorm built under a strategy of several replicas computes its statistics over the
    whole global batch (synchronized), as the originals' one device did."""
    return {"synchronized": replicas_in_sync() > 1, **kwargs}


class _DebiasState:
    """TF's zero-debias shadow variables ("biased", "local_step"). A plain holder, so Keras
    does not count them as layer weights: summary() keeps the original's parameter counts."""

    def __init__(self, biased_mean, biased_variance, local_step):
        self.biased_mean, self.biased_variance = biased_mean, biased_variance
        self.local_step = local_step

    def variables(self):
        return [self.biased_mean, self.biased_variance, self.local_step]


@keras.saving.register_keras_serializable(package=PACKAGE)
class LegacyBatchNormalization(keras.layers.BatchNormalization):
    """BatchNormalization that normalises exactly as Keras 3 does but updates its moving
    statistics as the original's framework did.

    variance_correction: what multiplies the batch variance before it enters the average.
      "none": Keras 3 (population variance).
      "bessel": n / (n - 1), TF1's fused batch norm and PyTorch (unbiased running variance).
      "keras2": Keras 2.1.3-2.2.5 on TensorFlow: the fused op's n / (n - 1) for 4-D inputs,
        then the layer's own "sample variance" factor n / (n - (1 + epsilon)).
    zero_debias: the moving mean and variance are TF's assign_moving_average(...,
      zero_debias=True), as Keras 2.1.3-2.2.5 did: after the first step they equal that
      batch's statistics instead of starting from 0 and 1 (keras 2.2.4
      backend/tensorflow_backend.py: moving_average_update).
    debias_streams: how many times a train step of the original called the layer. Keras 2
      built one assign_moving_average per call, each with its own debias state, all
      assigning the same moving variables: each call keeps its own average of its own
      batches, and the variables hold the average of the call whose update ran last
      (O-GAN's encoder: real, fake, stop-gradient fake batch; the fake ones, measured). A
      training call updates the stream that `debias_stream(model, index)` selects (0
      outside it) and assigns that stream's average, so the last call of a step lands.

    The debias state (per stream two shadow vectors and a step count) is saved with the
    layer's weights (save_weights / .keras) so a resumed run continues it, but is not a layer
    weight.
    """

    CORRECTIONS = ("none", "bessel", "keras2")

    def __init__(self, variance_correction="none", zero_debias=False, debias_streams=1,
                 **kwargs):
        super().__init__(**synchronized_by_default(kwargs))
        if variance_correction not in self.CORRECTIONS:
            raise ValueError(f"variance_correction must be one of {self.CORRECTIONS}")
        if debias_streams < 1:
            raise ValueError("debias_streams must be at least 1")
        self.variance_correction, self.zero_debias = variance_correction, zero_debias
        self.debias_streams = debias_streams
        self.active_stream = 0  # the debias state a training call updates (debias_stream)
        self._debias = []

    def build(self, input_shape):
        super().build(input_shape)
        if self.zero_debias:
            for k in range(self.debias_streams):
                self._debias.append(self._debias_state("" if k == 0 else f"_{k}"))

    def _debias_state(self, suffix):
        """One stream's shadow variables, named as TF named them (biased, biased_1, ...)."""
        def make(name, shape):
            return keras.Variable("zeros", shape=shape, dtype=self.moving_mean.dtype,
                                  trainable=False,
                                  name=f"{self.name}_{name}{suffix}")
        shape = self.moving_mean.shape
        return _DebiasState(make("biased_mean", shape), make("biased_variance", shape),
                            make("local_step", ()))

    def debias_variables(self):
        """Every stream's state, stream by stream: biased mean, biased variance, step."""
        return [variable for state in self._debias for variable in state.variables()]

    def continue_debias(self, steps):
        """Debias state for moving statistics imported from a run of `steps` training steps
        (Keras 2 saved the statistics but not TF's shadow variables): local_step = steps and
        biased = moving x (1 - momentum^steps), so the statistics stay as imported and the
        next steps continue their average, weighting the imported values by
        1 - momentum^steps. steps = 0 leaves the state empty: the next training batch then
        replaces the statistics, as the original's own load_weights-then-train did."""
        if not self._debias or steps <= 0:
            return
        kept = 1.0 - self.momentum ** steps
        for state in self._debias:  # every call's average continues the imported statistics
            state.local_step.assign(float(steps))
            state.biased_mean.assign(self.moving_mean * kept)
            state.biased_variance.assign(self.moving_variance * kept)

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable) or mask is not None or self.renorm:
            return super().call(inputs, training=training, mask=mask)
        x = ops.cast(inputs, keras.backend.result_type(inputs.dtype, "float32"))
        mean, variance = self._moments(x, None)
        self._update_moving_statistics(mean, variance, x)
        gamma = ops.cast(self.gamma, x.dtype) if self.scale else None
        beta = ops.cast(self.beta, x.dtype) if self.center else None
        outputs = ops.batch_normalization(x, mean, variance, axis=self.axis, offset=beta,
                                          scale=gamma, epsilon=self.epsilon)
        return ops.cast(outputs, self.compute_dtype)

    def _moments(self, inputs, mask):
        """Synchronized over replicas, in two passes: the mean, then the squares about it, as
        tf.nn.moments computed them on the originals' one device. Keras 3's synchronized
        moments take the variance as E[x^2] - E[x]^2, which loses float32's digits wherever
        the mean is large against the spread (on tests/mirrored_step.py's AC-GAN step the
        statistics' largest difference from one device's went from 4.3e-6 to 3.6e-6)."""
        context = tf.distribute.get_replica_context()
        if not self.synchronized or mask is not None or context is None:
            return super()._moments(inputs, mask)
        axes = self._reduction_axes
        count = tf.cast(tf.reduce_prod(tf.gather(tf.shape(inputs), axes)), inputs.dtype)
        count = context.all_reduce(tf.distribute.ReduceOp.SUM, count)
        total = context.all_reduce(tf.distribute.ReduceOp.SUM,
                                   tf.reduce_sum(inputs, axes, keepdims=True))
        mean = total / count
        squares = tf.reduce_sum(tf.math.squared_difference(inputs, tf.stop_gradient(mean)),
                                axes, keepdims=True)
        variance = context.all_reduce(tf.distribute.ReduceOp.SUM, squares) / count
        return tf.squeeze(mean, axes), tf.squeeze(variance, axes)

    def corrected_variance(self, variance, x):
        """The variance that enters the moving average (see variance_correction)."""
        if self.variance_correction == "none":
            return variance
        n = ops.cast(ops.size(x), variance.dtype) / ops.cast(ops.size(variance), variance.dtype)
        if self.synchronized:  # the statistics are over every replica's batch
            n = n * replicas_in_sync()
        bessel = n / ops.maximum(n - 1.0, 1.0)
        if self.variance_correction == "bessel":
            return variance * bessel
        if len(x.shape) == 4:  # Keras 2 took tf.nn.fused_batch_norm's Bessel-corrected var
            variance = variance * bessel
        return variance * (n / (n - (1.0 + self.epsilon)))

    def _update_moving_statistics(self, mean, variance, x):
        variance = self.corrected_variance(variance, x)
        # TF keeps `decay` as 1 - momentum (moving_averages.assign_moving_average), a float32
        # constant (also in a float64 reference run: the same constant, exact arithmetic).
        decay = ops.cast(float32(1.0 - self.momentum), self.moving_mean.dtype)
        if not self.zero_debias:
            self.moving_mean.assign(self.moving_mean - (self.moving_mean - mean) * decay)
            self.moving_variance.assign(self.moving_variance
                                        - (self.moving_variance - variance) * decay)
            return
        if not 0 <= self.active_stream < len(self._debias):
            raise ValueError(f"{self.name} keeps {len(self._debias)} debias streams; it was "
                             f"called for stream {self.active_stream}")
        state = self._debias[self.active_stream]
        state.local_step.assign(state.local_step + 1.0)
        for moving, biased, value in ((self.moving_mean, state.biased_mean, mean),
                                      (self.moving_variance, state.biased_variance, variance)):
            # TF 1.15's _zero_debias: biased -= (biased - value) * decay, then the variable is
            # assigned biased / (1 - (1 - decay) ** local_step) (not moved towards it: what
            # another stream put there is replaced).
            biased.assign(biased - (biased - value) * decay)
            moving.assign(biased / (1.0 - ops.power(1.0 - decay, state.local_step)))

    def save_own_variables(self, store):
        super().save_own_variables(store)
        first = len(self._trainable_variables) + len(self._non_trainable_variables)
        for i, variable in enumerate(self.debias_variables(), start=first):
            store[f"{i}"] = variable

    def load_own_variables(self, store):
        layer_variables = self._trainable_variables + self._non_trainable_variables
        for i, variable in enumerate(layer_variables):
            variable.assign(store[f"{i}"])
        # A file written without debias state (or by plain BatchNormalization) leaves the
        # state at zero: the next training step restarts the debiasing from that batch. A
        # file of one stream (written before debias_streams) continues in every stream.
        extra = self.debias_variables()
        stored = len(store.keys()) - len(layer_variables)
        one_stream = len(extra) // max(len(self._debias), 1)
        if extra and stored in (len(extra), one_stream):
            for i, variable in enumerate(extra):
                variable.assign(store[f"{len(layer_variables) + i % stored}"])

    def get_config(self):
        return {**super().get_config(), "variance_correction": self.variance_correction,
                "zero_debias": self.zero_debias, "debias_streams": self.debias_streams}


@contextlib.contextmanager
def debias_stream(model, index):
    """Within the block, training calls of `model`'s LegacyBatchNormalization layers update
    their debias stream `index` (see debias_streams): which call of the train step it is."""
    norms = [layer for layer in model._flatten_layers()
             if isinstance(layer, LegacyBatchNormalization)]
    for layer in norms:
        layer.active_stream = index
    try:
        yield
    finally:
        for layer in norms:
            layer.active_stream = 0


def keras2_batch_norm(**kwargs):
    """Keras 2.1.3-2.2.5's BatchNormalization (defaults momentum 0.99, epsilon 1e-3): the
    O-GAN and AC-GAN originals."""
    return LegacyBatchNormalization(variance_correction="keras2", zero_debias=True, **kwargs)


def tf1_fused_batch_norm(**kwargs):
    """tf.contrib.layers.batch_norm with updates_collections=None, which TF >= 1.3 ran
    through the fused op (Bessel-corrected running variance, no debiasing): carpedm20."""
    return LegacyBatchNormalization(variance_correction="bessel", **kwargs)


def torch_batch_norm(**kwargs):
    """PyTorch BatchNorm2d (momentum 0.1 = Keras 0.9, eps 1e-5, unbiased running variance):
    the anime DCGAN."""
    kwargs = {"momentum": 0.9, "epsilon": 1e-5, **kwargs}
    return LegacyBatchNormalization(variance_correction="bessel", **kwargs)
