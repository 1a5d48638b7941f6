import os
import tarfile

import pytest

from common import download


def test_fetch_unpacks_an_archive_from_a_url(tmp_path):
    source = tmp_path / "src" / "lfw" / "person"
    os.makedirs(source)
    (source / "a.jpg").write_bytes(b"jpeg")
    archive = tmp_path / "lfw.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "lfw", arcname="lfw")
    dest = tmp_path / "data" / "lfw"
    download.main([archive.as_uri(), str(dest)])
    assert (dest / "person" / "a.jpg").read_bytes() == b"jpeg"


def test_failed_fetch_is_one_line_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        download.main([(tmp_path / "missing.tgz").as_uri(), str(tmp_path / "data" / "x")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot fetch")
