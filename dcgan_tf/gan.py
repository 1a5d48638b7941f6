"""DCGAN and WGAN as keras.Model train_steps.

DCGAN ports carpedm20's train() loop (one D update, then G twice on the same z) and, with
g_steps=1 and probability outputs, Anime_GAN's PyTorch DCGAN loop. WGAN ports wgan_keras.py's
K.function updates: 5 critic steps (each on a fresh real batch, weights clipped to +-0.01
after each) per generator step.
"""
import tensorflow as tf
from keras import ops

from common import latents
from common.gan import TwoPlayerGAN, update_loss


def with_z(z_dim, distribution):
    """draw(batch, seed) for common.cache.with_random: each batch (images, or images and y)
    gets its z, as carpedm20 drew batch_z for every batch."""
    def draw(batch, seed):
        images = batch[0] if isinstance(batch, tuple) else batch
        z = latents.stateless((tf.shape(images)[0], z_dim), seed, distribution)
        return (*batch, z) if isinstance(batch, tuple) else (batch, z)
    return draw


def with_critic_noise(z_dim):
    """draw(real, seed): the WGAN's batches (B, n_critic, ...) get N(0, 1) noise for each
    critic step (B, n_critic, z_dim) and for the generator step (B, z_dim)."""
    def draw(real, seed):
        seeds = tf.random.experimental.stateless_split(seed, 2)
        shape = tf.shape(real)
        return (real, latents.stateless((shape[0], shape[1], z_dim), seeds[0]),
                latents.stateless((shape[0], z_dim), seeds[1]))
    return draw


def sigmoid_cross_entropy(logits, target):
    """tf.nn.sigmoid_cross_entropy_with_logits against a constant label, averaged."""
    labels = ops.full(ops.shape(logits), target, dtype=logits.dtype)
    return ops.mean(ops.binary_crossentropy(labels, logits, from_logits=True))


TORCH_BCE_EPS = 1e-12  # THNN BCECriterion.c's EPS


def bce_probabilities(probabilities, target):
    """nn.BCELoss() (mean) as PyTorch 0.4.1-1.0 computed it (THNN BCECriterion.c), Anime_GAN's
    loss on the discriminator's sigmoid output.

    Forward: -[t log p + (1 - t) log(1 - p)], a log of exactly 0 taken as log(1e-12) (27.63).
    Backward: (p - t) / ((1 - p + 1e-12)(p + 1e-12)), computed in double as THNN did: finite
    where p has rounded to 0 or 1, and the sigmoid's p(1 - p) then makes it 0. (Differentiating
    maximum(log p, -100) instead gives 0 x inf = NaN there, and one over-confident D output
    turns every D weight into NaN.) (PyTorch 0.4.0 added 1e-12 inside both logs instead; later
    versions clamp each log at -100: the same losses and gradients away from saturation.)"""
    t = float(target)

    @tf.custom_gradient
    def bce(p):
        def safe_log(x):
            return tf.math.log(tf.where(tf.equal(x, 0.0), tf.constant(TORCH_BCE_EPS, p.dtype), x))

        def gradient(upstream):
            p64 = tf.cast(p, tf.float64)
            grad = (p64 - t) / ((1.0 - p64 + TORCH_BCE_EPS) * (p64 + TORCH_BCE_EPS))
            grad = grad * tf.cast(upstream, tf.float64) / tf.cast(tf.size(p), tf.float64)
            return tf.cast(grad, p.dtype)

        return tf.reduce_mean(-(t * safe_log(p) + (1.0 - t) * safe_log(1.0 - p))), gradient

    return bce(tf.convert_to_tensor(probabilities))


