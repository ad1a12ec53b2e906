"""Stage 2, `tnpipe train`: a PreparedDataset + a recipe network -> a trained Eedn network.

    config.py       TrainCfg, the recipe's [train] section (imports nothing of torch)
    plan.py         RunPlan: settings, paths and run key, the network checked against the core
    distributed.py  Dist: torchrun ranks (gloo on CPU, nccl on CUDA), device choice
    schedule.py     optimiser, learning-rate schedule, vote loss, augmentation, evaluation
    loop.py         TrainingRun: data and model once, then epochs of steps, checkpoint per epoch
    finish.py       BN statistics, export of network.npz, accuracies, train.json
    stage.py        train(): the stage's one function, returning a TrainOutcome

Every epoch ends with one log line (stdout and `train.log`) and an atomic `checkpoint.pt`.
Optional wall-clock budget (`train.time_budget_min`, used by the `cpu` networks): the
schedule's progress is max(steps done / steps planned, time spent / budget), and training
stops when the budget is spent; such a run is not bit-reproducible.

The names below load lazily so that `tnpipe.train.config` (read by the recipe loader)
imports neither torch nor the recipe module back.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "train": "stage", "TrainOutcome": "stage", "TrainingRun": "loop", "lr_at": "schedule",
    "evaluate": "schedule", "run_key": "plan", "Dist": "distributed", "TrainCfg": "config",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"tnpipe.train.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'tnpipe.train' has no attribute {name!r}")


__all__ = list(_EXPORTS)
