"""Fetch and unpack a public dataset archive for the `make data-<name>` targets.

`python -m common.download URL DEST`: downloads URL, unpacks .tgz/.tar.gz/.zip into DEST's
parent, and exits 2 with one line saying what to do when it cannot (offline, 404).
Never run by the tests or by `python -m <pkg>.train`.
"""
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
import zipfile


def fetch(url, dest):
    """Download `url` and unpack it so that `dest` exists; returns dest."""
    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent) as tmp:
        archive = os.path.join(tmp, os.path.basename(url.split("?")[0]))
        print(f"downloading {url} ...", flush=True)
        with urllib.request.urlopen(url, timeout=60) as response, open(archive, "wb") as out:
            shutil.copyfileobj(response, out)
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                z.extractall(parent)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as t:
                t.extractall(parent, filter="data")
        else:
            shutil.move(archive, dest)
    if not os.path.exists(dest):
        raise OSError(f"the archive did not contain {os.path.basename(dest)}")
    return dest


def main(argv=None):
    url, dest = (argv or sys.argv[1:])[:2]
    try:
        fetch(url, dest)
    except (OSError, ValueError, tarfile.TarError, zipfile.BadZipFile) as error:
        print(f"error: cannot fetch {url} ({error}); download it by hand and unpack it so that "
              f"{dest} exists, or point the program's data flag at your own copy",
              file=sys.stderr)
        raise SystemExit(2) from None
    print(f"{dest} is ready")


if __name__ == "__main__":
    main()
