"""Issue 23: what a newcomer trips over: messages that say what is true and what to run next,
help that reads right, tables that fit 80 columns."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from tnpipe.cli import app

runner = CliRunner()


def test_prepare_all_with_nothing_prepared_says_none_was(roots):
    res = runner.invoke(app, ["prepare", "--all"])
    assert res.exit_code == 1
    last = " ".join(res.stderr.split()).split("error: ")[-1]
    assert last.startswith("8 of 8 datasets failed: cifar10, cifar100, svhn, gtsrb, logo32, vad, timit_class, "
                           "timit_frames (each error is above); none was prepared")
    assert "the others were prepared" not in res.stderr


def test_deploy_on_an_empty_folder_says_what_to_run(roots, tmp_path):
    res = runner.invoke(app, ["deploy", str(tmp_path)])
    assert res.exit_code == 1
    line = res.stderr.strip()
    assert len(line.splitlines()) == 1
    assert line.startswith(f"error: {tmp_path}: no trained network here (train.json, network.npz); train one first")
    assert "tnpipe train recipes/NAME.toml --network NET" in line and "tnpipe deploy results/NAME/NET" in line


def test_help_shows_flags_without_a_value(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    for argv in (["--help"], ["train", "--help"], ["deploy", "--help"], ["run", "--help"], ["report", "--help"],
                 ["prepare", "--help"], ["export", "--help"]):
        res = runner.invoke(app, argv)
        assert res.exit_code == 0
        assert "<bool>" not in res.stdout, argv
    train = runner.invoke(app, ["train", "--help"]).stdout
    assert re.search(r"--seed\s+<int", train)                  # negative control: an option with a value keeps it
    # a paragraph is rewrapped to the terminal, not broken where the source line ended
    assert "keeping the last epoch's" in " ".join(train.split()) and "\n last\n" not in train


def test_set_key_typo_gets_a_did_you_mean(roots, tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('[data]\nname = "cifar10"\n[networks]\ntiny = "S-8 N-10"\n')
    res = runner.invoke(app, ["train", str(recipe), "--network", "tiny", "--set", "train.epcohs=2"])
    assert res.exit_code == 1 and "unknown key 'epcohs' (did you mean 'epochs'?)" in res.stderr


def test_heartbeat_names_a_long_silent_step_and_skips_when_told():
    import io
    import time

    from rich.console import Console

    from tnpipe.log import heartbeat

    buf = io.StringIO()
    out = Console(file=buf, force_terminal=False, width=200)
    with heartbeat(lambda: "prepare fsdd: reading", first=0.05, every=0.05, out=out, poll=0.01):
        time.sleep(0.3)
    lines = buf.getvalue().splitlines()
    assert len(lines) >= 2 and all(x.startswith("  prepare fsdd: reading ... ") and x.endswith(" s") for x in lines)
    quiet = io.StringIO()
    with heartbeat(lambda: None, first=0.05, every=0.05, out=Console(file=quiet), poll=0.01):
        time.sleep(0.2)
    assert quiet.getvalue() == ""                                  # a step with its own progress lines
    # the count restarts with each step: a step shorter than `first` prints nothing, however
    # long the steps before it ran
    steps = iter(["a"] * 40 + ["b"] * 5 + [None] * 1000)
    late = io.StringIO()
    with heartbeat(lambda: next(steps), first=0.2, every=10, out=Console(file=late, width=200), poll=0.01):
        time.sleep(0.7)
    said = late.getvalue().splitlines()
    assert said and all(x.startswith("  a ... ") for x in said)


def test_piped_training_has_no_blank_lines(roots, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.test_train import write_recipe, write_tiny_dataset

    write_tiny_dataset(roots["prepared"])
    recipe = write_recipe(tmp_path / "tinyset.toml", epochs=2)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    res = subprocess.run([sys.executable, "-m", "tnpipe", "train", str(recipe), "--network", "tiny", "--synthetic"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stdout
    lines = res.stdout.splitlines()
    assert sum("epoch" in x for x in lines) >= 2 and "" not in lines, res.stdout


def test_curves_title_gives_the_training_time_train_json_records(tmp_path, monkeypatch):
    import pytest

    pytest.importorskip("matplotlib")
    import tnpipe.report.curves as curves
    from tnpipe.artifacts.training import TrainingRecord
    from tnpipe.chip.config import ChipCfg
    from tnpipe.nn.train_section import TrainCfg
    from tnpipe.report.collect import Row
    from tnpipe.train.metrics import METRICS_NAME, write_row

    cols = ["epoch", "loss", "train_acc", "test_acc", "lr", "seconds"]
    for e in (1, 2):
        write_row(tmp_path, dict(zip(cols, [e, 1.0, 0.5, 0.5, 0.01, 84.5], strict=True)))   # 169 s in epochs
    from tests.test_report import make_result
    from tnpipe.artifacts import RunResult

    row = Row(RunResult.from_json(make_result("fsdd", "cpu", False), "test"), tmp_path / "result.json", None)
    titles = []
    monkeypatch.setattr(curves, "save", lambda fig, path: titles.append(fig._suptitle.get_text()))
    curves.plot_curves(row, curves.read_metrics(tmp_path / METRICS_NAME), tmp_path / "c.png")
    assert "169 s in epochs" in titles[-1]                                  # no train.json: the epochs' sum
    TrainingRecord("fsdd", "cpu", "S-8 N-10", False, "p", "k", 0, 300, 0.99, 0.99, 1.0, None, 2, 2, 12.0, 189.6,
                   "full", TrainCfg(), ChipCfg()).save(tmp_path)
    curves.plot_curves(row, curves.read_metrics(tmp_path / METRICS_NAME), tmp_path / "c.png")
    assert "2 epochs, 189.6 s of training; hardware-mode test accuracy 99.00%" in titles[-1]


def test_piped_training_says_where_each_epoch_is(roots, tmp_path, monkeypatch, capsys):
    """Piped (no bar), a long epoch prints where it is every PIPED_EVERY_S seconds, and the
    finish names what it is doing; with the default period a seconds-long run prints none
    (the negative control: the lines come from the period, not from every step)."""
    import tnpipe.train.loop as loop
    from tests.test_train import write_recipe, write_tiny_dataset
    from tnpipe.train import train

    write_tiny_dataset(roots["prepared"])
    recipe = write_recipe(tmp_path / "tinyset.toml", epochs=1)
    train(recipe, "tiny", synthetic=True)
    assert "epoch 1/1: step" not in capsys.readouterr().err
    monkeypatch.setattr(loop, "PIPED_EVERY_S", 0.0)
    train(recipe, "tiny", synthetic=True, force=True)
    err = capsys.readouterr().err
    assert "  epoch 1/1: step 1/" in err and err.count("epoch 1/1: step") >= 2, err
