"""OGAN: o_gan_celeba_sm_4x4.py's add_loss graph and metrics_tensors as a train_step.

One joint loss and one RMSprop over encoder and generator, updated together (no alternation).
"""
import tensorflow as tf
from keras import ops

from common.gan import GANModel, update_loss, with_loss_scaling
from common.old_frameworks import debias_stream
from ogan_keras.model import ENCODER_CALLS

Z_CORR_WEIGHT = 0.5  # lambda of the sm_4x4 script (1.0 in the 256 EMA variant)
QP_WEIGHT = 0.25


def correlation(x, y):
    """Pearson correlation per row: centre each vector, L2-normalise (K.l2_normalize floors
    the squared norm at 1e-12), dot product. Returns shape (batch,)."""
    x = x - ops.mean(x, axis=1, keepdims=True)
    y = y - ops.mean(y, axis=1, keepdims=True)
    x = x / ops.sqrt(ops.maximum(ops.sum(x * x, axis=1, keepdims=True), 1e-12))
    y = y / ops.sqrt(ops.maximum(ops.sum(y * y, axis=1, keepdims=True), 1e-12))
    return ops.sum(x * y, axis=1)


def ogan_losses(x_real, x_fake, x_fake_ng, z_in, z_real, z_fake, z_fake_ng):
    """The script's loss terms, each of shape (batch,), and the total.

    t1 trains the encoder only (x_fake_ng carries no gradient to G); t2 is 0 in value but its
    gradient trains the generator only; z_corr reaches both; qp trains the encoder only.
    """
    z_real_mean = ops.mean(z_real, axis=1)
    z_fake_mean = ops.mean(z_fake, axis=1)
    z_fake_ng_mean = ops.mean(z_fake_ng, axis=1)
    t1 = z_real_mean - z_fake_ng_mean
    t2 = z_fake_mean - z_fake_ng_mean
    z_corr = correlation(z_in, z_fake)
    qp = QP_WEIGHT * t1 ** 2 / ops.mean((x_real - x_fake_ng) ** 2, axis=[1, 2, 3])
    loss = ops.mean(t1 + t2 - Z_CORR_WEIGHT * z_corr) + ops.mean(qp)
    return {"loss": loss, "t1": t1, "t2": t2, "z_corr": z_corr, "qp": qp}


class OGAN(GANModel):
    """Owns encoder and generator; fit() on (real images in [-1, 1], z ~ N(0, 1)) batches,
    as the script's data generator yielded ([X, Z], None)."""

    def __init__(self, encoder, generator, **kwargs):
        super().__init__(("loss", "t1_loss", "z_corr"), **kwargs)
        self.encoder, self.generator = encoder, generator

    def compile(self, optimizer, **kwargs):
        super().compile(optimizer=with_loss_scaling(optimizer), **kwargs)
        # Built now so a checkpoint's optimizer state can be restored before the first step.
        self.optimizer.build(self.joint_variables())

    def checkpoint_state(self):
        return {"networks": {"encoder": self.encoder, "generator": self.generator},
                "optimizers": {"optimizer": self.optimizer}, "extra": {}}

    def joint_variables(self):
        return self.encoder.trainable_variables + self.generator.trainable_variables

    def forward(self, x_real, z_in, training=True):
        """The train_model graph: three separate encoder calls, so the real batch, the fake
        batch and the stop-gradient fake batch each get their own BatchNorm statistics (and
        their own debiased moving averages; the last call's lands, as in the original)."""
        x_fake = self.generator(z_in, training=training)
        x_fake_ng = ops.stop_gradient(x_fake)  # the script's Lambda(K.stop_gradient)
        z_real, z_fake, z_fake_ng = (self.encode_call(x, call, training) for x, call in
                                     zip((x_real, x_fake, x_fake_ng), ENCODER_CALLS))
        return ogan_losses(x_real, x_fake, x_fake_ng, z_in, z_real, z_fake, z_fake_ng)

    def encode_call(self, images, call, training):
        """The encoder on one of the train step's batches (`call` of ENCODER_CALLS)."""
        with debias_stream(self.encoder, ENCODER_CALLS.index(call)):
            return self.encoder(images, training=training)

    def train_step(self, data):
        x_real, z_in = data
        variables = self.joint_variables()
        with tf.GradientTape() as tape:
            terms = self.forward(x_real, z_in)
            scaled = update_loss(self.optimizer, terms["loss"])
        self.optimizer.apply(tape.gradient(scaled, variables), variables)
        # the script's metrics_tensors: t_loss (the blog's t1_loss) and z_corr
        return self.record(loss=terms["loss"], t1_loss=ops.mean(terms["t1"]),
                           z_corr=ops.mean(terms["z_corr"]))

    def encode(self, images):
        """The Trainer's reconstruction code: E(x), standardised per sample, times 0.9."""
        z = self.encoder.predict(images, verbose=0)
        z = (z - z.mean(axis=1, keepdims=True)) / z.std(axis=1, keepdims=True)
        return 0.9 * z

    def reconstruct(self, images):
        return self.generator.predict(self.encode(images), verbose=0)
