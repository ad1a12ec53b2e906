"""Issue 23: every number the README states is a number a command measured (the record in
benchmarks/RESULTS.md or results/real-subsets/README.md), and the README agrees with itself."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
RESULTS = (ROOT / "benchmarks" / "RESULTS.md").read_text()
SUBSETS = (ROOT / "results" / "real-subsets" / "README.md").read_text()


def fsdd_row() -> list[str]:
    row = next(line for line in SUBSETS.splitlines() if line.startswith("| fsdd |"))
    return [c.strip() for c in row.strip("|").split("|")]


def test_fsdd_times_are_the_measured_ones():
    train_s, deploy_s = fsdd_row()[-2:]                        # e.g. "296 s", "8 s"
    prepare_s = re.search(r"\| fsdd \(8 kHz[^|]*\| 2700/300 \| ([\d.]+) \|", RESULTS).group(1)
    said = " ".join(README.split())
    assert f"train {train_s}" in said and f"deploy {deploy_s}" in said
    assert f"prepare {round(float(prepare_s))} s" in said
    assert f"{train_s} measured" in said
    total_min = (round(float(prepare_s)) + int(train_s.split()[0]) + int(deploy_s.split()[0])) / 60
    assert f"about {round(total_min)} minutes" in said                # "end to end in about 6 minutes"
    recipe = (ROOT / "recipes" / "fsdd.toml").read_text()
    assert f"({train_s} measured" in recipe and "~15 min" not in recipe


def test_readme_has_one_fsdd_training_time():
    said = " ".join(README.split())
    assert "about 4.5 min" not in said and "about 15 minutes" not in said
    # the README's headline figures are in the benchmark record
    for figure in ("3 min 43 s", "3552", "3213", "62.30%"):
        assert figure in said and figure in " ".join(RESULTS.split()), figure
