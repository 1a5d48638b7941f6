"""Download a dataset of common.datasets' table: `python -m common.download NAME [--data-dir
DIR] [--archive FILE]` (the `make data-NAME` targets).

Each source is tried in turn; a file is kept only when its SHA-256 matches the table, and an
archive is unpacked into a hidden temporary folder that is renamed into place only when it holds
a complete copy, so a killed download or unpack never leaves a folder a train command would take
for data. When every source fails: one `error:` line per source, then what to do by hand, exit 2.
"""
import contextlib
import glob
import hashlib
import os
import shutil
import socket
import sys
import tarfile
import tempfile
import urllib.request
import zipfile

from common.datasets import DATASETS, Dataset
from common.errors import UserError, describe

DOWNLOADS = ".downloads"  # under the data directory: archives while they are checked


class SourceFailed(Exception):
    """One source did not give the file (its message says what it answered)."""


def _what_is(path):
    """A short description of a file that is not what was asked for."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(1024).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return f"an HTML page ({size} bytes), not the file"
    return f"{size} bytes"


@contextlib.contextmanager
def _progress_shown(shown):
    """Keras' progress bar (bytes, time left) on a terminal; elsewhere nothing from Keras, only
    this module's one line per source."""
    import keras
    was = keras.config.is_interactive_logging_enabled()
    (keras.config.enable_interactive_logging if shown
     else keras.config.disable_interactive_logging)()
    try:
        yield
    finally:
        (keras.config.enable_interactive_logging if was
         else keras.config.disable_interactive_logging)()


@contextlib.contextmanager
def _timeout(seconds):
    """urlretrieve has no timeout of its own: a source that stops answering fails after
    `seconds` without a byte instead of hanging the command."""
    was = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(was)


def _user_agent():
    # figshare answers urllib's default "Python-urllib/x.y" with 403 at times.
    opener = urllib.request.build_opener()
    opener.addheaders = [("User-Agent", "gan-tutorials-keras3 (urllib)")]
    urllib.request.install_opener(opener)


def _get(remote, url, folder):
    """One source through keras.utils.get_file (transfer, progress bar, SHA-256; a cached file
    whose hash matches is not fetched again, one that does not is fetched anew). Returns the
    file's path; raises SourceFailed with what the source answered."""
    import keras
    try:
        path = keras.utils.get_file(remote.filename, url, file_hash=remote.sha256,
                                    hash_algorithm="sha256", cache_dir=folder,
                                    cache_subdir="", force_download=remote.sha256 is None)
    except ValueError:  # get_file's hash mismatch: the file stays where it was written
        path = os.path.join(folder, remote.filename)
        what = _what_is(path) if os.path.exists(path) else "nothing"
        _remove(path)
        raise SourceFailed(f"SHA-256 differs from the table's: got {what}") from None
    except Exception as error:  # get_file raises a bare Exception for HTTP and URL errors
        _remove(os.path.join(folder, remote.filename))
        raise SourceFailed(_answer(error, url)) from None
    if remote.size is not None and os.path.getsize(path) != remote.size:
        what = _what_is(path)
        _remove(path)
        raise SourceFailed(f"got {what}, expected {remote.size}")
    return path


def _answer(error, url):
    """get_file's "URL fetch failure on URL: CODE -- REASON" as "HTTP 404: Not Found", or the
    network's reason alone."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    text = text.replace(f"URL fetch failure on {url}: ", "")
    code, sep, reason = text.partition(" -- ")
    if not sep:
        return text
    return f"HTTP {code}: {reason}" if code.isdigit() else reason


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _remove(path):
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def fetch_file(remote, folder, check=None, show_progress=None):
    """`remote` into `folder` from the first source that gives it whole; `check(path)` may
    refuse a file (raising SourceFailed), as for an archive without a known hash. Returns the
    path; raises UserError with one `error:` line per source tried."""
    os.makedirs(folder, exist_ok=True)
    if show_progress is None:
        show_progress = sys.stdout.isatty()
    failures = []
    _user_agent()
    with _progress_shown(show_progress), _timeout(60):
        for url in remote.urls:
            print(f"{remote.filename}: from {url}", flush=True)
            try:
                path = _get(remote, url, folder)
                if check:
                    check(path)
            except SourceFailed as failure:
                _remove(os.path.join(folder, remote.filename))
                failures.append(f"{url}: {failure}")
                continue
            print(f"{remote.filename}: {os.path.getsize(path)} bytes"
                  + (", SHA-256 verified" if remote.sha256 else ""), flush=True)
            return path
    raise UserError("\nerror: ".join(failures + [f"no source gave {remote.filename}"]))


def _archive_check(dataset):
    """For an archive without a known hash: it must be a tar or zip whose files lie under the
    dataset's root folder."""
    def check(path):
        names = _members(path)
        if names is None:
            raise SourceFailed(f"got {_what_is(path)}, not a tar or zip archive")
        outside = [n for n in names if n.split("/")[0] != dataset.root]
        if not names or outside:
            raise SourceFailed(f"the archive has {outside[0] if outside else 'no files'} "
                               f"outside {dataset.root}/")
    return check


def _members(path):
    try:
        if tarfile.is_tarfile(path):
            with tarfile.open(path) as archive:
                return [m.name.lstrip("./") for m in archive.getmembers()]
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                return archive.namelist()
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError):
        return None
    return None


