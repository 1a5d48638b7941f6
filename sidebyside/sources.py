"""Where the originals' files come from: `--original PATH`, else ../shared/originals-src/, else
GitHub at the pinned commit, each file checked against the SHA-256 in common.datasets' table.

The project never contains the originals' code: it copies their files, unmodified, into a
run's working folder and executes them there.
"""
import os
import shutil

from common.datasets import ORIGINAL_SOURCES
from common.download import fetch_file, sha256
from common.errors import UserError
from sidebyside.environments import ORIGINALS_SRC


# The originals' files, pinned commits and SHA-256: common.datasets' table.
SOURCES = ORIGINAL_SOURCES


def copy_writable(source, destination):
    """Copy a file; the copy is writable even where the source is not (../shared is read-only),
    since the originals write beside themselves (samples/, checkpoints)."""
    shutil.copy(source, destination)
    os.chmod(destination, 0o644)


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
        for name, _ in source.files.values():
            copy_writable(os.path.join(shared, name), os.path.join(destination, name))
        return f"{shared} ({source.describe()})"
    for name, remote in source.files.values():
        try:
            fetch_file(remote, destination)
        except UserError as error:
            raise UserError(f"{error}; pass --original PATH to the original's files") from None
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
        if sha256(path) != dict(source.files.values())[name].sha256:
            print(f"warning: {path} differs from {source.describe()}'s {name}; running it as "
                  "given")
        copy_writable(path, os.path.join(destination, name))
    return original
