"""Pix2Pix: pix2pix.py's create_model losses and its single-sess.run training step.

The original computed one forward pass, applied the discriminator update and then, under a
control dependency, the generator update. Here both gradients come from the same forward
pass and the discriminator's update is applied first.
"""
import tensorflow as tf
from keras import ops

from common.gan import TwoPlayerGAN, update_loss

EPS = 1e-12
EMA_DECAY = 0.99
LOSSES = ("discrim_loss", "gen_loss_GAN", "gen_loss_L1")


def pix2pix_losses(targets, outputs, predict_real, predict_fake, gan_weight=1.0,
                   l1_weight=100.0):
    """The original's four losses (each a scalar mean over patches and batch)."""
    discrim_loss = ops.mean(-(ops.log(predict_real + EPS) + ops.log(1 - predict_fake + EPS)))
    gen_loss_gan = ops.mean(-ops.log(predict_fake + EPS))
    gen_loss_l1 = ops.mean(ops.abs(targets - outputs))
    gen_loss = gen_loss_gan * gan_weight + gen_loss_l1 * l1_weight
    return {"discrim_loss": discrim_loss, "gen_loss_GAN": gen_loss_gan,
            "gen_loss_L1": gen_loss_l1, "gen_loss": gen_loss}


class Pix2Pix(TwoPlayerGAN):
    """fit() on (inputs, targets) batches in [-1, 1]. Reports the original's displayed
    figures: 0.99 moving averages of the three losses, started at 0 without debiasing."""

    def __init__(self, generator, discriminator, gan_weight=1.0, l1_weight=100.0, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.gan_weight, self.l1_weight = gan_weight, l1_weight
        self.averages = {name: self.add_variable((), initializer="zeros", trainable=False,
                                                 name=f"{name}_ema") for name in LOSSES}

    def forward(self, inputs, targets):
        """Generator, then the discriminator twice (real and fake pairs: separate batch
        statistics, shared weights). Every layer runs as at training time anyway."""
        outputs = self.generator(inputs, training=True)
        predict_real = self.discriminator([inputs, targets], training=True)
        predict_fake = self.discriminator([inputs, outputs], training=True)
        return outputs, pix2pix_losses(targets, outputs, predict_real, predict_fake,
                                       self.gan_weight, self.l1_weight)

    def train_step(self, data):
        inputs, targets = data
        with tf.GradientTape(persistent=True) as tape:
            _, losses = self.forward(inputs, targets)
          
            d_scaled = update_loss(self.d_optimizer, losses["discrim_loss"])
            g_scaled = update_loss(self.g_optimizer, losses["gen_loss"])
        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        d_grads = tape.gradient(d_scaled, d_vars)
        g_grads = tape.gradient(g_scaled, g_vars)
        del tape
        self.d_optimizer.apply(d_grads, d_vars)
        self.g_optimizer.apply(g_grads, g_vars)
        for name, average in self.averages.items():
            average.assign(EMA_DECAY * average + (1 - EMA_DECAY) * losses[name])
        return {name: ops.convert_to_tensor(average) for name, average in self.averages.items()}
