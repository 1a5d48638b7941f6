"""Runner of Anime_GAN's WGAN_keras/wgan_keras.py (FangYang970206/Anime_GAN 42c0315) under TF 1.15 +
Keras 2.1.2, for the side-by-side.

The script has no command line and trains at module level. It is executed unmodified as
__main__ in a namespace (PinnedNamespace, as the O-GAN runner) whose assignments to two
constants store other values: `batchSize` (the noise's rows) becomes config["batch_size"], and
`fixed_noise` (its sample grid's latents) becomes latents.npy (64 rows, as the grid's 8 x 8
loop needs; the script's own draw still happens, so numpy's stream is unchanged).

Data: flow_from_directory("faces/") reads faces/'s subfolders; the runner links --data's
images (sorted, the first multiple of the batch size, so that every batch is full) into
faces/data/, and makes saved/img/, which the script writes its grid to but never creates.
flow_from_directory's batch_size (the literal 64) becomes config["batch_size"].

Other hooks: the updates of each K.function are ordered after its gradients (Keras 2.1.2's
get_updates takes Keras 1's (params, constraints, loss), so hooks.order_keras2_updates is
wrapped in the legacy interface) unless as_released: ordered, a run is the same bit for bit
as the next from the same weights and batches; as released it is not (notes-sidebyside-wgan.md).
K.function's first three functions are
the script's netD_clamp, netD_train and netG_train: each step's five critic calls record the
batch they are fed (the rotated, rescaled real_data and the N(0, 1) noise, float64 as drawn)
and their outputs; the generator call records its noise, closes the step with the losses the
script prints (Loss_D = errD_real - errD_fake of the fifth critic call) and, after the last
step, writes both models with model.save (final/, as the script saves them; initial/ before
the first step) and samples.npy (netG.predict of latents.npy, batch size 32 as the script's
predict: BatchNorm runs on batch statistics, per 32), and stops the script (hooks.Finished).
"""
import os
import sys

import numpy as np

import hooks

run = hooks.Recorder(sys.argv[1])
config = run.config
SCRIPT = "wgan_keras.py"
KERAS_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm")  # 2.1.2's white_list_formats
N_CRITIC = 5  # the script's `for _ in range(5)`

import keras.backend as K  # noqa: E402
from PIL import Image  # noqa: E402
from keras.preprocessing.image import ImageDataGenerator  # noqa: E402


def prepare_faces(images, batch_size, folder=os.path.join("faces", "data")):
    """faces/data/: links to the first whole batches of `images` (the files of --data as the
    port lists them, sorted); a format Keras 2.1.2's flow_from_directory skips (WebP, TIFF...)
    is written as a PNG of the pixels PIL reads, as the port reads them."""
    paths = sorted(images)
    used = paths[:len(paths) // batch_size * batch_size]
    if not used:
        sys.exit("%d images, fewer than a batch of %d" % (len(paths), batch_size))
    os.makedirs(folder)
    for index, path in enumerate(used):
        extension = os.path.splitext(path)[1].lower()
        target = os.path.join(folder, "%06d%s" % (index, extension))
        if extension in KERAS_EXTENSIONS:
            os.symlink(os.path.abspath(path), target)
        else:
            with Image.open(path) as image:
                image.convert("RGB").save(os.path.join(folder, "%06d.png" % index))
    os.makedirs(os.path.join("saved", "img"), exist_ok=True)


hooks.seed_everything(config["seed"])  # Keras 2.1.2's initializers draw their seeds from numpy
prepare_faces(config["images"], config["batch_size"])
latents = np.load(config["latents"]).astype("float32")
namespace = hooks.PinnedNamespace(SCRIPT, {"batchSize": config["batch_size"],
                                           "fixed_noise": latents})

flow_from_directory = ImageDataGenerator.flow_from_directory


def flow_of_batch_size(self, directory, *args, **kwargs):
    kwargs["batch_size"] = config["batch_size"]
    return flow_from_directory(self, directory, *args, **kwargs)


ImageDataGenerator.flow_from_directory = flow_of_batch_size

if not config.get("as_released"):
    hooks.order_keras2_updates()


# ---- the step hooks: the script's three K.functions ----

critic = {"calls": [], "real": [], "noise": []}


def save(folder):
    namespace["netD"].save(run.path(folder, "discriminator.h5"))
    namespace["netG"].save(run.path(folder, "generate.h5"))


def critic_call(function, inputs):
    """netD_train([real_data, noise]): one of a step's five critic iterations."""
    if not critic["calls"]:
        run.begin_step()
        if not run.steps:
            save("initial")
    critic["real"].append(np.array(inputs[0]))
    critic["noise"].append(np.array(inputs[1]))
    outputs = function(inputs)
    critic["calls"].append([float(v) for v in outputs])
    return outputs


def generator_call(function, inputs):
    """netG_train([noise]): the step's generator iteration, its last."""
    if len(critic["calls"]) != N_CRITIC:
        raise RuntimeError("%d critic calls before the generator's" % len(critic["calls"]))
    outputs = function(inputs)
    run.record("real", np.stack(critic["real"]))
    run.record("critic_noise", np.stack(critic["noise"]))
    run.record("critic_losses", np.array(critic["calls"]))
    run.record("noise", np.array(inputs[0]))
    err_real, err_fake = (np.float32(v) for v in critic["calls"][-1])
    losses = {"Loss_D": err_real - err_fake, "Loss_G": outputs[0], "Loss_D_real": err_real,
              "Loss_D_fake": err_fake}
    for key in critic:
        del critic[key][:]
    if run.step == config["steps"]:
        save("final")
        np.save(run.path("samples.npy"), namespace["netG"].predict(latents))
    run.end_step(losses)
    return outputs


class HookedFunction:
    def __init__(self, function, hook):
        self.function, self.hook = function, hook

    def __call__(self, inputs):
        return self.hook(self.function, inputs)


ROLES = [lambda function, inputs: function(inputs), critic_call, generator_call]
make_function = K.function


def hooked_function(*args, **kwargs):
    """The script's netD_clamp, netD_train, netG_train, in that order; later ones (predict's)
    as they are."""
    function = make_function(*args, **kwargs)
    return HookedFunction(function, ROLES.pop(0)) if ROLES else function


K.function = hooked_function

if not hooks.run_original(SCRIPT, namespace=namespace):
    sys.exit("%s ended before %d steps" % (SCRIPT, config["steps"]))
run.write()
