"""Issue 23: derived results go stale. A redeploy with other chip settings keeps the earlier
deployment; a retrained network never shows an earlier deployment as its own."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests.chip.netref import random_description
from tests.test_deploy import NET, run_dir  # noqa: F401  (fixture)
from tnpipe.artifacts import load_result
from tnpipe.cli import app

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def deploy(rd, *extra):
    res = runner.invoke(app, ["deploy", str(rd), "--frames", "8", *extra])
    assert res.exit_code == 0, res.output
    return res


def test_redeploy_with_other_chip_settings_keeps_the_earlier_one(run_dir):  # noqa: F811
    deploy(run_dir)
    first = (run_dir / "result.json").read_bytes()
    res = deploy(run_dir, "--set", "chip.placement=snake")
    kept = [p for p in run_dir.iterdir() if p.name.startswith("previous-deploy-")]
    assert len(kept) == 1 and (kept[0] / "result.json").read_bytes() == first
    assert sorted(p.name for p in kept[0].iterdir()) == ["coremap.json", "coremap.npz", "result.json"]
    assert f"the earlier deployment (other chip settings, frames or network) was moved to {kept[0]}" in \
        " ".join(res.stderr.split())
    assert load_result(run_dir / "result.json").chip["placement"] == "snake"
    # one chip: the output says placement is moot there (and it is: hops and cores equal)
    assert "the network fits one chip, where every placement gives the same map" in " ".join(res.stderr.split())
    old = load_result(kept[0] / "result.json")
    new = load_result(run_dir / "result.json")
    assert new.chips == 1 and (old.hops_per_frame, old.mw) == (new.hops_per_frame, new.mw)
    # negative control: the same settings again are reused, nothing more is set aside
    again = deploy(run_dir, "--set", "chip.placement=snake")
    assert "reused" in again.stderr
    assert len([p for p in run_dir.iterdir() if p.name.startswith("previous-deploy-")]) == 1
    # the report shows one row for the run folder, never the set-aside one
    rep = runner.invoke(app, ["report", "--all", "--format", "csv"])
    assert rep.exit_code == 0, rep.output
    assert len(rep.stdout.strip().splitlines()) == 2


def test_a_failed_redeploy_puts_the_earlier_deployment_back(run_dir, monkeypatch):  # noqa: F811
    deploy(run_dir)
    before = {f: (run_dir / f).read_bytes() for f in ("result.json", "coremap.npz", "coremap.json")}
    import tnpipe.deploy.stage as stage

    def broken(*a, **k):
        (run_dir / "coremap.npz").write_bytes(b"half")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(stage, "_simulate_run", broken)
    res = runner.invoke(app, ["deploy", str(run_dir), "--frames", "8", "--set", "chip.placement=snake"])
    assert res.exit_code == 1 and "No space left on device" in res.stderr
    assert {f: (run_dir / f).read_bytes() for f in before} == before
    assert not any(p.name.startswith("previous-") for p in run_dir.iterdir())


def test_report_never_shows_an_earlier_deployment_as_the_retrained_networks(run_dir):  # noqa: F811
    deploy(run_dir)
    ok = runner.invoke(app, ["report", "--all", "--format", "csv"])
    assert ok.exit_code == 0 and len(ok.stdout.strip().splitlines()) == 2            # negative control
    (run_dir / "seed").write_text("6")
    random_description(*NET, seed=6).save(run_dir / "network.npz")                   # retrained by hand
    res = runner.invoke(app, ["report", "--all", "--format", "csv"])
    assert res.exit_code == 1
    assert "made from an earlier network.npz" in res.stderr and f"run `tnpipe deploy {run_dir}`" in res.stderr
    deploy(run_dir)                                                                   # works again after a deploy
    assert runner.invoke(app, ["report", "--all"]).exit_code == 0


def test_train_force_moves_the_deployment_with_the_run():
    from tnpipe.train.stage import RUN_FILES

    assert {"result.json", "coremap.npz", "coremap.json", "network.nir"} <= set(RUN_FILES)


@pytest.mark.parametrize("width", ["80", "100"])
def test_deploy_and_plan_tables_fit_80_columns(run_dir, width, monkeypatch):  # noqa: F811
    import tnpipe.log

    monkeypatch.setattr(tnpipe.log.console, "_width", None)   # follow COLUMNS, whatever ran before
    res = runner.invoke(app, ["deploy", str(run_dir), "--frames", "8"], env={"COLUMNS": width})
    assert res.exit_code == 0, res.output
    out = res.stdout.splitlines()
    tables = out[:next(i for i, x in enumerate(out) if x.startswith("agreement with the training graph"))]
    assert max(len(x) for x in tables) <= 80, res.stdout   # prose lines after them stay whole (grep-able)
    assert "…" not in res.stdout
    # accuracy as a percentage, as in the report (issue 23): never 0.1250
    acc = load_result(run_dir / "result.json").accuracy_chip
    assert f"{100 * acc:.2f}%" in res.stdout and f"{acc:.4f}" not in res.stdout
    plan = runner.invoke(app, ["deploy", "--plan-only", "recipes/cifar10.toml", "--network", "tiny"],
                         env={"COLUMNS": width})
    assert plan.exit_code == 0, plan.output
    lines = plan.stdout.splitlines()
    assert max(len(x) for x in lines) <= int(width) and "…" not in plan.stdout, [x for x in lines if len(x) > 80]
    table = lines[:next(i for i, x in enumerate(lines) if x.startswith("tile:"))]
    assert max(len(x) for x in table) <= 80
    legend = " ".join(plan.stdout.split())
    for word in ("tile:", "g/c: filter groups per core", "fspl:", "split: splitter cores", "bound:", "copies:"):
        assert word in legend
