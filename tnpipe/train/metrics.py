"""The per-epoch metrics log of a run: RUN_DIR/metrics.csv, and TensorBoard events on request.

metrics.csv (its columns spelled in tnpipe.artifacts.metrics) has one row per epoch, in this order:
    epoch        1-based
    loss         mean training loss over the epoch's frames (this process's; rank 0 under torchrun)
    train_acc    fraction of the epoch's training frames classified right, in training mode
    test_acc     float-graph test accuracy after the epoch, batch norm on its running statistics
                 (train.log's "running-stats" figure; train.json's hw_test_acc is measured once, at the end)
    lr           learning rate of the epoch's last step
    seconds      wall clock of the epoch
    spike_rate_L0, spike_rate_L1, ...   one per spiking layer (L0 the transduction layer, L1.. on
                 chip): mean spikes per neuron per frame (a neuron = one feature at one position),
                 averaged over the epoch's training batches that tracked rates: every 10th step,
                 or every step when the sparsity penalty is on
These are the numbers of train.log's epoch line, unrounded, plus the per-layer rates.

The file is rewritten whole after every epoch through a temporary file and a rename
(tnpipe.atomic): a reader sees the previous file or the new one, never half a row. Rows
of the epoch written and later ones are dropped first, so a resumed run keeps the earlier
epochs and has each epoch once, and a run started over replaces an old file from epoch 1.

With `--tensorboard` the same scalars go to RUN_DIR/tensorboard/ (global step = epoch);
a resumed run purges the events of epochs it redoes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import torch

from tnpipe import atomic
from tnpipe.artifacts.metrics import METRICS_NAME, SPIKE_PREFIX, metrics_row
from tnpipe.errors import TrainingError
from tnpipe.netspec import NetworkSpec

TENSORBOARD_DIR = "tensorboard"


def layer_names(spec: NetworkSpec) -> list[str]:
    """"L0", "L1", ...: the index part of each spiking layer's LayerSpec.name."""
    return [ls.name.split()[0] for ls in spec.layers]


def epoch_row(record: dict[str, Any], layer_rate_sums: Any, rate_batches: int, spec: NetworkSpec) -> dict[str, Any]:
    """metrics.csv's row for one epoch from its history record and the summed per-layer rates
    (a tensor or sequence with one mean rate per spiking layer per tracked batch, summed)."""
    rates = (torch.as_tensor(layer_rate_sums, dtype=torch.float64).cpu() / max(rate_batches, 1)).tolist()
    if not rate_batches:      # no batch tracked rates (cannot happen: step 0 always does)
        rates = [0.0] * len(spec.layers)
    return metrics_row(int(record["epoch"]), record["loss"], record["train_acc"], record["test_acc_running"],
                       record["lr"], record["seconds"], dict(zip(layer_names(spec), rates, strict=True)))


def write_row(run_dir: Path, row: dict[str, Any]) -> Path:
    """Put `row` into RUN_DIR/metrics.csv after the rows of earlier epochs (atomically)."""
    path = Path(run_dir) / METRICS_NAME
    frame = pd.DataFrame([row])
    if path.is_file():
        try:
            old = pd.read_csv(path)
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
            old = frame.iloc[0:0]      # not ours to keep: a damaged file is replaced
        if list(old.columns) == list(frame.columns):
            frame = pd.concat([old[old["epoch"] < row["epoch"]], frame], ignore_index=True)
    atomic.write_text(path, frame.to_csv(index=False))
    return path


def require_tensorboard() -> type:
    """torch's SummaryWriter; TrainingError (one line) if the tensorboard package is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:
        raise TrainingError("--tensorboard: the tensorboard package is not installed "
                            "(pip install tensorboard, or drop --tensorboard)") from e
    return SummaryWriter


def open_tensorboard(run_dir: Path, start_epoch: int) -> Any:
    """A SummaryWriter on RUN_DIR/tensorboard/ that hides earlier events of epochs after
    `start_epoch` (they are being redone)."""
    return require_tensorboard()(log_dir=str(Path(run_dir) / TENSORBOARD_DIR), purge_step=start_epoch + 1)


def log_epoch(run_dir: Path, row: dict[str, Any], tensorboard: Any = None) -> None:
    """The epoch's row into metrics.csv, and into TensorBoard when a writer is given."""
    write_row(run_dir, row)
    if tensorboard is not None:
        step = row["epoch"]
        for key, value in row.items():
            if key != "epoch":
                tag = f"spike_rate/{key[len(SPIKE_PREFIX):]}" if key.startswith(SPIKE_PREFIX) else key
                tensorboard.add_scalar(tag, value, step)
        tensorboard.flush()
