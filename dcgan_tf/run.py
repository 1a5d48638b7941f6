"""A DCGAN-family run rebuilt from its options: the flags of `python -m dcgan_tf.train` (saved as
options.json) with --arch's defaults, its data (MNIST or an image folder), the compiled GAN and
sampling as each original sampled.

train, evaluate, generate, visualize and import_original all build on this module; none of
them imports another's command line.
"""
import os

import keras
import numpy as np

from common import cli, rundir
from common import latents
from common.cache import ImageFolder
from common.decode import ImageSpec
from common.errors import UserError
from common.evaluation import GENERATOR_METRICS, add_training_flags
from common.files import first_readable, list_images
from common.images import is_greyscale_file
from common.legacy import Keras2RMSprop, float32
from common.mnist import load_mnist
from dcgan_tf import model
from dcgan_tf.gan import DCGAN, WGAN

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


def parse_options(argv=None):
    """The options of a run: `python -m dcgan_tf.train`'s flags, --arch's defaults filled in."""
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
    crop to its own min..max first (carpedm20 351a654 utils.py: transform); resizing the uint8
    image does not. The WGAN's Keras load_img resized with nearest neighbour."""
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


# ---- networks ----

def build_gan(args):
    """The networks and the GAN for --arch, compiled with their optimizers."""
    if args.arch == "wgan":
        gan = WGAN(model.build_wgan_generator(args.z_dim, 16 * args.gf_dim),
                   model.build_wgan_critic(args.df_dim), args.z_dim, args.n_critic, args.clamp)
        # Keras 2.1.2's RMSprop: rho 0.9, epsilon 1e-8 outside the square root; rho was a
        # float32 K.variable, so 1 - rho was 0.10000002 (float32 as for TF1's beta_2).
        gan.compile(Keras2RMSprop(args.learning_rate, rho=float32(0.9), epsilon=1e-8),
                    Keras2RMSprop(args.learning_rate, rho=float32(0.9), epsilon=1e-8),
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
    # carpedm20 printed the losses re-evaluated after each step's updates (reevaluate).
    gan = DCGAN(generator, discriminator, args.z_dim, conditional=args.mnist,
                g_steps=args.g_steps, z_dist=args.z_dist, from_logits=args.arch == "dcgan",
                reevaluate=args.arch == "dcgan")
    # TF1 Adam and PyTorch 0.4 Adam both step by lr_t * m / (sqrt(v) + 1e-8), Keras 3's
    # formula with epsilon 1e-8 (its default is 1e-7). TF1 held beta_2 as a float32 constant;
    # PyTorch multiplies by the Python float.
    beta_2 = float32(0.999) if args.arch == "dcgan" else 0.999
    gan.compile(keras.optimizers.Adam(args.learning_rate, beta_1=args.beta1, beta_2=beta_2,
                                      epsilon=1e-8),
                keras.optimizers.Adam(args.learning_rate, beta_1=args.beta1, beta_2=beta_2,
                                      epsilon=1e-8),
                **cli.compile_options(args))
    return gan


def networks(gan):
    if isinstance(gan, WGAN):
        return {"generator": gan.generator, "critic": gan.critic}
    return {"generator": gan.generator, "discriminator": gan.discriminator}


KERAS2_PREDICT_BATCH = 32  # Keras 2's Model.predict batch_size default


def sample_images(gan, args, z, y=None):
    """carpedm20's sampler runs BatchNorm on moving statistics; Anime_GAN sampled without
    eval() and wgan_keras.py built BN with training=1, so those two use batch statistics:
    Anime_GAN's over the whole fixed batch, the WGAN's over each 32 latents, the batches
    netG.predict split them into."""
    training = args.arch != "dcgan"
    if isinstance(gan, WGAN):
        return np.concatenate([gan.generator(z[i:i + KERAS2_PREDICT_BATCH], training=True)
                               for i in range(0, len(z), KERAS2_PREDICT_BATCH)])
    return gan.generate(z, y, training=training).numpy()


def value_range(args):
    """Grids of [0, 1] MNIST or [-1, 1] images; anime and WGAN grids went through
    scipy.misc.imsave on floats, which stretched each grid to its own min..max (None)."""
    if args.arch != "dcgan":
        return None
    return (0.0, 1.0) if args.mnist else (-1.0, 1.0)


def sample_latents(args, count=None):
    return latents.fixed((count or args.batch_size, args.z_dim), args.seed, args.z_dist)


def load_run(checkpoint, data_dir=None):
    """(GAN with the run's newest generator weights, the run's options) of --checkpoint (a
    run's --output_dir or its checkpoint folder); `data_dir` replaces the saved one."""
    run = rundir.find_run(checkpoint)
    if data_dir:
        run.options.data_dir = data_dir
    gan = build_gan(run.options)
    run.load(networks(gan)["generator"], "generator")
    return gan, run.options
