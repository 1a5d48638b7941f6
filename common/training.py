"""The training driver under every train command: the start-up line, the GAN built inside the
strategy's scope and its checkpoint, then fit from where the checkpoint stands, saving on
Ctrl-C or SIGTERM. Each train.py adds only what its program does differently: its data, its
callbacks and its original's messages.
"""
import contextlib
import os
import signal
import sys
import threading

import keras

from common import cli
from common.callbacks import StepCallback
from common.checkpoint import Checkpoint
from common.errors import UserError, describe


def start(args, strategy, build, dataset_size, checkpoint_dir="checkpoints", unit="images",
          **schedule):
    """(the GAN `build(args)` makes inside the strategy's scope, its Checkpoint in
    OUTPUT_DIR/`checkpoint_dir` with the `schedule` (every_steps, at_epoch_end), not yet
    restored), after the one-line start-up report. `args` are the run's options, its output
    directory claimed (common.rundir.prepare_output_dir)."""
    print(cli.startup_line(args, strategy, dataset_size, unit))
    with strategy.scope():
        gan = build(args)
    return gan, Checkpoint.of(os.path.join(args.output_dir, checkpoint_dir), gan, **schedule)


class StepBoundary(keras.callbacks.Callback):
    """The last callback of a resumable fit: knows whether the run stands between two
    steps, every callback of the last one done (`clean`), and ends training there when a
    stop was requested (the first Ctrl-C or SIGTERM) by raising KeyboardInterrupt."""

    def __init__(self):
        super().__init__()
        self.clean, self.requested = True, False

    def on_train_batch_begin(self, batch, logs=None):
        self.clean = False

    def on_train_batch_end(self, batch, logs=None):
        self.clean = True
        self.stop_if_requested()

    def on_epoch_end(self, epoch, logs=None):
        self.stop_if_requested()

    def stop_if_requested(self):
        if self.requested:
            raise KeyboardInterrupt


@contextlib.contextmanager
def stop_requests(boundary):
    """While training: the first Ctrl-C (SIGINT) or SIGTERM (kill, a scheduler's
    pre-emption) asks `boundary` to stop after the step under way, so what is saved is a
    step's end; a second one stops at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request(number, frame):
        if boundary.requested:
            raise KeyboardInterrupt
        boundary.requested = True
        print("\nstopping after this step (press Ctrl-C again to stop at once, losing the "
              "steps since the last checkpoint)", file=sys.stderr, flush=True)

    previous = {sig: signal.signal(sig, request) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def fit_resumable(model, stream, checkpoint, epochs, steps_per_epoch, callbacks=(),
                  **fit_kwargs):
    """model.fit from where the checkpoint stands, as if the run had never stopped.
    stream(step) is the training data from global step `step` on (its order, latents and
    augmentation functions of the step, see common.cache); a checkpoint saved inside an epoch
    resumes that epoch at its next step: one fit() for the rest of it, then one for the
    epochs after. The checkpoint runs after every other callback, so it saves what they left
    (a [Sample] pass moving BatchNorm statistics, dropout drawn for a display).

    Ctrl-C or SIGTERM stops after the step under way, saves a checkpoint (unless that step's
    was just saved) and exits with status 130; a second one stops at once, keeping the last
    checkpoint. A file that cannot be written (disk full) ends with one error line naming
    the checkpoint that is kept."""
    boundary = StepBoundary()
    callbacks = [c for c in callbacks if c is not checkpoint] + [checkpoint, boundary]
    try:
        with stop_requests(boundary):
            return _fit(model, stream, checkpoint, epochs, steps_per_epoch, callbacks,
                        **fit_kwargs)
    except KeyboardInterrupt:
        _stop(checkpoint, boundary)
    except UserError:
        print(flush=True)  # ends the progress bar's line, so the error line stands alone
        raise
    except OSError as error:
        kept = (f"the checkpoint of step {checkpoint.saved_step} in {checkpoint.directory} "
                "is kept; run the same command again to resume" if checkpoint.exists()
                else "no checkpoint was saved yet")
        where = f" ({error.filename})" if getattr(error, "filename", None) else ""
        raise UserError(f"cannot write{where}: {describe(error)}; {kept}") from error


def _fit(model, stream, checkpoint, epochs, steps_per_epoch, callbacks, **fit_kwargs):
    if checkpoint.done_in_epoch >= steps_per_epoch:  # --steps-per-epoch smaller than before
        checkpoint.set_counters(checkpoint.step, checkpoint.epoch + 1)
    if checkpoint.done_in_epoch and checkpoint.epoch < epochs:
        step_callbacks = [c for c in callbacks if isinstance(c, StepCallback)]
        for callback in step_callbacks:
            callback.resume_in_epoch(checkpoint.done_in_epoch)
        model.fit(stream(checkpoint.step), epochs=checkpoint.epoch + 1,
                  initial_epoch=checkpoint.epoch,
                  steps_per_epoch=steps_per_epoch - checkpoint.done_in_epoch,
                  callbacks=callbacks, **fit_kwargs)
        for callback in step_callbacks:
            callback.resume_in_epoch(0)
        if model.stop_training:
            return model.history
    return model.fit(stream(checkpoint.step), epochs=epochs, initial_epoch=checkpoint.epoch,
                     steps_per_epoch=steps_per_epoch, callbacks=callbacks, **fit_kwargs)


def _stop(checkpoint, boundary):
    """After an interrupt: save the state of a step's end (unless saved already); after a
    stop in the middle of a step keep the last checkpoint, which a resumed run continues
    exactly. Exits with status 130."""
    # The user asked to stop: further Ctrl-Cs must not cut the last save short.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if boundary.clean and checkpoint.saved_step != checkpoint.step:
        checkpoint.save()
    if checkpoint.saved_step == checkpoint.step:
        print(f"\ninterrupted: checkpoint saved at step {checkpoint.step} in "
              f"{checkpoint.directory}; run the same command again to resume", file=sys.stderr)
    elif checkpoint.saved_step is not None:
        print(f"\nstopped at once: the checkpoint of step {checkpoint.saved_step} in "
              f"{checkpoint.directory} is kept; run the same command again to resume from it",
              file=sys.stderr)
    else:
        print("\nstopped at once, before the first checkpoint", file=sys.stderr)
    raise SystemExit(130) from None
