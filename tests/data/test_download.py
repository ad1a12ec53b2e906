"""`--download` against a throw-away HTTP server on 127.0.0.1: checksums, safe extraction, idempotence."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from tnpipe.cli import app
from tnpipe.data.base import Resource
from tnpipe.data.cifar import Cifar10
from tnpipe.data.config import DataCfg
from tnpipe.data.download import download_resources, extract, fetch
from tnpipe.errors import ChecksumError, DataError

runner = CliRunner()


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _Handler(SimpleHTTPRequestHandler):
    hits: list[str]

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        self.hits.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    hits: list[str] = []
    handler = type("H", (_Handler,), {"hits": hits})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(www=www, url=f"http://127.0.0.1:{httpd.server_port}", hits=hits)
    httpd.shutdown()
    httpd.server_close()


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def cifar_archive(server, tmp_path):
    """A tiny cifar-10-python.tar.gz in the official layout (2 train + 1 test image per class)."""
    src = tmp_path / "src"
    Cifar10().write_synthetic(src, DataCfg("cifar10", synthetic_train_per_class=2, synthetic_test_per_class=1))
    archive = server.www / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    return archive


def test_download_verifies_extracts_prepares_and_fetches_once(roots, server, cifar_archive, monkeypatch):
    res = Resource(f"{server.url}/cifar-10-python.tar.gz", "cifar-10-python.tar.gz", md5=_md5(cifar_archive))
    monkeypatch.setattr(Cifar10, "resources", (res,))
    r = runner.invoke(app, ["prepare", "cifar10", "--download"])
    assert r.exit_code == 0, r.output
    raw = roots["raw"] / "cifar10"
    assert (raw / "cifar-10-python.tar.gz").read_bytes() == cifar_archive.read_bytes()
    assert (raw / ".cifar-10-python.tar.gz.extracted").is_file()
    assert sorted(p.name for p in (raw / "cifar-10-batches-py").iterdir()) == [
        "batches.meta", "data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]
    assert (roots["prepared"] / "cifar10" / "meta.json").is_file()
    assert server.hits == ["/cifar-10-python.tar.gz"]
    # a verified file present is not fetched again, and the marker skips extraction
    r = runner.invoke(app, ["prepare", "cifar10", "--download", "--force"])
    assert r.exit_code == 0, r.output
    assert server.hits == ["/cifar-10-python.tar.gz"]


def test_checksum_mismatch_deletes_download_and_prepares_nothing(roots, server, cifar_archive, monkeypatch):
    real = _md5(cifar_archive)
    res = Resource(f"{server.url}/cifar-10-python.tar.gz", "cifar-10-python.tar.gz", md5="0" * 32)
    monkeypatch.setattr(Cifar10, "resources", (res,))
    r = runner.invoke(app, ["prepare", "cifar10", "--download"])
    assert r.exit_code == 1
    msg = _one_line(r.stderr)
    assert (f"error: cifar-10-python.tar.gz: md5 of the download from {res.url} is {real}, "
            f"expected {'0' * 32}; the download was deleted") in msg
    raw = roots["raw"] / "cifar10"
    assert list(raw.iterdir()) == []                         # no archive, no .part file
    assert not (roots["prepared"] / "cifar10").exists()


def test_mismatch_leaves_an_existing_file_untouched(tmp_path, server):
    (server.www / "f.bin").write_bytes(b"new content")
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "f.bin").write_bytes(b"old content")
    res = Resource(f"{server.url}/f.bin", "f.bin", sha256=hashlib.sha256(b"expected").hexdigest(), extract=False)
    with pytest.raises(ChecksumError, match=r"^f\.bin: sha256 of the download .* the existing file is untouched$"):
        fetch(res, raw)
    assert (raw / "f.bin").read_bytes() == b"old content"
    assert sorted(p.name for p in raw.iterdir()) == ["f.bin"]


def test_sha256_resource_and_unreachable_server(tmp_path, server):
    (server.www / "f.bin").write_bytes(b"payload")
    res = Resource(f"{server.url}/f.bin", "f.bin", sha256=hashlib.sha256(b"payload").hexdigest(), extract=False)
    assert fetch(res, tmp_path / "raw").read_bytes() == b"payload"
    missing = Resource(f"{server.url}/nope.bin", "nope.bin", md5="0" * 32, extract=False)
    with pytest.raises(DataError, match=r"^nope\.bin: download from http://127\.0\.0\.1:\d+/nope\.bin failed \(HTTP Error 404"):
        fetch(missing, tmp_path / "raw")
    assert not (tmp_path / "raw" / "nope.bin").exists()


def _tar_with(path: Path, member: tarfile.TarInfo, data: bytes = b"x") -> None:
    with tarfile.open(path, "w:gz") as tf:
        ok = tarfile.TarInfo("good/file.txt")
        ok.size = 1
        tf.addfile(ok, io.BytesIO(b"g"))
        if member.isreg():
            member.size = len(data)
            tf.addfile(member, io.BytesIO(data))
        else:
            tf.addfile(member)


def _sym(name: str, target: str) -> tarfile.TarInfo:
    m = tarfile.TarInfo(name)
    m.type, m.linkname = tarfile.SYMTYPE, target
    return m


def _hard(name: str, target: str) -> tarfile.TarInfo:
    m = tarfile.TarInfo(name)
    m.type, m.linkname = tarfile.LNKTYPE, target
    return m


@pytest.mark.parametrize("member,reason", [
    (tarfile.TarInfo("../evil.txt"), "would be written outside"),
    (tarfile.TarInfo("good/../../evil.txt"), "would be written outside"),
    (tarfile.TarInfo("/tmp/evil.txt"), "has an absolute path"),
    (_sym("link", "/etc/passwd"), "links to the absolute path '/etc/passwd'"),
    (_sym("good/link", "../../outside"), "links to '../../outside', outside"),
    (_hard("hard", "../outside"), "hard-links to '../outside' would be written outside"),
])
def test_unsafe_tar_members_are_refused_before_anything_is_written(tmp_path, member, reason):
    archive = tmp_path / "bad.tar.gz"
    name = member.name
    _tar_with(archive, member)
    dest = tmp_path / "raw" / "ds"
    with pytest.raises(DataError) as e:
        extract(archive, dest)
    msg = str(e.value)
    assert msg.startswith(f"{archive}: member {name!r}"), msg
    assert reason in msg and msg.endswith("refused (nothing extracted)")
    assert not (dest / "good").exists()                   # refused before the good member too
    assert not (dest / f".{archive.name}.extracted").exists()
    assert not (tmp_path / "raw" / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()


def test_unsafe_zip_member_is_refused(tmp_path):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.txt", "fine")
        zf.writestr("../../evil.txt", "bad")
    dest = tmp_path / "raw" / "ds"
    with pytest.raises(DataError, match=r"member '\.\./\.\./evil\.txt' would be written outside .*refused \(nothing extracted\)$"):
        extract(archive, dest)
    assert not (dest / "ok.txt").exists() and not (tmp_path / "evil.txt").exists()


def test_path_traversal_archive_through_the_cli(roots, server, monkeypatch):
    archive = server.www / "cifar-10-python.tar.gz"
    _tar_with(archive, tarfile.TarInfo("../../escaped.txt"))
    monkeypatch.setattr(Cifar10, "resources", (Resource(f"{server.url}/cifar-10-python.tar.gz",
                                                        "cifar-10-python.tar.gz", md5=_md5(archive)),))
    r = runner.invoke(app, ["prepare", "cifar10", "--download"])
    assert r.exit_code == 1
    assert "member '../../escaped.txt' would be written outside" in _one_line(r.stderr)
    assert not (roots["raw"].parent / "escaped.txt").exists()
    assert not (roots["prepared"] / "cifar10").exists()


def test_github_archive_zip_is_stripped_of_its_wrapper_folder(tmp_path, server):
    archive = server.www / "v1.0.10.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("free-spoken-digit-dataset-1.0.10/", "")
        zf.writestr("free-spoken-digit-dataset-1.0.10/recordings/0_george_0.wav", b"RIFF....")
        zf.writestr("free-spoken-digit-dataset-1.0.10/README.md", "fsdd")
    src = SimpleNamespace(name="fsdd", resources=(
        Resource(f"{server.url}/v1.0.10.zip", "fsdd-v1.0.10.zip", md5=_md5(archive), strip_components=1),))
    raw = tmp_path / "raw" / "fsdd"
    assert download_resources(src, raw) == [raw / "fsdd-v1.0.10.zip"]
    assert (raw / "recordings" / "0_george_0.wav").read_bytes() == b"RIFF...."
    assert (raw / "README.md").read_text() == "fsdd"
    assert not (raw / "free-spoken-digit-dataset-1.0.10").exists()
    # extracted and then the archive deleted to save space: counts as done, not fetched again
    (raw / "fsdd-v1.0.10.zip").unlink()
    assert download_resources(src, raw) == []
    assert server.hits == ["/v1.0.10.zip"]


def test_licensed_dataset_is_never_downloaded(roots, server):
    r = runner.invoke(app, ["prepare", "logo32", "--download"])
    assert r.exit_code == 1
    msg = _one_line(r.stderr)
    assert "error: logo32: expected FlickrLogos-v2/classes/jpg/<Brand>/*.jpg" in msg
    assert "obtain it from the University of Augsburg" in msg
    assert server.hits == []
