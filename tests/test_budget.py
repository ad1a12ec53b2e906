"""Issue 23: names promise sizes. A network named for a chip budget that needs more cores
than its name allows is refused before any training time is spent, unless overridden."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tnpipe.chip.budget import budget_of, check_budget
from tnpipe.cli import app
from tnpipe.errors import MappingError

runner = CliRunner()
RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "cifar10.toml"


def test_budget_of_names():
    assert budget_of("half") == (2048, "half a chip of 4096 cores")
    assert budget_of("1chip")[0] == 4096 and budget_of("1chip_paper")[0] == 4096
    assert budget_of("8chip") == (32768, "8 chips of 4096 cores")
    assert [budget_of(n) for n in ("tiny", "cpu", "chip", "half2", "1chipper")] == [None] * 5
    check_budget("1chip", 4096, "r")                 # exactly the budget: allowed
    with pytest.raises(MappingError, match="network '1chip' needs 4097 cores on the chip; its name promises "
                                           "at most 4096"):
        check_budget("1chip", 4097, "r")


def test_train_refuses_an_over_budget_network_before_any_data_is_needed(roots):
    # the recipe's `half` maps to 3268 cores (> 2048); no prepared data exists in these roots
    res = runner.invoke(app, ["train", str(RECIPE), "--network", "half", "--synthetic"])
    assert res.exit_code == 1
    line = res.stderr.strip()
    assert len(line.splitlines()) == 1 and line.startswith(f"error: {RECIPE}: network 'half' needs 3268 cores")
    assert "--set train.allow_over_budget=true" in line
    assert not any(roots["results"].iterdir())
    # said explicitly: the check is passed and the next missing thing (the data) is named
    ok = runner.invoke(app, ["train", str(RECIPE), "--network", "half", "--synthetic",
                             "--set", "train.allow_over_budget=true"])
    assert ok.exit_code == 1 and "prepared dataset not found" in ok.stderr
    # negative control: 1chip (3552 cores) fits its name
    fits = runner.invoke(app, ["train", str(RECIPE), "--network", "1chip", "--synthetic"])
    assert fits.exit_code == 1 and "prepared dataset not found" in fits.stderr


def test_run_refuses_an_over_budget_network_before_preparing_anything(roots):
    res = runner.invoke(app, ["run", "cifar10", "--synthetic", "--network", "half"])
    assert res.exit_code == 1
    assert "network 'half' needs 3268 cores on the chip; its name promises at most 2048" in " ".join(res.stderr.split())
    assert not any(roots["prepared"].iterdir()) and not any(roots["raw"].iterdir())
