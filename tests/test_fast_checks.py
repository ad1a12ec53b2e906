"""Issue 23: argument and file checks come before heavy imports (torch, pandas), so a typo
answers at once; a device asked for and absent gets the same line in every command.

Asserted by what is imported (python -X importtime), not by a timing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def tnpipe(*argv: str, tmp: Path, importtime: bool = False) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), TNPIPE_RESULTS_ROOT=str(tmp / "results"),
               TNPIPE_PREPARED_ROOT=str(tmp / "prepared"), TNPIPE_RAW_ROOT=str(tmp / "raw"), COLUMNS="100")
    flags = ["-X", "importtime"] if importtime else []
    return subprocess.run([sys.executable, *flags, "-m", "tnpipe", *argv], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=120)


def imported(stderr: str) -> set[str]:
    return {line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("argv, message", [
    (["train", "recipes/fsd.toml", "--network", "cpu"], "error: recipes/fsd.toml: recipe not found"),
    (["train", "recipes/fsdd.toml", "--network", "cpuu"], "no network 'cpuu' (did you mean 'cpu'?)"),
    (["train", "recipes/fsdd.toml", "--network", "cpu", "--set", "train.lr=-1"], "[train].lr: -1 must be"),
    (["export", "results/nope/cpu"], "error: results/nope/cpu: no such run folder"),
    (["deploy", "results/nope/cpu"], "error: results/nope/cpu: run folder not found"),
    (["report", "--all", "--results-root", "nowhere"], "error: nowhere: results root not found"),
])
def test_argument_errors_answer_before_torch_or_pandas_is_imported(tmp_path, argv, message):
    res = tnpipe(*argv, tmp=tmp_path, importtime=True)
    assert res.returncode == 1
    mods = imported(res.stderr)
    lines = [x for x in res.stderr.splitlines() if not x.startswith("import time:")]
    assert len(lines) == 1 and message in lines[0], lines
    assert "torch" not in mods and "pandas" not in mods, sorted(m for m in mods if m in ("torch", "pandas"))


def test_negative_control_a_real_command_does_import_torch(tmp_path):
    res = tnpipe("train", "recipes/fsdd.toml", "--network", "cpu", tmp=tmp_path, importtime=True)
    assert res.returncode == 1 and "prepared dataset not found" in res.stderr
    assert "torch" in imported(res.stderr)


def test_absent_device_is_the_same_line_in_every_command(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "train.json").write_text("{}")
    (tmp_path / "run" / "network.npz").write_text("")
    lines = set()
    for argv in (["train", "recipes/fsdd.toml", "--network", "cpu", "--device", "cuda"],
                 ["deploy", str(tmp_path / "run"), "--device", "cuda"],
                 ["run", "fsdd", "--synthetic", "--device", "cuda"]):
        res = tnpipe(*argv, tmp=tmp_path)
        assert res.returncode == 1, res.stderr
        lines.add(res.stderr.strip())
    assert lines == {"error: --device cuda: CUDA is not available on this machine; use --device cpu"}
