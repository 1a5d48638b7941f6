"""Command line for the DCGAN family: `python -m dcgan_tf.train --dataset celebA --crop --train`.

Ports carpedm20's main.py flags and DCGAN.train() loop (data, per-batch line, sample grids,
checkpoints, resume), plus `--arch anime` (Anime_GAN's DCGAN) and `--arch wgan` (wgan_keras.py).
"""
import os

from common import cli, rundir, training
from common.callbacks import LossHistory, SampleGif
from common.errors import UserError
from common.evaluation import GENERATOR_METRICS, Evaluation, chosen_metrics, training_extractor
from dcgan_tf import originals
from dcgan_tf.evaluate import generator_scores
from dcgan_tf.originals.carpedm20 import mnist_data, mnist_stream
from dcgan_tf.program import NETWORK_OPTIONS, build_gan, folder_data, parse_options
from dcgan_tf.visualize import visualize


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
    """(stream, steps per epoch, dataset size, sample inputs) from MNIST or from the
    ImageFolder (decoded into its cache here). stream(start) is the tf.data dataset from
    step `start` on (0 for a new run, the checkpoint's step for a resumed one). The sample
    inputs, (images, y or None), feed carpedm20's [Sample] evaluation; None for the anime
    DCGAN and the WGAN."""
    original = originals.of(args)
    per_step = original.images_per_step(args)
    if args.mnist:
        x, y = mnist_data(args)
        steps = steps_per_epoch(args, len(x), per_step)
        return (mnist_stream(args, x, y, steps), steps, len(x),
                (x[:args.batch_size], y[:args.batch_size]))
    steps = steps_per_epoch(args, len(folder), per_step)
    folder.check_readable(os.path.join(args.data_dir, args.dataset))
    return (original.folder_stream(args, folder, steps), steps, len(folder),
            original.sample_real(args, folder))


# ---- training ----

def training_callbacks(gan, args, steps, sample_inputs, checkpoint, extractor=None):
    """The checkpoint, the loss history, the --eval-every scores, then the original's own
    outputs (its lines, grids and model files) and the GIF of its grids."""
    original = originals.of(args)
    history = LossHistory(args.output_dir, every_steps=args.sample_freq
                          if original.LOSSES_EVERY_SAMPLE else None,
                          title=f"DCGAN ({args.arch})", initial_step=checkpoint.step)
    callbacks = [checkpoint, history]
    if args.eval_every:
        metrics = chosen_metrics(args, GENERATOR_METRICS)
        callbacks.append(Evaluation(
            lambda: generator_scores(gan, args, extractor, metrics, args.num_samples,
                                     seed=args.seed), history, args.eval_every, checkpoint.step))
    own, frames = original.callbacks(gan, args, steps, sample_inputs, checkpoint)
    samples = os.path.join(args.output_dir, args.sample_dir)
    return callbacks + own + [SampleGif(os.path.join(samples, frames),
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
    args = parse_options(argv)
    # Before any other TensorFlow work: MultiWorkerMirroredStrategy must come first.
    strategy = cli.setup(args)
    extractor = training_extractor(args, chosen_metrics(args, GENERATOR_METRICS))
    folder, args = (None, args) if args.mnist else folder_data(args)
    size = len(folder) if folder else 70000
    if args.train:  # test mode needs no data: it loads the checkpoint
        args = rundir.prepare_output_dir(args, NETWORK_OPTIONS, args.checkpoint_dir)
        if folder:
            folder.cache_dir = os.path.join(args.output_dir, "cache")
        stream, steps, size, sample_real = training_data(args, folder)
    gan, checkpoint = training.start(args, strategy, build_gan, size, args.checkpoint_dir,
                                     every_steps=args.ckpt_freq)
    loaded = load_checkpoint(checkpoint)
    if args.train:
        training.fit_resumable(gan, stream, checkpoint, args.epoch, steps_per_epoch=steps,
                               verbose=int(originals.of(args).PROGRESS_BAR), shuffle=False,
                               callbacks=training_callbacks(gan, args, steps, sample_real,
                                                            checkpoint, extractor))
        if folder is not None and folder.skipped:
            print(f"skipped {len(folder.skipped)} unreadable images of {size}")
    elif not loaded:
        raise UserError(f"[!] Train a model first, then run test mode (no checkpoint in "
                        f"{checkpoint.directory}; add --train)")
    if args.visualize:
        visualize(gan, args, option=1)
    return gan


if __name__ == "__main__":
    main()
