"""metrics.csv (one row per epoch, atomic, resume-safe) and --tensorboard (issue 13 item 2)."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

import tnpipe.atomic
from tests.test_report import make_result
from tests.test_train import write_recipe, write_tiny_dataset
from tnpipe.artifacts import RunResult
from tnpipe.cli import app
from tnpipe.report.curves import _layer_label, plot_curves, read_metrics, run_facts
from tnpipe.report.row import Row
from tnpipe.train import train
from tnpipe.train.metrics import METRICS_NAME, write_row

NET = "S-8 N-32 D P-32(2) N-16(2)"        # 4 spiking layers: L0 (transduction), L1..L3 on chip; D is no layer
COLUMNS = ["epoch", "loss", "train_acc", "test_acc", "lr", "seconds",
           "spike_rate_L0", "spike_rate_L1", "spike_rate_L2", "spike_rate_L3"]
FEATURES = [8, 32, 32, 16]                # per layer, to weigh the layer rates into train.log's overall one
ARGS = {"synthetic": True, "overrides": ["train.epochs=3"], "layers": NET}


@pytest.fixture
def tiny(roots, tmp_path):
    write_tiny_dataset(roots["prepared"])
    return write_recipe(tmp_path / "tinyset.toml")


def metrics_of(run_dir) -> pd.DataFrame:
    return pd.read_csv(run_dir / METRICS_NAME)


def test_metrics_csv_rows_match_the_history_and_survive_a_resume(tiny):
    whole = train(tiny, "tiny", **ARGS).path
    full = metrics_of(whole)
    assert list(full.columns) == COLUMNS and full["epoch"].tolist() == [1, 2, 3]
    hist = json.loads((whole / "train.json").read_text())["history"]
    for col, key in (("loss", "loss"), ("train_acc", "train_acc"), ("test_acc", "test_acc_running"),
                     ("lr", "lr"), ("seconds", "seconds")):
        assert full[col].tolist() == [h[key] for h in hist], col       # unrounded, exactly train.json's
    rates = full[COLUMNS[6:]].to_numpy()
    assert ((rates > 0) & (rates < 1)).all()
    # the per-layer rates weighted by feature count give train.log's overall spike rate
    overall = (rates * FEATURES).sum(1) / sum(FEATURES)
    assert overall == pytest.approx([h["spike_rate"] for h in hist], abs=1e-6)

    def kill_after_first(epoch: int) -> None:   # a kill right after epoch 1's checkpoint
        if epoch == 1:
            raise KeyboardInterrupt("killed after epoch 1")

    with pytest.raises(KeyboardInterrupt):
        train(tiny, "again", **ARGS, on_epoch_end=kill_after_first)
    again = whole.parent / "again"
    assert metrics_of(again)["epoch"].tolist() == [1]
    train(tiny, "again", **ARGS, resume=True)
    resumed = metrics_of(again)
    assert resumed["epoch"].tolist() == [1, 2, 3]                     # epoch 1 kept, each epoch once
    same = [c for c in COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(resumed[same], full[same])          # CPU, same seed: the same numbers
    # the report's curves read the real run folder: metrics.csv, layer tokens and final figure from train.json
    row = Row(RunResult.from_json(make_result("tinyset", "again", True), "test"), again / "result.json", None)
    tokens, hw_acc = run_facts(row)
    assert tokens == ["S-8", "N-32", "P-32(2)", "N-16(2)"]
    assert hw_acc == json.loads((again / "train.json").read_text())["hw_test_acc"]
    assert [_layer_label(f"L{i}", tokens) for i in (0, 2)] == ["L0 S-8 (transduction)", "L2 P-32(2)"]
    png = plot_curves(row, read_metrics(again / METRICS_NAME), again / "curves.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_rows_of_redone_epochs_are_replaced(tmp_path):
    row = dict(zip(COLUMNS, [1, 1.5, 0.25, 0.3, 0.01, 2.0, 0.5, 0.4, 0.3, 0.1 + 0.2], strict=True))
    for e in (1, 2, 3):
        write_row(tmp_path, {**row, "epoch": e})
    write_row(tmp_path, {**row, "epoch": 2, "loss": 9.0})             # a resume from epoch 1 redoes 2
    got = metrics_of(tmp_path)
    assert got["epoch"].tolist() == [1, 2] and got["loss"].tolist() == [1.5, 9.0]
    assert got["spike_rate_L3"].tolist() == [0.1 + 0.2] * 2          # floats survive re-reading exactly
    write_row(tmp_path, {**row, "epoch": 1, "loss": 7.0})             # started over: the old rows go
    assert metrics_of(tmp_path)["loss"].tolist() == [7.0]
    (tmp_path / METRICS_NAME).write_bytes(b"\xff\xfe garbage")        # a damaged file is replaced
    write_row(tmp_path, {**row, "epoch": 1})
    assert metrics_of(tmp_path).shape == (1, len(COLUMNS))


def test_a_failed_write_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    row = dict(zip(COLUMNS, [1, 1.5, 0.25, 0.3, 0.01, 2.0, 0.5, 0.4, 0.3, 0.2], strict=True))
    path = write_row(tmp_path, row)
    before = path.read_bytes()

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(tnpipe.atomic.os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        write_row(tmp_path, {**row, "epoch": 2})
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [METRICS_NAME]


def test_tensorboard_events_hold_the_metrics(tiny):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    rd = train(tiny, "tiny", synthetic=True, overrides=["train.epochs=2"], layers=NET, tensorboard=True).path
    events = list((rd / "tensorboard").glob("events.out.tfevents.*"))
    assert len(events) == 1
    acc = EventAccumulator(str(rd / "tensorboard"))
    acc.Reload()
    assert sorted(acc.Tags()["scalars"]) == sorted(["loss", "train_acc", "test_acc", "lr", "seconds"] +
                                                   [f"spike_rate/L{i}" for i in range(4)])
    m = metrics_of(rd)
    test = acc.Scalars("test_acc")
    assert [s.step for s in test] == [1, 2]
    assert [s.value for s in test] == pytest.approx(m["test_acc"].tolist(), abs=1e-7)   # float32 in the events
    assert [s.value for s in acc.Scalars("spike_rate/L2")] == pytest.approx(m["spike_rate_L2"].tolist(), abs=1e-7)


def test_tensorboard_missing_is_one_line_before_any_work(tiny, roots, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)   # import fails as if not installed
    res = CliRunner().invoke(app, ["train", str(tiny), "--network", "tiny", "--synthetic", "--tensorboard"])
    assert res.exit_code == 1
    assert res.stderr.strip() == ("error: --tensorboard: the tensorboard package is not installed "
                                  "(pip install tensorboard, or drop --tensorboard)")
    assert not any(roots["results"].iterdir())


def test_run_passes_tensorboard_to_train(roots, monkeypatch):
    import tnpipe.train
    from tnpipe.errors import TrainingError

    seen = []

    def fake_train(*args, **kw):
        seen.append(kw.get("tensorboard"))
        raise TrainingError("stopped by the test")

    monkeypatch.setattr(tnpipe.train, "train", fake_train, raising=False)
    for flag in (["--tensorboard"], []):
        res = CliRunner().invoke(app, ["run", "cifar10", "--synthetic", *flag])
        assert res.exit_code == 1 and res.stderr.count("stopped by the test") == 1 and "cifar10-synthetic at train" in res.stderr
    assert seen == [True, False]
