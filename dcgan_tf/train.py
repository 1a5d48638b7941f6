"""Command line for the DCGAN family: `python -m dcgan_tf.train --dataset celebA --crop --train`.

Ports carpedm20's main.py flags and DCGAN.train() loop (data, per-batch line, sample grids,
checkpoints, resume), plus `--arch anime` (Anime_GAN's DCGAN) and `--arch wgan` (wgan_keras.py).
"""
import os
import time

import keras
import matplotlib
import numpy as np
import tensorflow as tf

from common import cli
from common.callbacks import LossHistory, SampleGif, SampleGrid, StepCallback, fixed_latents
from common.checkpoint import Checkpoint, fit_resumable
from common.data import (ImageFolder, ImageSpec, first_readable, list_images, load_mnist,
                         with_random)
from common.evaluation import (GENERATOR_METRICS, Evaluation, add_training_flags, chosen_metrics,
                               training_extractor)
from common.errors import UserError
from common.images import is_greyscale_file
from common.legacy import Keras2RMSprop
from dcgan_tf import model
from dcgan_tf.gan import DCGAN, WGAN, with_critic_noise, with_z

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the Agg backend)

# Per-architecture defaults for flags left unset: carpedm20 / Anime_GAN DCGAN / wgan_keras.py.
# Cadence: carpedm20's classic revision hard-coded a grid every 100 steps and a checkpoint
# every 500 (HEAD's --sample_freq/--ckpt_freq default to 200/200); Anime_GAN saved its grid and
# models every 20 epochs; wgan_keras.py every 1,000 steps, step 0 included.
ARCH_DEFAULTS = {
    "dcgan": dict(epoch=25, learning_rate=0.0002, z_dist="uniform_signed", g_steps=2,
                  input_height=108, output_height=64, input_fname_pattern="*.jpg",
                  sample_freq=100, ckpt_freq=500),
    "anime": dict(epoch=500, learning_rate=0.0001, z_dist="normal01", g_steps=1,
                  input_height=96, output_height=96, input_fname_pattern="*.jpg",
                  sample_freq=20, ckpt_freq=None),
    # flow_from_directory("faces/") reads the images of faces/'s subfolders.
    "wgan": dict(epoch=1000, learning_rate=0.00005, z_dist="normal01", g_steps=1,
                 input_height=96, output_height=96, input_fname_pattern="*/*.jpg",
                 sample_freq=1000, ckpt_freq=1000),
}
NETWORK_OPTIONS = ["arch", "dataset", "z_dim", "gf_dim", "df_dim", "gfc_dim", "dfc_dim",
                   "output_height", "output_width", "c_dim"]


def parse_args(argv):
    parser = cli.parser("dcgan_tf", "carpedm20 DCGAN-tensorflow, the anime DCGAN and the "
                                    "Keras WGAN. Flags left at None take --arch's default.")
    add = parser.add_argument
    add("--arch", choices=tuple(ARCH_DEFAULTS), default="dcgan")
    add("--epoch", type=cli.positive_int, default=None,
        help="epochs to train (25 / 500 / 1000)")
    add("--learning_rate", type=cli.positive_float, default=None,
        help="Adam (dcgan, anime) or RMSprop (wgan) rate: 0.0002 / 0.0001 / 0.00005")
    add("--beta1", type=cli.unit_fraction, default=0.5, help="Adam beta1")
    add("--train_size", type=cli.positive_size, default=np.inf,
        help="use at most this many images")
    add("--batch_size", type=cli.positive_int, default=64)
    add("--input_height", type=cli.positive_int, default=None,
        help="center-crop height (108 / 96)")
    add("--input_width", type=cli.positive_int, default=None, help="default: input_height")
    add("--output_height", type=cli.positive_int, default=None,
        help="64 / 96 (anime and wgan need 96)")
    add("--output_width", type=cli.positive_int, default=None, help="default: output_height")
    add("--dataset", default="celebA", help="folder under --data_dir, or mnist")
    add("--input_fname_pattern", default=None, help="*.jpg (wgan: */*.jpg, as "
                                                     "flow_from_directory)")
    add("--data_dir", default="./data")
    add("--checkpoint_dir", default="checkpoints", help="inside --output-dir")
    add("--sample_dir", default="samples", help="inside --output-dir")
    add("--train", action="store_true", help="train; without it, load the checkpoint (test)")
    add("--crop", action="store_true", help="center-crop input_height x input_width first")
    add("--visualize", action="store_true", help="after training or loading, run "
                                                 "visualize option 1 (see dcgan_tf.visualize)")
    add("--z_dim", type=cli.positive_int, default=100)
    add("--z_dist", choices=("uniform_signed", "uniform_unsigned", "normal01"), default=None,
        help="uniform_signed for dcgan, normal01 for anime and wgan")
    add("--sample_freq", type=cli.positive_int, default=None,
        help="steps between sample grids (dcgan 100, wgan 1000); anime: epochs (20)")
    add("--ckpt_freq", type=cli.positive_int, default=None,
        help="steps between checkpoints (dcgan 500, wgan 1000); anime: every epoch")
    add("--g_steps", type=cli.positive_int, default=None,
        help="G updates per D update (2 / 1 / 1)")
    add("--gf_dim", type=cli.positive_int, default=64,
        help="wgan: its first layer has 16 x gf_dim")
    add("--df_dim", type=cli.positive_int, default=64)
    add("--gfc_dim", type=cli.positive_int, default=1024)
    add("--dfc_dim", type=cli.positive_int, default=1024)
    add("--n_critic", type=cli.positive_int, default=5,
        help="wgan: critic steps per generator step")
    add("--clamp", type=cli.positive_float, default=0.01,
        help="wgan: critic weights clipped to +-clamp")
    add_training_flags(parser, GENERATOR_METRICS, None)
    cli.add_common_flags(parser, "dcgan_tf")
    return resolve(parser.parse_args(argv))


