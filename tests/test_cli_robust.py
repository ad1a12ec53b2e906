"""Issue 12: no run lost, no traceback, no dead end. Interrupted and concurrent training,
prepared sets reused wherever they were read from, and the hints a new user needs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tnpipe.artifacts.checkpoint import load_checkpoint
from tnpipe.cli import app
from tnpipe.errors import TrainingInterrupted
from tnpipe.locks import prepared_lock, run_lock
from tnpipe.train import train

sys.path.insert(0, str(Path(__file__).parent))
from test_train import run_lines, write_recipe, write_tiny_dataset  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


@pytest.fixture
def tiny(roots, tmp_path):
    write_tiny_dataset(roots["prepared"])
    return write_recipe(tmp_path / "tinyset.toml", epochs=400)   # never finishes within a test


def _env(roots) -> dict[str, str]:
    env = dict(os.environ, TNPIPE_RAW_ROOT=str(roots["raw"]), TNPIPE_PREPARED_ROOT=str(roots["prepared"]),
               TNPIPE_RESULTS_ROOT=str(roots["results"]), PYTHONPATH=str(REPO), COLUMNS="200")
    return env


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 120.0) -> None:
    t0 = time.monotonic()
    while not path.is_file():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < seconds, f"{path} did not appear"
        time.sleep(0.05)


# ---------------------------------------------------------------------- case 1: Ctrl-C, rerun, --force
def test_sigint_keeps_checkpoint_prints_resume_command_and_exits_130(tiny, roots):
    rd = roots["results"] / "tinyset-synthetic" / "tiny"
    cmd = [sys.executable, "-m", "tnpipe", "train", str(tiny), "--network", "tiny", "--synthetic"]
    proc = subprocess.Popen(cmd, env=_env(roots), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(rd / "checkpoint.pt", proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    line = one_line(err)
    kept = load_checkpoint(rd / "checkpoint.pt")
    assert not kept.finished and kept.epoch >= 1
    resume = f"tnpipe train {tiny} --network tiny --synthetic --resume"
    assert line.startswith("interrupted: SIGINT ") and line.endswith(f"continue with: {resume}"), line
    assert f"{rd / 'checkpoint.pt'} holds epoch {kept.epoch};" in line
    assert len(run_lines(rd / "train.log")) == kept.epoch == len(kept.history)
    assert "Traceback" not in out + err

    # a rerun without --resume refuses at once, touching nothing
    log = (rd / "train.log").read_bytes()
    res = runner.invoke(app, ["train", str(tiny), "--network", "tiny", "--synthetic"])
    assert res.exit_code == 1
    assert one_line(res.stderr) == (
        f"error: {rd / 'checkpoint.pt'}: an unfinished run is there (epoch {kept.epoch}/400); continue it with "
        f"`{resume}`, or pass --force to start over (its files are moved aside, kept)")
    assert (rd / "train.log").read_bytes() == log and load_checkpoint(rd / "checkpoint.pt").epoch == kept.epoch

    # --force starts over only after moving the old log and checkpoint aside, kept
    out = train(tiny, "tiny", synthetic=True, force=True, overrides=["train.epochs=1"])
    assert out.status == "done"
    (aside,) = rd.glob("previous-*")
    assert (aside / "train.log").read_bytes() == log
    assert load_checkpoint(aside / "checkpoint.pt").epoch == kept.epoch
    assert load_checkpoint(rd / "checkpoint.pt").finished


def test_sigterm_stops_between_steps_and_resume_continues(tiny, roots):
    def term_in_epoch_2(epoch: int) -> None:   # the signal arrives just after epoch 1's checkpoint
        if epoch == 1:
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(TrainingInterrupted) as e:
        train(tiny, "tiny", synthetic=True, on_epoch_end=term_in_epoch_2)
    rd = roots["results"] / "tinyset-synthetic" / "tiny"
    assert str(e.value) == (f"SIGTERM before epoch 2/400; {rd / 'checkpoint.pt'} holds epoch 1; continue with: "
                            f"tnpipe train {tiny} --network tiny --synthetic --resume")
    assert e.value.exit_code == 130 and load_checkpoint(rd / "checkpoint.pt").epoch == 1
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL   # the handler is gone after the run

    def stop_after_2(epoch: int) -> None:
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(tiny, "tiny", synthetic=True, resume=True, on_epoch_end=stop_after_2)
    state = load_checkpoint(rd / "checkpoint.pt")
    assert state.epoch == 2 and [h["epoch"] for h in state.history] == [1, 2]
    assert len(run_lines(rd / "train.log")) == 2   # appended to, never cleared


# ---------------------------------------------------------------------- case 2: one writer per folder
HOLDER = """
import sys, time
from pathlib import Path
from tnpipe.locks import hold
with hold(Path(sys.argv[1]), "test"):
    print("held", flush=True)
    time.sleep(300)
