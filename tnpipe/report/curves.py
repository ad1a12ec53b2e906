"""curves/<dataset-id>-<net>.png: training curves from each run folder's metrics.csv.

metrics.csv (the contract: tnpipe.artifacts.metrics) has one row per epoch, columns in this order:
    epoch, loss, train_acc, test_acc, lr, seconds, spike_rate_<layer>...
accuracies as fractions in [0, 1]. Each picture has accuracy (train and test) and loss
against epoch, and the spike rate of every spiking layer where the file has them; from
the run's train.json, if readable, the final hardware-mode test accuracy (a star: the
per-epoch test accuracy is the float graph's with running BN statistics, the run's figure
is measured once after full-set statistics) and each layer's Eedn token in the legend.
A run without metrics.csv is skipped with a one-line note; a malformed one is a warning
naming the file and what is wrong, never a failed report.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tnpipe import paths
from tnpipe.artifacts.metrics import METRICS_NAME, SPIKE_PREFIX, read_metrics
from tnpipe.errors import ArtifactError
from tnpipe.nn.trained import load_record
from tnpipe.report.collect import Report
from tnpipe.report.figures import pyplot, save
from tnpipe.report.row import Row


def curves_path(out_dir: Path, row: Row) -> Path:
    return Path(out_dir) / "curves" / f"{paths.dataset_id(row.dataset, row.synthetic)}-{row.network}.png"


def run_facts(row: Row) -> tuple[list[str], float | None]:
    """The run's layer tokens (index = layer number, "D" is no layer) and its hardware-mode
    test accuracy, from train.json; ([], None) where the run folder has no readable one."""
    try:
        rec = load_record(row.run_dir)
    except ArtifactError:
        return [], None
    return [t for t in rec.network_text.split() if t != "D"], rec.hw_test_acc


def run_seconds(row: Row) -> float | None:
    """The run's whole training time as train.json records it (None: no readable train.json)."""
    try:
        return load_record(row.run_dir).seconds
    except ArtifactError:
        return None


def _layer_label(name: str, tokens: list[str]) -> str:
    """"L0 S-8 (transduction)", "L3 P-32(2)": the column's layer with its Eedn token."""
    i = int(name[1:]) if name[1:].isdigit() else -1
    token = f" {tokens[i]}" if 0 <= i < len(tokens) else ""
    return f"{name}{token}{' (transduction)' if i == 0 else ''}"


def _spike_panel(ax, metrics: pd.DataFrame, spikes: list[str], tokens: list[str]) -> None:
    """One line per layer; past ten layers the default colours would repeat, so the colour
    then runs along a sequential map by depth."""
    cmap = pyplot().get_cmap("tab10" if len(spikes) <= 10 else "viridis")
    for j, c in enumerate(spikes):
        colour = cmap(j) if len(spikes) <= 10 else cmap(j / max(len(spikes) - 1, 1))
        ax.plot(metrics["epoch"], metrics[c], marker=".", ms=3, color=colour,
                label=_layer_label(str(c)[len(SPIKE_PREFIX):], tokens))
    ax.set_ylabel("spikes per neuron per frame", fontsize=8)
    ax.set_title("spike rate by layer (training batches)", fontsize=8)
    ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, title="layer",
              title_fontsize=7, ncol=1 if len(spikes) <= 12 else 2)


def plot_curves(row: Row, metrics: pd.DataFrame, path: Path) -> Path:
    """Accuracy, loss (and spike rates per layer) against epoch for one run; the final
    hardware-mode test accuracy from train.json as a star where the run folder has one."""
    plt = pyplot()
    spikes = [c for c in metrics.columns if str(c).startswith(SPIKE_PREFIX)]
    tokens, hw_acc = run_facts(row)
    fig, axes = plt.subplots(1, 3 if spikes else 2, figsize=(12.5 if spikes else 8.0, 3.6), squeeze=False)
    ax_acc, ax_loss = axes[0, 0], axes[0, 1]
    ep = metrics["epoch"]
    ax_acc.plot(ep, 100 * metrics["train_acc"], marker="o", ms=3, label="train (training mode)")
    ax_acc.plot(ep, 100 * metrics["test_acc"], marker="s", ms=3, label="test (float graph, running BN stats)")
    if hw_acc is not None:
        # half an epoch right of the last: measured after training, and never on top of its point
        ax_acc.plot([ep.iloc[-1] + 0.5], [100 * hw_acc], marker="*", ms=11, ls="none", color="black", zorder=3,
                    label=f"test, hardware mode, after training: {100 * hw_acc:.2f}%")
    ax_acc.set_ylabel("accuracy (%)", fontsize=8)
    ax_acc.set_title("accuracy", fontsize=8)
    # below the axes: a legend inside would cover the points of some run or other
    ax_acc.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    ax_loss.plot(ep, metrics["loss"], marker="o", ms=3, color="tab:red")
    ax_loss.set_ylabel("training loss", fontsize=8)
    ax_loss.set_title("training loss", fontsize=8)
    if spikes:
        _spike_panel(axes[0, 2], metrics, spikes, tokens)
    for ax in axes[0]:
        ax.set_xlabel("epoch", fontsize=8)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=7)
        if len(ep) < 12:
            ax.set_xticks(list(ep))
    seconds = run_seconds(row)
    # train.json's seconds (what `tnpipe train` printed: epochs plus statistics pass and export);
    # the epochs' own sum only where the run folder has no readable train.json
    total = f"{seconds:.1f} s of training" if seconds is not None else \
        f"{metrics['seconds'].sum():.0f} s in epochs"
    final = f"hardware-mode test accuracy {100 * hw_acc:.2f}%" if hw_acc is not None else \
        f"last test accuracy {100 * metrics['test_acc'].iloc[-1]:.2f}% (float graph)"
    fig.suptitle(f"{row.dataset}{' (synthetic stand-in)' if row.synthetic else ''} {row.network}: "
                 f"{len(ep)} epoch{'' if len(ep) == 1 else 's'}, {total}; {final}", fontsize=9)
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
        metrics = r.run_dir / METRICS_NAME
        if not metrics.is_file():
            notes.append(f"{r.run_dir}: no {METRICS_NAME}; no curves for {paths.dataset_id(r.dataset, r.synthetic)} "
                         f"{r.network}")
            continue
        try:
            written.append(plot_curves(r, read_metrics(metrics), curves_path(out_dir, r)))
        except ArtifactError as e:
            warnings.append(f"{e}; curves not drawn")
    return written, notes, warnings
