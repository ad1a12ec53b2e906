"""Issue 23: a refused command changes nothing; settings checked before anything is moved or written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests.test_train import write_recipe, write_tiny_dataset
from tnpipe.cli import app
from tnpipe.train import train

runner = CliRunner()


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One finished tiny run (1 epoch) under its own roots, shared by the cases below."""
    import os

    base = tmp_path_factory.mktemp("refusals")
    env = {"TNPIPE_PREPARED_ROOT": str(base / "prepared"), "TNPIPE_RESULTS_ROOT": str(base / "results"),
           "TNPIPE_RAW_ROOT": str(base / "raw")}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    write_tiny_dataset(base / "prepared")
    recipe = write_recipe(base / "tinyset.toml", epochs=1)
    rd = train(recipe, "tiny", synthetic=True).path
    yield recipe, rd
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def snapshot(rd):
    return sorted((p.name, p.stat().st_mtime_ns) for p in rd.iterdir())


@pytest.mark.parametrize("setting, message", [
    ("train.lr=-1", "[train].lr: -1 must be a finite number > 0.0"),
    ("train.lr=0", "[train].lr: 0 must be a finite number > 0.0"),
    ("train.lr=nan", "[train].lr: nan must be a finite number > 0.0"),
    ("train.lr=inf", "[train].lr: inf must be a finite number > 0.0"),
    ("train.momentum=1.0", "[train].momentum: 1.0 must be a finite number >= 0.0 and < 1.0"),
    ("train.weight_decay=-1e-7", "[train].weight_decay: -1e-07 must be a finite number >= 0.0"),
    ("train.vote_scale=0", "[train].vote_scale: 0 must be a finite number > 0.0"),
    ("train.bn_momentum=2", "[train].bn_momentum: 2 must be a finite number > 0.0 and <= 1.0"),
    ("train.dropout=nan", "[train].dropout: nan must be in [0, 1)"),
    ("train.time_budget_min=nan", "[train].time_budget_min: nan must be a finite number >= 0.0"),
    ("train.precision=fp7", "[train].precision: 'fp7' is not one of"),
    ("train.optimiser=adam", "unknown key 'optimiser' (did you mean 'optimizer'?)"),
    ("trian.lr=0.1", "unknown section 'trian' (did you mean 'train'?)"),
])
def test_train_force_with_a_bad_setting_refuses_before_moving_the_run(finished, setting, message):
    recipe, rd = finished
    before = snapshot(rd)
    res = runner.invoke(app, ["train", str(recipe), "--network", "tiny", "--synthetic", "--force", "--set", setting])
    assert res.exit_code == 1, res.output
    line = res.stderr.strip()
    assert len(line.splitlines()) == 1 and line.startswith("error: ") and message in line, line
    assert snapshot(rd) == before                      # nothing moved aside, nothing written
    assert not any(p.name.startswith("previous-") for p in rd.iterdir()), sorted(p.name for p in rd.iterdir())


def test_deploy_set_names_only_chip_settings(finished):
    _recipe, rd = finished
    before = snapshot(rd)
    for setting, message in (("chp.placement=snake", "deploy takes only chip.KEY settings (did you mean 'chip'?)"),
                             ("train.lr=1", "deploy takes only chip.KEY settings"),
                             ("chip.placment=snake", "unknown key 'placment' (did you mean 'placement'?)"),
                             ("chip.placement=spiral", "spiral")):
        res = runner.invoke(app, ["deploy", str(rd), "--set", setting])
        assert res.exit_code == 1, res.output
        assert len(res.stderr.strip().splitlines()) == 1 and message in res.stderr, res.stderr
    assert snapshot(rd) == before


def test_negative_control_a_good_force_does_move_the_run_aside(finished):
    recipe, rd = finished
    res = runner.invoke(app, ["train", str(recipe), "--network", "again", "--synthetic"])
    assert res.exit_code == 0, res.output
    again = rd.parent / "again"
    for name in ("result.json", "coremap.npz", "coremap.json"):   # a deployment of the earlier network
        (again / name).write_text("earlier\n")
    res = runner.invoke(app, ["train", str(recipe), "--network", "again", "--synthetic", "--force"])
    assert res.exit_code == 0, res.output
    kept = [p for p in again.iterdir() if p.name.startswith("previous-")]
    assert len(kept) == 1 and (kept[0] / "network.npz").is_file()
    # derived results go with the network they were made from (issue 23): none is left beside the new one
    assert all((kept[0] / n).read_text() == "earlier\n" for n in ("result.json", "coremap.npz", "coremap.json"))
    assert not (again / "result.json").exists() and not (again / "coremap.npz").exists()