def resolve(args):
    """Fill the per-arch defaults and the sizes carpedm20 derived (width = height...)."""
    for key, value in ARCH_DEFAULTS[args.arch].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.mnist = args.arch == "dcgan" and args.dataset == "mnist"
    if args.mnist:
        args.input_height = args.output_height = 28
    if args.arch != "dcgan" and args.output_height != 96:
        raise UserError(f"--arch {args.arch} generates 96x96 images; "
                        f"drop --output_height {args.output_height}")
    args.input_width = args.input_width or args.input_height
    args.output_width = args.output_width or args.output_height
    args.z_dist = {"normal01": "normal"}.get(args.z_dist, args.z_dist)
    args.features = args.features or ("classifier" if args.mnist else "inception")
    args.c_dim = 1 if args.mnist else None  # folder data: set from the first image
    return args


# ---- data ----

def mnist_data(args):
    """carpedm20's load_mnist: train + test (70,000), shuffled once with seed 547, [0, 1],
    one-hot y; batches in that fixed order every epoch."""
    (x_train, y_train), (x_test, y_test) = load_mnist(os.path.join(args.data_dir, "mnist"))
    x = np.concatenate([x_train, x_test]).astype(np.float32)[..., None] / 255.0
    y = np.concatenate([y_train, y_test]).astype(np.int64)
    order = np.random.RandomState(547).permutation(len(x))
    x, y = x[order], np.eye(10, dtype=np.float32)[y[order]]
    return x, y


def image_spec(args):
    """carpedm20's get_image (pre-#352): center crop with --crop, then resize to the output
    size. The original resized float arrays with scipy's imresize, which byte-scaled each
    crop to its own min..max first; resizing the uint8 image does not (originals.md §0.4,
    §2.6). The WGAN's Keras load_img resized with nearest neighbour."""
    return ImageSpec(channels=args.c_dim,
                     crop=(args.input_height, args.input_width) if args.crop else None,
                     size=(args.output_height, args.output_width),
                     method="nearest" if args.arch == "wgan" else "bilinear", scale="signed")


def folder_data(args, **options):
    """The files of data_dir/dataset/input_fname_pattern (nothing decoded yet); carpedm20
    made c_dim 1 when the first image is 2-D (here: the first readable one is greyscale)."""
    where = os.path.join(args.data_dir, args.dataset)
    paths = list_images(where, args.input_fname_pattern)
    _, greyscale = first_readable(paths, is_greyscale_file, where)
    args.c_dim = 1 if args.arch == "dcgan" and greyscale else 3
    return ImageFolder(paths, image_spec(args), seed=args.seed,
                       cache_mb=getattr(args, "cache_mb", 1024), **options)


def wgan_rotation(seed):
    """ImageDataGenerator(rotation_range=20) becomes RandomRotation with nearest fill and,
    as Keras 2.1.2's apply_transform (order=0), nearest-neighbour sampling."""
    rotate = keras.layers.RandomRotation(20 / 360, fill_mode="nearest", interpolation="nearest",
                                         seed=seed)

    def augment(batch):
        return (rotate(tf.clip_by_value(batch, -1.0, 1.0) * 0.5 + 0.5, training=True)
                * 2.0 - 1.0)
    return augment


