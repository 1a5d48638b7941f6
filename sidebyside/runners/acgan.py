"""Runner of mnist_acgan.py (keras 14625e57af) under TF 1.15 + Keras 2.2.4, for the side-by-side.

Hooks: mnist.load_data returns the first 100 x steps training images of --data (the example
fixes batch_size = 100; its first epoch then holds every step, in order) and 100 test images;
Dropout's rate is 0 unless keep_dropout; the updates are ordered after the gradients
(hooks.order_keras2_updates) unless as_released; the numpy draws are recorded; Model.train_on_batch
records each step's inputs and losses, writes the initial and final weights with Keras' own
save_weights, and stops the example after the configured steps.
"""
import sys

import numpy as np

import hooks

run = hooks.Recorder(sys.argv[1])
config = run.config
B = config["batch_size"] * config["steps"]

import keras  # noqa: E402
from keras.datasets import mnist  # noqa: E402
from keras.models import Model  # noqa: E402

(x_train, y_train), (x_test, y_test) = hooks.load_mnist(config["data"])
mnist.load_data = lambda: ((x_train[:B], y_train[:B]), (x_test[:100], y_test[:100]))

if not config["keep_dropout"]:
    dropout_init = keras.layers.Dropout.__init__

    def no_dropout(self, rate, *args, **kwargs):
        dropout_init(self, 0.0, *args, **kwargs)
    keras.layers.Dropout.__init__ = no_dropout

if not config.get("as_released"):
    hooks.order_keras2_updates()
# The example seeds numpy itself (1337): --seed S makes that 1337 + S (Keras 2 takes every
# initializer's and dropout mask's seed from numpy).
hooks.offset_script_seed(config["seed"])
run.record_numpy_draws(("uniform", "randint"))
train_on_batch = Model.train_on_batch
models = {}


def save(folder, epoch):
    for name in ("generator", "discriminator"):
        models[name].save_weights(run.path(folder, "params_%s_epoch_%03d.hdf5" % (name, epoch)),
                                  True)


def samples():
    latents = np.load(config["latents"])
    labels = (np.arange(len(latents)) % 10).reshape((-1, 1))
    np.save(run.path("samples.npy"), models["generator"].predict([latents, labels]))


def hooked(self, x, y, sample_weight=None, class_weight=None):
    """The discriminator's call opens a step, the combined model's closes it."""
    if self is models["discriminator"]:
        run.begin_step()
        if run.step == 1 and not run.steps:
            save("initial", 0)
        half = len(x) // 2
        run.record("images", x[:half])
        run.record("fakes", x[half:])
        run.record("labels", y[1][:half])
        models["d_losses"] = train_on_batch(self, x, y, sample_weight, class_weight)
        return models["d_losses"]
    losses = train_on_batch(self, x, y, sample_weight, class_weight)
    run.record("noise2", x[0])
    run.record("sampled2", x[1])
    names = ("loss", "generation_loss", "auxiliary_loss")
    values = dict(("d_" + n, v) for n, v in zip(names, models["d_losses"]))
    values.update(("g_" + n, v) for n, v in zip(names, losses))
    if run.step == config["steps"]:
        save("final", run.step)
        samples()
    run.end_step(values)
    return losses


Model.train_on_batch = hooked

# The combined model holds the generator and the discriminator: find both when it is compiled,
# before any training.
compile_model = Model.compile


def hooked_compile(self, *args, **kwargs):
    compile_model(self, *args, **kwargs)
    nested = [layer for layer in self.layers if isinstance(layer, Model)]
    if len(nested) == 2:
        models["generator"], models["discriminator"] = nested


Model.compile = hooked_compile
hooks.run_original("mnist_acgan.py")
run.write()
