"""The DCGAN family's training outputs that more than one of its originals wrote: the
per-batch line, whole networks saved on a schedule, and the sample grids' latents."""
import os
import time

from common import latents
from common.callbacks import SampleGrid, StepCallback


class ProgressLine(StepCallback):
    """The original's per-batch line with that batch's losses: `line(self, logs)` gives it
    (carpedm20's "Epoch: [e/E] [idx/batches] time: ...", the WGAN's "[step] Loss_D: ...");
    `self.steps` is the epoch's batches and `self.start` the time training started."""

    def __init__(self, line, steps, initial_step):
        super().__init__(initial_step)
        self.line, self.steps, self.start = line, steps, time.time()

    def elapsed(self):
        return time.time() - self.start

    def on_step(self, logs):
        print(self.line(self, logs), flush=True)


class ModelFiles(StepCallback):
    """Whole networks as .keras files on a schedule, overwritten: Anime_GAN's torch.save of
    saved/generate.t7 and discriminator.t7, the WGAN's netG.save("generate.h5")."""

    def __init__(self, directory, networks, **schedule):
        super().__init__(**schedule)
        self.directory, self.networks = directory, networks

    def on_due(self, logs):
        for name, network in self.networks.items():
            network.save(os.path.join(self.directory, f"{name}.keras"))


def sample_latents(args, count=None):
    """The fixed latents of the run's sample grids (a function of --seed)."""
    return latents.fixed((count or args.batch_size, args.z_dim), args.seed, args.z_dist)


def grids_and_model_files(gan, args, generate, pattern, **schedule):
    """The GAN notes' programs' outputs on `schedule`: a grid of `generate`(the fixed
    latents) as saved/img/`pattern`, stretched to its own min..max as scipy.misc.imsave
    stretched floats, and both networks as generate.keras / discriminator.keras."""
    return [SampleGrid(generate, sample_latents(args),
                       os.path.join(args.output_dir, args.sample_dir), pattern,
                       value_range=None, summary_dir=args.output_dir, **schedule),
            ModelFiles(args.output_dir, {"generate": gan.generator,
                                         "discriminator": gan.discriminator}, **schedule)]