def steps_per_epoch(args, size, per_step):
    """carpedm20's batch_idxs = min(len(data), train_size) // batch_size."""
    if size < per_step:
        raise UserError(f"[!] Entire dataset size ({size}) is less than the configured "
                        f"batch_size ({per_step}) in {os.path.join(args.data_dir, args.dataset)}")
    steps = int(min(size, args.train_size) // per_step)
    if steps < 1:
        raise UserError(f"--train_size {args.train_size:g} leaves no full batch of "
                        f"{per_step} images")
    return steps


def training_data(args, folder):
    """(tf.data dataset, steps per epoch, dataset size, sample inputs) from MNIST or from the
    ImageFolder (decoded into its cache here)."""
    per_step = args.batch_size * (args.n_critic if args.arch == "wgan" else 1)
    if args.mnist:
        x, y = mnist_data(args)
        steps = steps_per_epoch(args, len(x), per_step)
        # The same batch_idxs slices, in the same order, every epoch (the remainder unused).
        used = steps * args.batch_size
        data = tf.data.Dataset.from_tensor_slices((x[:used], y[:used]))
        data = data.batch(args.batch_size, drop_remainder=True).repeat()
        data = with_random(data, with_z(args.z_dim, args.z_dist), args.seed)
        return data.prefetch(tf.data.AUTOTUNE), steps, len(x), \
            (x[:args.batch_size], y[:args.batch_size])
    steps = steps_per_epoch(args, len(folder), per_step)
    folder.check_readable(os.path.join(args.data_dir, args.dataset))
    if args.arch == "wgan":
        # flow_from_directory: a reshuffled pass over every image per epoch; n_critic
        # batches per step, stacked on axis 1 so a strategy splits the batch axis.
        data = folder.dataset(args.batch_size)
        data = data.map(wgan_rotation(args.seed)).batch(args.n_critic)
        data = data.map(lambda real: tf.transpose(real, [1, 0, 2, 3, 4]))
        data = with_random(data, with_critic_noise(args.z_dim), args.seed)
    else:
        # carpedm20 reshuffled the file list every epoch and used its first batch_idxs
        # batches; Anime_GAN's DataLoader likewise drew a fresh permutation per epoch.
        data = folder.dataset(args.batch_size, per_pass=steps * args.batch_size)
        data = with_random(data, with_z(args.z_dim, args.z_dist), args.seed)
    return data.prefetch(tf.data.AUTOTUNE), steps, len(folder), None


# ---- networks ----

def build_gan(args):
    """The networks and the GAN for --arch, compiled with their optimizers."""
    if args.arch == "wgan":
        gan = WGAN(model.build_wgan_generator(args.z_dim, 16 * args.gf_dim),
                   model.build_wgan_critic(args.df_dim), args.z_dim, args.n_critic, args.clamp)
        # Keras 2.1.2's RMSprop: rho 0.9, epsilon 1e-8 outside the square root.
        gan.compile(Keras2RMSprop(args.learning_rate, rho=0.9, epsilon=1e-8),
                    Keras2RMSprop(args.learning_rate, rho=0.9, epsilon=1e-8),
                    **cli.compile_options(args))
        return gan
    if args.arch == "anime":
        generator = model.build_anime_generator(args.z_dim, args.gf_dim)
        discriminator = model.build_anime_discriminator(args.df_dim)
    else:
        y_dim = 10 if args.mnist else None
        generator = model.build_generator(args.z_dim, args.gf_dim, args.gfc_dim, args.c_dim,
                                          y_dim, args.output_height, args.output_width)
        discriminator = model.build_discriminator(args.df_dim, args.dfc_dim, args.c_dim, y_dim,
                                                  args.output_height, args.output_width)
    gan = DCGAN(generator, discriminator, args.z_dim, conditional=args.mnist,
                g_steps=args.g_steps, z_dist=args.z_dist, from_logits=args.arch == "dcgan")
    # TF1 Adam and PyTorch 0.4 Adam both step by lr_t * m / (sqrt(v) + 1e-8), Keras 3's
    # formula with epsilon 1e-8 (its default is 1e-7).
    gan.compile(keras.optimizers.Adam(args.learning_rate, beta_1=args.beta1, epsilon=1e-8),
                keras.optimizers.Adam(args.learning_rate, beta_1=args.beta1, epsilon=1e-8),
                **cli.compile_options(args))
    return gan


def networks(gan):
    if isinstance(gan, WGAN):
        return {"generator": gan.generator, "critic": gan.critic}
    return {"generator": gan.generator, "discriminator": gan.discriminator}


def sample_images(gan, args, z, y=None):
    """carpedm20's sampler runs BatchNorm on moving statistics; Anime_GAN sampled without
    eval() and wgan_keras.py built BN with training=1, so those two use batch statistics."""
    training = args.arch != "dcgan"
    if isinstance(gan, WGAN):
        return gan.generator(z, training=training).numpy()
    return gan.generate(z, y, training=training).numpy()


def value_range(args):
    """Grids of [0, 1] MNIST or [-1, 1] images; anime and WGAN grids went through
    scipy.misc.imsave on floats, which stretched each grid to its own min..max (None)."""
    if args.arch != "dcgan":
        return None
    return (0.0, 1.0) if args.mnist else (-1.0, 1.0)


def sample_latents(args, count=None):
    return fixed_latents((count or args.batch_size, args.z_dim), args.seed, args.z_dist)


# ---- training ----

class ProgressLine(StepCallback):
    """The original's per-batch line with that batch's losses: carpedm20's "Epoch: [e/E]
    [idx/batches] time: ..." or the WGAN's "[step] Loss_D: ..." (its step counted from 0)."""

    def __init__(self, args, steps, initial_step):
        super().__init__(initial_step)
        self.args, self.steps, self.start = args, steps, time.time()

    def on_step(self, logs):
        if self.args.arch == "wgan":
            print("[%d] Loss_D: %f Loss_G: %f Loss_D_real: %f Loss_D_fake %f" % (
                self.step - 1, logs["Loss_D"], logs["Loss_G"], logs["Loss_D_real"],
                logs["Loss_D_fake"]), flush=True)
        else:
            print("Epoch: [%2d/%2d] [%4d/%4d] time: %4.4f, d_loss: %.8f, g_loss: %.8f" % (
                self.epoch_index, self.args.epoch, self.batch, self.steps,
                time.time() - self.start, logs["d_loss"], logs["g_loss"]), flush=True)


class ModelFiles(StepCallback):
    """Whole networks as .keras files on a schedule, overwritten: Anime_GAN's torch.save of
    saved/generate.t7 and discriminator.t7, the WGAN's netG.save("generate.h5")."""

    def __init__(self, directory, networks, **schedule):
        super().__init__(**schedule)
        self.directory, self.networks = directory, networks

    def on_due(self, logs):
        for name, network in self.networks.items():
            network.save(os.path.join(self.directory, f"{name}.keras"))


class EpochLossFiles(keras.callbacks.Callback):
    """Anime_GAN's loss logs: after each epoch the last batch's losses are appended to
    generate_loss.txt ("loss_G:{v} ") and discriminator_loss.txt ("loss_D:{v} "); at the end
    logging.png plots both against the epoch."""

    def __init__(self, directory):
        super().__init__()
        self.paths = {"generate": os.path.join(directory, "generate_loss.txt"),
                      "discriminator": os.path.join(directory, "discriminator_loss.txt")}
        self.plot_path = os.path.join(directory, "logging.png")

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


def sample_grid(gan, args, sample_real, initial_step):
    """carpedm20: train_{epoch:02d}_{idx:04d}.png from the fixed sample_z (MNIST: with the
    first batch's labels) after step 1 and every --sample_freq steps (the classic revision's
    counter % 100 == 1), with the [Sample] line: d_loss and g_loss of the first training
    batch through the training-mode graph, which (tf.contrib batch norm updating in place)
    also nudges the BatchNorm statistics, as the original's evaluation did."""
    y = None if sample_real is None else sample_real[1]

    def generate(z):
        if sample_real is not None:
            d_real, d_fake, g_loss = gan.losses_on(sample_real[0], y, z, training=True)
            print("[Sample] d_loss: %.8f, g_loss: %.8f" % (d_real + d_fake, g_loss))
        return sample_images(gan, args, z, y)

    return SampleGrid(generate, sample_latents(args),
                      os.path.join(args.output_dir, args.sample_dir),
                      "train_{epoch_index:02d}_{batch:04d}.png", every_steps=args.sample_freq,
                      first_step=1, value_range=value_range(args), initial_step=initial_step,
                      summary_dir=args.output_dir)


def training_callbacks(gan, args, steps, sample_real, checkpoint, extractor=None):
    """The original's outputs for --arch, after the checkpoint and the loss history, and the
    --eval-every scores."""
    samples = os.path.join(args.output_dir, args.sample_dir)
    every_sample_steps = dict(every_steps=args.sample_freq, initial_step=checkpoint.step,
                              first_step=1)
    history = LossHistory(args.output_dir, every_steps=None if args.arch == "anime"
                          else args.sample_freq, title=f"DCGAN ({args.arch})",
                          initial_step=checkpoint.step)
    callbacks = [checkpoint, history]
    if args.eval_every:
        from dcgan_tf.evaluate import generator_scores  # evaluate builds on this module
        metrics = chosen_metrics(args, GENERATOR_METRICS)
        callbacks.append(Evaluation(
            lambda: generator_scores(gan, args, extractor, metrics, args.num_samples,
                                     seed=args.seed), history, args.eval_every, checkpoint.step))
    if args.arch == "dcgan":
        callbacks += [ProgressLine(args, steps, checkpoint.step),
                      sample_grid(gan, args, sample_real, checkpoint.step)]
        frames = "train_*.png"
    else:
        files = {"generate": gan.generator, "discriminator": gan.discriminator}
        generate = lambda z: sample_images(gan, args, z)  # noqa: E731
        if args.arch == "anime":  # every --sample_freq epochs: saved/img/{epoch}.png
            schedule = dict(every_epochs=args.sample_freq)
            callbacks.append(EpochLossFiles(args.output_dir))
        else:  # every --sample_freq steps, step 0 included: saved/img/{step}.png
            schedule = every_sample_steps
            callbacks.append(ProgressLine(args, steps, checkpoint.step))
        callbacks += [SampleGrid(generate, sample_latents(args), samples,
                                 "{counter}.png" if args.arch == "wgan" else "{epoch_index}.png",
                                 value_range=None, summary_dir=args.output_dir, **schedule),
                      ModelFiles(args.output_dir, files, **schedule)]
        frames = "[0-9]*.png"
    return callbacks + [SampleGif(os.path.join(samples, frames),
                                  os.path.join(args.output_dir, "evolution.gif"))]


def load_checkpoint(checkpoint):
    """carpedm20's load() messages."""
    print(" [*] Reading checkpoints...")
    if checkpoint.restore():
        print(f" [*] Success to read {checkpoint.directory} at step {checkpoint.step}")
        print(" [*] Load SUCCESS")
        return True
    print(" [!] Load failed...")
    return False


@cli.exits_cleanly
def main(argv=None):
    args = parse_args(argv)
    # Before any other TensorFlow work: MultiWorkerMirroredStrategy must come first.
    strategy = cli.setup(args)
    extractor = training_extractor(args, chosen_metrics(args, GENERATOR_METRICS))
    folder = None if args.mnist else folder_data(args)
    size = len(folder) if folder else 70000
    if args.train:  # test mode needs no data: it loads the checkpoint
        cli.prepare_output_dir(args, NETWORK_OPTIONS, args.checkpoint_dir)
        if folder:
            folder.cache_dir = os.path.join(args.output_dir, "cache")
        data, steps, size, sample_real = training_data(args, folder)
    checkpoint_dir = os.path.join(args.output_dir, args.checkpoint_dir)
    print(cli.startup_line(args, strategy, size))
    with strategy.scope():
        gan = build_gan(args)
    optimizers = {"d_optimizer": gan.d_optimizer, "g_optimizer": gan.g_optimizer}
    checkpoint = Checkpoint(checkpoint_dir, networks(gan), optimizers,
                            every_steps=args.ckpt_freq)
    loaded = load_checkpoint(checkpoint)
    if args.train:
        # The anime DCGAN's tqdm bar becomes Keras' progress bar (that batch's losses).
        fit_resumable(gan, data, checkpoint, args.epoch, steps_per_epoch=steps,
                      verbose=1 if args.arch == "anime" else 0, shuffle=False,
                      callbacks=training_callbacks(gan, args, steps, sample_real, checkpoint,
                                                   extractor))
        if folder is not None and folder.skipped:
            print(f"skipped {len(folder.skipped)} unreadable images of {size}")
    elif not loaded:
        raise UserError(f"[!] Train a model first, then run test mode (no checkpoint in "
                        f"{checkpoint_dir}; add --train)")
    if args.visualize:
        from dcgan_tf.visualize import visualize
        visualize(gan, args, option=1)
    return gan


if __name__ == "__main__":
    main()
