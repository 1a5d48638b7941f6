"""Where the originals' files come from: `--original PATH`, else ../shared/originals-src/, else
GitHub at the pinned commit, each file checked against the SHA-256 recorded here.

The project never contains the originals' code: it copies their files, unmodified, into a
run's working folder and executes them there.
"""
import hashlib
import os
import shutil
import urllib.error
import urllib.request

from common.errors import UserError
from sidebyside.environments import ORIGINALS_SRC


class Source:
    """One original: its repository, commit, files (repository path -> local name under its
    folder of originals-src) with their SHA-256."""

    def __init__(self, folder, repository, commit, files):
        self.folder, self.repository, self.commit, self.files = folder, repository, commit, files

    def url(self, path):
        return f"https://github.com/{self.repository}/raw/{self.commit}/{path}"

    def describe(self):
        return f"{self.repository}@{self.commit}"


SOURCES = {
    "acgan": Source("acgan", "keras-team/keras", "14625e57af", {
        "examples/mnist_acgan.py": (
            "mnist_acgan.py",
            "223c334975827d272d9eba1144806b0909c382a8872008fab505f25a6d2f73e7")}),
    "ogan": Source("ogan", "bojone/o-gan", "c7b3d08", {
        "o_gan_celeba_sm_4x4.py": (
            "o_gan_celeba_sm_4x4.py",
            "af81919dae65a3f682f671966da13f442d129da89286a1116b3eedf2844dc668")}),
    "dcgan": Source("dcgan", "carpedm20/DCGAN-tensorflow", "351a654", {
        "main.py": ("main.py",
                    "054fa83b440730cc22322a233d2e39e532a0c97eadab75c1d4c633f1d2c3a0d7"),
        "model.py": ("model.py",
                     "3692dd7bff5744076bb22212c36acb3369190c0f32da116f989a0ea2cf807ce8"),
        "ops.py": ("ops.py",
                   "913f6eea08ef6f47ca8ed46683c7317bcc014bfe479134989ae26343ab75f4ae"),
        "utils.py": ("utils.py",
                     "035d0259e97a72ea1059be39775ad31539dea8b8706dd1a2055050dd06ce4a17")}),
    "anime": Source("anime/DCGAN", "FangYang970206/Anime_GAN", "42c0315", {
        "DCGAN/main.py": (
            "main.py", "8b805b81bbb7fd8ce4a57e0a0edbaf914c149a7fc2d027baedf31073e3559c42"),
        "DCGAN/model.py": (
            "model.py", "b33dd7a2fa28470a35ac635567eff69102e9edfab39b026cd3059aa4341a49bf"),
        "DCGAN/AnimeDataset.py": (
            "AnimeDataset.py",
            "cd7a68e4e9facd3d3d5152e7f5d21c2def2e2c8a1f93958651d343631f5c051d"),
        "DCGAN/utils.py": (
            "utils.py", "932960b5fb6162eded9a8ed48bd51e451c69e610b4b4b3d8fffe9cad4229bcbb")}),
    "wgan": Source("anime/WGAN_keras", "FangYang970206/Anime_GAN", "42c0315", {
        "WGAN_keras/wgan_keras.py": (
            "wgan_keras.py",
            "3ae6587bf8817ec1aa60f48b306fd32a3141e9c73077c58d2c0d4c9e4ff04cc9")}),
    "pix2pix": Source("pix2pix", "affinelayer/pix2pix-tensorflow", "0f21744", {
        "pix2pix.py": ("pix2pix.py",
                       "a70a4b617df7bf9b94332c692ac7d1d04b350f0494dda970a98c91f8608db39f")}),
}


def copy_writable(source, destination):
    """Copy a file; the copy is writable even where the source is not (../shared is read-only),
    since the originals write beside themselves (samples/, checkpoints)."""
    shutil.copy(source, destination)
    os.chmod(destination, 0o644)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def fetch_source(source, original, destination):
    """Copy the original's files into `destination`: from `original` (a folder, or the one
    file of a one-file program), else from ORIGINALS_SRC, else downloaded. Files from a user's
    --original are used as given (a warning names each that differs from the pinned one);
    downloaded ones must match their SHA-256."""
    os.makedirs(destination, exist_ok=True)
    if original:
        return _copy_user_files(source, original, destination)
    shared = os.path.join(ORIGINALS_SRC, source.folder) if ORIGINALS_SRC else None
    if shared and all(os.path.isfile(os.path.join(shared, name))
                      for name, _ in source.files.values()):
        for name, digest in source.files.values():
            copy_writable(os.path.join(shared, name), os.path.join(destination, name))
        return f"{shared} ({source.describe()})"
    for path, (name, digest) in source.files.items():
        _download(source.url(path), os.path.join(destination, name), digest)
    return f"{source.describe()} (downloaded)"


def _copy_user_files(source, original, destination):
    names = [name for name, _ in source.files.values()]
    if os.path.isfile(original):
        if len(names) != 1:
            raise UserError(f"--original {original}: this program needs the folder with "
                            f"{', '.join(names)}")
        pairs = [(original, names[0])]
    elif os.path.isdir(original):
        pairs = [(os.path.join(original, name), name) for name in names]
    else:
        raise UserError(f"--original {original} does not exist")
    for path, name in pairs:
        if not os.path.isfile(path):
            raise UserError(f"--original {original} has no {name}")
        digest = dict(source.files.values())[name]
        if sha256(path) != digest:
            print(f"warning: {path} differs from {source.describe()}'s {name}; running it as "
                  "given")
        copy_writable(path, os.path.join(destination, name))
    return original


def _download(url, path, digest):
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read()
    except (urllib.error.URLError, OSError) as error:
        raise UserError(f"cannot download {url} ({error}); pass --original PATH to the "
                        "original's files") from error
    if hashlib.sha256(data).hexdigest() != digest:
        raise UserError(f"{url} does not have the SHA-256 recorded for it; refusing to run it")
    with open(path, "wb") as f:
        f.write(data)
