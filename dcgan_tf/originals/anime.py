"""The anime DCGAN of the GAN notes post (Anime_GAN, PyTorch; --arch anime): 96x96 faces, a
progress bar, a grid and both networks every --sample_freq epochs, the losses' text files and
their plot. See dcgan_tf/originals/__init__.py for what each original module defines."""
import os

import keras
import matplotlib

from common import cli
from common.legacy import TorchAdam
from dcgan_tf import model
from dcgan_tf.callbacks import grids_and_model_files
from dcgan_tf.gan import DCGAN
from dcgan_tf.originals import carpedm20

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the Agg backend)

TITLE = "anime DCGAN"
# Anime_GAN saved its grid and models every 20 epochs.
DEFAULTS = dict(epoch=500, learning_rate=0.0001, z_dist="normal01", g_steps=1,
                input_height=96, output_height=96, input_fname_pattern="*.jpg",
                sample_freq=20, ckpt_freq=None)
OUTPUT_SIZE = 96
RESIZE = "bilinear"
GREYSCALE = False  # torchvision's loader made every image RGB
PROGRESS_BAR = True  # its tqdm bar becomes Keras' progress bar (that batch's losses)
LOSSES_EVERY_SAMPLE = False  # the loss history's points: every epoch


def resolve(args):
    args.mnist = False


def images_per_step(args):
    return args.batch_size


# Anime_GAN's DataLoader drew a fresh permutation per epoch, as carpedm20 reshuffled its list.
folder_stream = carpedm20.folder_stream


def sample_real(args, folder):
    return None  # no [Sample] evaluation


def build_gan(args):
    gan = DCGAN(model.build_anime_generator(args.z_dim, args.gf_dim),
                model.build_anime_discriminator(args.df_dim), args.z_dim, conditional=False,
                g_steps=args.g_steps, z_dist=args.z_dist, from_logits=False, reevaluate=False)
    # PyTorch's Adam: lr_t * m / (sqrt(v) + 1e-8), beta_2 the Python float throughout
    gan.compile(*[TorchAdam(args.learning_rate, beta_1=args.beta1, beta_2=0.999, epsilon=1e-8)
                  for _ in range(2)],
                **cli.compile_options(args))
    return gan


def sample_images(gan, args, z, y=None):
    """Anime_GAN sampled without eval(): BatchNorm on the whole fixed batch's statistics."""
    return gan.generate(z, y, training=True).numpy()


def value_range(args):
    """None: the grids went through scipy.misc.imsave on floats, which stretched each grid to
    its own min..max."""
    return None


class EpochLossFiles(keras.callbacks.Callback):
    """Anime_GAN's loss logs: after each epoch the last batch's losses are appended to
    generate_loss.txt ("loss_G:{v} ") and discriminator_loss.txt ("loss_D:{v} "); at the end
    logging.png plots both against the epoch."""

    def __init__(self, directory, epochs_done=0):
        super().__init__()
        self.paths = {"generate": os.path.join(directory, "generate_loss.txt"),
                      "discriminator": os.path.join(directory, "discriminator_loss.txt")}
        self.plot_path = os.path.join(directory, "logging.png")
        for path in self.paths.values():  # lines past the checkpoint (a killed run's) go
            keep_lines(path, epochs_done)

    def on_epoch_end(self, epoch, logs=None):
        for (name, path), key in zip(self.paths.items(), ("G", "D")):
            with open(path, "a") as f:
                f.write(f"loss_{key}:{float(logs[key.lower() + '_loss'])} \n")

    def on_train_end(self, logs=None):
        fig, ax = plt.subplots()
        for (name, path), colour in zip(self.paths.items(), ("green", "blue")):
            with open(path) as f:
                values = [float(line.split(":")[1]) for line in f if ":" in line]
            ax.plot(values, color=colour, label=name)
        ax.set_title("DCGAN_Anime")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend()
        fig.savefig(self.plot_path)
        plt.close(fig)


def keep_lines(path, count):
    """Cut the text file at `path` (if any) to its first `count` lines."""
    if os.path.exists(path):
        with open(path) as f:
            lines = f.readlines()
        if len(lines) > count:
            with open(path, "w") as f:
                f.writelines(lines[:count])


def callbacks(gan, args, steps, sample_inputs, checkpoint):
    """(the loss files, saved/img/{epoch}.png and both networks every --sample_freq epochs,
    the grids' file pattern for the GIF)."""
    return [EpochLossFiles(args.output_dir, checkpoint.epoch),
            *grids_and_model_files(gan, args, lambda z: sample_images(gan, args, z),
                                   "{epoch_index}.png", every_epochs=args.sample_freq)
            ], "[0-9]*.png"
