"""The metrics log: RUN_DIR/metrics.csv, what `train` writes each epoch and `report --curves`
reads (INTERFACES.md #2). Its columns are spelled here only.

One row per epoch, columns in this order:
    epoch, loss, train_acc, test_acc, lr, seconds      (METRICS_COLUMNS)
    spike_rate_<layer>...                               (SPIKE_PREFIX + "L0", "L1", ...)
accuracies as fractions in [0, 1]. What each column measures: tnpipe.train.metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tnpipe.errors import ArtifactError

METRICS_NAME = "metrics.csv"
METRICS_COLUMNS = ("epoch", "loss", "train_acc", "test_acc", "lr", "seconds")
SPIKE_PREFIX = "spike_rate_"


def read_metrics(path: Path) -> pd.DataFrame:
    """metrics.csv as a numeric frame, checked: the six leading columns in order, at least one
    epoch, numbers everywhere, accuracies in [0, 1]. ArtifactError (one line) otherwise."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)   # cells as written, for the errors
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise ArtifactError(f"{path}: metrics.csv unreadable ({e.__class__.__name__}: {str(e).splitlines()[0]})") from e
    head = tuple(frame.columns[: len(METRICS_COLUMNS)])
    if head != METRICS_COLUMNS:
        raise ArtifactError(f"{path}: metrics.csv columns start {', '.join(map(str, head)) or 'empty'}; "
                            f"expected {', '.join(METRICS_COLUMNS)}")
    extra = [c for c in frame.columns[len(METRICS_COLUMNS):] if not str(c).startswith(SPIKE_PREFIX)]
    if extra:
        raise ArtifactError(f"{path}: metrics.csv column {extra[0]!r}; expected only {SPIKE_PREFIX}<layer> "
                            f"after {METRICS_COLUMNS[-1]}")
    if frame.empty:
        raise ArtifactError(f"{path}: metrics.csv has no epoch rows yet")
    numeric = frame.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna()           # a text cell or an empty one
    if bad.any().any():
        col = next(c for c in frame.columns if bad[c].any())
        line = int(bad[col].to_numpy().argmax())
        cell = frame[col].iloc[line]
        raise ArtifactError(f"{path}: metrics.csv line {line + 2} column {col!r} is {repr(cell) if cell else 'empty'}; "
                            "expected a number")
    for col in ("train_acc", "test_acc"):
        if not numeric[col].between(0, 1).all():
            raise ArtifactError(f"{path}: metrics.csv {col} spans {numeric[col].min():g}..{numeric[col].max():g}; "
                                "expected fractions in 0..1")
    return numeric


def metrics_row(epoch: int, loss: float, train_acc: float, test_acc: float, lr: float, seconds: float,
                spike_rates: dict[str, float]) -> dict[str, Any]:
    """One epoch's row in column order; spike_rates: layer name ("L0", ...) -> mean rate."""
    row = dict(zip(METRICS_COLUMNS, (epoch, loss, train_acc, test_acc, lr, seconds), strict=True))
    row.update({f"{SPIKE_PREFIX}{name}": rate for name, rate in spike_rates.items()})
    return row
