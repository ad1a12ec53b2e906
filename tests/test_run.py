"""`tnpipe run`: stage chaining, skipping, failures (with stand-in stages), then end to end for real."""

from __future__ import annotations

import csv
import io
import json
import sys
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tnpipe
from tnpipe import paths
from tnpipe.artifacts import RunResult, save_result
from tnpipe.cli import app
from tnpipe.deploy import DeployOutcome
from tnpipe.errors import TrainingError
from tnpipe.prepare import PrepareOutcome
from tnpipe.train import TrainOutcome

sys.path.insert(0, str(Path(__file__).parent))
from test_report import equivalence, make_result  # noqa: E402

runner = CliRunner()


class FakeStages:
    """prepare/train/deploy stand-ins that write the same artifacts and skip like the real ones."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.fail: dict[tuple[str, str], Exception] = {}
        self.deploy_overrides: list[tuple[str, ...]] = []
        self.not_exact: set[str] = set()   # datasets whose deploy reports the chip not exact

    def prepare(self, name, raw_root=None, source=None, synthetic=False, download=False, force=False, **kw):
        self.calls.append(("prepare", name, synthetic, force))
        if ("prepare", name) in self.fail:
            raise self.fail[("prepare", name)]
        out = paths.prepared_dir(name, synthetic)
        skipped = (out / "meta.json").is_file() and not force
        if not skipped:
            out.mkdir(parents=True, exist_ok=True)
            (out / "meta.json").write_text("{}")
        return PrepareOutcome("reused" if skipped else "done", out, None, 0.0)

    def train(self, recipe_path, network, overrides=(), device="cpu", seed=None, resume=False,
              synthetic=False, layers=None, force=False, tensorboard=False):
        name = Path(recipe_path).stem
        self.calls.append(("train", name, network, tuple(overrides), device, synthetic, force))
        if ("train", name) in self.fail:
            raise self.fail[("train", name)]
        rd = paths.run_dir(name, network, synthetic)
        reused = (rd / "train.json").is_file() and not force
        if not reused:
            rd.mkdir(parents=True, exist_ok=True)
            (rd / "train.json").write_text(json.dumps({"dataset": name, "finished": True}))
        return TrainOutcome("reused" if reused else "done", rd, None, 0.0)

    def deploy(self, run_dir, frames=None, tick_hz=None, device="cpu", force=False, overrides=()):
        run_dir = Path(run_dir)
        name, network = run_dir.parent.name.replace("-synthetic", ""), run_dir.name
        self.calls.append(("deploy", name, frames, device, force))
        self.deploy_overrides.append(tuple(overrides))
        if ("deploy", name) in self.fail:
            raise self.fail[("deploy", name)]
        res = RunResult.from_json(make_result(name, network, run_dir.parent.name.endswith("-synthetic"),
                                              accuracy_chip=0.625, equivalence=equivalence(name not in self.not_exact)),
                                  "fake deploy")
        reused = (run_dir / "result.json").is_file() and not force
        if not reused:
            save_result(run_dir / "result.json", res)
        return DeployOutcome("reused" if reused else "done", run_dir / "result.json", res, 0.0)


@pytest.fixture
def fake(roots, tmp_path, monkeypatch):
    stages = FakeStages()
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    for n in ("cifar10", "gtsrb", "fsdd"):
        (recipes / f"{n}.toml").write_text(f'[data]\nname = "{n}"\n[networks]\ntiny = "S-8"\n')
    monkeypatch.setenv("TNPIPE_RECIPES", str(recipes))
    monkeypatch.setattr("tnpipe.prepare.prepare", stages.prepare)
    for mod, fn in (("train", stages.train), ("deploy", stages.deploy)):
        m = types.ModuleType(f"tnpipe.{mod}")
        setattr(m, mod, fn)
        monkeypatch.setitem(sys.modules, f"tnpipe.{mod}", m)
        monkeypatch.setattr(tnpipe, mod, m, raising=False)
    return stages


def test_chains_stages_then_reports(fake, roots):
    res = runner.invoke(app, ["run", "cifar10", "gtsrb", "--synthetic", "--set", "train.epochs=1",
                              "--frames", "8", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert [c[0] + ":" + c[1] for c in fake.calls] == [
        "prepare:cifar10", "train:cifar10", "deploy:cifar10", "prepare:gtsrb", "train:gtsrb", "deploy:gtsrb"]
    assert fake.calls[1] == ("train", "cifar10", "tiny", ("train.epochs=1",), "cpu", True, False)
    assert fake.calls[2] == ("deploy", "cifar10", 8, "cpu", False)
    for ds in ("cifar10-synthetic", "gtsrb-synthetic"):
        for stage in ("prepare", "train", "deploy"):
            assert any(ds in line and stage in line and "done" in line for line in res.stderr.splitlines()), (ds, stage)
    assert "2 of 2 dataset(s) deployed" in res.stderr
    assert "[1/2] cifar10-synthetic tiny" in res.stderr and "[2/2] gtsrb-synthetic tiny" in res.stderr
    rows = list(csv.DictReader(io.StringIO((roots["results"] / "report.csv").read_text())))
    assert [(r["data"], r["dataset"], r["network"], r["accuracy_chip"]) for r in rows] == [
        ("synthetic", "cifar10", "tiny", "0.625"), ("synthetic", "gtsrb", "tiny", "0.625")]
    assert "62.50%" in res.stdout and "model estimate" in res.stdout

    again = runner.invoke(app, ["run", "cifar10", "gtsrb", "--synthetic"])
    assert again.exit_code == 0, again.output
    lines = [line for line in again.stderr.splitlines()
             if "-synthetic" in line and any(st in line for st in ("prepare", "train", "deploy"))]
    assert len(lines) == 6 and all("reused" in line for line in lines)

    forced = runner.invoke(app, ["run", "gtsrb", "--synthetic", "--force"])
    assert forced.exit_code == 0, forced.output
    assert [c[-1] for c in fake.calls[-3:]] == [True, True, True]


def test_a_run_whose_chip_is_not_exact_exits_3_after_the_report(fake):
    fake.not_exact = {"gtsrb"}
    res = runner.invoke(app, ["run", "cifar10", "gtsrb", "--synthetic"])
    assert res.exit_code == 3, res.output
    assert "2 of 2 dataset(s) deployed" in res.stderr
    bad = [line for line in res.stderr.splitlines() if "not exactly the trained network" in line]
    assert len(bad) == 1 and "gtsrb-synthetic" in bad[0]


def test_set_chip_reaches_deploy(fake):
    res = runner.invoke(app, ["run", "cifar10", "--synthetic", "--set", "chip.placement=snake"])
    assert res.exit_code == 0, res.output
    assert fake.deploy_overrides == [("chip.placement=snake",)]


def test_failure_reported_others_go_on(fake, roots):
    fake.fail[("train", "cifar10")] = TrainingError("loss became NaN at epoch 2")
    fake.fail[("deploy", "fsdd")] = RuntimeError("index out of range")
    res = runner.invoke(app, ["run", "cifar10", "gtsrb", "fsdd", "--synthetic"])
    assert res.exit_code == 1
    err = " ".join(res.stderr.split())
    assert err.count("loss became NaN at epoch 2") == 1 and err.count("RuntimeError: index out of range") == 1
    assert "error: 2 of 3 dataset(s) failed: cifar10-synthetic at train, fsdd-synthetic at deploy (each error " \
        "is above)" in err                                          # each error printed once (issue 23)
    assert "1 of 3 dataset(s) deployed" in res.stderr
    assert ("deploy", "cifar10", None, "cpu", False) not in fake.calls   # stopped at its failing stage
    rows = list(csv.DictReader(io.StringIO((roots["results"] / "report.csv").read_text())))
    assert [(r["dataset"], r["data"]) for r in rows] == [("gtsrb", "synthetic")]
    assert "gtsrb" in res.stdout   # the table of what succeeded is still printed


def test_all_synthetic_is_eight_plus_fsdd(fake):
    from tnpipe.run import choose_datasets

    assert choose_datasets(None, True, True) == ["cifar10", "cifar100", "svhn", "gtsrb", "logo32", "vad",
                                                 "timit_class", "timit_frames", "fsdd"]
    res = runner.invoke(app, ["run", "--all", "--synthetic"])
    assert res.exit_code == 1            # no recipe for six of them in this test's recipe folder
    assert "svhn-synthetic at prepare" in res.stderr and res.stderr.count("svhn.toml: recipe not found") == 1
    assert "3 of 9 dataset(s) deployed" in res.stderr


def test_unknown_dataset(fake):
    res = runner.invoke(app, ["run", "cifar10", "imagenet"])
    assert res.exit_code == 1
    assert "unknown dataset 'imagenet'; valid names: cifar10, cifar100, svhn, gtsrb, logo32, vad, " \
        "timit_class, timit_frames, fsdd" in res.stderr
    assert fake.calls == []


def test_no_dataset(fake):
    res = runner.invoke(app, ["run"])
    assert res.exit_code == 1
    assert "name at least one dataset or pass --all" in res.stderr


def test_end_to_end_tiny_synthetic_cifar10(roots):
    """The real stages, one tiny synthetic dataset, a one-epoch budget: prepare -> train -> deploy -> report."""
    args = ["run", "cifar10", "--synthetic", "--network", "tiny", "--set", "train.epochs=1",
            "--set", "data.synthetic_train_per_class=16", "--set", "data.synthetic_test_per_class=4"]
    res = runner.invoke(app, args + ["--plot"])
    assert res.exit_code == 0, res.output
    result = json.loads((roots["results"] / "cifar10-synthetic" / "tiny" / "result.json").read_text())
    assert result["synthetic"] is True and result["network"] == "tiny"
    assert result["frames"] == 40              # --set data.* reached prepare: 4 test frames x 10 classes
    assert result["agreement"] == 1.0          # the chip reproduces the training graph frame for frame
    rows = list(csv.DictReader(io.StringIO((roots["results"] / "report.csv").read_text())))
    assert [(r["data"], r["dataset"], r["network"]) for r in rows] == [("synthetic", "cifar10", "tiny")]
    assert float(rows[0]["accuracy_chip"]) == result["accuracy_chip"]
    assert (roots["results"] / "report.png").is_file()
    assert (roots["results"] / "floorplans" / "cifar10-synthetic-tiny.png").is_file()
    md = (roots["results"] / "report.md").read_text()
    assert f"1 result(s) from git {result['git_sha']}" in md and "simulated on cpu" in md
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert sum("reused" in line for line in again.stderr.splitlines()) == 3


def test_interrupted_training_stops_the_whole_run_with_the_run_resume_command(fake, roots):
    from tnpipe.errors import TrainingInterrupted

    stopped = TrainingInterrupted("SIGINT in epoch 2/8 (step 4/10); X holds epoch 1; continue with: tnpipe train ...")
    stopped.detail = "SIGINT in epoch 2/8 (step 4/10); X holds epoch 1"
    fake.fail[("train", "cifar10")] = stopped
    res = runner.invoke(app, ["run", "cifar10", "gtsrb", "--synthetic", "--set", "train.epochs=8"])
    assert res.exit_code == 130
    assert res.stderr.strip().splitlines()[-1] == (
        "interrupted: SIGINT in epoch 2/8 (step 4/10); X holds epoch 1; continue with: "
        "tnpipe run cifar10 gtsrb --synthetic --set train.epochs=8 --resume")
    assert [c[:2] for c in fake.calls] == [("prepare", "cifar10"), ("train", "cifar10")]   # gtsrb never started


def test_bad_setting_or_network_refused_before_any_stage(fake):
    res = runner.invoke(app, ["run", "cifar10", "--synthetic", "--network", "tiyn"])
    assert res.exit_code == 1 and fake.calls == []
    assert "no network 'tiyn' (did you mean 'tiny'?)" in res.stderr
    res = runner.invoke(app, ["run", "cifar10", "--synthetic", "--set", "train.epochs=0"])
    assert res.exit_code == 1 and fake.calls == []
    assert "train].epochs: 0 must be >= 1" in res.stderr


def test_the_resume_command_keeps_every_option_given():
    """One builder (tnpipe.command_line) for train's and run's resume lines: the network is
    left out only when it is RunOptions' default, and --tensorboard is kept."""
    from tnpipe.cli.run import _resume_command
    from tnpipe.run import RunOptions
    from tnpipe.train.stage import resume_command

    opt = RunOptions(network="1chip", synthetic=True, device="cuda", overrides=("train.epochs=2",), frames=8,
                     tensorboard=True)
    assert _resume_command(["cifar10"], False, opt) == ("tnpipe run cifar10 --synthetic --network 1chip "
                                                        "--device cuda --frames 8 --set train.epochs=2 "
                                                        "--tensorboard --resume")
    assert _resume_command(None, True, RunOptions()) == "tnpipe run --all --resume"
    assert resume_command(Path("r/x y.toml"), "tiny", ["train.lr=0.5"], 3, True, None, "cpu", True) == \
        "tnpipe train 'r/x y.toml' --network tiny --set train.lr=0.5 --seed 3 --synthetic --tensorboard --resume"
