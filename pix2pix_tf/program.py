"""The pix2pix program: its options (Options: the flags of `python -m pix2pix_tf.train`, saved
as options.json as the original saved them), the options test and export restore, the compiled
model, a saved run rebuilt (load_run), the examples and the images and index.html the original
wrote.

train, evaluate, infer, serve and import_original all build on this module; none of them
imports another's command line.
"""
import csv
import io
import json
import os
import sys

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from common import cli, rundir
from common.color import deprocess_lab, lab_to_rgb
from common.errors import UserError
from common.images import read_image, to_unit
from common.old_frameworks import TF1Adam, float32
from common.options import options_class
from pix2pix_tf.gan import Pix2Pix
from pix2pix_tf.model import CROP_SIZE, build_discriminator, build_generator
from pix2pix_tf.pairs import paired_transform

# The port's check (the original failed inside its random crop): at least the crop.
SCALE_SIZE = cli.number(f"an integer >= {CROP_SIZE}", int, lambda v: v >= CROP_SIZE)
RESTORED_OPTIONS = ("which_direction", "ngf", "ndf", "lab_colorization")
NETWORK_OPTIONS = ["which_direction", "ngf", "ndf", "lab_colorization", "separable_conv"]


def options_parser():
    """`python -m pix2pix_tf.train`'s flags with their defaults."""
    parser = cli.parser("pix2pix_tf", "pix2pix (affinelayer/pix2pix-tensorflow): U-Net + "
                                      "PatchGAN image-to-image translation.")
    add = parser.add_argument
    add("--input_dir", help="path to folder containing images")
    add("--mode", required=True, choices=["train", "test", "export"])
    add("--checkpoint", default=None,
        help="directory with checkpoint to resume training from or use for testing")
    add("--max_steps", type=cli.non_negative_int, help="number of training steps (0 means 0)")
    add("--max_epochs", type=cli.non_negative_int, help="number of training epochs")
    add("--summary_freq", type=cli.non_negative_int, default=100, help="update summaries every summary_freq steps")
    add("--progress_freq", type=cli.non_negative_int, default=50, help="display progress every progress_freq steps")
    add("--display_freq", type=cli.non_negative_int, default=0,
        help="write current training images every display_freq steps")
    add("--save_freq", type=cli.non_negative_int, default=5000,
        help="save model every save_freq steps, 0 to disable")
    add("--separable_conv", action="store_true", help="use separable convolutions in the generator")
    add("--aspect_ratio", type=cli.positive_float, default=1.0,
        help="aspect ratio of output images (width/height)")
    add("--lab_colorization", action="store_true",
        help="split input image into brightness (A) and color (B)")
    add("--batch_size", type=cli.positive_int, default=1, help="number of images in batch")
    add("--which_direction", type=str, default="AtoB", choices=["AtoB", "BtoA"])
    add("--ngf", type=cli.positive_int, default=64, help="number of generator filters in first conv layer")
    add("--ndf", type=cli.positive_int, default=64,
        help="number of discriminator filters in first conv layer")
    add("--scale_size", type=SCALE_SIZE, default=286,
        help="scale images to this size before cropping to 256x256")
    add("--flip", dest="flip", action="store_true", help="flip images horizontally")
    add("--no_flip", dest="flip", action="store_false", help="don't flip images horizontally")
    parser.set_defaults(flip=True)
    add("--lr", type=cli.positive_float, default=0.0002, help="initial learning rate for adam")
    add("--beta1", type=cli.unit_fraction, default=0.5, help="momentum term of adam")
    add("--l1_weight", type=cli.non_negative_float, default=100.0, help="weight on L1 term for generator gradient")
    add("--gan_weight", type=cli.non_negative_float, default=1.0, help="weight on GAN term for generator gradient")
    add("--output_filetype", default="png", choices=["png", "jpeg"])
    add("--eval-every", type=cli.non_negative_int, default=0,
        help="score PSNR/SSIM (Lab: |ab| error) on --num-samples training examples every N "
             "steps into history.csv, losses.png and TensorBoard (0: never)")
    add("--num-samples", type=cli.positive_int, default=100,
        help="examples scored by --eval-every")
    cli.add_common_flags(parser, "pix2pix_tf")
    return parser


Options = options_class("Options", options_parser(), __name__)


def parse_options(argv=None):
    """The options of a run (typed and frozen)."""
    return Options.parse(argv)


