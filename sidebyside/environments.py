"""The originals' own environments: ``python -m sidebyside.environments [--dir DIR]``.

Builds, once, one virtual environment per framework the tutorial programs were written for,
outside the project's ``.venv``: under ``.originals/`` at the repository root, or
``$ORIGINALS_DIR``, or ``--dir DIR``. Standard library only: it runs under the system ``python3``.

Each environment gets a stamp file (``.stamp``) written only after its install succeeded; the
stamp records what was asked for, so a re-run with the same pins does nothing, and a half-built
environment (or one whose pins changed) is removed and rebuilt.

Other code imports :func:`environment_python` (the interpreter of a built environment, or None)
and :data:`ORIGINALS_SRC` (the unmodified original sources, when present).
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAMP = ".stamp"

# Every environment pins its whole tree (what a first resolve for CPython 3.7 gave in 2026-11),
# so later builds install the same files. TensorFlow 1.15 (CPU build, cp37 wheel) beside the Keras
# each program was written against.
_TF115 = [
    "tensorflow-cpu==1.15.0", "tensorflow-estimator==1.15.1", "tensorboard==1.15.0",
    "numpy==1.18.5", "h5py==2.10.0", "protobuf==3.20.3", "keras-applications==1.0.8",
    "keras-preprocessing==1.1.2", "gast==0.2.2", "absl-py==2.1.0", "astor==0.8.1",
    "google-pasta==0.2.0", "grpcio==1.62.3", "markdown==3.4.4", "markupsafe==2.1.5",
    "opt-einsum==3.3.0", "termcolor==2.3.0", "werkzeug==2.2.3", "wrapt==1.16.0",
    "importlib-metadata==6.7.0", "typing-extensions==4.7.1", "zipp==3.15.0", "six==1.17.0",
    "pyyaml==6.0.1",
    "scipy==1.1.0",  # scipy.misc.imread/imresize/imsave (carpedm20, O-GAN, the WGAN), via Pillow
    "pillow==9.5.0",
    "tqdm==4.68.2",  # the WGAN; carpedm20's download.py
]

ENVIRONMENTS = {
    # acgan/mnist_acgan.py, ogan/o_gan_celeba_sm_4x4.py, dcgan/*.py, pix2pix/pix2pix.py
    "keras224": {
        "python": "3.7",
        "requirements": _TF115 + ["keras==2.2.4", "imageio==2.31.2"],  # imageio: O-GAN
        "programs": "AC-GAN, O-GAN, carpedm20 DCGAN, pix2pix",
    },
    # anime/WGAN_keras/wgan_keras.py
    "keras212": {
        "python": "3.7",
        "requirements": _TF115 + ["keras==2.1.2"],
        "programs": "the Anime_GAN WGAN",
    },
    # anime/DCGAN/*.py, written for PyTorch 0.4: the oldest torch PyPI has for CPython 3.7 (1.0.1,
    # a CUDA 10 build that runs on the CPU) and the last pure-Python torchvision (0.2.2.post3,
    # yanked on PyPI only so that Python 3.11 does not pick it; `==` still installs it). That
    # torchvision imports PILLOW_VERSION, gone in Pillow 7, hence Pillow 6.2.2 and imageio 2.9.
    "torch": {
        "python": "3.7",
        "requirements": [
            "torch==1.0.1", "torchvision==0.2.2.post3", "pillow==6.2.2", "numpy==1.18.5",
            "scipy==1.1.0",  # scipy.misc.imread/imsave
            "imageio==2.9.0", "tqdm==4.68.2", "matplotlib==3.5.3", "cycler==0.11.0",
            "fonttools==4.38.0", "kiwisolver==1.4.5", "packaging==24.0", "pyparsing==3.1.4",
            "python-dateutil==3.0.0", "six==1.17.0", "typing-extensions==4.7.1",
            "importlib-metadata==6.7.0", "zipp==3.15.0", "tzdata==2026.6",
        ],
        "programs": "the Anime_GAN DCGAN (PyTorch)",
    },
}


class BuildError(Exception):
    """A problem that ends the command with one ``error:`` line and exit status 2."""


def _find_originals_src():
    env = os.environ.get("ORIGINALS_SRC")
    if env:
        return os.path.abspath(env) if os.path.isdir(env) else None
    path = os.path.normpath(os.path.join(REPO_ROOT, os.pardir, "shared", "originals-src"))
    return path if os.path.isdir(path) else None


#: The unmodified original sources (``$ORIGINALS_SRC``, else ``../shared/originals-src`` beside
#: the repository), or None when neither exists.
ORIGINALS_SRC = _find_originals_src()


def originals_dir(directory=None):
    """Where the environments live: ``directory``, else ``$ORIGINALS_DIR``, else ``.originals/``."""
    return os.path.abspath(directory or os.environ.get("ORIGINALS_DIR")
                           or os.path.join(REPO_ROOT, ".originals"))


def _python_in(env_dir):
    return os.path.join(env_dir, "bin", "python")


def _stamp_record(name):
    spec = ENVIRONMENTS[name]
    return {"python": spec["python"], "requirements": spec["requirements"]}


def _read_stamp(env_dir):
    try:
        with open(os.path.join(env_dir, STAMP)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def environment_python(name, directory=None):
    """The python of environment ``name`` if it is built (stamp present and current), else None."""
    if name not in ENVIRONMENTS:
        raise KeyError(f"unknown environment {name!r} (known: {', '.join(ENVIRONMENTS)})")
    env_dir = os.path.join(originals_dir(directory), name)
    stamp = _read_stamp(env_dir)
    if not stamp or stamp.get("requirements") != ENVIRONMENTS[name]["requirements"]:
        return None
    python = _python_in(env_dir)
    return python if os.access(python, os.X_OK) else None


_PROBE = "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.executable)"


def _probe(candidate, version):
    """The real executable of ``candidate`` if it runs and is CPython ``version``, else None.

    A pyenv shim on PATH exists but fails unless its version is selected: running it is the test.
    """
    try:
        out = subprocess.run(
            [candidate, "-c", _PROBE],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=60, text=True, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.stdout.split()
    if out.returncode != 0 or len(lines) < 2 or lines[0] != version:
        return None
    return lines[1]


def find_python(version):
    """The interpreter for ``version`` ("3.7"): $PYTHON37, else pythonX.Y on PATH, else pyenv's.

    An explicit $PYTHON37 (for 3.7; $PYTHON311 for 3.11...) is authoritative: if it does not
    work, that is an error rather than a reason to look elsewhere.
    """
    var = "PYTHON" + version.replace(".", "")
    explicit = os.environ.get(var)
    if explicit:
        found = _probe(explicit, version)
        if not found:
            raise BuildError(f"{var}={explicit} is not a working Python {version}; point it at "
                             f"one (e.g. ~/.pyenv/versions/{version}.x/bin/python{version}) or "
                             "unset it")
        return found
    candidates = []
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version:
        candidates.append(sys.executable)
    on_path = shutil.which("python" + version)
    if on_path:
        candidates.append(on_path)
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates += sorted(glob.glob(os.path.join(pyenv_root, "versions", version + ".*", "bin",
                                                "python" + version)), reverse=True)
    for candidate in candidates:
        found = _probe(candidate, version)
        if found:
            return found
    raise BuildError(f"no Python {version} found for the originals' environments: install one "
                     f"with `pyenv install {version}.16` (or your system's python{version} "
                     f"package), or set {var}=/path/to/python{version}")


def _size_mb(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total / 2**20


def build(name, directory=None, out=None):
    """Build environment ``name`` unless its stamp says it is built; returns its python."""
    out = out or sys.stdout
    spec = ENVIRONMENTS[name]
    env_dir = os.path.join(originals_dir(directory), name)
    python = environment_python(name, directory)
    if python:
        print(f"{name}: ready ({env_dir})", file=out)
        return python
    base = find_python(spec["python"])
    if os.path.exists(env_dir):
        shutil.rmtree(env_dir)  # half-built, or built from other pins
    os.makedirs(os.path.dirname(env_dir), exist_ok=True)
    print(f"{name}: building for {spec['programs']} with {base} in {env_dir} ...", file=out)
    out.flush()
    start = time.time()
    steps = [
        [base, "-m", "venv", env_dir],
        [_python_in(env_dir), "-m", "pip", "install", "-qq", "--disable-pip-version-check",
         "--progress-bar", "off", "--no-input"] + spec["requirements"],
    ]
    for cmd in steps:
        try:
            rc = subprocess.call(cmd)
        except OSError as e:
            rc = e
        if rc != 0:
            raise BuildError(f"environment {name}: `{' '.join(cmd[:4])} ...` failed ({rc}); "
                             f"{env_dir} is left incomplete and will be rebuilt next time")
    with open(os.path.join(env_dir, STAMP), "w") as f:
        json.dump(_stamp_record(name), f, indent=1)
    print(f"{name}: built in {time.time() - start:.0f} s ({_size_mb(env_dir):.0f} MB)", file=out)
    return _python_in(env_dir)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m sidebyside.environments",
        description="Build the original programs' own environments (once) under .originals/.")
    parser.add_argument("--dir", help="where to build them (default: $ORIGINALS_DIR, else "
                                      ".originals/ at the repository root)")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"which environments (default: all of {', '.join(ENVIRONMENTS)})")
    args = parser.parse_args(argv)
    for name in args.names:
        if name not in ENVIRONMENTS:
            parser.error(f"unknown environment {name!r} (choose from {', '.join(ENVIRONMENTS)})")
    try:
        for name in args.names or list(ENVIRONMENTS):
            build(name, args.dir)
    except BuildError as e:
        sys.stdout.flush()
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; the environment being built will be rebuilt next time",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
