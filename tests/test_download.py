"""common.download over loopback: an HTTP server inside the test on 127.0.0.1 serves a small
archive the test makes, good or broken; no test reaches any other host."""
import dataclasses
import hashlib
import http.server
import io
import os
import re
import tarfile
import threading

import pytest

from common import datasets, download
from common.datasets import Remote
from common.errors import UserError

PEOPLE = {"Ann_Lee": 2, "Bo_Chan": 1}  # a tiny LFW: lfw/<person>/<person>_000N.jpg


def make_archive(people, root="lfw"):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for person, count in people.items():
            for i in range(1, count + 1):
                data = f"{person} {i}".encode()
                info = tarfile.TarInfo(f"{root}/{person}/{person}_{i:04d}.jpg")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


GOOD = make_archive(PEOPLE)
OTHER = make_archive({"Cy_Dee": 3})  # a valid archive, but not the one the table names
HTML = b"<!DOCTYPE html><html><body>Please log in to continue</body></html>"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        name = self.path.strip("/")
        if name == "flaky":  # the first transfer is cut off, later ones complete
            name = "truncated" if self.server.requests.count("/flaky") == 1 else "good.tgz"
        if name == "truncated":
            self.send_response(200)
            self.send_header("Content-Length", str(len(GOOD)))
            self.end_headers()
            self.wfile.write(GOOD[:len(GOOD) // 2])
            return  # HTTP/1.0: the connection closes, short of Content-Length
        body = {"good.tgz": GOOD, "other.tgz": OTHER, "login": HTML}.get(name)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


def tiny_lfw(base, *paths, sha256=hashlib.sha256(GOOD).hexdigest(), size=len(GOOD)):
    """The table's LFW entry with the test server's URLs and the tiny archive's hash."""
    return dataclasses.replace(
        datasets.LFW, contents=(("*/*.jpg", 3), ("*/", 2)),
        files=(Remote("lfw.tgz", tuple(base + p for p in paths), sha256=sha256, size=size),))


def leftovers(data):
    """Everything under data/ besides an empty .downloads folder."""
    found = []
    for folder, dirs, files in os.walk(data):
        found += [os.path.relpath(os.path.join(folder, f), data) for f in files]
        found += [os.path.relpath(os.path.join(folder, d), data) for d in dirs
                  if d != download.DOWNLOADS]
    return sorted(found)


def test_a_good_archive_arrives_and_unpacks(server, tmp_path, capsys):
    httpd, base = server
    dest = download.install(tiny_lfw(base, "good.tgz"), str(tmp_path / "data"))
    assert dest == str(tmp_path / "data" / "lfw")
    assert (tmp_path / "data/lfw/Ann_Lee/Ann_Lee_0002.jpg").read_bytes() == b"Ann_Lee 2"
    assert leftovers(tmp_path / "data") == sorted(
        ["lfw", "lfw/Ann_Lee", "lfw/Bo_Chan", "lfw/Ann_Lee/Ann_Lee_0001.jpg",
         "lfw/Ann_Lee/Ann_Lee_0002.jpg", "lfw/Bo_Chan/Bo_Chan_0001.jpg"])  # archive removed
    out = capsys.readouterr().out
    # not a terminal: one line per source tried, a verdict line, no progress bar
    assert out.splitlines() == [f"lfw.tgz: from {base}good.tgz",
                                f"lfw.tgz: {len(GOOD)} bytes, SHA-256 verified",
                                f"{dest} is ready (3 x */*.jpg, 2 x */)"]
    # a second run finds it complete and fetches nothing
    download.install(tiny_lfw(base, "good.tgz"), str(tmp_path / "data"))
    assert httpd.requests == ["/good.tgz"]


def test_a_404_moves_on_to_the_next_source(server, tmp_path):
    httpd, base = server
    download.install(tiny_lfw(base, "gone.tgz", "good.tgz"), str(tmp_path / "data"))
    assert httpd.requests == ["/gone.tgz", "/good.tgz"]
    assert (tmp_path / "data/lfw/Bo_Chan/Bo_Chan_0001.jpg").exists()


@pytest.mark.parametrize("path, answer", [
    ("other.tgz", r"SHA-256 differs from the table's: got \d+ bytes"),
    ("login", r"SHA-256 differs from the table's: got an HTML page \(66 bytes\), not the file"),
    ("truncated", r"retrieval incomplete: got only \d+ out of \d+ bytes"),
    ("gone.tgz", r"HTTP 404: Not Found"),
])
def test_a_bad_source_ends_with_an_error_per_source_and_no_folder(server, tmp_path, path,
                                                                 answer):
    httpd, base = server
    with pytest.raises(UserError) as error:
        download.install(tiny_lfw(base, path), str(tmp_path / "data"))
    lines = f"error: {error.value}".splitlines()
    assert re.fullmatch(rf"error: {re.escape(base + path)}: {answer}", lines[0]), lines[0]
    assert lines[-1].startswith("error: no source gave lfw.tgz; get lfw.tgz by hand")
    assert "--archive FILE" in lines[-1] and str(tmp_path / "data" / "lfw") in lines[-1]
    assert leftovers(tmp_path / "data") == []  # nothing unpacked, the bad file deleted


def test_an_interrupted_transfer_leaves_nothing_and_the_next_run_completes(server, tmp_path):
    httpd, base = server
    dataset = tiny_lfw(base, "flaky")
    with pytest.raises(UserError, match="retrieval incomplete"):
        download.install(dataset, str(tmp_path / "data"))
    assert leftovers(tmp_path / "data") == []
    download.install(dataset, str(tmp_path / "data"))
    assert (tmp_path / "data/lfw/Ann_Lee/Ann_Lee_0001.jpg").exists()


def test_a_killed_runs_leftovers_are_never_data(server, tmp_path):
    """A transfer killed midway leaves a partial archive, an unpack killed midway a hidden
    .lfw.partial-* folder: neither is data/lfw, and the next run replaces both."""
    httpd, base = server
    data = tmp_path / "data"
    (data / download.DOWNLOADS).mkdir(parents=True)
    (data / download.DOWNLOADS / "lfw.tgz").write_bytes(GOOD[:100])
    (data / ".lfw.partial-x1" / "lfw" / "Ann_Lee").mkdir(parents=True)
    download.install(tiny_lfw(base, "good.tgz"), str(data))
    assert httpd.requests == ["/good.tgz"]  # the partial archive failed its hash: fetched anew
    assert sorted(os.listdir(data)) == [download.DOWNLOADS, "lfw"]
    assert os.listdir(data / download.DOWNLOADS) == []


def test_an_incomplete_folder_is_never_touched(server, tmp_path):
    httpd, base = server
    (tmp_path / "data/lfw/Ann_Lee").mkdir(parents=True)
    (tmp_path / "data/lfw/Ann_Lee/mine.jpg").write_bytes(b"mine")
    with pytest.raises(UserError, match=r"exists but is not a complete copy of lfw \(1 of 3 "
                                        r"files matching \*/\*.jpg; 1 of 2"):
        download.install(tiny_lfw(base, "good.tgz"), str(tmp_path / "data"))
    assert httpd.requests == []
    assert (tmp_path / "data/lfw/Ann_Lee/mine.jpg").read_bytes() == b"mine"


def test_an_archive_the_user_has(tmp_path):
    archive, wrong = tmp_path / "lfw.tgz", tmp_path / "other.tgz"
    archive.write_bytes(GOOD)
    wrong.write_bytes(OTHER)
    dataset = tiny_lfw("http://127.0.0.1:9/", "never-asked")
    with pytest.raises(UserError, match=rf"--archive {wrong} \(\d+ bytes\) is not lfw.tgz"):
        download.install(dataset, str(tmp_path / "data"), archive=str(wrong))
    assert not (tmp_path / "data" / "lfw").exists()
    download.install(dataset, str(tmp_path / "data"), archive=str(archive))
    assert (tmp_path / "data/lfw/Ann_Lee/Ann_Lee_0001.jpg").exists()
    assert archive.exists()  # the user's copy is left where it was


def test_an_unhashed_archive_must_be_a_tar_of_its_folder(server, tmp_path):
    """facades has no public SHA-256: an HTML page or an archive of another folder is refused
    before unpacking; the next source is tried."""
    httpd, base = server
    facades = dataclasses.replace(
        datasets.LFW, root="lfw", files=(Remote("lfw.tgz", (base + "login", base + "good.tgz"),
                                                provenance="none"),),
        contents=(("*/*.jpg", 3),))
    download.install(facades, str(tmp_path / "data"))
    assert httpd.requests == ["/login", "/good.tgz"]
    other_root = dataclasses.replace(facades, root="facades",
                                     files=(Remote("f.tgz", (base + "good.tgz",)),))
    with pytest.raises(UserError, match=r"good.tgz: the archive has lfw.* outside facades/"):
        download.install(other_root, str(tmp_path / "data2"))
    assert leftovers(tmp_path / "data2") == []


def test_plain_files_arrive_whole_in_their_folder(server, tmp_path):
    """MNIST's four .gz files: each verified; the folder appears only when all are there."""
    httpd, base = server
    good = hashlib.sha256(GOOD).hexdigest()
    files = (Remote("a.gz", (base + "gone", base + "good.tgz"), sha256=good),
             Remote("b.gz", (base + "other.tgz",), sha256=good))
    dataset = dataclasses.replace(datasets.MNIST, files=files,
                                  contents=(("a.gz", 1), ("b.gz", 1)))
    with pytest.raises(UserError, match=r"other.tgz: SHA-256 differs.*\nerror: no source gave "
                                        r"b.gz; download the files by hand into"):
        download.install(dataset, str(tmp_path / "data"))
    assert not (tmp_path / "data" / "mnist").exists()
    fixed = dataclasses.replace(dataset, files=(files[0], dataclasses.replace(
        files[1], urls=(base + "good.tgz",))))
    download.install(fixed, str(tmp_path / "data"))
    assert sorted(os.listdir(tmp_path / "data" / "mnist")) == ["a.gz", "b.gz"]
    assert (tmp_path / "data/mnist/b.gz").read_bytes() == GOOD


def test_the_command_line_exits_2_with_an_error_line_per_source(server, tmp_path, capsys,
                                                                monkeypatch):
    httpd, base = server
    monkeypatch.setitem(download.DATASETS, "lfw", tiny_lfw(base, "gone.tgz", "login"))
    with pytest.raises(SystemExit) as exit_info:
        download.main(["lfw", "--data-dir", str(tmp_path / "data")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert [line.split(": ")[1] for line in err[:2]] == [base + "gone.tgz", base + "login"]
    assert all(line.startswith("error: ") for line in err) and len(err) == 3
    assert "get lfw.tgz by hand" in err[-1]


def test_a_dataset_nobody_mirrors_says_where_to_put_it(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        download.main(["celebA", "--data-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: celebA: {datasets.CELEBA.by_hand.replace('DATA', str(tmp_path))}"]


def test_the_table():
    """Every hashed file has a 64-digit SHA-256 and says where it came from; LFW tries
    figshare's two URL forms before the UMass host that no longer resolves."""
    remotes = [r for d in datasets.DATASETS.values() for r in d.files]
    remotes += [r for s in datasets.ORIGINAL_SOURCES.values() for _, r in s.files.values()]
    for remote in remotes:
        assert remote.provenance and remote.urls
        assert remote.sha256 is None or re.fullmatch("[0-9a-f]{64}", remote.sha256)
    assert [r.filename for r in remotes if r.sha256 is None] == ["facades.tar.gz"]
    assert [u.split("/")[2] for u in datasets.LFW.files[0].urls] == [
        "ndownloader.figshare.com", "figshare.com", "vis-www.cs.umass.edu"]


def test_the_originals_sources_match_the_shared_copies():
    """The table's SHA-256 and size of each original file are those of ../shared's copies."""
    from sidebyside.environments import ORIGINALS_SRC
    if not ORIGINALS_SRC:
        pytest.skip("../shared/originals-src is not here")
    for source in datasets.ORIGINAL_SOURCES.values():
        for name, remote in source.files.values():
            data = open(os.path.join(ORIGINALS_SRC, source.folder, name), "rb").read()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (remote.size, remote.sha256)