def restore_options(args):
    """Test's and export's options: a copy of `args` with the networks' options from the
    checkpoint's options.json (pix2pix.py's "loaded ..." lines), scaling and flipping off."""
    if args.checkpoint is None:
        raise UserError(f"--mode {args.mode} needs --checkpoint DIR (a training run's "
                        "--output_dir)")
    if not os.path.isdir(args.checkpoint):
        raise UserError(f"--checkpoint {args.checkpoint} does not exist")
    saved = rundir.read_options_file(args.checkpoint)
    if saved is None:
        raise UserError(f"--checkpoint {args.checkpoint} has no options.json; point it at a "
                        "training run's --output_dir")
    restored = {}
    for key in RESTORED_OPTIONS + ("separable_conv",):
        if key in saved:
            print("loaded", key, "=", saved[key])
            restored[key] = saved[key]
    # disable these features in test mode
    return cli.replaced(args, **restored, scale_size=CROP_SIZE, flip=False)


def channels(args):
    """(input channels, target channels): Lab colorization maps L (1) to ab (2)."""
    if not args.lab_colorization:
        return 3, 3
    return (1, 2) if args.which_direction == "AtoB" else (2, 1)


def build_model(args):
    c_in, c_out = channels(args)
    model = Pix2Pix(build_generator(args.ngf, c_in, c_out, args.separable_conv, seed=args.seed),
                    build_discriminator(args.ndf, c_in, c_out), args.gan_weight, args.l1_weight)
    # tf.train.AdamOptimizer: its fused kernel, epsilon 1e-8, beta_2 a float32 constant
    model.compile(TF1Adam(args.lr, beta_1=args.beta1, beta_2=float32(0.999), epsilon=1e-8),
                  TF1Adam(args.lr, beta_1=args.beta1, beta_2=float32(0.999), epsilon=1e-8),
                  **cli.compile_options(args))
    return model


def parameter_count(model):
    return sum(int(np.prod(v.shape)) for v in model.generator.trainable_variables
               + model.discriminator.trainable_variables)


# ---- images out ----

def convert_image_dtype(images):
    """[0, 1] -> uint8 as the original's tf.image.convert_image_dtype(saturate=True): clip,
    x 255.5, truncate (not common.images.to_uint8's rounding: pix2pix's files came from this)."""
    return np.floor(np.clip(images, 0.0, 1.0) * 255.5).clip(0, 255).astype(np.uint8)


def encode_image(image, filetype):
    """uint8 H x W x 3 as the original's export graph encoded its output: PNG, or JPEG at
    quality 80 (--output_filetype)."""
    buffer = io.BytesIO()
    if filetype == "jpeg":
        Image.fromarray(image).save(buffer, format="JPEG", quality=80)
    else:
        Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def augment(color, brightness):
    """pix2pix's augment: RGB from ab channels and an L channel, both in [-1, 1] form."""
    return np.asarray(lab_to_rgb(deprocess_lab(brightness, color)))


def displayable(args, inputs, targets, outputs):
    """(inputs, targets, outputs) as RGB or grey [0, 1] images, as the original's convert."""
    deprocess = lambda x: (np.asarray(x) + 1) / 2
    if args.lab_colorization and args.which_direction == "AtoB":
        return deprocess(inputs), augment(targets, inputs), augment(outputs, inputs)
    if args.lab_colorization:
        return augment(inputs, targets), deprocess(targets), deprocess(outputs)
    return deprocess(inputs), deprocess(targets), deprocess(outputs)


def save_image(image, path, aspect_ratio):
    image = convert_image_dtype(image)
    pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
    if aspect_ratio != 1.0:
        pil = pil.resize((int(round(CROP_SIZE * aspect_ratio)), CROP_SIZE), Image.BICUBIC)
    pil.save(path)


def save_images(args, names, batches, step=None):
    """images/[{step:08d}-]{name}-{inputs,outputs,targets}.png; returns index filesets."""
    image_dir = os.path.join(args.output_dir, "images")
    os.makedirs(image_dir, exist_ok=True)
    filesets = []
    for i, name in enumerate(names):
        fileset = {"name": name, "step": step}
        for kind, images in zip(("inputs", "targets", "outputs"), batches):
            filename = f"{name}-{kind}.png" if step is None else f"{step:08d}-{name}-{kind}.png"
            fileset[kind] = filename
            save_image(images[i], os.path.join(image_dir, filename), args.aspect_ratio)
        filesets.append(fileset)
    return filesets


