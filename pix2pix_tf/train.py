"""Command line for pix2pix: `python -m pix2pix_tf.train --mode train --input_dir ...`.

Ports pix2pix.py's argparse flags, main() (train / test / export), its progress, summary,
display and save cadence, options.json and index.html.
"""
import argparse
import csv
import json
import math
import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from common import cli
from common.callbacks import LossHistory, SampleGif, StepCallback, tensorboard_writer
from common.checkpoint import Checkpoint, checkpoint_file, fit_resumable
from common.color import deprocess_lab, lab_to_rgb
from common.data import ImageFolder, ImageSpec, list_paired_images, paired_transform
from common.evaluation import Evaluation
from common.errors import UserError
from common.images import read_image, to_unit
from pix2pix_tf.gan import LOSSES, Pix2Pix
from pix2pix_tf.model import CROP_SIZE, build_discriminator, build_generator

RESTORED_OPTIONS = ("which_direction", "ngf", "ndf", "lab_colorization")
NETWORK_OPTIONS = ["which_direction", "ngf", "ndf", "lab_colorization", "separable_conv"]


def parse_args(argv):
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
    add("--scale_size", type=cli.positive_int, default=286,
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
    return parser.parse_args(argv)


def restore_options(args):
    """Test and export take the networks' options from the checkpoint's options.json."""
    if args.checkpoint is None:
        raise UserError(f"--mode {args.mode} needs --checkpoint DIR (a training run's "
                        "--output_dir)")
    path = os.path.join(args.checkpoint, "options.json")
    if not os.path.exists(path):
        raise UserError(f"--checkpoint {args.checkpoint} has no options.json; point it at a "
                        "training run's --output_dir")
    with open(path) as f:
        saved = json.load(f)
    for key in RESTORED_OPTIONS + ("separable_conv",):
        if key in saved:
            print("loaded", key, "=", saved[key])
            setattr(args, key, saved[key])
    # disable these features in test mode
    args.scale_size, args.flip = CROP_SIZE, False


def channels(args):
    """(input channels, target channels): Lab colorization maps L (1) to ab (2)."""
    if not args.lab_colorization:
        return 3, 3
    return (1, 2) if args.which_direction == "AtoB" else (2, 1)


def build_model(args):
    c_in, c_out = channels(args)
    model = Pix2Pix(build_generator(args.ngf, c_in, c_out, args.separable_conv, seed=args.seed),
                    build_discriminator(args.ndf, c_in, c_out), args.gan_weight, args.l1_weight)
    model.compile(keras.optimizers.Adam(args.lr, beta_1=args.beta1, epsilon=1e-8),
                  keras.optimizers.Adam(args.lr, beta_1=args.beta1, epsilon=1e-8),
                  **cli.compile_options(args))
    return model


def parameter_count(model):
    return sum(int(np.prod(v.shape)) for v in model.generator.trainable_variables
               + model.discriminator.trainable_variables)


# ---- images out ----

def to_uint8(images):
    """tf.image.convert_image_dtype(saturate=True): clip to [0, 1], x 255.5, truncate."""
    return np.floor(np.clip(images, 0.0, 1.0) * 255.5).clip(0, 255).astype(np.uint8)


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
    image = to_uint8(image)
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


# ---- data ----

def examples(args, paths):
    """(ImageFolder, transform): images decoded once into the cache, pix2pix's pairing in
    tf ops."""
    folder = ImageFolder(paths, ImageSpec(channels=3, scale="unit"), seed=args.seed,
                         cache_dir=os.path.join(args.output_dir, "cache"),
                         cache_mb=args.cache_mb)
    transform = paired_transform(args.which_direction, args.lab_colorization, args.scale_size,
                                 CROP_SIZE, args.flip, seed=args.seed)
    return folder, transform


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


# ---- train ----

class TrainingReport(StepCallback):
    """The original's should(freq) cadence: progress lines, summaries, display images and
    saves; stops at max_steps."""

    def __init__(self, args, model, checkpoint, display, steps_per_epoch, max_steps):
        super().__init__(checkpoint.step)
        self.args, self.gan, self.checkpoint, self.display = args, model, checkpoint, display
        self.spe, self.max_steps = steps_per_epoch, max_steps
        self.start_step, self.start = checkpoint.step, time.time()

    def should(self, freq):
        """The original's should(freq): every freq steps, and at the last step."""
        return freq > 0 and (self.crossed(freq) or self.step >= self.max_steps)

    def on_step(self, logs):
        summarise = self.should(self.args.summary_freq)
        display = self.should(self.args.display_freq)
        # One generator pass serves both when they fall on the same step.
        images, predictions = self.generate() if summarise or display else (None, None)
        if summarise:
            print("recording summary")
            self.summary(logs, images, predictions)
        if display:
            print("saving display images")
            filesets = save_images(self.args, self.display[0], images, self.step)
            append_index(self.args, filesets, step=True)
        if self.should(self.args.progress_freq):
            self.progress(logs)
        if self.should(self.args.save_freq):
            print("saving model")
            self.checkpoint.save()
        if self.step >= self.max_steps:
            self.model.stop_training = True

    def generate(self):
        """(inputs, targets, outputs) of the fixed display examples, ready to save, and the
        discriminator's 30x30 patch outputs on their real and fake pairs."""
        inputs, targets = (tf.constant(images) for images in self.display[1:])
        outputs = self.gan.generator(inputs, training=True)
        predictions = {"predict_real": self.gan.discriminator([inputs, targets], training=True),
                       "predict_fake": self.gan.discriminator([inputs, outputs], training=True)}
        shown = displayable(self.args, self.display[1], self.display[2], outputs.numpy())
        return shown, predictions

    def progress(self, logs):
        rate = (self.step - self.start_step) * self.args.batch_size / (time.time() - self.start)
        remaining = (self.max_steps - self.step) * self.args.batch_size / rate
        print("progress  epoch %d  step %d  image/sec %0.1f  remaining %dm" % (
            math.ceil(self.step / self.spe), (self.step - 1) % self.spe + 1, rate,
            remaining / 60))
        for name in LOSSES:
            print(name, float(logs[name]))

    def summary(self, logs, images, predictions):
        writer = tensorboard_writer(self.args.output_dir)
        with writer.as_default(step=self.step):
            tf.summary.scalar("discriminator_loss", float(logs["discrim_loss"]))
            tf.summary.scalar("generator_loss_GAN", float(logs["gen_loss_GAN"]))
            tf.summary.scalar("generator_loss_L1", float(logs["gen_loss_L1"]))
            for kind, batch in zip(("inputs", "targets", "outputs"), images):
                tf.summary.image(kind, to_uint8(batch), max_outputs=len(batch))
            for kind, batch in predictions.items():
                tf.summary.image(kind, to_uint8(np.asarray(batch)), max_outputs=len(batch))
        writer.flush()


def planned_steps(args, steps_per_epoch):
    """The original's max_steps: --max_steps, else steps_per_epoch * --max_epochs, else 2**32."""
    if args.max_steps is not None:
        return args.max_steps
    if args.max_epochs is not None:
        return steps_per_epoch * args.max_epochs
    return 2 ** 32


def restore_for_training(args, checkpoint, steps_per_epoch):
    """Restore and return the global step to stop at. With --checkpoint, as the original:
    load that run and train max_steps MORE steps (its loop ran range(max_steps) after
    restoring). Without, re-running the command resumes an interrupted run in --output_dir
    and stops at the planned total, so an interruption does not lengthen the run."""
    planned = planned_steps(args, steps_per_epoch)
    if args.checkpoint is None:
        if checkpoint.restore():
            print("loading model from checkpoint")
        return planned
    source = Checkpoint(os.path.join(args.checkpoint, "checkpoints"), checkpoint.networks,
                        checkpoint.optimizers, extra=checkpoint.extra)
    if not source.restore():
        raise UserError(f"--checkpoint {args.checkpoint} holds no checkpoint (no "
                        "checkpoints/state.json); point it at a training run's --output_dir")
    print("loading model from checkpoint")
    checkpoint.step, checkpoint.epoch = source.step, source.epoch
    return checkpoint.step + planned


def train(args, paths, model):
    steps_per_epoch = math.ceil(len(paths) / args.batch_size)
    # Saved every --save_freq steps and at the end, as the original (not every epoch: an
    # epoch of facades is 400 steps and the state is ~650 MB at ngf 64). The displayed loss
    # averages are saved too, as the TF Saver restored the ExponentialMovingAverage shadows.
    checkpoint = Checkpoint(os.path.join(args.output_dir, "checkpoints"),
                            {"generator": model.generator, "discriminator": model.discriminator},
                            {"d_optimizer": model.d_optimizer, "g_optimizer": model.g_optimizer},
                            at_epoch_end=False,
                            extra={"loss_averages": list(model.averages.values())})
    max_steps = restore_for_training(args, checkpoint, steps_per_epoch)
    if checkpoint.step >= max_steps:
        print(f"already trained {checkpoint.step} of {max_steps} steps")
        return model
    folder, transform = examples(args, paths)
    folder.check_readable(args.input_dir)
    data = folder.dataset(args.batch_size, transform=transform)
    display = fixed_examples(args, paths, args.batch_size)
    report = TrainingReport(args, model, checkpoint, display, steps_per_epoch, max_steps)
    history = LossHistory(args.output_dir, every_steps=args.progress_freq, title="pix2pix",
                          initial_step=checkpoint.step)
    evaluation = []
    if args.eval_every:
        from pix2pix_tf.evaluate import dataset_scores  # evaluate builds on this module
        test_args = argparse.Namespace(**{**vars(args), "scale_size": CROP_SIZE, "flip": False})
        evaluation.append(Evaluation(
            lambda: dataset_scores(test_args, model, paths, args.num_samples), history,
            args.eval_every, checkpoint.step))
    # The GIF follows the first display example's outputs (written every --display_freq).
    gif = SampleGif(os.path.join(args.output_dir, "images", f"*-{display[0][0]}-outputs.png"),
                    os.path.join(args.output_dir, "evolution.gif"))
    epochs = checkpoint.epoch + math.ceil((max_steps - checkpoint.step) / steps_per_epoch)
    fit_resumable(model, data, checkpoint, epochs, steps_per_epoch=steps_per_epoch, verbose=0,
                  shuffle=False, callbacks=[checkpoint, history, *evaluation, report, gif])
    if checkpoint.saved_step != checkpoint.step:
        checkpoint.save()
    if folder.skipped:
        print(f"skipped {len(folder.skipped)} unreadable images of {len(folder)}")
    return model


# ---- test and export ----

def load_generator(args, model):
    weights = checkpoint_file(os.path.join(args.checkpoint, "checkpoints"),
                              "generator.weights.h5")
    if weights is None or not os.path.exists(weights):
        raise UserError(f"--checkpoint {args.checkpoint} holds no trained generator (no "
                        "checkpoints/state.json); point it at a training run's --output_dir")
    print("loading model from checkpoint")
    try:
        model.generator.load_weights(weights)
    except ValueError as error:
        raise UserError(f"the generator in {args.checkpoint} does not match the networks of "
                        f"its options.json ({str(error).splitlines()[0]})") from error


def test(args, paths, model):
    """One pass over input_dir: images/{name}-{inputs,outputs,targets}.png and index.html."""
    load_generator(args, model)
    max_steps = math.ceil(len(paths) / args.batch_size)
    if args.max_steps is not None:
        max_steps = min(max_steps, args.max_steps)
    start, index_path, rows = time.time(), None, []
    for step in range(max_steps):
        batch = paths[step * args.batch_size:(step + 1) * args.batch_size]
        names, inputs, targets = fixed_examples(args, batch, len(batch))
        if inputs is None:
            continue
        outputs = model.generator(inputs, training=True).numpy()
        shown = displayable(args, inputs, targets, outputs)
        filesets = save_images(args, names, shown)
        scores = image_scores(args, targets, outputs, shown)
        for fileset, score in zip(filesets, scores):
            fileset.update(score)
            rows.append({"name": fileset["name"], **score})
            print("evaluated image", fileset["name"])
        index_path = append_index(args, filesets, scores=list(scores[0]))
    if index_path is None:
        raise UserError(f"no image of --input_dir {args.input_dir} was evaluated "
                        f"(max_steps {max_steps}, or none could be read)")
    print("wrote index at", index_path)
    means = write_scores(os.path.join(args.output_dir, "scores.csv"), rows)
    print("mean", "  ".join(f"{name} {value:.4f}" for name, value in means.items()))
    print("rate", (time.time() - start) / max_steps)
    return means


def export_model(generator):
    """An image-to-image model: sRGB [0, 1] 256x256x3 in, sRGB [0, 1] out."""
    image = keras.Input((CROP_SIZE, CROP_SIZE, 3), name="image")
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="preprocess")(image)
    x = generator(x)
    return keras.Model(image, keras.layers.Rescaling(0.5, offset=0.5, name="deprocess")(x),
                       name="pix2pix_export")


