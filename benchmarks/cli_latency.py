"""How fast a mistyped command answers (issue 23): the error paths of train, export, report and
deploy against `tnpipe --version` (the CLI's own start-up) measured in the same run.

    python benchmarks/cli_latency.py [TREE ...]     # default: this repository

Each command runs 3 times in a fresh process; the minimum is printed, and its ratio to
`--version`: close to 1 means the answer comes before any heavy import (torch, pandas)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = (["--version"], ["train", "recipes/fsd.toml", "--network", "cpu"], ["export", "results/nope/cpu"],
            ["report", "--all", "--results-root", "/nonexistent"], ["deploy", "results/nope/cpu"])


def best_of(tree: Path, argv: list[str], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tnpipe", *argv], cwd=tree, capture_output=True,
                       env=dict(os.environ, PYTHONPATH=str(tree)))
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    trees = [Path(a).resolve() for a in sys.argv[1:]] or [Path(__file__).resolve().parents[1]]
    for tree in trees:
        base = best_of(tree, ["--version"])
        for argv in COMMANDS[1:]:
            s = best_of(tree, argv)
            print(f"{tree}  {' '.join(argv):45} {s:5.2f} s  ratio to --version {s / base:4.1f}", flush=True)
        print(f"{tree}  --version {base:.2f} s; load average {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
