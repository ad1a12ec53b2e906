"""`tnpipe run`: prepare -> train -> deploy for each dataset, then the report.

Each stage is the library call its own command makes, and each skips itself when its
artifact exists and verifies (prepare: meta.json checksums and settings; train: a finished
run with the same recipe, network and overrides; deploy: a valid result.json newer than
network.npz), so a second `run` costs seconds. `force` redoes every stage.

A dataset whose stage fails is reported (one line naming the dataset, the stage and the
error) and the run moves on to the next dataset; the caller exits non-zero at the end,
after printing the table of what succeeded. Nothing is silently dropped.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tnpipe import paths
from tnpipe.errors import DataError, RecipeError, TnpipeError

STAGES = ("prepare", "train", "deploy")
DEFAULT_NETWORK = "tiny"


@dataclass
class StageOutcome:
    dataset: str
    stage: str
    status: str          # "done", "skipped" (artifact existed and verified) or "failed"
    seconds: float
    detail: str = ""     # the artifact's path, or the error


@dataclass
class RunSummary:
    outcomes: list[StageOutcome] = field(default_factory=list)
    results: list[Path] = field(default_factory=list)     # result.json of every deployed dataset
    seconds: float = 0.0                                   # wall clock of the whole run

    @property
    def failures(self) -> list[StageOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failures


def choose_datasets(names: Sequence[str] | None, all_: bool, synthetic: bool,
                    raw_root: Path | None = None) -> list[str]:
    """The datasets to run, checked against the registry before anything starts.

    --all = the eight benchmarks, plus the open extra fsdd when synthetic or when its raw
    folder is present (the same rule as `tnpipe prepare --all`)."""
    from tnpipe.data import BENCHMARKS, DATASET_NAMES

    if all_:
        chosen = list(BENCHMARKS)
        root = paths.raw_root() if raw_root is None else Path(raw_root)
        if synthetic or (root / "fsdd").is_dir():
            chosen.append("fsdd")
        return chosen
    if not names:
        raise DataError(f"name at least one dataset or pass --all; valid names: {', '.join(DATASET_NAMES)}")
    for n in names:
        if n not in DATASET_NAMES:
            raise DataError(f"unknown dataset {n!r}; valid names: {', '.join(DATASET_NAMES)}")
    return list(dict.fromkeys(names))


def _mtime(p: Path) -> float | None:
    try:
        return p.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _data_cfg(name: str, overrides: Sequence[str]):
    """The recipe's [data] with any `--set data.*` applied (None when no data override),
    so prepare and train see the same features."""
    if not any(o.strip().startswith("data.") for o in overrides):
        return None
    from tnpipe.recipe import load_recipe

    return load_recipe(paths.recipe_path(name), list(overrides)).data


def run_dataset(
    name: str,
    network: str = DEFAULT_NETWORK,
    synthetic: bool = False,
    raw_root: Path | None = None,
    device: str = "cpu",
    force: bool = False,
    overrides: Sequence[str] = (),
    frames: int | None = None,
    on_stage: Callable[[StageOutcome], None] | None = None,
) -> tuple[list[StageOutcome], Path | None]:
    """prepare, train and deploy ONE dataset; stops at its first failing stage.

    Returns the stage outcomes and the path of its result.json (None if a stage failed)."""
    outcomes: list[StageOutcome] = []
    label = paths.dataset_id(name, synthetic)

    def record(stage: str, status: str, start: float, detail: str) -> StageOutcome:
        o = StageOutcome(label, stage, status, time.perf_counter() - start, detail)
        outcomes.append(o)
        if on_stage is not None:
            on_stage(o)
        return o

    stage = "prepare"
    start = time.perf_counter()
    try:
        recipe = paths.recipe_path(name)
        if not recipe.is_file():
            raise RecipeError(f"{recipe}: recipe not found; every dataset needs recipes/{name}.toml")
        from tnpipe.prepare import prepare_one

        cfg = _data_cfg(name, overrides)
        kw = {"cfg": cfg} if cfg is not None else {}
        summary = prepare_one(name, raw_root=raw_root, synthetic=synthetic, force=force, **kw)
        record(stage, "skipped" if summary.skipped else "done", start, str(summary.folder))

        stage = "train"
        start = time.perf_counter()
        from tnpipe import train as train_stage

        rd = paths.run_dir(name, network, synthetic)
        before = _mtime(rd / "train.json")
        rd = Path(train_stage.train(recipe, network, overrides=tuple(overrides), device=device,
                                    synthetic=synthetic, force=force))
        after = _mtime(rd / "train.json")
        record(stage, "skipped" if before is not None and before == after else "done", start, str(rd))

        stage = "deploy"
        start = time.perf_counter()
        from tnpipe import deploy as deploy_stage

        before = _mtime(rd / "result.json")
        deploy_stage.deploy(rd, frames=frames, device=device, force=force)
        after = _mtime(rd / "result.json")
        record(stage, "skipped" if before is not None and before == after else "done", start,
               str(rd / "result.json"))
        return outcomes, rd / "result.json"
    except TnpipeError as e:
        record(stage, "failed", start, str(e))
    except KeyboardInterrupt:
        raise
    except Exception as e:  # a bug in a stage must not stop the other datasets, nor pass unseen
        tb = traceback.extract_tb(e.__traceback__)[-1]
        record(stage, "failed", start,
               f"{e.__class__.__name__}: {e} (at {Path(tb.filename).name}:{tb.lineno}; "
               f"run `tnpipe {stage}` alone for the full traceback)")
    return outcomes, None


def run_pipeline(
    names: Sequence[str],
    network: str = DEFAULT_NETWORK,
    synthetic: bool = False,
    raw_root: Path | None = None,
    device: str = "cpu",
    force: bool = False,
    overrides: Sequence[str] = (),
    frames: int | None = None,
    on_stage: Callable[[StageOutcome], None] | None = None,
    on_dataset: Callable[[int, int, str], None] | None = None,
) -> RunSummary:
    """Every dataset in turn (a failing one does not stop the others).

    on_dataset(i, n, dataset_id) is called as dataset i of n starts; on_stage(outcome) as
    each of its stages ends."""
    summary = RunSummary()
    start = time.perf_counter()
    for i, name in enumerate(names, start=1):
        if on_dataset is not None:
            on_dataset(i, len(names), paths.dataset_id(name, synthetic))
        outcomes, result = run_dataset(name, network, synthetic, raw_root, device, force, overrides,
                                       frames, on_stage)
        summary.outcomes += outcomes
        if result is not None:
            summary.results.append(result)
    summary.seconds = time.perf_counter() - start
    return summary


__all__ = ["STAGES", "DEFAULT_NETWORK", "StageOutcome", "RunSummary", "choose_datasets",
           "run_dataset", "run_pipeline"]
