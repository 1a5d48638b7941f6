"""The run directory, one owner: the lock, options.json, the resume rules (--fresh, a changed
network refused) and a saved run found by --checkpoint, with one error path.

Replaces what the originals kept beside their checkpoints: carpedm20's checkpoint_dir naming,
pix2pix's options.json. The checkpoints themselves are common.checkpoint's.
"""
import argparse
import datetime
import errno
import fcntl
import json
import os
import shutil
import socket
import sys
import atexit

from common import checkpoint, cli
from common.errors import UserError, describe

OPTIONS_FILE = "options.json"
# 1: the program (its package) named as "program" (2026-12-05); files without it are older.
OPTIONS_FORMAT = 1
RUN_OUTPUTS = ("checkpoints", "samples", "history.csv", "losses.png", "options.json",
               "evolution.gif")


# ---- the output directory ----

def claim_output_dir(path):
    """Create the output directory and take its lock (OutputLock): one clear error when it
    cannot be written or another run is using it."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise UserError(f"--output-dir {path} is a file, not a folder; pass a folder")
    try:
        os.makedirs(path, exist_ok=True)
        OutputLock.claim(path)
    except OSError as error:
        raise UserError(f"cannot write to --output-dir {path}: {describe(error)}") from error


def worker_output_dir(args):
    """Under --strategy multiworker the chief (TF_CONFIG's chief, else worker 0) writes into
    --output-dir and every other worker into OUTPUT_DIR/{type}-{index}: each keeps its own
    complete run (the same weights, checkpoints and grids), and no two write one file."""
    if args.strategy != "multiworker":
        return args.output_dir
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = config.get("task", {})
    chief = ("chief", 0) if "chief" in config.get("cluster", {}) else ("worker", 0)
    if not task or (task.get("type"), task.get("index", 0)) == chief:
        return args.output_dir
    return os.path.join(args.output_dir, f"{task['type']}-{task.get('index', 0)}")


def prepare_output_dir(args, network_options, checkpoints="checkpoints"):
    """Claim --output-dir (a worker's own folder under multiworker), honour --fresh, refuse
    to resume a run whose networks differ, then write options.json. `network_options` names
    the flags that change the networks; `checkpoints` is the checkpoint folder's name.
    Returns the run's options: a copy of `args` whose output_dir is the folder claimed."""
    out = worker_output_dir(args)
    args = cli.replaced(args, output_dir=out)
    claim_output_dir(out)
    if args.fresh:
        for name in [checkpoints, *RUN_OUTPUTS]:
            _remove(os.path.join(out, name))
    else:
        saved = read_options_file(out)
        if saved is not None and checkpoint.has_checkpoint(os.path.join(out, checkpoints)):
            refuse_other_networks(out, saved, args, network_options)
    write_options(out, args)
    return args


def refuse_other_networks(out, saved, args, network_options):
    changed = [k for k in network_options if k in saved and saved[k] != getattr(args, k)]
    if changed:
        diffs = ", ".join(f"{k}: saved {saved[k]!r}, now {getattr(args, k)!r}" for k in changed)
        raise UserError(f"{out} holds a run with different networks ({diffs}); use the same "
                        "flags to resume, another --output-dir, or --fresh to start over")


def _remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


# ---- options.json ----

def write_options(output_dir, args):
    """options.json: every option of the run (a program's options, or a dict), its program
    among them, and the file's format (OPTIONS_FORMAT)."""
    path = os.path.join(output_dir, OPTIONS_FILE)
    values = args.as_dict() if hasattr(args, "as_dict") else dict(args)
    values = {**values, "options_format": OPTIONS_FORMAT}
    try:
        checkpoint.write_atomically(path, json.dumps(values, sort_keys=True, indent=4))
    except OSError as error:
        raise UserError(f"cannot write {path}: {describe(error)}") from error


def read_options_file(output_dir):
    """options.json of `output_dir` as a dict, or None when there is none."""
    path = os.path.join(output_dir, OPTIONS_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            values = json.load(f)
        if not isinstance(values, dict):
            raise ValueError("not a JSON object")
        return values
    except (OSError, ValueError) as error:
        raise UserError(f"cannot read {path} ({describe(error)}); it is not a run's "
                        "options file") from error


class SavedRun:
    """A saved run: its folder, its options (the program's options when find_run was given
    its defaults, else options.json's dict as a Namespace) and its checkpoint folder."""

    def __init__(self, output_dir, options, checkpoint_dir):
        self.output_dir, self.options, self.checkpoint_dir = output_dir, options, checkpoint_dir

    def load(self, network, name):
        """Load `name` of the run's newest intact checkpoint into `network`."""
        folder = checkpoint.newest_checkpoint(self.checkpoint_dir)
        if folder is None:
            raise UserError(f"{self.output_dir} has no checkpoint yet "
                            f"({self.checkpoint_dir}/{checkpoint.STATE_FILE})")
        checkpoint.load_network(network, os.path.join(folder, f"{name}.weights.h5"), name,
                     "this run's options.json")


def find_run(path, program=None, defaults=None, checkpoints_name="checkpoints"):
    """The SavedRun of --checkpoint `path`: a run's --output-dir, or its checkpoint folder. With
    `program` (a package), a run that names another program (options.json's "program") is one
    error line, not weights that fail to fit. `defaults` (the program's options) fill what an
    older run's options.json lacks, and the run's options are then of their class; a run from
    before the program was named that is another program's then fails where its weights do
    not fit, one line too."""
    if not os.path.isdir(path):
        raise UserError(f"--checkpoint {path} does not exist")
    for output_dir in (path, os.path.dirname(os.path.abspath(path))):
        options = read_options_file(output_dir)
        if options is not None:
            break
    else:
        raise UserError(f"--checkpoint {path} is not a training run (no options.json in it or "
                        "beside it); pass a run's --output-dir")
    options = (defaults.with_saved(options) if defaults is not None
               else argparse.Namespace(**options))
    saved_program = getattr(options, "program", None)
    if program and saved_program and saved_program != program:
        raise UserError(f"--checkpoint {path} is a run of {saved_program}, not of {program}")
    name = getattr(options, "checkpoint_dir", None) or checkpoints_name
    checkpoint_dir = os.path.join(output_dir, name)
    if not checkpoint.step_folders(checkpoint_dir):
        raise UserError(f"{output_dir} has no checkpoint yet "
                        f"({checkpoint_dir}/{checkpoint.STATE_FILE})")
    return SavedRun(output_dir, options, checkpoint_dir)


# ---- the lock ----

class OutputLock:
    """One run per output directory: an exclusive flock on OUTPUT_DIR/.lock, held until the
    process exits (the kernel drops it even after SIGKILL). The file names the holder's
    PID, host and start time for the message a second run prints."""

    _held = {}

    def __init__(self, directory):
        self.directory = directory
        self.path = os.path.join(directory, ".lock")
        self.fd = None

    @classmethod
    def claim(cls, directory):
        """Take (or, within this process, reuse) the lock of `directory`."""
        key = os.path.realpath(directory)
        if key not in cls._held:
            lock = cls(directory)
            lock.acquire()
            cls._held[key] = lock
        return cls._held[key]

    def acquire(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        previous = self._holder()
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held_elsewhere = False
        except OSError as error:
            held_elsewhere = error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)
            # A file system without flock: fall back to the PID the file names.
            held_elsewhere = held_elsewhere or bool(previous and _alive_elsewhere(previous))
        if held_elsewhere:
            os.close(self.fd)
            raise UserError(f"{self.directory} is in use by another run "
                            f"({describe_holder(previous)}); wait for it to finish, or use "
                            "another --output-dir")
        if previous:
            print(f"warning: taking over {self.path} from a run that is no longer running "
                  f"({describe_holder(previous)})", file=sys.stderr)
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": datetime.datetime.now().isoformat(timespec="seconds")}
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, json.dumps(me).encode(), 0)
        atexit.register(self.release)

    def _holder(self):
        try:
            with open(self.path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def release(self):
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.close(self.fd)
            self.fd = None


def describe_holder(holder):
    if not holder:
        return "holder unknown"
    return f"PID {holder.get('pid')} on {holder.get('host')}, since {holder.get('started')}"


def _alive_elsewhere(holder):
    """The recorded holder is another live process on this host."""
    if holder.get("host") != socket.gethostname() or holder.get("pid") == os.getpid():
        return False
    try:
        os.kill(int(holder["pid"]), 0)
    except (ProcessLookupError, ValueError, TypeError, KeyError):
        return False
    except PermissionError:
        return True
    return True