def _unpack(archive, parent, dataset, dest):
    """Unpack into a hidden folder beside `dest`, check it holds a complete copy, rename it into
    place. Returns the problems found ([] when installed)."""
    tmp = tempfile.mkdtemp(prefix=f".{dataset.name}.partial-", dir=parent)
    try:
        try:
            if tarfile.is_tarfile(archive):
                with tarfile.open(archive) as t:
                    t.extractall(tmp, filter="data")
            else:
                with zipfile.ZipFile(archive) as z:
                    z.extractall(tmp)
        except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as error:
            return [f"cannot unpack {archive} ({describe(error)})"]
        unpacked = os.path.join(tmp, dataset.root)
        problems = dataset.problems(unpacked)
        if not problems:
            os.rename(unpacked, dest)
        return problems
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _by_hand(dataset, dest):
    remote = dataset.files[0]
    return (f"get {remote.filename} by hand (from one of the URLs above, or a copy someone "
            f"has) and run `python -m common.download {dataset.name} --archive FILE`, or unpack "
            f"it yourself so that {dest} holds {_describe_contents(dataset)}")


def _describe_contents(dataset):
    return ", ".join(f"{count} x {pattern}" for pattern, count in dataset.contents)


def install(dataset: Dataset, data_dir="data", archive=None, show_progress=None):
    """Make `data_dir/dataset.folder` a complete copy of the dataset; returns its path. A folder
    that is already complete is left as it is; one that exists but is not is never touched
    (UserError)."""
    dest = os.path.join(data_dir, dataset.folder)
    if dataset.by_hand:
        raise UserError(f"{dataset.name}: " + dataset.by_hand.replace("DATA", data_dir))
    if dataset.root is None:
        if archive:
            raise UserError(f"--archive: {dataset.name} is plain files, not an archive; put "
                            f"them in {dest}")
        return _install_files(dataset, dest, show_progress)
    if os.path.isdir(dest):
        problems = dataset.problems(dest)
        if not problems:
            print(f"{dest} is complete ({_describe_contents(dataset)})")
            return dest
        raise UserError(f"{dest} exists but is not a complete copy of {dataset.name} "
                        f"({'; '.join(problems)}); move it aside and run again, or point the "
                        "program at it as it is")
    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    for stale in glob.glob(os.path.join(parent, f".{dataset.name}.partial-*")):
        shutil.rmtree(stale, ignore_errors=True)  # a killed unpack's leftovers
    remote = dataset.files[0]
    check = None if remote.sha256 else _archive_check(dataset)
    if archive:
        path = _given_archive(remote, archive, check)
    else:
        try:
            path = fetch_file(remote, os.path.join(data_dir, DOWNLOADS), check, show_progress)
        except UserError as error:
            raise UserError(f"{error}; {_by_hand(dataset, dest)}") from None
    problems = _unpack(path, parent, dataset, dest)
    if problems:
        raise UserError(f"{path} is not a complete {dataset.name} ({'; '.join(problems)}); "
                        f"nothing was installed")
    if not archive:
        _remove(path)
    print(f"{dest} is ready ({_describe_contents(dataset)})")
    return dest


def _given_archive(remote, archive, check):
    """--archive FILE: a copy the user has, held to the same hash or structure check."""
    if not os.path.isfile(archive):
        raise UserError(f"--archive {archive} does not exist")
    if remote.sha256 and sha256(archive) != remote.sha256:
        raise UserError(f"--archive {archive} ({_what_is(archive)}) is not {remote.filename}: "
                        f"its SHA-256 differs from {remote.sha256}")
    if check:
        try:
            check(archive)
        except SourceFailed as failure:
            raise UserError(f"--archive {archive}: {failure}") from None
    return archive


def _install_files(dataset, dest, show_progress):
    """Plain files: each one verified in a download folder, then moved into `dest` in one
    rename (a new folder appears whole; in an existing one, each file appears whole)."""
    missing = [r for r in dataset.files
               if not (os.path.isfile(os.path.join(dest, r.filename))
                       and sha256(os.path.join(dest, r.filename)) == r.sha256)]
    if not missing:
        print(f"{dest} is complete ({_describe_contents(dataset)})")
        return dest
    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    staging = os.path.join(parent, f".{dataset.name}{DOWNLOADS}")
    try:
        paths = [fetch_file(r, staging, show_progress=show_progress) for r in missing]
    except UserError as error:
        raise UserError(f"{error}; download the files by hand into {dest}: "
                        f"{', '.join(r.filename for r in dataset.files)}") from None
    if not os.path.isdir(dest):
        os.rename(staging, dest)
    else:
        for path in paths:
            os.replace(path, os.path.join(dest, os.path.basename(path)))
        shutil.rmtree(staging, ignore_errors=True)
    print(f"{dest} is ready ({_describe_contents(dataset)})")
    return dest


def _parser():
    from common.cli import tool_parser
    parser = tool_parser("python -m common.download", __doc__ + "\ndatasets:\n" + "\n".join(
        f"  {d.name:10s} -> {os.path.join('DATA', d.folder)} (for {d.used_by})"
        for d in DATASETS.values()))
    parser.add_argument("name", choices=sorted(DATASETS), metavar="NAME",
                        help="one of: " + ", ".join(DATASETS))
    parser.add_argument("--data-dir", default="data", help="where the datasets' folders go")
    parser.add_argument("--archive", help="install from this copy of the dataset's archive "
                        "(checked as a download is) instead of downloading")
    return parser


def main(argv=None):
    from common.cli import exits_cleanly

    @exits_cleanly
    def run(argv):
        args = _parser().parse_args(argv)
        install(DATASETS[args.name], args.data_dir, args.archive)
    run(argv)


if __name__ == "__main__":
    main()
