"""Stage 2, `tnpipe train`: a PreparedDataset + a recipe network -> a trained Eedn network.

    plan.py         RunPlan: settings, paths and run key, the network checked against the core
    distributed.py  Dist: torchrun ranks (gloo on CPU, nccl on CUDA), device choice
    schedule.py     optimiser, learning-rate schedule, vote loss, augmentation, evaluation
    loop.py         TrainingRun: data and model once, then epochs of steps, checkpoint per epoch
    finish.py       BN statistics, export of network.npz, accuracies, train.json
    metrics.py      metrics.csv, one row per epoch (and TensorBoard events with --tensorboard)
    stage.py        train(): the stage's one function, returning a TrainOutcome

Every epoch ends with a row of `metrics.csv`, one log line (stdout and `train.log`) and an
atomic `checkpoint.pt`.
Optional wall-clock budget (`train.time_budget_min`, used by the `cpu` networks): the
schedule's progress is max(steps done / steps planned, time spent / budget), and training
stops when the budget is spent; such a run is not bit-reproducible.
"""

from __future__ import annotations

from tnpipe.nn.train_section import TrainCfg
from tnpipe.train.distributed import Dist
from tnpipe.train.loop import TrainingRun
from tnpipe.train.plan import run_key
from tnpipe.train.schedule import evaluate, lr_at
from tnpipe.train.stage import TrainOutcome, train

__all__ = ["train", "TrainOutcome", "TrainingRun", "lr_at", "evaluate", "run_key", "Dist", "TrainCfg"]
