"""RunResults -> rows -> one pandas DataFrame, the single source of every report output.

The report reads RunResults ONLY (`result.json`, loaded and verified by
`tnpipe.artifacts.load_result`); it never opens a checkpoint, a core map or a dataset.
`collect` finds and filters them; `Report.frame` holds one row per result with the raw
value of every column (tnpipe.report.columns says how each is titled and formatted).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from tnpipe import paths
from tnpipe.artifacts import RunResult, environment, load_result
from tnpipe.data import DATASET_NAMES
from tnpipe.data import check_names as check_registry
from tnpipe.errors import ArtifactError, TnpipeError
from tnpipe.report.frame import to_frame
from tnpipe.report.paper import load_paper_table
from tnpipe.report.row import Row

# networks in the order the paper grows them, then the project's own small ones
NETWORK_ORDER = ("half", "1chip", "2chip", "4chip", "8chip", "cpu", "tiny")


def dataset_names() -> tuple[str, ...]:
    """The dataset registry's names, in its order (tnpipe.data owns the list)."""
    return tuple(DATASET_NAMES)


class NoResults(ArtifactError):
    """Nothing readable to report; `skipped` names the unreadable files (the CLI lists them)."""

    def __init__(self, message: str, skipped: list[tuple[Path, str]]):
        super().__init__(message)
        self.skipped = skipped


@dataclass
class Report:
    rows: list[Row]
    skipped: list[tuple[Path, str]] = field(default_factory=list)   # (file, why) of unreadable results
    root: Path = Path("results")
    env: dict[str, Any] = field(default_factory=dict)
    full: bool = True   # every result under root, unfiltered: the only kind written into root (report.write)

    @cached_property
    def frame(self) -> pd.DataFrame:
        """One row per result, one column per report field (raw values; see tnpipe.report.frame)."""
        return to_frame(self.rows)


# a folder holding this file is an archive of results checked in with the code (e.g.
# results/full-scale/): reported when it is the results root itself, never as part of another
ARCHIVE_MARKER = ".tnpipe-archive"


def _archived(path: Path, root: Path) -> bool:
    """True for a result.json kept, not reported, under `root`: inside a previous-TIME/ folder
    (a run and its deployments set aside by --force) or below an archive folder."""
    parts = path.relative_to(root).parts[:-1]
    if any(part.startswith("previous-") for part in parts):
        return True
    return any((root.joinpath(*parts[:i]) / ARCHIVE_MARKER).is_file() for i in range(1, len(parts) + 1))


def find_results(root: Path) -> list[Path]:
    """Every result.json under `root`, recursively, in a stable order."""
    root = Path(root)
    if not root.is_dir():
        raise ArtifactError(
            f"{root}: results root not found; run `tnpipe deploy RUN_DIR` or `tnpipe run` first, "
            "or point --results-root / $TNPIPE_RESULTS_ROOT at the folder that holds them"
        )
    found = sorted(p for p in root.rglob("result.json") if p.is_file() and not _archived(p, root))
    if not found:
        raise ArtifactError(
            f"{root}: no result.json under the results root; run `tnpipe deploy RUN_DIR` or `tnpipe run` first"
        )
    return found


def stale(path: Path, result: RunResult) -> str:
    """Why a result no longer belongs to its run folder's network ('' when it does, or when
    it cannot be told): retrained since deploying, network.npz differs from the one the
    result records (made_from.network_sha256)."""
    from tnpipe.artifacts import sha256_file

    made = result.made_from
    npz = Path(path).parent / "network.npz"
    if not isinstance(made, dict) or "network_sha256" not in made or not npz.is_file():
        return ""
    if sha256_file(npz) == made["network_sha256"]:
        return ""
    return (f"{path}: made from an earlier network.npz (the run was trained again since); not reported as the "
            f"new network's: run `tnpipe deploy {Path(path).parent}`")


def _order_key(row: Row) -> tuple:
    names = dataset_names()
    ds = names.index(row.dataset) if row.dataset in names else len(names)
    net = NETWORK_ORDER.index(row.network) if row.network in NETWORK_ORDER else len(NETWORK_ORDER)
    # real before synthetic, always: a synthetic row must never sit among the real ones
    return (row.synthetic, bool(row.stand_in), ds, row.dataset, net, row.network, str(row.path))


def check_names(names: Iterable[str]) -> list[str]:
    """Each name checked against the one registry (tnpipe.data), order kept."""
    names = list(names)
    if names:
        check_registry(names)
    return names


def _no_results(root: Path, names, networks, synthetic, skipped) -> NoResults:
    what = []
    if names:
        what.append(f"dataset {', '.join(names)}")
    if networks:
        what.append(f"network {', '.join(networks)}")
    if synthetic is not None:
        what.append("synthetic" if synthetic else "real data")
    filt = f" for {'; '.join(what)}" if what else ""
    bad = f" ({len(skipped)} result.json skipped as unreadable)" if skipped else ""
    return NoResults(f"{root}: no readable result{filt}{bad}", skipped)


def collect(
    root: Path | None = None,
    names: Sequence[str] | None = None,
    networks: Sequence[str] | None = None,
    synthetic: bool | None = None,
    files: Sequence[Path] | None = None,
) -> Report:
    """Load RunResults under `root` (or exactly `files`), keeping those that match the filters.

    names: dataset names (both real and synthetic rows of each); networks: recipe network
    names; synthetic: True/False keeps only that kind, None keeps both.
    A malformed or older-version result.json is skipped and listed in `Report.skipped`;
    if nothing readable is left, NoResults (naming the root and the skipped count).
    """
    root = paths.results_root() if root is None else Path(root)
    wanted = set(check_names(names)) if names else None
    candidates = [Path(f) for f in files] if files is not None else find_results(root)
    paper = load_paper_table()
    rows: list[Row] = []
    skipped: list[tuple[Path, str]] = []
    for p in candidates:
        try:
            res = load_result(p)
        except TnpipeError as e:
            skipped.append((p, str(e)))
            continue
        why = stale(p, res)
        if why:
            skipped.append((p, why))
            continue
        row = Row(res, p, None)
        row.paper = paper.get(row.dataset)
        keep = ((wanted is None or row.dataset in wanted) and (not networks or row.network in networks)
                and (synthetic is None or row.synthetic == synthetic))
        if keep:
            rows.append(row)
    if not rows:
        raise _no_results(root, names, networks, synthetic, skipped)
    rows.sort(key=_order_key)
    full = files is None and not names and not networks and synthetic is None
    return Report(rows=rows, skipped=skipped, root=root, env=environment(), full=full)
