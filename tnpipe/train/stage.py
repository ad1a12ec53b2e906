"""`train()`: the stage's one public function (plan -> reuse or train -> finish)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tnpipe.artifacts.training import TrainingRecord
from tnpipe.log import console
from tnpipe.train.distributed import choose_device
from tnpipe.train.finish import finish
from tnpipe.train.loop import EpochHook, TrainingRun
from tnpipe.train.plan import finished_record, plan_run


@dataclass
class TrainOutcome:
    status: Literal["done", "reused"]
    path: Path                      # the run folder
    record: TrainingRecord | None   # None on the ranks other than 0 (they write nothing)
    seconds: float


def train(recipe_path: Path, network: str, overrides: Sequence[str] = (), device: str = "cpu",
          seed: int | None = None, resume: bool = False, synthetic: bool = False, layers: str | None = None,
          force: bool = False, on_epoch_end: EpochHook | None = None) -> TrainOutcome:
    """Train `network` of the recipe (or the `layers` string); reuse a finished run made
    with the same settings unless `force`. `on_epoch_end(epoch)` is called after each
    epoch's checkpoint (e.g. to stop a run there)."""
    t_start = time.perf_counter()
    plan = plan_run(recipe_path, network, overrides, seed, synthetic, layers)
    device, dist = choose_device(device, plan.cfg.threads)
    old = None if force else finished_record(plan)
    if old is not None:
        if dist.main:
            console.print(f"{plan.run_dir}: already trained with these settings (train.json); "
                          "skipped (use --force to redo)")
        return TrainOutcome("reused", plan.run_dir, old, time.perf_counter() - t_start)
    run = TrainingRun.start(plan, device, dist, resume, force)
    run.run_epochs(on_epoch_end)
    record = finish(run, time.perf_counter() - t_start) if dist.main else None
    dist.barrier()
    return TrainOutcome("done", plan.run_dir, record, time.perf_counter() - t_start)
