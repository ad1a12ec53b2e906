"""`tnpipe run`: prepare -> train -> deploy for each dataset, then the report.

Each stage is the library call its own command makes and returns a typed outcome whose
status says whether it did work ("done") or reused a verified artifact ("reused":
prepare: meta.json checksums and settings; train: a finished run with the same recipe,
network and overrides; deploy: a result made from the same network, run and chip
settings), so a second `run` costs seconds. `force` redoes every stage.

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
from tnpipe.errors import RecipeError, TnpipeError, TrainingInterrupted

DEFAULT_NETWORK = "tiny"


@dataclass
class StageOutcome:
    dataset: str
    stage: str
    status: str          # "done", "reused" (artifact existed and verified) or "failed"
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


@dataclass(frozen=True)
class RunOptions:
    network: str = DEFAULT_NETWORK
    synthetic: bool = False
    raw_root: Path | None = None
    device: str = "cpu"
    force: bool = False
    overrides: tuple[str, ...] = ()
    frames: int | None = None
    tensorboard: bool = False       # train with TensorBoard events in each run folder
    resume: bool = False      # continue an interrupted training (train --resume)


def choose_datasets(names: Sequence[str] | None, all_: bool, synthetic: bool,
                    raw_root: Path | None = None) -> list[str]:
    """The datasets to run, checked against the registry before anything starts.

    --all = the eight benchmarks, plus the open extra fsdd when synthetic or when its raw
    folder is present (the same rule as `tnpipe prepare --all`)."""
    from tnpipe.data import OPEN_EXTRA, choose

    root = paths.raw_root() if raw_root is None else Path(raw_root)
    return choose(names, all_, synthetic or paths.raw_dir(OPEN_EXTRA, False, root).is_dir())


def check_settings(names: Sequence[str], opt: RunOptions) -> None:
    """Every chosen dataset's recipe loads with the --set overrides and defines the network,
    before any stage starts (a typo must not wait for a dataset to be prepared)."""
    from tnpipe.recipe import load_recipe
    from tnpipe.settings import parse_override

    for ov in opt.overrides:
        parse_override(ov)
    for name in names:
        path = paths.recipe_path(name)
        if not path.is_file():
            continue   # reported by the dataset's prepare stage, which the others do not wait for
        recipe = load_recipe(path, list(opt.overrides))
        recipe.network(opt.network)
        cfg = recipe.train.for_network(opt.network, list(opt.overrides), f"{path} [train]")
        cfg.validate(f"{path} [train]")
        _check_budget(recipe, opt.network, cfg, path)


def _check_budget(recipe, network: str, cfg, path: Path) -> None:
    """A network named for a chip budget that its map exceeds is refused before any dataset is
    prepared (tnpipe.chip.budget; train checks it again for itself)."""
    from tnpipe.chip.budget import budget_of

    if cfg.allow_over_budget or budget_of(network) is None:
        return
    from tnpipe.data import get_dataset
    from tnpipe.netspec import parse_network
    from tnpipe.train.plan import check_cores

    source = get_dataset(recipe.data.name)
    spec = parse_network(recipe.network(network), source.input_shape(recipe.data), source.num_classes)
    check_cores(network, spec, str(path))


def _data_cfg(name: str, overrides: Sequence[str]):
    """The recipe's [data] with any `--set data.*` applied (None when no data override),
    so prepare and train see the same features."""
    if not any(o.strip().startswith("data.") for o in overrides):
        return None
    from tnpipe.recipe import load_recipe

    return load_recipe(paths.recipe_path(name), list(overrides)).data


def _stages(name: str, opt: RunOptions):
    """The three stages of one dataset as (name, call) pairs; each call returns an outcome
    with .status and .path, and the next stage reads the path the previous one gave."""
    recipe = paths.recipe_path(name)
    state: dict[str, Path] = {}

    def prepare():
        if not recipe.is_file():
            raise RecipeError(f"{recipe}: recipe not found; every dataset needs recipes/{name}.toml")
        from tnpipe import prepare as stage

        cfg = _data_cfg(name, opt.overrides)
        return stage.prepare(name, raw_root=opt.raw_root, synthetic=opt.synthetic, force=opt.force,
                             **({"cfg": cfg} if cfg is not None else {}))

    def train():
        from tnpipe import train as stage

        out = stage.train(recipe, opt.network, overrides=opt.overrides, device=opt.device,
                          synthetic=opt.synthetic, force=opt.force, resume=opt.resume,
                          tensorboard=opt.tensorboard)
        state["run_dir"] = Path(out.path)
        return out

    def deploy():
        from tnpipe import deploy as stage

        return stage.deploy(state["run_dir"], frames=opt.frames, device=opt.device, force=opt.force,
                            overrides=opt.overrides)

    return [("prepare", prepare), ("train", train), ("deploy", deploy)]


def run_dataset(name: str, opt: RunOptions = RunOptions(),
                on_stage: Callable[[StageOutcome], None] | None = None) -> tuple[list[StageOutcome], Path | None]:
    """prepare, train and deploy ONE dataset; stops at its first failing stage.

    Returns the stage outcomes and the path of its result.json (None if a stage failed)."""
    outcomes: list[StageOutcome] = []
    label = paths.dataset_id(name, opt.synthetic)
    path = None
    for stage, call in _stages(name, opt):
        start = time.perf_counter()
        try:
            out = call()
            o = StageOutcome(label, stage, out.status, time.perf_counter() - start, str(out.path))
            path = Path(out.path)
        except (KeyboardInterrupt, TrainingInterrupted):   # the user stops the whole run
            raise
        except TnpipeError as e:
            o = StageOutcome(label, stage, "failed", time.perf_counter() - start, str(e))
        except Exception as e:  # a bug in a stage must not stop the other datasets, nor pass unseen
            tb = traceback.extract_tb(e.__traceback__)[-1]
            o = StageOutcome(label, stage, "failed", time.perf_counter() - start,
                             f"{e.__class__.__name__}: {e} (at {Path(tb.filename).name}:{tb.lineno}; "
                             f"run `tnpipe {stage}` alone for the full traceback)")
        outcomes.append(o)
        if on_stage is not None:
            on_stage(o)
        if o.status == "failed":
            return outcomes, None
    return outcomes, path


def run_pipeline(names: Sequence[str], opt: RunOptions = RunOptions(),
                 on_stage: Callable[[StageOutcome], None] | None = None,
                 on_dataset: Callable[[int, int, str], None] | None = None) -> RunSummary:
    """Every dataset in turn (a failing one does not stop the others).

    on_dataset(i, n, dataset_id) is called as dataset i of n starts; on_stage(outcome) as
    each of its stages ends."""
    summary = RunSummary()
    start = time.perf_counter()
    for i, name in enumerate(names, start=1):
        if on_dataset is not None:
            on_dataset(i, len(names), paths.dataset_id(name, opt.synthetic))
        outcomes, result = run_dataset(name, opt, on_stage)
        summary.outcomes += outcomes
        if result is not None:
            summary.results.append(result)
    summary.seconds = time.perf_counter() - start
    return summary


__all__ = ["DEFAULT_NETWORK", "StageOutcome", "RunSummary", "RunOptions", "choose_datasets",
           "run_dataset", "run_pipeline"]
