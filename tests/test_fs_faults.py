"""Issue 23: the file system says no (disk full, read-only, a file where a folder belongs).

Each case ends in one line naming the path and exit 1, leaves nothing half-written that looks
finished, loses nothing that was there, and the same command works once the cause is gone.
The main proof monkeypatches the writes to raise OSError(ENOSPC / EROFS): CI runs as root,
where a chmod'ed folder does not refuse a write (that test is skipped as root)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.test_report import write
from tests.test_train import write_recipe, write_tiny_dataset
from tnpipe.cli import app

runner = CliRunner()


def full_disk(file_arg: int):
    """A writer (np.save: file first; torch.save: second) that starts writing, then fails as a
    full disk does (ENOSPC, no file name)."""
    def writer(*args, **kwargs):
        with open(args[file_arg], "wb") as f:
            f.write(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return writer


def one_error_line(res) -> str:
    """The one error line (progress lines before it are allowed)."""
    errors = [x for x in res.stderr.splitlines() if x.startswith("error")]
    assert len(errors) == 1, res.stderr
    assert res.stderr.strip().splitlines()[-1] == errors[0] and "Traceback" not in res.output
    return errors[0]


def temp_leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if p.name.endswith((".tmp", ".old"))]


@pytest.fixture
def results(roots):
    write(roots["results"], "cifar10", "1chip", False)
    write(roots["results"], "gtsrb", "cpu", False)
    return roots["results"]


def test_disk_full_while_writing_the_report(results, monkeypatch):
    assert runner.invoke(app, ["report", "--all"]).exit_code == 0
    before = (results / "report.md").read_bytes()
    with monkeypatch.context() as m:
        m.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
        res = runner.invoke(app, ["report", "--all"])
    assert res.exit_code == 1
    line = one_error_line(res)
    assert line.startswith(f"error: {results / 'report.md'}: No space left on device (nothing half-written was kept); "
                           "no space left on the device; free some space")
    assert (results / "report.md").read_bytes() == before                  # the earlier report is kept
    assert temp_leftovers(results) == []                                     # no temporary file left
    assert runner.invoke(app, ["report", "--all"]).exit_code == 0            # works once the cause is gone


def test_disk_full_while_writing_a_checkpoint(roots, tmp_path, monkeypatch):
    import torch

    write_tiny_dataset(roots["prepared"])
    recipe = write_recipe(tmp_path / "tinyset.toml", epochs=1)
    argv = ["train", str(recipe), "--network", "tiny", "--synthetic"]
    with monkeypatch.context() as m:
        m.setattr(torch, "save", full_disk(1))
        res = runner.invoke(app, argv)
    rd = roots["results"] / "tinyset-synthetic" / "tiny"
    assert res.exit_code == 1
    assert one_error_line(res).startswith(f"error: {rd / 'checkpoint.pt'}: No space left on device")
    assert not (rd / "checkpoint.pt").exists() and temp_leftovers(rd) == []  # nothing that looks finished
    assert not (rd / "train.json").exists() and not (rd / "network.npz").exists()
    again = runner.invoke(app, argv)
    assert again.exit_code == 0, again.output
    assert (rd / "train.json").is_file()


def test_disk_full_while_preparing_keeps_no_half_dataset(roots, monkeypatch):
    import tnpipe.artifacts.prepared as prepared

    with monkeypatch.context() as m:
        m.setattr(prepared.np, "save", full_disk(0))
        res = runner.invoke(app, ["prepare", "cifar10", "--synthetic"])
    assert res.exit_code == 1
    folder = roots["prepared"] / "cifar10-synthetic"
    assert one_error_line(res).startswith(f"error: {folder}: No space left on device")
    assert not folder.exists() and temp_leftovers(roots["prepared"]) == []
    assert runner.invoke(app, ["prepare", "cifar10", "--synthetic"]).exit_code == 0
    assert (folder / "meta.json").is_file()


def test_read_only_results_folder_monkeypatched(results, monkeypatch):
    import tempfile

    def refused(*args, dir=None, **kw):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dir))
    with monkeypatch.context() as m:
        m.setattr(tempfile, "mkstemp", refused)
        res = runner.invoke(app, ["report", "--all"])
    assert res.exit_code == 1
    assert one_error_line(res) == (f"error: {results / 'report.md'}: Read-only file system; read-only file system; "
                                   "point $TNPIPE_RESULTS_ROOT / $TNPIPE_PREPARED_ROOT at a writable folder and run "
                                   "the command again")
    assert runner.invoke(app, ["report", "--all"]).exit_code == 0


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="as root a read-only folder still accepts writes")
def test_read_only_results_folder_chmod(results):
    results.chmod(0o555)
    try:
        res = runner.invoke(app, ["report", "--all"])
        assert res.exit_code == 1
        assert "Permission denied" in one_error_line(res) and str(results) in res.stderr
    finally:
        results.chmod(0o755)


def test_a_file_where_a_folder_belongs_and_a_missing_parent(results, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("mine\n")
    res = runner.invoke(app, ["report", "--all", "--out", str(blocker)])
    assert res.exit_code == 1
    line = one_error_line(res)
    assert str(blocker) in line and "move" in line
    assert blocker.read_text() == "mine\n"                                  # nothing of the user's lost
    res = runner.invoke(app, ["report", "--all", "--out", str(blocker / "sub")])
    assert res.exit_code == 1
    assert one_error_line(res).startswith(f"error: {blocker / 'sub'}") and "a file stands where a folder" in res.stderr
    # a missing parent is made (negative control: the same write succeeds where it can)
    deep = tmp_path / "new" / "deeper"
    assert runner.invoke(app, ["report", "--all", "--out", str(deep)]).exit_code == 0
    assert (deep / "report.md").is_file()


def test_results_root_is_a_file(roots, tmp_path, monkeypatch):
    f = tmp_path / "notafolder"
    f.write_text("x")
    monkeypatch.setenv("TNPIPE_RESULTS_ROOT", str(f))
    res = runner.invoke(app, ["report", "--all"])
    assert res.exit_code == 1 and str(f) in one_error_line(res)


def test_ascii_only_terminal_prints_without_a_traceback(results):
    env = dict(os.environ, PYTHONIOENCODING="ascii", LC_ALL="C", LANG="C", COLUMNS="80",
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    res = subprocess.run([sys.executable, "-m", "tnpipe", "report", "--all"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "cifar10" in res.stdout and "UnicodeEncodeError" not in res.stderr
