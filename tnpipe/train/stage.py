"""`train()`: the stage's one public function (plan -> lock -> reuse, resume or train -> finish).

Nothing an earlier run wrote is lost: an unfinished run (or a finished one with other
settings) is refused without --resume or --force, and --force moves the old train.log,
checkpoint.pt, metrics.csv, train.json, network.npz and its deployment (result.json,
coremap.*, network.nir) into `previous-TIME/` before
starting over. One writer per
run folder (tnpipe.locks). SIGINT/SIGTERM end the run between steps with the last
epoch's checkpoint kept and the exact command that continues it (TrainingInterrupted).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tnpipe.artifacts.checkpoint import CHECKPOINT_NAME, load_checkpoint
from tnpipe.artifacts.training import TrainingRecord
from tnpipe.command_line import command_line
from tnpipe.errors import ArtifactError, TrainingError, TrainingInterrupted
from tnpipe.locks import hold, run_lock
from tnpipe.log import console, heartbeat
from tnpipe.train.distributed import Dist, choose_device
from tnpipe.train.finish import finish
from tnpipe.train.interrupt import Stopped, stop_on_signals
from tnpipe.train.loop import EpochHook, TrainingRun
from tnpipe.train.metrics import open_tensorboard, require_tensorboard
from tnpipe.train.plan import RunPlan, finished_record, plan_run

# what a new start would overwrite: the log, the checkpoint, the metrics, and the record and
# network of a finished earlier run (left in place, they would pass for the new run's)
RUN_FILES = ("train.log", CHECKPOINT_NAME, "metrics.csv", "train.json", "network.npz",
             # and what was derived from that network: left in place, an earlier deployment or
             # export would pass for the new network's
             "result.json", "coremap.npz", "coremap.json", "network.nir")


@dataclass
class TrainOutcome:
    status: Literal["done", "reused"]
    path: Path                      # the run folder
    record: TrainingRecord | None   # None on the ranks other than 0 (they write nothing)
    seconds: float


def resume_command(recipe_path: Path, network: str, overrides: Sequence[str], seed: int | None,
                   synthetic: bool, layers: str | None, device: str, tensorboard: bool = False) -> str:
    """The `tnpipe train ... --resume` command line that continues this run."""
    return command_line("train", [str(recipe_path)], [
        ("--network", network), ("--layers", layers), ("--set", list(overrides)), ("--seed", seed),
        ("--device", device if device != "cpu" else None), ("--synthetic", synthetic),
        ("--tensorboard", tensorboard), ("--resume", True)])


def check_earlier_run(plan: RunPlan, resume: bool, force: bool, command: str) -> None:
    """Refuse to start over on top of an earlier run's checkpoint without --resume/--force."""
    ckpt = plan.run_dir / CHECKPOINT_NAME
    if force or resume or not ckpt.is_file():
        return
    try:
        state = load_checkpoint(ckpt)
    except ArtifactError:
        raise TrainingError(f"{ckpt}: unreadable checkpoint of an earlier run; pass --force to start over "
                            "(it is moved aside, kept)") from None
    if state.finished:
        raise TrainingError(f"{ckpt}: a finished run with other settings (or without its network.npz) is "
                            "there; pass --force to train again (its log and checkpoint are moved aside, kept)")
    raise TrainingError(f"{ckpt}: an unfinished run is there (epoch {state.epoch}/{plan.cfg.epochs}); continue "
                        f"it with `{command}`, or pass --force to start over (its files are moved aside, kept)")


def set_aside(run_dir: Path) -> Path | None:
    """Move an earlier run's RUN_FILES into run_dir/previous-TIME/ (kept)."""
    from tnpipe.aside import set_aside as move_aside

    dest = move_aside(run_dir, RUN_FILES)
    if dest is not None:
        moved = ", ".join(f for f in RUN_FILES if (dest / f).exists())
        console.print(f"{run_dir}: the earlier run's {moved} moved to {dest}", highlight=False, soft_wrap=True)
    return dest