def append_index(args, filesets, step=False, scores=()):
    """index.html with a name / input / output / target table (and a step column; test mode
    adds the named score columns, which the port adds to the original's table)."""
    index_path = os.path.join(args.output_dir, "index.html")
    if os.path.exists(index_path):
        index = open(index_path, "a")
    else:
        index = open(index_path, "w")
        index.write("<html><body><table><tr>")
        if step:
            index.write("<th>step</th>")
        index.write("<th>name</th><th>input</th><th>output</th><th>target</th>")
        index.write("".join(f"<th>{name}</th>" for name in scores) + "</tr>\n")
    with index:
        for fileset in filesets:
            index.write("<tr>")
            if step:
                index.write(f"<td>{fileset['step']}</td>")
            index.write(f"<td>{fileset['name']}</td>")
            for kind in ("inputs", "outputs", "targets"):
                index.write(f"<td><img src='images/{fileset[kind]}'></td>")
            index.write("".join(f"<td>{fileset[name]:.4f}</td>" for name in scores))
            index.write("</tr>\n")
    return index_path


def image_scores(args, targets, outputs, shown):
    """Per image: PSNR and SSIM (tf.image, max_val 1) of the displayed output against the
    displayed target; with Lab colorization AtoB also the mean |ab| error in Lab units and
    that of an all-grey guess (ab = 0), which says whether colour was learned at all."""
    _, shown_targets, shown_outputs = (tf.constant(np.asarray(x, np.float32)) for x in shown)
    scores = {"psnr": tf.image.psnr(shown_targets, shown_outputs, max_val=1.0).numpy(),
              "ssim": tf.image.ssim(shown_targets, shown_outputs, max_val=1.0).numpy()}
    if args.lab_colorization and args.which_direction == "AtoB":
        targets, outputs = np.asarray(targets), np.asarray(outputs)
        scores["ab_error"] = np.abs(outputs - targets).mean(axis=(1, 2, 3)) * 110
        scores["grey_ab_error"] = np.abs(targets).mean(axis=(1, 2, 3)) * 110
    return [{name: float(values[i]) for name, values in scores.items()}
            for i in range(len(outputs))]


def write_scores(path, rows):
    """scores.csv: one row per image, then the means (name "mean"); returns the means."""
    names = [k for k in rows[0] if k != "name"]
    means = {name: float(np.mean([row[name] for row in rows])) for name in names}
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["name", *names])
        writer.writeheader()
        writer.writerows(rows)
        writer.writerow({"name": "mean", **means})
    return means


# ---- examples ----

def fixed_examples(args, paths, count):
    """The first `count` readable examples, unshuffled and unaugmented: names, inputs,
    targets. Unreadable files are reported and passed over."""
    transform = paired_transform(args.which_direction, args.lab_colorization, CROP_SIZE,
                                 CROP_SIZE, flip=False)
    names, pairs = [], []
    for path in paths:
        try:
            image = read_image(path)
        except UserError as error:
            print(f"warning: skipped unreadable image: {error}", file=sys.stderr)
            continue
        names.append(os.path.splitext(os.path.basename(path))[0])
        pairs.append(transform(tf.constant(to_unit(image))))
        if len(pairs) == count:
            break
    if not pairs:
        return names, None, None
    return names, np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def load_run(checkpoint):
    """(Pix2Pix with the run's newest generator, the run's options) of --checkpoint (a run's
    --output_dir): the one loader of a trained run, as every package's program.load_run."""
    run = rundir.find_run(checkpoint, "pix2pix_tf", parse_options(["--mode", "test"]))
    model = build_model(run.options)
    run.load(model.generator, "generator")
    return model, run.options


def load_export(path):
    """(model, output_filetype) of --mode export's export.keras and the choice beside it
    (export.json; png when absent)."""
    if not os.path.isfile(path):
        raise UserError(f"--model {path} does not exist; make it with python -m pix2pix_tf.train "
                        "--mode export --checkpoint RUN")
    try:
        model = keras.saving.load_model(path)
    except (ValueError, OSError, TypeError, KeyError) as error:
        raise UserError(f"{path} is not a pix2pix export ({str(error).splitlines()[0]})") \
            from error
    try:
        with open(os.path.join(os.path.dirname(path), "export.json")) as f:
            filetype = json.load(f).get("output_filetype", "png")
    except (OSError, ValueError):
        filetype = "png"
    return model, filetype
