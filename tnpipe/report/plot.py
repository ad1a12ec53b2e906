"""report.png: accuracy against fps/W (log x), each row of ours beside the paper's 1-chip point
(like the paper's figure 5). Drawn from the report's frame (matplotlib, Agg: no display)."""

from __future__ import annotations

from pathlib import Path

from tnpipe.errors import ArtifactError
from tnpipe.report.collect import Report
from tnpipe.report.figures import pyplot, save
from tnpipe.report.floorplan import floorplan_path, plot_floorplan
from tnpipe.report.paper import PAPER_CITATION


def plot_accuracy_vs_efficiency(report: Report, path: Path) -> Path:
    """Accuracy (%) against fps/W (log axis): ours (circles; hollow = synthetic) and the paper's
    TN 1-chip points (stars) for every dataset in the report, same colour per dataset."""
    plt = pyplot()
    from matplotlib.lines import Line2D

    f = report.frame
    datasets = list(dict.fromkeys(f["dataset"]))
    cmap = plt.get_cmap("tab10")
    colour = {d: cmap(i % 10) for i, d in enumerate(datasets)}
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for r in f.itertuples():
        x, y = r.fps_per_w, 100 * r.accuracy_chip
        if not (x > 0):
            continue   # a log axis cannot show 0 fps/W; the table still lists the row
        c = colour[r.dataset]
        ax.scatter([x], [y], s=60, marker="o", edgecolors=[c], facecolors="none" if r.synthetic else [c],
                   linewidths=1.5, zorder=3)
        ax.annotate(f"{r.dataset}{' (synthetic)' if r.synthetic else ''} {r.network}", (x, y),
                    textcoords="offset points", xytext=(5, 4), fontsize=7)
    for d in datasets:
        p = f[(f["dataset"] == d) & f["paper_fps_per_w"].notna()]
        if len(p):
            px, py = p["paper_fps_per_w"].iloc[0], 100 * p["paper_accuracy"].iloc[0]
            ax.scatter([px], [py], s=120, marker="*", color=colour[d], zorder=4)
            ax.annotate(f"{d} paper 1-chip", (px, py), textcoords="offset points",
                        xytext=(5, -9), fontsize=7, color="dimgray")
    ax.set_xscale("log")
    ax.set_xlabel("frames / s / W  (ours: model estimate; log scale)")
    ax.set_ylabel("accuracy on chip (%)")
    ax.set_title("accuracy against energy efficiency")
    ax.legend(handles=[
        Line2D([], [], marker="o", ls="", color="k", label="ours, real data"),
        Line2D([], [], marker="o", ls="", color="k", markerfacecolor="none", label="ours, synthetic stand-in"),
        Line2D([], [], marker="*", ls="", color="k", markersize=11, label="paper, TN 1-chip"),
    ], loc="lower left", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.text(0.01, -0.02, "paper: " + PAPER_CITATION, fontsize=6, ha="left", va="top", wrap=True)
    save(fig, path)
    plt.close(fig)
    return Path(path)


def write_plots(report: Report, out_dir: Path | None = None) -> tuple[list[Path], list[str]]:
    """report.png plus a floorplan per row that has one. Returns (written, warnings):
    a malformed floorplan is a warning naming the file, not a failed report."""
    out_dir = report.root if out_dir is None else Path(out_dir)
    written = [plot_accuracy_vs_efficiency(report, out_dir / "report.png")]
    warnings = []
    for r in report.rows:
        if "floorplan" not in r.result:
            continue
        try:
            written.append(plot_floorplan(r, floorplan_path(out_dir, r)))
        except ArtifactError as e:
            warnings.append(f"{e}; floorplan not drawn")
    return written, warnings