class DCGAN(TwoPlayerGAN):
    """fit() on batches (images, z), or (images, one-hot y, z) when conditional (with_z)."""

    def __init__(self, generator, discriminator, z_dim=100, conditional=False, g_steps=2,
                 z_dist="uniform_signed", from_logits=True, reevaluate=False, **kwargs):
        # The per-batch line printed that batch's losses: trackers hold each step's value.
        super().__init__(generator, discriminator,
                         ("d_loss", "g_loss", "d_loss_real", "d_loss_fake"), per_step=True,
                         **kwargs)
        self.z_dim, self.conditional, self.g_steps = z_dim, conditional, g_steps
        self.z_dist, self.from_logits, self.reevaluate = z_dist, from_logits, reevaluate

    def cross_entropy(self, output, target):
        if self.from_logits:
            return sigmoid_cross_entropy(output, target)
        return bce_probabilities(output, target)

    def generate(self, z, y=None, training=False):
        z = ops.convert_to_tensor(z)
        if self.conditional:
            return self.generator([z, ops.convert_to_tensor(y)], training=training)
        return self.generator(z, training=training)

    def discriminate(self, images, y=None, training=True):
        images = ops.convert_to_tensor(images)
        if self.conditional:
            return self.discriminator([images, ops.convert_to_tensor(y)], training=training)
        return self.discriminator(images, training=training)

    def losses_on(self, images, y, z, training=True):
        """d_loss_real, d_loss_fake, g_loss: real and fake through D in separate calls, so
        each gets its own BatchNorm statistics as in the original graph."""
        fakes = self.generate(z, y, training=training)
        d_real = self.discriminate(images, y, training=training)
        d_fake = self.discriminate(fakes, y, training=training)
        return (self.cross_entropy(d_real, 1.0), self.cross_entropy(d_fake, 0.0),
                self.cross_entropy(d_fake, 1.0))

    def train_step(self, data):
        images, y, z = data if self.conditional else (data[0], None, data[1])
        with tf.GradientTape() as tape:
            d_loss_real, d_loss_fake, _ = self.losses_on(images, y, z)
            d_loss = d_loss_real + d_loss_fake
            scaled = update_loss(self.d_optimizer, d_loss)
        d_vars = self.discriminator.trainable_variables
        self.d_optimizer.apply(tape.gradient(scaled, d_vars), d_vars)
        # carpedm20: "Run g_optim twice to make sure that d_loss does not go to zero
        # (different from paper)", both times with the same z. Anime_GAN: once, reusing the
        # discriminator step's noise (its author found that important).
        g_vars = self.generator.trainable_variables
        for _ in range(self.g_steps):
            with tf.GradientTape() as tape:
                d_fake = self.discriminate(self.generate(z, y, training=True), y)
                g_loss = self.cross_entropy(d_fake, 1.0)
                scaled = update_loss(self.g_optimizer, g_loss)
            self.g_optimizer.apply(tape.gradient(scaled, g_vars), g_vars)
        if self.reevaluate:
            d_loss_fake, d_loss_real, g_loss = self.reevaluated_losses(images, y, z)
            d_loss = d_loss_fake + d_loss_real
        return self.record(d_loss=d_loss, g_loss=g_loss, d_loss_real=d_loss_real,
                           d_loss_fake=d_loss_fake)

    def reevaluated_losses(self, images, y, z):
        """carpedm20's printed errD_fake, errD_real, errG: d_loss_fake.eval, d_loss_real.eval
        and g_loss.eval after the three updates, three more training-mode runs (G then D on
        the fakes, D on the reals, G then D on the fakes again). tf.contrib's batch_norm
        updated its moving statistics in every such pass (updates_collections=None), so these
        move them too: G's twice and D's three times more per step."""
        d_loss_fake = self.cross_entropy(self.discriminate(self.generate(z, y, training=True),
                                                           y), 0.0)
        d_loss_real = self.cross_entropy(self.discriminate(images, y), 1.0)
        g_loss = self.cross_entropy(self.discriminate(self.generate(z, y, training=True), y),
                                    1.0)
        return d_loss_fake, d_loss_real, g_loss

    def sample_losses(self, images, y, z):
        """carpedm20's [Sample] d_loss, g_loss: one training-mode run of its graph on the
        sample inputs and sample_z (G once, D on the reals, D on the fakes), which also moves
        the BatchNorm statistics."""
        d_loss_real, d_loss_fake, g_loss = self.losses_on(images, y, z, training=True)
        return d_loss_real + d_loss_fake, g_loss


class WGAN(TwoPlayerGAN):
    """fit() on (real, critic noise, generator noise) of with_critic_noise: n_critic real
    batches stacked on axis 1, (batch, n_critic, 96, 96, 3), so that a distribution strategy
    splits the batch, not the critic steps."""

    def __init__(self, generator, critic, z_dim=100, n_critic=5, clip_value=0.01, **kwargs):
        super().__init__(generator, critic, ("Loss_D", "Loss_G", "Loss_D_real", "Loss_D_fake"),
                         per_step=True, **kwargs)
        self.z_dim, self.n_critic, self.clip_value = z_dim, n_critic, clip_value

    @property
    def critic(self):
        """wgan_keras.py's netD: the discriminator without a sigmoid."""
        return self.discriminator

    def checkpoint_networks(self):
        """{name in a checkpoint: network}."""
        return {"generator": self.generator, "critic": self.critic}

    def critic_step(self, real, noise):
        """One critic update; returns mean D(real), mean D(fake) computed before it."""
        # The script calls every BatchNormalization with training=1, so batch statistics are
        # used everywhere, including the generator inside the critic's update.
        fakes = self.generator(noise, training=True)
        d_vars = self.critic.trainable_variables
        with tf.GradientTape() as tape:
            d_real = ops.mean(self.critic(real, training=True))
            d_fake = ops.mean(self.critic(fakes, training=True))
            scaled = update_loss(self.d_optimizer, d_fake - d_real)
        self.d_optimizer.apply(tape.gradient(scaled, d_vars), d_vars)
        # Every critic weight is clipped, BatchNorm's gamma and beta included, as the script
        # (and the WGAN paper) did; gamma's N(1, 0.02) start is clamped to 0.01 at once.
        for variable in d_vars:
            variable.assign(ops.clip(variable, -self.clip_value, self.clip_value))
        return d_real, d_fake

    def train_step(self, data):
        real, critic_noise, noise = data
        for i in range(self.n_critic):  # each critic step: a fresh real batch and fresh noise
            d_real, d_fake = self.critic_step(real[:, i], critic_noise[:, i])
        g_vars = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fakes = self.generator(noise, training=True)
            g_loss = -ops.mean(self.critic(fakes, training=True))
            scaled = update_loss(self.g_optimizer, g_loss)
        self.g_optimizer.apply(tape.gradient(scaled, g_vars), g_vars)
        # The script prints the last critic iteration's figures beside the generator's.
        return self.record(Loss_D=d_real - d_fake, Loss_G=g_loss, Loss_D_real=d_real,
                           Loss_D_fake=d_fake)
