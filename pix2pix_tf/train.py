"""Command line for pix2pix: `python -m pix2pix_tf.train --mode train --input_dir ...`.

Ports pix2pix.py's argparse flags, main() (train / test / export), its progress, summary,
display and save cadence, options.json and index.html.
"""
import json
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from common import cli, rundir
from common.cache import ImageFolder
from common.callbacks import LossHistory, SampleGif, StepCallback, tensorboard_writer
from common.checkpoint import Checkpoint
from common.training import fit_resumable
from common.decode import ImageSpec
from common.errors import UserError
from common.evaluation import Evaluation
from pix2pix_tf.evaluate import dataset_scores, test
from pix2pix_tf.gan import LOSSES
from pix2pix_tf.model import CROP_SIZE
from pix2pix_tf.pairs import list_paired_images, paired_transform
from pix2pix_tf.program import (NETWORK_OPTIONS, append_index, build_model, displayable,
                                fixed_examples, load_run, parameter_count, parse_options,
                                restore_options, save_images, convert_image_dtype)


def examples(args, paths):
    """(ImageFolder, transform): images decoded once into the cache, pix2pix's pairing in
    tf ops."""
    folder = ImageFolder(paths, ImageSpec(channels=3, scale="unit"), seed=args.seed,
                         cache_dir=os.path.join(args.output_dir, "cache"),
                         cache_mb=args.cache_mb)
    transform = paired_transform(args.which_direction, args.lab_colorization, args.scale_size,
                                 CROP_SIZE, args.flip, seed=args.seed)
    return folder, transform


# ---- train ----

class TrainingReport(StepCallback):
    """The original's should(freq) cadence: progress lines, summaries, display images and
    saves; stops at max_steps."""

    def __init__(self, args, model, checkpoint, display, steps_per_epoch, max_steps):
        super().__init__(checkpoint.step)
        self.args, self.gan, self.display = args, model, display
        self.steps_per_epoch, self.max_steps = steps_per_epoch, max_steps
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
            print("saving model")  # the Checkpoint saves, after every other callback
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
        epoch = math.ceil(self.step / self.steps_per_epoch)
        step_in_epoch = (self.step - 1) % self.steps_per_epoch + 1
        print("progress  epoch %d  step %d  image/sec %0.1f  remaining %dm" % (
            epoch, step_in_epoch, rate, remaining / 60))
        for name in LOSSES:
            print(name, float(logs[name]))

    def summary(self, logs, images, predictions):
        writer = tensorboard_writer(self.args.output_dir)
        with writer.as_default(step=self.step):
            tf.summary.scalar("discriminator_loss", float(logs["discrim_loss"]))
            tf.summary.scalar("generator_loss_GAN", float(logs["gen_loss_GAN"]))
            tf.summary.scalar("generator_loss_L1", float(logs["gen_loss_L1"]))
            for kind, batch in zip(("inputs", "targets", "outputs"), images):
                tf.summary.image(kind, convert_image_dtype(batch), max_outputs=len(batch))
            for kind, batch in predictions.items():
                tf.summary.image(kind, convert_image_dtype(np.asarray(batch)), max_outputs=len(batch))
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
    checkpoint.set_counters(source.step, source.epoch, source.done_in_epoch)
    return checkpoint.step + planned


def train(args, paths, model):
    steps_per_epoch = math.ceil(len(paths) / args.batch_size)
    # Saved every --save_freq steps and at the end, as the original (not every epoch: an
    # epoch of facades is 400 steps and the state is ~650 MB at ngf 64). The displayed loss
    # averages are saved too, as the TF Saver restored the ExponentialMovingAverage shadows.
    checkpoint = Checkpoint.of(os.path.join(args.output_dir, "checkpoints"), model,
                               every_steps=args.save_freq or None, at_epoch_end=False)
    max_steps = restore_for_training(args, checkpoint, steps_per_epoch)
    if checkpoint.step >= max_steps:
        print(f"already trained {checkpoint.step} of {max_steps} steps")
        return model
    folder, transform = examples(args, paths)
    folder.check_readable(args.input_dir)
    display = fixed_examples(args, paths, args.batch_size)
    report = TrainingReport(args, model, checkpoint, display, steps_per_epoch, max_steps)
    history = LossHistory(args.output_dir, every_steps=args.progress_freq, title="pix2pix",
                          initial_step=checkpoint.step)
    evaluation = []
    if args.eval_every:
        test_args = cli.replaced(args, scale_size=CROP_SIZE, flip=False)
        evaluation.append(Evaluation(
            lambda: dataset_scores(test_args, model, paths, args.num_samples), history,
            args.eval_every, checkpoint.step))
    # The GIF follows the first display example's outputs (written every --display_freq).
    gif = SampleGif(os.path.join(args.output_dir, "images", f"*-{display[0][0]}-outputs.png"),
                    os.path.join(args.output_dir, "evolution.gif"))
    # the epochs (the one under way included) that hold the steps left
    left = max_steps - checkpoint.step + checkpoint.done_in_epoch
    epochs = checkpoint.epoch + math.ceil(left / steps_per_epoch)
    def stream(start):
        return folder.dataset(args.batch_size, transform=transform, start=start)
    fit_resumable(model, stream, checkpoint, epochs, steps_per_epoch=steps_per_epoch,
                  verbose=0, shuffle=False,
                  callbacks=[checkpoint, history, *evaluation, report, gif])
    if checkpoint.saved_step != checkpoint.step:
        checkpoint.save()
    if folder.skipped:
        print(f"skipped {len(folder.skipped)} unreadable images of {len(folder)}")
    return model


# ---- export ----

def export_model(generator):
    """An image-to-image model: sRGB [0, 1] 256x256x3 in, sRGB [0, 1] out."""
    image = keras.Input((CROP_SIZE, CROP_SIZE, 3), name="image")
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="preprocess")(image)
    x = generator(x)
    return keras.Model(image, keras.layers.Rescaling(0.5, offset=0.5, name="deprocess")(x),
                       name="pix2pix_export")


def export(args, model):
    """export.keras of the trained `model`'s generator."""
    if args.lab_colorization:
        raise UserError("export is not supported for --lab_colorization (as the original)")
    print("loading model from checkpoint")
    path = os.path.join(args.output_dir, "export.keras")
    export_model(model.generator).save(path)
    # the original's export graph encoded its output as --output_filetype; infer and serve
    # read this choice beside the model
    with open(os.path.join(args.output_dir, "export.json"), "w") as f:
        json.dump({"output_filetype": args.output_filetype}, f)
    print("exported model to", path)
    return path


@cli.exits_cleanly
def main(argv=None):
    args = parse_options(argv)
    # Before any other TensorFlow work: MultiWorkerMirroredStrategy must come first.
    strategy = cli.setup(args)
    if args.mode in ("test", "export"):
        args = restore_options(args)
    if args.mode != "export" and not args.input_dir:
        raise UserError(f"--mode {args.mode} needs --input_dir")
    paths = [] if args.mode == "export" else \
        list_paired_images(args.input_dir, split=not args.lab_colorization)
    if args.mode == "train":
        args = rundir.prepare_output_dir(args, NETWORK_OPTIONS)
    else:
        rundir.claim_output_dir(args.output_dir)
    for key, value in sorted(args.as_dict().items()):
        print(key, "=", value)
    with strategy.scope():
        if args.mode == "train":
            model = build_model(args)
        else:  # the original printed "loading model from checkpoint" where test and export start
            model, _ = load_run(args.checkpoint)
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
