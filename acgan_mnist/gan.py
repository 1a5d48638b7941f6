"""ACGAN: the per-batch loop of mnist_acgan.py (keras 14625e57af, run on Keras 2.2.4, the
version the 2019-06 blog shows) as one keras.Model train_step / test_step.

Replaces the example's discriminator.train_on_batch / combined.train_on_batch pair and its
D.trainable=False freeze, which in Keras 3 silently trains nothing: a D compiled after the flag
is set updates no weights (Keras 3.15, TF and JAX backends).
"""
import tensorflow as tf
from keras import ops

from acgan_mnist.model import NUM_CLASSES
from common import latents
from common.gan import TwoPlayerGAN, update_loss

SOFT_REAL = 0.95  # one-sided soft labels of the final example (PR #8482)
AUX_REAL_WEIGHT = 2.0  # sample weight of the real half's auxiliary loss; fakes get 0
TRACKED = ("loss", "generation_loss", "auxiliary_loss")
EPSILON = 1e-7  # Keras 2.2.4's K.epsilon(), the clip of both cross-entropies


def auxiliary_loss(labels, probabilities, sample_weight=None):
    """Keras 2.2.4's sparse_categorical_crossentropy, weighted as Keras 2.2.4 weighted it.

    The cross-entropy: the softmax output clipped to [1e-7, 1 - 1e-7], its log taken as
    logits of tf.nn.sparse_softmax_cross_entropy_with_logits (keras/backend/
    tensorflow_backend.py at 2.2.4). A confidently wrong class gives 16.12, not the margin,
    and no gradient through the clip: fakes that the auxiliary head puts firmly in another
    class taught the original's generator nothing about their class.
    The weighting: Keras 2.2.4 (engine/training_utils.py weighted_masked_objective) divided
    sum(loss * w) by the number of non-zero weights; Keras 3 divides by the batch size. With
    weights 2 (real) and 0 (fake) the tutorial's discriminator therefore optimised and printed
    2 x the mean real cross-entropy; we reproduce that.
    """
    logits = ops.log(ops.clip(probabilities, EPSILON, 1.0 - EPSILON))
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=ops.cast(ops.reshape(labels, (-1,)), "int32"), logits=logits)
    if sample_weight is None:
        return ops.mean(ce)
    nonzero = ops.sum(ops.cast(ops.not_equal(sample_weight, 0), ce.dtype))
    return ops.sum(ce * ops.cast(sample_weight, ce.dtype)) / nonzero


def generation_loss(targets, probabilities):
    """Keras 2.2.4's binary_crossentropy: the sigmoid output clipped to [1e-7, 1 - 1e-7], turned
    back into logits log(p / (1 - p)) for tf.nn.sigmoid_cross_entropy_with_logits. A saturated
    head gives 15.31 (target 0.95) and no gradient, where Keras 3, which reads the sigmoid's
    cached logits, gives the unclipped loss and its gradient."""
    p = ops.clip(probabilities, EPSILON, 1.0 - EPSILON)
    logits = ops.log(p / (1.0 - p))
    targets = ops.broadcast_to(ops.cast(targets, logits.dtype), ops.shape(logits))
    ce = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits)
    return ops.mean(ops.mean(ce, axis=-1))


def dense_gradients(gradients):
    """The gradients with an Embedding's IndexedSlices made dense, as Keras 2 on TF1 had them.

    Keras 2.2.4's Adam did arithmetic on the class embedding's IndexedSlices gradient, which
    TF1 turned into a dense tensor first: the rows of a class drawn several times in the batch
    summed, then squared for the second moment. Keras 3's ops.square squares each row of an
    IndexedSlices before they are summed, so v held the sum of the squares instead of the
    square of the sum (about 20 rows a class in a batch of 200), and the embedding stepped by
    less than the example's Adam stepped it. Found side by side: after step 1 the original's
    embedding was 58% of its change away from the port's (0.8% float32 floor)."""
    return [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g
            for g in gradients]


def random_inputs(latent_size):
    """draw((images, labels), seed) for common.cache.with_random: the example's noise U(-1, 1)
    and uniformly sampled classes, B of each for the discriminator's batch and 2B for the
    combined model's."""
    def draw(batch, seed):
        images, labels = batch
        count = tf.shape(images)[0]
        seeds = tf.random.experimental.stateless_split(seed, 4)
        return (images, labels, *_noise_and_classes(count, latent_size, seeds[:2]),
                *_noise_and_classes(2 * count, latent_size, seeds[2:]))
    return draw


