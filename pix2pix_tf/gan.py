"""Pix2Pix: pix2pix.py's create_model losses and its single-sess.run training step.

The original ran one forward pass, applied the discriminator's update and then, under a
control dependency, computed and applied the generator's. Its variables were TF1 reference
variables, whose reads share the variable's buffer: the generator's gradient, backpropagated
through the fake pair's discriminator pass after that update, met the discriminator's new
kernels and gammas at the forward pass's activations (measured beside pix2pix.py on TF 1.15:
this matches its generator gradients to 1e-5; the forward pass's own discriminator, 7e-3 off).
The port computes the same: Pix2Pix.update.
"""
import keras
import tensorflow as tf
from keras import ops

from common.gan import TwoPlayerGAN, update_loss
from common.old_frameworks import float32

EPS = 1e-12
EMA_DECAY = 0.99
LOSSES = ("discrim_loss", "gen_loss_GAN", "gen_loss_L1")


def pix2pix_losses(targets, outputs, predict_real, predict_fake, gan_weight=1.0,
                   l1_weight=100.0):
    """The original's four losses (each a scalar mean over patches and batch)."""
    discrim_loss = ops.mean(-(ops.log(predict_real + EPS) + ops.log(1 - predict_fake + EPS)))
    return {"discrim_loss": discrim_loss,
            **generator_losses(targets, outputs, predict_fake, gan_weight, l1_weight)}


def generator_losses(targets, outputs, predict_fake, gan_weight=1.0, l1_weight=100.0):
    gen_loss_gan = ops.mean(-ops.log(predict_fake + EPS))
    gen_loss_l1 = ops.mean(ops.abs(targets - outputs))
    gen_loss = gen_loss_gan * gan_weight + gen_loss_l1 * l1_weight
    return {"gen_loss_GAN": gen_loss_gan, "gen_loss_L1": gen_loss_l1, "gen_loss": gen_loss}


class Pix2Pix(TwoPlayerGAN):
    """fit() on (inputs, targets) batches in [-1, 1]. Reports the original's displayed
    figures: 0.99 moving averages of the three losses, started at 0 without debiasing."""

    def __init__(self, generator, discriminator, gan_weight=1.0, l1_weight=100.0, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.gan_weight, self.l1_weight = gan_weight, l1_weight
        self.averages = {name: self.add_variable((), initializer="zeros", trainable=False,
                                                 name=f"{name}_ema") for name in LOSSES}

    def checkpoint_state(self):
        """Also the displayed loss averages, as the TF Saver restored the
        ExponentialMovingAverage shadows."""
        return {**super().checkpoint_state(), "extra": {"loss_averages":
                                                       list(self.averages.values())}}

    def forward(self, inputs, targets):
        """Generator, then the discriminator twice (real and fake pairs: separate batch
        statistics, shared weights). Every layer runs as at training time anyway. Returns
        the outputs, the losses and the output of every layer of the fake pair's pass."""
        outputs = self.generator(inputs, training=True)
        predict_real = self.discriminator([inputs, targets], training=True)
        fake_pass = self.fake_pass([inputs, outputs])
        return outputs, pix2pix_losses(targets, outputs, predict_real, fake_pass[-1],
                                       self.gan_weight, self.l1_weight), fake_pass

    def fake_pass(self, pair, recorded=None):
        """The discriminator on the fake pair, layer by layer: each layer's output. With
        `recorded` (those of an earlier pass) every output keeps the recorded value while its
        gradient is the layer's as it is now: the current weights at the recorded
        activations (the layers' own inputs carry the recorded values too)."""
        x, layer_outputs = pair, []
        for layer in chain(self.discriminator):
            y = layer(x, training=True)
            if recorded is not None:
                y = y - ops.stop_gradient(y) + ops.stop_gradient(recorded[len(layer_outputs)])
            layer_outputs.append(y)
            x = y
        return layer_outputs

    def train_step(self, data):
        inputs, targets = data
        return self.update_displayed_averages(self.update_networks(inputs, targets))

    def update_networks(self, inputs, targets):
        """One training step of pix2pix.py: one forward pass; the discriminator's update;
        then the generator's, its gradient backpropagated through the fake pair's pass with
        the discriminator's updated weights at that pass's activations. Returns the forward
        pass's losses."""
        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        with tf.GradientTape() as g_tape:
            with tf.GradientTape() as d_tape:
                outputs, losses, fake_pass = self.forward(inputs, targets)
                d_scaled = update_loss(self.d_optimizer, losses["discrim_loss"])
            with g_tape.stop_recording():
                self.d_optimizer.apply(d_tape.gradient(d_scaled, d_vars), d_vars)
            predict_fake = self.fake_pass([inputs, outputs], fake_pass)[-1]
            gen_loss = generator_losses(targets, outputs, predict_fake, self.gan_weight,
                                        self.l1_weight)["gen_loss"]
            g_scaled = update_loss(self.g_optimizer, gen_loss)
        self.g_optimizer.apply(g_tape.gradient(g_scaled, g_vars), g_vars)
        return losses

    def update_displayed_averages(self, losses):
        """Moves each displayed average toward this step's loss as TF1's
        ExponentialMovingAverage did (average -= (average - loss) * (1 - decay), 1 - decay
        computed in float32: 0.0099999905); returns the averages."""
        for name, average in self.averages.items():
            rate = ops.cast(1 - float32(EMA_DECAY), average.dtype)
            average.assign_sub((average - ops.cast(losses[name], average.dtype)) * rate)
        return {name: ops.convert_to_tensor(average) for name, average in self.averages.items()}


def chain(network):
    """The layers of a functional network that are one chain after its inputs (the
    PatchGAN: concatenate, then pad, conv, batchnorm, lrelu... sigmoid), in order."""
    layers = [layer for layer in network.layers
              if not isinstance(layer, keras.layers.InputLayer)]
    for before, layer in zip(layers, layers[1:]):
        if layer.input is not before.output:
            raise ValueError(f"{network.name}: {layer.name} does not follow {before.name}")
    return layers