def train(recipe_path: Path, network: str, overrides: Sequence[str] = (), device: str = "cpu",
          seed: int | None = None, resume: bool = False, synthetic: bool = False, layers: str | None = None,
          force: bool = False, on_epoch_end: EpochHook | None = None, tensorboard: bool = False) -> TrainOutcome:
    """Train `network` of the recipe (or the `layers` string); reuse a finished run made
    with the same settings unless `force`. `on_epoch_end(epoch)` is called after each
    epoch's checkpoint (e.g. to stop a run there). Raises TrainingInterrupted on
    SIGINT/SIGTERM, LockedError when another process writes the same run folder.
    `tensorboard`: also write TensorBoard events into RUN_DIR/tensorboard/ (TrainingError,
    before any work, if not installed)."""
    if tensorboard:
        require_tensorboard()
    t_start = time.perf_counter()
    plan = plan_run(recipe_path, network, overrides, seed, synthetic, layers)
    command = resume_command(recipe_path, network, overrides, seed, synthetic, layers, device, tensorboard)
    device, dist = choose_device(device, plan.cfg.threads)
    lock = hold(run_lock(plan.run_dir), f"{plan.run_dir}") if dist.main else contextlib.nullcontext()
    try:
        with lock:
            old = None if force else finished_record(plan)
            if old is not None:
                if dist.main:
                    console.print(f"{plan.run_dir}: already trained with these settings (train.json); "
                                  "skipped (use --force to redo)")
                return TrainOutcome("reused", plan.run_dir, old, time.perf_counter() - t_start)
            check_earlier_run(plan, resume, force, command)
            record = _train_and_finish(plan, device, dist, resume, force, on_epoch_end, command, t_start,
                                       tensorboard)
    finally:
        dist.close()
    return TrainOutcome("done", plan.run_dir, record, time.perf_counter() - t_start)


def _train_and_finish(plan: RunPlan, device: str, dist: Dist, resume: bool, force: bool,
                      on_epoch_end: EpochHook | None, command: str, t_start: float,
                      tensorboard: bool = False) -> TrainingRecord | None:
    fresh = force or not (plan.run_dir / CHECKPOINT_NAME).is_file()
    with stop_on_signals() as stop:
        # data, network, model, precision and optimiser are built (every input and setting
        # checked) BEFORE an earlier run is moved: a refused start changes nothing
        run = TrainingRun.start(plan, device, dist, resume, force)
        if dist.main and fresh:
            set_aside(plan.run_dir)     # a fresh start: nothing of an earlier run is overwritten
        dist.barrier()
        run.stop = stop
        if tensorboard and dist.main:
            run.tensorboard = open_tensorboard(plan.run_dir, run.start_epoch)
        try:
            run.run_epochs(on_epoch_end)
        except Stopped as s:
            where = f"in epoch {s.epoch}/{plan.cfg.epochs} (step {s.step}/{s.steps})" if s.step else \
                f"before epoch {s.epoch}/{plan.cfg.epochs}"
            kept = (f"{plan.run_dir / CHECKPOINT_NAME} holds epoch {s.checkpoint_epoch}" if s.checkpoint_epoch
                    else "no epoch had completed, so there is no checkpoint yet")
            stopped = TrainingInterrupted(f"{s.signame} {where}; {kept}; continue with: {command}")
            stopped.detail = f"{s.signame} {where}; {kept}"   # for `tnpipe run`, which names its own command
            raise stopped from None
        finally:
            if run.tensorboard is not None:
                run.tensorboard.close()
        # minutes on a large set, silent otherwise: a line every 15 s (also when piped)
        with heartbeat(lambda: "after the last epoch: batch-norm statistics over the whole training set, "
                               "the test passes and the export" if dist.main else None):
            run.full_set_statistics()   # every rank: sums over the shards
            record = finish(run, time.perf_counter() - t_start) if dist.main else None
    dist.barrier()
    return record