"""


def _holder(lock: Path, roots) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock)], env=_env(roots), stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_writer_refused_with_holder_pid_then_stale_lock_taken_over(tiny, roots):
    rd = roots["results"] / "tinyset-synthetic" / "tiny"
    holder = _holder(run_lock(rd), roots)
    try:
        argv = ["train", str(tiny), "--network", "tiny", "--synthetic", "--set", "train.epochs=1"]
        res = runner.invoke(app, argv)
        assert res.exit_code == 1
        assert one_line(res.stderr) == (f"error: {rd}: in use by process {holder.pid} (lock {run_lock(rd)}); "
                                        "wait for it to end or stop it, then run this again")
        assert not (rd / "checkpoint.pt").exists()
    finally:
        holder.kill()          # SIGKILL: no clean-up ran, the pid file is stale
        holder.wait()
    assert Path(f"{run_lock(rd)}.pid").read_text().strip() == str(holder.pid)
    res = runner.invoke(app, argv)
    assert res.exit_code == 0, res.output
    assert json.loads((rd / "train.json").read_text())["finished"]
    assert not Path(f"{run_lock(rd)}.pid").exists() and not run_lock(rd).exists()   # released with the run


def test_prepared_dataset_lock_refuses_a_second_prepare(roots):
    out = roots["prepared"] / "fsdd-synthetic"
    holder = _holder(prepared_lock(out), roots)
    try:
        res = runner.invoke(app, ["prepare", "fsdd", "--synthetic"])
        assert res.exit_code == 1
        assert f"error: {out}: in use by process {holder.pid} " in res.stderr
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()


# ---------------------------------------------------------------------- case 5: reuse however prepared
def test_prepared_set_is_reused_whichever_raw_root_made_it(roots, tmp_path):
    from tnpipe.data.cifar import Cifar10
    from tnpipe.data.config import DataCfg

    shared = tmp_path / "shared"
    Cifar10().write_synthetic(shared / "cifar10", DataCfg("cifar10", synthetic_train_per_class=2,
                                                          synthetic_test_per_class=1))
    res = runner.invoke(app, ["prepare", "cifar10", "--raw-root", str(shared)])
    assert res.exit_code == 0, res.output
    meta = roots["prepared"] / "cifar10" / "meta.json"
    stamp = meta.stat().st_mtime_ns
    res = runner.invoke(app, ["prepare", "cifar10"])        # datasets/raw/cifar10 does not exist
    assert res.exit_code == 0, res.output
    assert "reused" in res.stdout and meta.stat().st_mtime_ns == stamp
    res = runner.invoke(app, ["prepare", "cifar10", "--force"])   # --force really reads the raw root again
    assert res.exit_code == 1 and "error: cifar10:" in res.stderr
    assert meta.stat().st_mtime_ns == stamp                        # the failed redo kept the old set


# ---------------------------------------------------------------------- cases 4, 6, 7, 8: hints
def test_recipe_given_to_deploy_points_to_plan_only():
    res = runner.invoke(app, ["deploy", "recipes/fsdd.toml"])
    assert res.exit_code == 1
    assert one_line(res.stderr) == (
        "error: recipes/fsdd.toml: a recipe, but deploy takes a run folder made by `tnpipe train` (e.g. "
        "results/fsdd/tiny); to map the recipe's network without training: "
        "tnpipe deploy --plan-only recipes/fsdd.toml --network NAME")


def test_train_without_synthetic_names_the_synthetic_set_that_exists(tiny, roots):
    res = runner.invoke(app, ["train", str(tiny), "--network", "tiny"])
    assert res.exit_code == 1
    assert one_line(res.stderr) == (
        f"error: {roots['prepared'] / 'tinyset'}: prepared dataset not found; run `tnpipe prepare tinyset` first; "
        f"a synthetic stand-in is prepared ({roots['prepared'] / 'tinyset-synthetic'}): add --synthetic to train on it")


@pytest.mark.parametrize("argv, message", [
    (["prepare", "cifar11"], "error: unknown dataset 'cifar11' (did you mean 'cifar10'?); valid names: cifar10,"),
    (["prepare", "CIFAR10"], "error: unknown dataset 'CIFAR10' (did you mean 'cifar10'?); valid names: cifar10,"),
    (["run", "gtsrv"], "error: unknown dataset 'gtsrv' (did you mean 'gtsrb'?)"),
    (["train", "recipes/fsdd.toml", "--network", "tinny"],
     "error: recipes/fsdd.toml: no network 'tinny' (did you mean 'tiny'?); this recipe defines: "),
    (["run", "fsdd", "--network", "1chp"], "no network '1chp' (did you mean '1chip'?)"),
    (["run", "fsdd", "--set", "train.epochs=many"], "train].epochs: value 'many' has the wrong type; expected int"),
    (["deploy", "nowhere"], "error: nowhere: run folder not found; expected results/NAME/NET made by `tnpipe train`"),
])
def test_one_line_errors_with_suggestions(roots, argv, message):
    res = runner.invoke(app, argv)
    assert res.exit_code == 1, res.output
    assert message in one_line(res.stderr)


@pytest.mark.parametrize("argv, message", [
    (["train", "recipes/fsdd.toml", "--network", "tiny", "--epochs", "3"],
     "No such option: --epochs; recipe settings are set with --set, e.g. --set train.epochs=VALUE"),
    (["train", "recipes/fsdd.toml", "--netwrk", "tiny"], "(Possible options: --network"),
    (["deploy", "x", "--frames", "-5"], "Invalid value for '--frames'"),
    (["deploy", "x", "--tick-hz", "nan"], "nan: expected a finite number >= 0"),
    (["train", "recipes/fsdd.toml", "--network", "tiny", "--seed", "-1"], "Invalid value for '--seed'"),
    (["run", "fsdd", "--device", "gpu"], "'gpu': expected cpu, cuda or cuda:N"),
])
def test_usage_errors_exit_2_with_the_hint(roots, argv, message):
    res = runner.invoke(app, argv, env={"COLUMNS": "300"})
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output


def test_version_and_short_help():
    import tnpipe

    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.stdout == f"tnpipe {tnpipe.__version__}\n"
    for argv in (["-h"], ["train", "-h"]):
        res = runner.invoke(app, argv, env={"COLUMNS": "300"})
        assert res.exit_code == 0 and "Usage:" in res.stdout
    assert "[networks]" in runner.invoke(app, ["train", "-h"], env={"COLUMNS": "300"}).stdout


def test_deploy_frames_zero_means_the_whole_test_split():
    from tnpipe.artifacts.training import TrainingRecord
    from tnpipe.chip.config import ChipCfg
    from tnpipe.deploy import chip_settings

    rec = TrainingRecord.__new__(TrainingRecord)
    rec.chip = ChipCfg(frames=200, tick_hz=500.0)
    assert chip_settings(rec).frames == 200 and chip_settings(rec, frames=0).frames == 0
    assert chip_settings(rec, tick_hz=0).tick_hz == 0.0 and chip_settings(rec, frames=7).frames == 7
    with pytest.raises(Exception, match=r"frames: -5 must be >= 0 \(0 = the whole test split\)"):
        chip_settings(rec, overrides=["chip.frames=-5"])