def _noise_and_classes(count, latent_size, seeds):
    noise = latents.stateless((count, latent_size), seeds[0], "uniform_signed")
    classes = tf.random.stateless_uniform((count, 1), seeds[1], 0, NUM_CLASSES, dtype=tf.int32)
    return noise, classes


class ACGAN(TwoPlayerGAN):
    """Owns the generator and discriminator; fit() runs the example's training loop on
    batches (images, labels, noise, classes, noise2, classes2) of random_inputs()."""

    def __init__(self, generator, discriminator, latent_size=100, **kwargs):
        super().__init__(generator, discriminator,
                         [f"{who}_{name}" for who in ("d", "g") for name in TRACKED], **kwargs)
        self.latent_size = latent_size

    def discriminator_losses(self, images, labels, fakes, sampled, real_target, aux_weight,
                             training):
        """D on [real; fake]: generation loss vs [real_target; 0], auxiliary loss vs the
        [real; sampled] labels with per-half weights (aux_weight for real, 0 for fake)."""
        batch = ops.shape(images)[0]
        x = ops.concatenate([images, fakes], axis=0)
        y = ops.concatenate([ops.full((batch, 1), real_target), ops.zeros((batch, 1))], axis=0)
        aux_y = ops.concatenate([ops.reshape(labels, (-1, 1)), sampled], axis=0)
        generation, auxiliary = self.discriminator(x, training=training)
        weights = None
        if aux_weight is not None:
            weights = ops.concatenate([ops.full((batch,), aux_weight), ops.zeros((batch,))])
        return generation_loss(y, generation), auxiliary_loss(aux_y, auxiliary, weights)

    def generator_losses(self, noise, sampled, target, training):
        """G through the discriminator, whose weights this step does not update."""
        fakes = self.generator([noise, sampled], training=training)
        generation, auxiliary = self.discriminator(fakes, training=training)
        target = ops.full(ops.shape(generation), target)
        return generation_loss(target, generation), auxiliary_loss(sampled, auxiliary)

    def record_player(self, who, gen_loss, aux_loss):
        """The example's [loss, generation_loss, auxiliary_loss] for "d" or "g"."""
        return self.record(**{f"{who}_loss": gen_loss + aux_loss,
                              f"{who}_generation_loss": gen_loss,
                              f"{who}_auxiliary_loss": aux_loss})

    def train_step(self, data):
        images, labels, noise, sampled, noise2, sampled2 = data
        # generator.predict in the example: BatchNorm uses its moving statistics.
        fakes = self.generator([noise, sampled], training=False)
        with tf.GradientTape() as tape:
            d_gen, d_aux = self.discriminator_losses(images, labels, fakes, sampled,
                                                     SOFT_REAL, AUX_REAL_WEIGHT, training=True)
            d_loss = d_gen + d_aux
            scaled = update_loss(self.d_optimizer, d_loss)
        d_vars = self.discriminator.trainable_variables
        self.d_optimizer.apply(tape.gradient(scaled, d_vars), d_vars)

        # The combined model: 2 x batch fresh noise, all labelled "real" (0.95, the "trick").
        with tf.GradientTape() as tape:
            g_gen, g_aux = self.generator_losses(noise2, sampled2, SOFT_REAL, training=True)
            g_loss = g_gen + g_aux
            scaled = update_loss(self.g_optimizer, g_loss)
        g_vars = self.generator.trainable_variables
        self.g_optimizer.apply(dense_gradients(tape.gradient(scaled, g_vars)), g_vars)

        self.record_player("d", d_gen, d_aux)
        return self.record_player("g", g_gen, g_aux)

    def test_step(self, data):
        """The example's end-of-epoch evaluation: hard labels 1/0, no sample weights, dropout
        off; the combined model on 2 x batch noise with target 1.0."""
        images, labels, noise, sampled, noise2, sampled2 = data
        fakes = self.generator([noise, sampled], training=False)
        self.record_player("d", *self.discriminator_losses(images, labels, fakes, sampled, 1.0,
                                                           None, training=False))
        return self.record_player("g", *self.generator_losses(noise2, sampled2, 1.0,
                                                              training=False))
