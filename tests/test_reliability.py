"""No traceback, no hang and no lost work: unreadable data, bad flags, interruptions during a
save, two runs in one output directory, unwritable output, and SIGKILL at random moments.
The command-line cases run the real `python -m ...` in a subprocess."""
import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from acgan_mnist.gan import ACGAN
from acgan_mnist.model import build_discriminator, build_generator
from common.checkpoint import Checkpoint
from common.rundir import OutputLock
from conftest import saved_counters, write_images, write_mnist_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def command(module, *argv):
    return [sys.executable, "-m", module, *map(str, argv)]


def run(module, *argv, timeout=120, **kwargs):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run(command(module, *argv), cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def start(module, *argv, stderr=None, stdout=None):
    """A background run. SIGINT is reset to its default in the child: a runner that starts
    jobs in the background hands them SIGINT ignored, and Python would keep ignoring it."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.Popen(command(module, *argv), cwd=ROOT, env=env, text=True,
                            stdout=stdout or subprocess.DEVNULL,
                            stderr=stderr or subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def assert_user_error(result, fragment):
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and fragment in last, last


def acgan_args(mnist_dir, output_dir, epochs, *extra):
    return ("--data-dir", mnist_dir, "--epochs", epochs, "--batch-size", 10,
            "--steps-per-epoch", 1, "--output-dir", output_dir, *extra)


@pytest.fixture
def tiny_mnist(tmp_path):
    """data_dir for a conditional DCGAN: 20 digits, 10 steps an epoch at batch 2."""
    write_mnist_dir(str(tmp_path / "data" / "mnist"), 16, 4)
    return tmp_path / "data"


def dcgan_args(data_dir, output_dir, epochs):
    """A tiny conditional MNIST DCGAN that saves a checkpoint after every step."""
    return ("--train", "--dataset", "mnist", "--data_dir", data_dir, "--output-dir", output_dir,
            "--epoch", epochs, "--batch_size", 2, "--gf_dim", 2, "--df_dim", 4, "--gfc_dim", 8,
            "--dfc_dim", 8, "--z_dim", 4, "--sample_freq", 1000, "--ckpt_freq", 1)


def restore_dcgan(output_dir):
    """Rebuild the run's networks from its options.json and restore its checkpoint."""
    import argparse
    from dcgan_tf.program import build_gan
    with open(output_dir / "options.json") as f:
        args = argparse.Namespace(**json.load(f))
    gan = build_gan(args)
    checkpoint = Checkpoint.of(str(output_dir / "checkpoints"), gan)
    assert checkpoint.restore()
    return gan, checkpoint


def wait_for_a_save_after(checkpoint_dir, step, timeout=120):
    """Until the running process has saved a checkpoint later than `step` (bounded)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if (checkpoint_dir / "state.json").exists() and saved_counters(checkpoint_dir)[0] > step:
            return
        time.sleep(0.1)
    raise AssertionError(f"no checkpoint after step {step} within {timeout} s")


# 1. a folder in which no file is a readable image

def write_fake_images(directory, count, ext="jpg"):
    os.makedirs(directory, exist_ok=True)
    for i in range(count):
        with open(os.path.join(directory, f"{i}.{ext}"), "w") as f:
            f.write("not an image\n")
    return directory


def test_folder_without_one_readable_image_is_an_error_not_a_hang(tmp_path):
    write_fake_images(tmp_path / "data" / "celebA", 5)
    result = run("dcgan_tf.train", "--train", "--data_dir", tmp_path / "data",
                 "--output-dir", tmp_path / "dcgan", "--batch_size", 2)
    assert_user_error(result, "none of the 5 files")
    result = run("ogan_keras.train", "--data", tmp_path / "data" / "celebA" / "*.jpg",
                 "--img_dim", 32, "--batch_size", 2, "--output-dir", tmp_path / "ogan")
    assert_user_error(result, "none of the 5 files")
    write_fake_images(tmp_path / "pairs", 3, ext="png")
    result = run("pix2pix_tf.train", "--mode", "train", "--input_dir", tmp_path / "pairs",
                 "--output_dir", tmp_path / "pix", "--ngf", 4, "--ndf", 4, "--max_steps", 1)
    assert_user_error(result, "none of the 3 files")


def test_crop_larger_than_every_image_names_the_crop(tmp_path, capsys):
    from dcgan_tf import train
    write_images(str(tmp_path / "data" / "celebA"), 3, size=(40, 40), ext="jpg")
    with pytest.raises(SystemExit):
        train.main(["--train", "--crop", "--input_height", "108", "--data_dir",
                    str(tmp_path / "data"), "--output-dir", str(tmp_path / "run"),
                    "--batch_size", "2"])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: none of the 3 files") and "center-crop 108x108" in last


# 2. numeric flags are checked at start-up

def test_negative_steps_per_epoch_exits_at_once(tmp_path):
    """Checked before anything is read or made: the data folder does not even exist, and the
    error is the flag's."""
    result = run("acgan_mnist.train", "--data-dir", tmp_path / "no-such-data",
                 "--steps-per-epoch", -3, "--output-dir", tmp_path / "run")
    assert_user_error(result, "argument --steps-per-epoch: must be a positive integer, got -3")
    assert not (tmp_path / "run").exists()


BAD_FLAGS = [
    ("acgan_mnist", ["--batch-size", "0"], "--batch-size: must be a positive integer"),
    ("acgan_mnist", ["--batch-size", "-5"], "--batch-size: must be a positive integer"),
    ("acgan_mnist", ["--epochs", "-1"], "--epochs: must be a positive integer"),
    ("acgan_mnist", ["--lr", "nan"], "--lr: must be a positive number"),
    ("acgan_mnist", ["--beta-1", "1.5"], "--beta-1: must be a number in [0, 1)"),
    ("ogan_keras", ["--sample_every", "0"], "--sample_every: must be a positive integer"),
    ("ogan_keras", ["--z_dim", "x"], "--z_dim: must be a positive integer, got 'x'"),
    ("ogan_keras", ["--img_dim", "48"], "power of two >= 32"),
    ("dcgan_tf", ["--batch_size", "0"], "--batch_size: must be a positive integer"),
    ("dcgan_tf", ["--learning_rate", "-1"], "--learning_rate: must be a positive number"),
    ("dcgan_tf", ["--train_size", "0"], "--train_size: must be a positive number"),
    ("dcgan_tf", ["--sample_freq", "-100"], "--sample_freq: must be a positive integer"),
    ("dcgan_tf", ["--output_height", "0"], "--output_height: must be a positive integer"),
    ("dcgan_tf", ["--arch", "anime", "--output_height", "64"], "generates 96x96 images"),
    ("dcgan_tf", ["--clamp", "0"], "--clamp: must be a positive number"),
    ("pix2pix_tf", ["--mode", "train", "--batch_size", "0"], "--batch_size: must be a positive"),
    ("pix2pix_tf", ["--mode", "train", "--max_steps", "-1"], "--max_steps: must be an integer"),
    ("pix2pix_tf", ["--mode", "train", "--scale_size", "200"],
     "--scale_size: must be an integer >= 256, got 200"),
    ("pix2pix_tf", ["--mode", "train", "--l1_weight", "-1"], "--l1_weight: must be a number >= 0"),
]


@pytest.mark.parametrize("program,argv,message", BAD_FLAGS)
def test_bad_numeric_flags_are_one_line(tmp_path, capsys, program, argv, message):
    import importlib
    main = importlib.import_module(f"{program}.train").main
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--output-dir", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last, last
    assert not (tmp_path / "run").exists()


def test_process_fractions_are_checked(tmp_path, capsys):
    from pix2pix_tf import process
    os.makedirs(tmp_path / "in")
    with pytest.raises(SystemExit):
        process.main(["--dir", str(tmp_path / "in"), "--operation", "split", "--train_frac",
                      "0.9", "--test_frac", "0.2"])
    assert "add up to more than 1" in capsys.readouterr().err


# 3. Ctrl-C while a checkpoint is written

def small_acgan():
    gan = ACGAN(build_generator(), build_discriminator())
    gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    return gan, Checkpoint  # the class, so the caller picks the directory


def acgan_checkpoint(gan, directory):
    return Checkpoint.of(directory, gan)


def test_interrupts_during_a_save_wait_for_it_to_finish(tmp_path):
    gan, _ = small_acgan()
    checkpoint = acgan_checkpoint(gan, str(tmp_path))
    checkpoint.step = 7
    original = gan.discriminator.save_weights

    def interrupted_save(path):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C twice while the file is open
        os.kill(os.getpid(), signal.SIGINT)
        return original(path)

    gan.discriminator.save_weights = interrupted_save
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save()
    assert saved_counters(tmp_path) == (7, 0)
    fresh, _ = small_acgan()
    restored = acgan_checkpoint(fresh, str(tmp_path))
    assert restored.restore() and restored.step == 7
    np.testing.assert_array_equal(fresh.discriminator.get_weights()[0],
                                  gan.discriminator.get_weights()[0])


def test_ctrl_c_at_random_moments_exits_130_and_resumes(tmp_path, tiny_mnist):
    out = tmp_path / "run"
    rng = random.Random(4)
    previous = 0
    for _ in range(2):
        process = start("dcgan_tf.train", *dcgan_args(tiny_mnist, out, 500),
                        stderr=subprocess.PIPE)
        wait_for_a_save_after(out / "checkpoints", previous)
        time.sleep(rng.uniform(0.0, 2.0))
        process.send_signal(signal.SIGINT)
        time.sleep(rng.uniform(0.0, 0.3))
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
        assert process.returncode == 130, err[-2000:]
        # the first Ctrl-C stops after the step under way and saves it; a second one before
        # that step's end stops at once, keeping the last checkpoint
        assert "Traceback" not in err and ("interrupted: checkpoint saved" in err or
                                           "stopped at once: the checkpoint of step" in err)
        previous, _ = saved_counters(out / "checkpoints")
        assert restore_dcgan(out)[1].step == previous
    step, epoch = saved_counters(out / "checkpoints")
    result = run("dcgan_tf.train", *dcgan_args(tiny_mnist, out, epoch + 1))
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"at step {step}\n [*] Load SUCCESS" in result.stdout


# 4. two runs into the same output directory

def test_second_run_refuses_and_a_dead_runs_lock_is_taken_over(tmp_path, tiny_mnist):
    out = tmp_path / "run"
    first = start("dcgan_tf.train", *dcgan_args(tiny_mnist, out, 500))
    deadline = time.time() + 90
    while time.time() < deadline:
        if (out / ".lock").exists() and (out / ".lock").read_text():
            break
        time.sleep(0.2)
    holder = json.loads((out / ".lock").read_text())
    assert holder["pid"] == first.pid
    second = run("dcgan_tf.train", *dcgan_args(tiny_mnist, out, 500))
    assert_user_error(second, f"is in use by another run (PID {first.pid} on ")
    first.kill()
    first.wait()
    third = run("dcgan_tf.train", *dcgan_args(tiny_mnist, out, 1), "--fresh")
    assert third.returncode == 0, third.stderr[-2000:]
    assert f"warning: taking over {out / '.lock'}" in third.stderr
    assert f"PID {first.pid}" in third.stderr
    assert (out / ".lock").read_text() == ""  # released at a clean exit


def test_lock_without_flock_falls_back_to_the_pid_it_names(tmp_path, monkeypatch, capsys):
    """On a file system without flock (NFS without lockd: ENOLCK), a lock naming a live
    process of this host is respected, and one naming a dead process is taken over."""
    import errno
    import fcntl
    import socket
    from common import rundir
    from common.errors import UserError

    def no_flock(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")
    monkeypatch.setattr(fcntl, "flock", no_flock)
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        holder = {"pid": sleeper.pid, "host": socket.gethostname(), "started": "then"}
        (tmp_path / ".lock").write_text(json.dumps(holder))
        with pytest.raises(UserError, match=f"in use by another run \\(PID {sleeper.pid}"):
            rundir.OutputLock(str(tmp_path)).acquire()
    finally:
        sleeper.kill()
        sleeper.wait()
    lock = rundir.OutputLock(str(tmp_path))
    lock.acquire()  # the recorded holder is dead now
    assert f"taking over {tmp_path / '.lock'}" in capsys.readouterr().err
    assert json.loads((tmp_path / ".lock").read_text())["pid"] == os.getpid()
    lock.release()


def test_lock_is_reused_within_one_process(tmp_path):
    """A second claim in the same process (under another spelling of the path too) goes on
    under the lock it holds, where a lock of its own would be refused as another run's."""
    from common.errors import UserError
    OutputLock.claim(str(tmp_path))
    OutputLock.claim(os.path.join(str(tmp_path), "."))
    assert json.loads((tmp_path / ".lock").read_text())["pid"] == os.getpid()
    with pytest.raises(UserError, match="is in use by another run"):
        OutputLock(str(tmp_path)).acquire()  # what a second claim without reuse would do


# 5. unwritable output

def test_output_dir_that_is_a_file(tmp_path, mnist_dir):
    (tmp_path / "file").write_text("x")
    result = run("acgan_mnist.train", *acgan_args(mnist_dir, tmp_path / "file", 1))
    assert_user_error(result, "is a file, not a folder")
    result = run("acgan_mnist.train", *acgan_args(mnist_dir, tmp_path / "file" / "run", 1))
    assert_user_error(result, "cannot write to --output-dir")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_dir(tmp_path, mnist_dir):
    os.makedirs(tmp_path / "ro")
    os.chmod(tmp_path / "ro", 0o555)
    result = run("acgan_mnist.train", *acgan_args(mnist_dir, tmp_path / "ro" / "run", 1))
    assert_user_error(result, "Permission denied")


def limit_file_size(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails: EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_full_disk_keeps_the_previous_checkpoint(tmp_path, mnist_dir):
    out = tmp_path / "run"
    first = run("acgan_mnist.train", *acgan_args(mnist_dir, out, 2))
    assert first.returncode == 0, first.stderr[-2000:]
    assert saved_counters(out / "checkpoints")[0] == 2
    # No file may grow past 1 MB: the next weight files cannot be written.
    full = run("acgan_mnist.train", *acgan_args(mnist_dir, out, 3),
               preexec_fn=limit_file_size(1 << 20))
    assert_user_error(full, "is kept")
    assert "File too large" in full.stderr.strip().splitlines()[-1]
    assert full.stdout.endswith("\n")  # the progress bar's line is ended before the error
    assert saved_counters(out / "checkpoints")[0] == 2
    gan, _ = small_acgan()
    checkpoint = acgan_checkpoint(gan, str(out / "checkpoints"))
    assert checkpoint.restore() and int(gan.d_optimizer.iterations) == 2


# SIGKILL at random points

def last_step_printed(log_path):
    """The step of the last "Epoch: [e/E] [idx/batches]" line a dcgan run printed (its
    per-step progress, printed before that step's checkpoint is written)."""
    with open(log_path) as f:
        found = re.findall(r"^Epoch: \[\s*(\d+)/\s*\d+\] \[\s*(\d+)/", f.read(), re.M)
    epoch, index = (int(n) for n in found[-1]) if found else (0, -1)
    return epoch * 10 + index + 1  # tiny_mnist: 10 steps an epoch


def wait_for_a_write(checkpoint_dir, timeout=60):
    """Until a checkpoint is being written (its .partial- folder exists), polled fast."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(name.startswith(".partial-") for name in os.listdir(checkpoint_dir)):
            return True
        time.sleep(0.001)
    return False


def test_sigkill_at_random_moments_resumes_bit_for_bit(tmp_path, tiny_mnist):
    """Bounded soak: a 6-epoch run (60 steps, a checkpoint after each) killed with SIGKILL
    three times, at random moments and once while a checkpoint is being written, each time
    run again: it ends equal bit for bit to the run that was never stopped, and no kill
    loses more than the step since the last save. (Ctrl-C has its own test above.)"""
    from test_resume import assert_same_bits
    epochs = 6
    straight = run("dcgan_tf.train", *dcgan_args(tiny_mnist, tmp_path / "straight", epochs))
    assert straight.returncode == 0, straight.stderr[-2000:]
    out, log = tmp_path / "run", tmp_path / "run.log"
    rng = random.Random(7)
    previous = 0
    for stop in ("kill", "kill during a write", "kill"):
        with open(log, "w") as printed:
            process = start("dcgan_tf.train", *dcgan_args(tiny_mnist, out, epochs),
                            stdout=printed)
            wait_for_a_save_after(out / "checkpoints", previous)
            if stop == "kill during a write":
                assert wait_for_a_write(out / "checkpoints")
            else:
                time.sleep(rng.uniform(0.0, 0.5))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=120)
        assert process.returncode == -signal.SIGKILL, stop
        reached = last_step_printed(log)
        gan, checkpoint = restore_dcgan(out)
        assert reached - 1 <= checkpoint.step <= reached, (stop, reached, checkpoint.step)
        assert int(gan.d_optimizer.iterations) == checkpoint.step
        assert int(gan.g_optimizer.iterations) == 2 * checkpoint.step  # carpedm20's 2 G steps
        assert checkpoint.step > previous
        previous = checkpoint.step
    assert previous < 10 * epochs  # every stop came before the run's end
    result = run("dcgan_tf.train", *dcgan_args(tiny_mnist, out, epochs))
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"at step {previous}\n [*] Load SUCCESS" in result.stdout
    assert_same_bits(tmp_path / "straight", out)
    # the newest checkpoint and the one before it (resume's fall-back), nothing else
    names = sorted(os.listdir(out / "checkpoints"))
    assert names[0] == "state.json" and names[-1] == f"step-{10 * epochs:09d}", names
    assert len(names) == 3 and names[1].startswith("step-"), names
    # history.csv: one row per step, none twice although killed runs wrote rows past
    # their last checkpoint
    steps = [int(row.split(",")[1]) for row in
             (out / "history.csv").read_text().strip().splitlines()[1:]]
    assert steps == sorted(set(steps))


def truncate(path, fraction=3):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size // fraction)


def test_damaged_checkpoints_fall_back_to_the_newest_intact_one(tmp_path, tiny_mnist):
    out = tmp_path / "run"
    checkpoints = out / "checkpoints"
    assert run("dcgan_tf.train", *dcgan_args(tiny_mnist, out, 1)).returncode == 0
    assert saved_counters(checkpoints)[0] == 10
    # the newest checkpoint cut short: resume from step 9, the damaged folder kept aside
    truncate(checkpoints / "step-000000010" / "discriminator.weights.h5")
    result = run("dcgan_tf.train", *dcgan_args(tiny_mnist, out, 2))
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "step-000000010" in warning[0] \
        and "discriminator.weights.h5" in warning[0], warning
    assert "at step 9\n" in result.stdout
    assert (checkpoints / "damaged-step-000000010" / "discriminator.weights.h5").exists()
    assert saved_counters(checkpoints) == (20, 2)  # step 9 was inside epoch 1: its last step
    # state.json garbage: the step folders say where the run stood
    (checkpoints / "state.json").write_text("{not json")
    result = run("dcgan_tf.train", *dcgan_args(tiny_mnist, out, 3))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "at step 20\n" in result.stdout and saved_counters(checkpoints) == (30, 3)
    # nothing intact left: one error line naming --fresh, every folder kept
    for folder in checkpoints.glob("step-*"):
        truncate(folder / "generator.weights.h5")
    assert_user_error(run("dcgan_tf.train", *dcgan_args(tiny_mnist, out, 4)), "--fresh")
    assert len(list(checkpoints.glob("damaged-step-*"))) == 3


# issue 20: image formats, decompression bombs, MNIST labels, damaged archives

def tiny_dcgan(data_dir, dataset, output_dir, *extra):
    return ("--train", "--data_dir", data_dir, "--dataset", dataset, "--output-dir",
            output_dir, "--epoch", 1, "--batch_size", 4, "--output_height", 16, "--gf_dim", 4,
            "--df_dim", 4, "--sample_freq", 1000, *extra)


def test_every_format_pillow_reads_is_used_and_the_rest_counted(tmp_path):
    folder = tmp_path / "data" / "mixed"
    for ext, count in (("jpg", 4), ("bmp", 2), ("gif", 2), ("webp", 2), ("tiff", 2),
                       ("ppm", 1)):
        write_images(str(folder), count, size=(20, 20), ext=ext, seed=count)
        for i in range(count):  # distinct names across formats
            os.rename(folder / f"{i:03d}.{ext}", folder / f"{ext}{i}.{ext}")
    (folder / "notes.txt").write_text("not an image")
    (folder / "labels.json").write_text("{}")
    result = run("dcgan_tf.train", *tiny_dcgan(tmp_path / "data", "mixed", tmp_path / "run",
                                               "--input_fname_pattern", "*.*"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "dataset: 13 images" in result.stdout
    note = [line for line in result.stderr.splitlines() if line.startswith("note: ignored")]
    assert len(note) == 1 and "2 files" in note[0] and ".txt x1" in note[0] \
        and ".json x1" in note[0], note


def write_bomb(path, side=10000):
    """A valid greyscale PNG of side x side zeros (above Pillow's pixel limit), ~100 KB."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    compressor, row, body = zlib.compressobj(9), b"\0" * (side + 1), []
    for _ in range(side):
        body.append(compressor.compress(row))
    body.append(compressor.flush())
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0,
                                                                  0, 0, 0))
                + chunk(b"IDAT", b"".join(body)) + chunk(b"IEND", b""))


def test_a_decompression_bomb_is_skipped_like_an_unreadable_file(tmp_path):
    folder = tmp_path / "data" / "faces"
    write_images(str(folder), 8, size=(20, 20), ext="png")
    write_bomb(folder / "bomb.png")
    for module, argv in (("dcgan_tf.train", tiny_dcgan(tmp_path / "data", "faces",
                                                       tmp_path / "dcgan",
                                                       "--input_fname_pattern", "*.png")),
                         ("ogan_keras.train", ("--data", folder, "--img_dim", 32, "--z_dim", 8,
                                               "--batch_size", 4, "--epochs", 1,
                                               "--steps_per_epoch", 1,
                                               "--output-dir", tmp_path / "ogan"))):
        result = run(module, *argv)
        assert result.returncode == 0 and "Traceback" not in result.stderr, \
            result.stderr[-2000:]
        skipped = [line for line in result.stderr.splitlines()
                   if line.startswith("warning: skipped unreadable image")]
        assert len(skipped) == 1 and "bomb.png" in skipped[0] and "pixels" in skipped[0], \
            skipped


def test_mnist_labels_outside_the_classes_are_one_error_line(tmp_path):
    data = write_mnist_dir(str(tmp_path / "mnist"), 20, 10)
    labels = (np.arange(20) % 13).astype(np.uint8)  # 10, 11, 12 are no digit
    from conftest import write_idx
    write_idx(os.path.join(data, "train-labels-idx1-ubyte"), labels, 2049)
    result = run("acgan_mnist.train", *acgan_args(data, tmp_path / "run", 1))
    assert_user_error(result, "train-labels-idx1-ubyte: label 10 of image 10 is not a class")


def test_a_damaged_gz_file_is_one_error_line(tmp_path):
    data = write_mnist_dir(str(tmp_path / "mnist"), 20, 10, gz=True)
    path = os.path.join(data, "train-images-idx3-ubyte.gz")
    raw = bytearray(open(path, "rb").read())
    raw[len(raw) // 2] ^= 0xFF  # one flipped byte: a bad CRC, or a bad deflate stream
    open(path, "wb").write(bytes(raw))
    result = run("acgan_mnist.train", *acgan_args(data, tmp_path / "run", 1))
    assert_user_error(result, "cannot read " + path)
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((4, 28, 28), np.uint8))
    raw = open(tmp_path / "mnist.npz", "rb").read()
    open(tmp_path / "cut.npz", "wb").write(raw[:len(raw) // 2])
    result = run("acgan_mnist.train", *acgan_args(tmp_path / "cut.npz", tmp_path / "run2", 1))
    assert_user_error(result, "cannot read " + str(tmp_path / "cut.npz"))
