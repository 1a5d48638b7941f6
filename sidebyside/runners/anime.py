"""Runner of Anime_GAN's DCGAN/main.py (FangYang970206/Anime_GAN 42c0315) under PyTorch 1.0.1, for
the side-by-side.

Data: main.py reads ./faces/{i}.jpg for i < --size_per_dataset (96x96 RGB, scipy's imread): the
runner makes that folder in the original's working folder from --data's images, in sorted
order, linking the 96x96 RGB JPEGs and writing a 96x96 copy (center square, bilinear) of any
other. main.py runs with --batch_size and --size_per_dataset of that folder (every image).

Hooks: the DataLoader loads in this process (num_workers 0: main.py's 4 workers only read files;
PyTorch 1.0.1 draws the workers' base seed from the main generator with or without them, so
the random stream is the same); its permutation (RandomSampler's torch.randperm) is recorded
per epoch; every batch it yields opens a step and is recorded as main.py feeds it
(inp.float()), with the step's torch.randn noise; nn.BCELoss's three results of a step
(real_loss, fake_loss, loss_G) are recorded; the progress bar's set_description, main.py's
last act of a step, closes it with the printed D and G. Before the first step the runner
writes both modules with torch.save (initial/), as main.py saves them; after the last,
final/ and samples.npy (the generator on latents.npy in training mode: main.py samples
without eval()), and stops main.py (hooks.Finished).
"""
import os
import re
import sys

import numpy as np

import hooks

run = hooks.Recorder(sys.argv[1])
config = run.config
MAIN = "main.py"
SIZE = 96

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.utils.data as data  # noqa: E402
import tqdm  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, os.getcwd())
import model  # noqa: E402  (main.py's own `from model import ...` gets this module)


def prepare_faces(images, folder="faces"):
    """faces/0.jpg, 1.jpg... from `images` (the files of --data as the port lists them),
    sorted; returns their count."""
    paths = sorted(images)
    os.makedirs(folder, exist_ok=True)
    for index, path in enumerate(paths):
        target = os.path.join(folder, "%d.jpg" % index)
        with Image.open(path) as image:
            if image.format == "JPEG" and image.mode == "RGB" and image.size == (SIZE, SIZE):
                os.symlink(os.path.abspath(path), target)
                continue
            image = image.convert("RGB")
            side = min(image.size)
            left, top = (image.size[0] - side) // 2, (image.size[1] - side) // 2
            image = image.crop((left, top, left + side, top + side))
            image.resize((SIZE, SIZE), Image.BILINEAR).save(target, quality=95)
    return len(paths)


torch.manual_seed(config["seed"])
np.random.seed(config["seed"])
size = prepare_faces(config["images"])
run.arrays["dataset_size"] = np.array(size)
modules = {}


def registering(cls, name):
    init = cls.__init__

    def hooked(self, *args, **kwargs):
        init(self, *args, **kwargs)
        modules[name] = self
    cls.__init__ = hooked


registering(model.Generate, "generate")
registering(model.Discriminator, "discriminator")

loader_init = data.DataLoader.__init__


def one_process(self, *args, **kwargs):
    kwargs["num_workers"] = 0
    loader_init(self, *args, **kwargs)


data.DataLoader.__init__ = one_process
randperm = torch.randperm
epoch = {"count": 0, "order": None}


def recorded_randperm(*args, **kwargs):
    order = randperm(*args, **kwargs)
    epoch["order"] = order.numpy().copy()
    return order


torch.randperm = recorded_randperm
loader_iter = data.DataLoader.__iter__


def recorded_batches(self):
    """Each batch opens a step; the epoch's permutation is recorded with its first step."""
    for batch in loader_iter(self):
        run.begin_step()
        if not run.steps:
            save("initial")
        if epoch["order"] is not None:
            run.record("permutation", epoch["order"])
            epoch["order"] = None
        run.record("images", batch.float().numpy())
        yield batch


data.DataLoader.__iter__ = recorded_batches
randn = torch.randn
step_losses = []


def recorded_randn(*args, **kwargs):
    value = randn(*args, **kwargs)
    if run.started is not None:  # inside a step: the batch's noise
        run.record("noise", value.numpy())
    elif not run.steps:  # before the loop: fixed_noise, which every 20th epoch's end samples
        run.arrays["fixed_noise"] = value.numpy()  # in training mode (moving BN statistics)
    return value


torch.randn = recorded_randn
bce_forward = nn.BCELoss.forward


def recorded_bce(self, output, target):
    loss = bce_forward(self, output, target)
    step_losses.append(loss.item())
    return loss


nn.BCELoss.forward = recorded_bce


def save(folder):
    for name in ("generate", "discriminator"):
        torch.save(modules[name], run.path(folder, name + ".t7"))


def samples():
    latents = torch.from_numpy(np.load(config["latents"])).view(-1, 100, 1, 1)
    with torch.no_grad():  # main.py samples in training mode (no eval())
        images = modules["generate"](latents).numpy()
    np.save(run.path("samples.npy"), images.transpose(0, 2, 3, 1))


DESCRIPTION = re.compile(r"^D:(\S+), G:(\S+)$")


def end_step(self, desc=None, refresh=True):
    """main.py's set_description("D:{}, G:{}") after the G step: the step's end."""
    set_description(self, desc, refresh)
    printed = DESCRIPTION.match(desc or "")
    if printed is None or run.started is None:
        return
    real_loss, fake_loss, loss_g = step_losses
    del step_losses[:]
    losses = {"loss_D": float(printed.group(1)), "loss_G": float(printed.group(2)),
              "real_loss": real_loss, "fake_loss": fake_loss}
    if loss_g != losses["loss_G"]:
        raise RuntimeError("BCELoss's third result %r is not the printed G %r"
                           % (loss_g, losses["loss_G"]))
    if run.step == config["steps"]:
        save("final")
        samples()
    run.end_step(losses)


set_description = tqdm.tqdm.set_description
tqdm.tqdm.set_description = end_step
hooks.run_original(MAIN, ["--batch_size", str(config["batch_size"]), "--size_per_dataset",
                          str(size)])
run.write()