def export(args, model):
    if args.lab_colorization:
        raise UserError("export is not supported for --lab_colorization (as the original)")
    load_generator(args, model)
    path = os.path.join(args.output_dir, "export.keras")
    export_model(model.generator).save(path)
    print("exported model to", path)
    return path


@cli.exits_cleanly
def main(argv=None):
    args = parse_args(argv)
    # Before any other TensorFlow work: MultiWorkerMirroredStrategy must come first.
    strategy = cli.setup(args)
    if args.mode in ("test", "export"):
        restore_options(args)
    elif args.scale_size < CROP_SIZE:
        raise UserError(f"--scale_size {args.scale_size} must be at least {CROP_SIZE}")
    if args.mode != "export" and not args.input_dir:
        raise UserError(f"--mode {args.mode} needs --input_dir")
    paths = [] if args.mode == "export" else \
        list_paired_images(args.input_dir, split=not args.lab_colorization)
    if args.mode == "train":
        cli.prepare_output_dir(args, NETWORK_OPTIONS)
    else:
        cli.claim_output_dir(args.output_dir)
    for key, value in sorted(vars(args).items()):
        print(key, "=", value)
    with strategy.scope():
        model = build_model(args)
    if args.mode == "export":
        return export(args, model)
    print("examples count =", len(paths))
    print(cli.startup_line(args, strategy, len(paths)))
    print("parameter_count =", parameter_count(model))
    if args.mode == "train":
        return train(args, paths, model)
    return test(args, paths, model)


if __name__ == "__main__":
    main()
