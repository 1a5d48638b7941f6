"""Run under Keras 2.2.4's Python by tests/test_import_acgan_ogan.py (not a test module):
`python keras224_outputs.py ORIGINALS_SRC OUT.npz` in an empty folder. Builds mnist_acgan.py's
networks and o_gan_celeba_sm_4x4.py's (at 32 px, z_dim 16) with perturbed weights, saves them
as the originals did (params_*_epoch_002.hdf5, train_model.weights) and writes their outputs on
fixed inputs to OUT.npz, for the importers' forward passes to be held to."""
import os
import sys

import numpy as np
from keras import backend as K

src, out = sys.argv[1], sys.argv[2]
rng = np.random.RandomState(0)


def perturb(model):
    """Non-trivial weights, BatchNorm statistics included, so the mapping is tested."""
    values = []
    for weight in model.weights:
        value = K.get_value(weight)
        if "moving_variance" in weight.name:
            value = rng.uniform(0.05, 0.5, value.shape)
        elif "moving_mean" in weight.name or "beta" in weight.name:
            value = rng.normal(0, 0.1, value.shape)
        else:
            value = value + rng.normal(0, 0.02, value.shape)
        values.append(value)
    K.batch_set_value(list(zip(model.weights, values)))


sys.path.insert(0, os.path.join(src, "acgan"))
import mnist_acgan
discriminator = mnist_acgan.build_discriminator()  # main's order: D, then G
generator = mnist_acgan.build_generator(100)
perturb(discriminator)
perturb(generator)
generator.save_weights("params_generator_epoch_002.hdf5", True)
discriminator.save_weights("params_discriminator_epoch_002.hdf5", True)
noise = rng.uniform(-1, 1, (4, 100)).astype(np.float32)
labels = np.array([[0], [3], [7], [9]], np.int32)
images = rng.uniform(-1, 1, (4, 28, 28, 1)).astype(np.float32)
generation, auxiliary = discriminator.predict(images)
fake = generator.predict([noise, labels])

# O-GAN's script is top-level code: run it at 32 px with z_dim 16 as a module not named
# __main__, so everything up to its training loop runs.
K.clear_session()
with open(os.path.join(src, "ogan", "o_gan_celeba_sm_4x4.py")) as f:
    text = f.read()
for constant, small in (("img_dim = 128\n", "img_dim = 32\n"), ("z_dim = 128\n", "z_dim = 16\n")):
    assert text.count(constant) == 1, constant
    text = text.replace(constant, small)
script = {"__name__": "o_gan_celeba_sm_4x4"}
exec(compile(text, "o_gan_celeba_sm_4x4.py", "exec"), script)
perturb(script["train_model"])
script["train_model"].save_weights("train_model.weights")
z = rng.normal(0, 1, (4, 16)).astype(np.float32)
x = rng.uniform(-1, 1, (4, 32, 32, 3)).astype(np.float32)
np.savez(out, noise=noise, labels=labels, images=images, generation=generation,
         auxiliary=auxiliary, fake=fake, z=z, x=x, encoded=script["e_model"].predict(x),
         decoded=script["g_model"].predict(z))
