"""curves/<dataset-id>-<net>.png: training curves from each run folder's metrics.csv.

metrics.csv (INTERFACES.md #2) has one row per epoch, columns in this order:
    epoch, loss, train_acc, test_acc, lr, seconds, spike_rate_<layer>...
accuracies as fractions in [0, 1]. Each picture has accuracy (train and test) and loss
against epoch, and the spike rate of every spiking layer where the file has them.
A run without metrics.csv is skipped with a one-line note; a malformed one is a warning
naming the file and what is wrong, never a failed report.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tnpipe import paths
from tnpipe.errors import ArtifactError
from tnpipe.report.collect import Report, Row
from tnpipe.report.figures import pyplot, save

METRICS_FILE = "metrics.csv"
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


def curves_path(out_dir: Path, row: Row) -> Path:
    return Path(out_dir) / "curves" / f"{paths.dataset_id(row.dataset, row.synthetic)}-{row.network}.png"


def plot_curves(row: Row, metrics: pd.DataFrame, path: Path) -> Path:
    """Accuracy, loss (and spike rates per layer) against epoch for one run."""
    plt = pyplot()
    spikes = [c for c in metrics.columns if str(c).startswith(SPIKE_PREFIX)]
    fig, axes = plt.subplots(1, 3 if spikes else 2, figsize=(11.5 if spikes else 8.0, 3.4), squeeze=False)
    ax_acc, ax_loss = axes[0, 0], axes[0, 1]
    ep = metrics["epoch"]
    ax_acc.plot(ep, 100 * metrics["train_acc"], marker="o", ms=3, label="train")
    ax_acc.plot(ep, 100 * metrics["test_acc"], marker="s", ms=3, label="test")
    ax_acc.set_ylabel("accuracy (%)", fontsize=8)
    ax_acc.legend(fontsize=7, loc="best", frameon=False)
    ax_loss.plot(ep, metrics["loss"], marker="o", ms=3, color="tab:red")
    ax_loss.set_ylabel("training loss", fontsize=8)
    if spikes:
        ax_sp = axes[0, 2]
        for c in spikes:
            ax_sp.plot(ep, metrics[c], marker=".", ms=3, label=str(c)[len(SPIKE_PREFIX):])
        ax_sp.set_ylabel("spike rate (metrics.csv spike_rate_<layer>)", fontsize=8)
        ax_sp.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, title="layer",
                     title_fontsize=7)
    for ax in axes[0]:
        ax.set_xlabel("epoch", fontsize=8)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=7)
        if len(ep) < 12:
            ax.set_xticks(list(ep))
    total = metrics["seconds"].sum()
    fig.suptitle(f"{row.dataset}{' (synthetic stand-in)' if row.synthetic else ''} {row.network}: "
                 f"{len(ep)} epoch{'' if len(ep) == 1 else 's'}, {total:.0f} s of training; "
                 f"final test accuracy {100 * metrics['test_acc'].iloc[-1]:.2f}%", fontsize=9)
    fig.tight_layout()
    save(fig, path)
    plt.close(fig)
    return Path(path)


def write_curves(report: Report, out_dir: Path | None = None) -> tuple[list[Path], list[str], list[str]]:
    """A curves picture per row whose run folder has metrics.csv. Returns (written, notes,
    warnings): notes name the runs without metrics.csv, warnings the malformed files."""
    out_dir = report.root if out_dir is None else Path(out_dir)
    written, notes, warnings = [], [], []
    for r in report.rows:
        metrics = r.run_dir / METRICS_FILE
        if not metrics.is_file():
            notes.append(f"{r.run_dir}: no {METRICS_FILE}; no curves for {paths.dataset_id(r.dataset, r.synthetic)} "
                         f"{r.network}")
            continue
        try:
            written.append(plot_curves(r, read_metrics(metrics), curves_path(out_dir, r)))
        except ArtifactError as e:
            warnings.append(f"{e}; curves not drawn")
    return written, notes, warnings
