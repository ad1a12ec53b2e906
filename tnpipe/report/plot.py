"""report.png: accuracy on the chip against fps/W (log x), like the paper's figure 5.

Drawn from the report's frame. Two panels at most, stacked:
    real data      ours (filled; stand-in data as squares) and the paper's TN 1-chip point
                   (star) for a dataset only where a like-for-like row (our "1chip" network
                   on the real benchmark) exists: a star beside any other row would invite
                   a comparison the table calls "ref. only";
    synthetic      the generated stand-ins (hollow), on their own axes and never beside the
                   paper: they check the pipeline, they are not results on a benchmark.
Labels sit in a column right of each panel with leader lines (tnpipe.report.labels), the
legend and the citation below the panels: nothing is drawn over the data.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from tnpipe.errors import ArtifactError
from tnpipe.report.collect import Report, dataset_names
from tnpipe.report.figures import pyplot, save
from tnpipe.report.floorplan import floorplan_path, plot_floorplan
from tnpipe.report.labels import label_column
from tnpipe.report.paper import PAPER_CITATION

SYNTHETIC_TITLE = "synthetic stand-ins: pipeline checks on generated data\nNOT benchmark results, so no paper points"


def _limits(values: list[float], log: bool) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if log:
        return lo / 1.8, hi * 1.8
    pad = max(3.0, 0.08 * (hi - lo))
    return max(0.0, lo - pad), min(102.0, hi + pad)


def _panel_points(sub: pd.DataFrame, colour: dict) -> tuple[list, list]:
    """(ours, paper) as lists of (x, y, label, colour, kind); rows with fps/W <= 0 left out."""
    ours = [(r.fps_per_w, 100 * r.accuracy_chip, f"{r.dataset} {r.network}" + (" (stand-in)" if r.stand_in else ""),
             colour[r.dataset], "synthetic" if r.synthetic else "stand-in" if r.stand_in else "real")
            for r in sub.itertuples() if r.fps_per_w > 0]
    like = sub[sub["like_for_like"].astype(bool)].drop_duplicates("dataset")
    paper = [(r.paper_fps_per_w, 100 * r.paper_accuracy, f"{r.dataset} paper TN 1-chip", colour[r.dataset], "paper")
             for r in like.itertuples()]
    return ours, paper


STYLE = {   # kind -> marker, size, filled
    "real": ("o", 55, True), "stand-in": ("s", 50, True), "synthetic": ("o", 55, False), "paper": ("*", 160, True),
}


def _draw_panel(ax, sub: pd.DataFrame, colour: dict, title: str) -> set[str]:
    """Points, limits, labels of one panel; returns the kinds of marker drawn (for the legend)."""
    ours, paper = _panel_points(sub, colour)
    points = ours + paper
    for x, y, _, c, kind in points:
        marker, size, filled = STYLE[kind]
        ax.scatter([x], [y], s=size, marker=marker, edgecolors=[c], facecolors=[c] if filled else "none",
                   linewidths=1.4, alpha=0.9, zorder=4 if kind == "paper" else 3)
    ax.set_xscale("log")
    if points:
        ax.set_xlim(*_limits([p[0] for p in points], log=True))
        ax.set_ylim(*_limits([p[1] for p in points], log=False))
    ax.set_xlabel("frames / s / W  (ours: model estimate; log scale)", fontsize=8)
    ax.set_ylabel("accuracy on the chip (%)", fontsize=8)
    ax.set_title(title, fontsize=8.5, loc="left")
    ax.grid(True, which="both", alpha=0.3)
    ax.tick_params(which="both", labelsize=7)
    label_column(ax, [(x, y, text, c) for x, y, text, c, _ in points])
    left_out = int((sub["fps_per_w"].astype(float) <= 0).sum())
    if left_out:
        ax.text(0.01, 0.01, f"{left_out} row(s) with 0 fps/W not drawn (see the table)", transform=ax.transAxes,
                fontsize=7, color="dimgray")
    return {p[4] for p in points}


def _real_title(sub: pd.DataFrame) -> str:
    if sub["like_for_like"].astype(bool).any():
        return "ours on real data beside Esser et al. 2016 Table 3\nstars: the paper's TN 1-chip networks, measured"
    return ("ours on real data\nno paper point: one is drawn only beside our 1chip network on the "
            "paper's benchmark data")


LEGEND = {
    "real": "ours, real data", "stand-in": "ours, stand-in data (not the paper's)",
    "synthetic": "ours, synthetic stand-in", "paper": "paper, TN 1-chip (measured)",
}


def _legend(fig, bottom_ax, kinds: set[str]) -> None:
    """Marker legend, then the citation, below the lowest panel's x label (placed in inches
    from it, so they keep their distance whatever the figure's height)."""
    from matplotlib.lines import Line2D
    from matplotlib.transforms import ScaledTranslation

    handles = []
    for kind in ("real", "stand-in", "synthetic", "paper"):
        if kind in kinds:
            marker, size, filled = STYLE[kind]
            handles.append(Line2D([], [], marker=marker, ls="", color="k", markersize=math.sqrt(size),
                                  markerfacecolor="k" if filled else "none", label=LEGEND[kind]))
    y0 = bottom_ax.get_position().y0

    def below(inches: float):   # figure fraction, shifted down by a fixed distance
        return fig.transFigure + ScaledTranslation(0, -inches, fig.dpi_scale_trans)

    if handles:
        fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, y0), bbox_transform=below(0.5),
                   ncol=len(handles), fontsize=7.5, frameon=False, title="colour = dataset", title_fontsize=7.5,
                   alignment="left")
    if "paper" in kinds:
        fig.text(0.0, y0, "paper: " + PAPER_CITATION, fontsize=6, ha="left", va="top", transform=below(1.05))


def accuracy_figure(report: Report):
    """The report.png figure from the report's frame (see the module docstring)."""
    plt = pyplot()
    f = report.frame
    synthetic = f["synthetic"].astype(bool)
    cmap, names = plt.get_cmap("tab10"), dataset_names()
    # one colour per dataset in every picture: its place in the registry (unknown names after)
    order = {d: names.index(d) if d in names else len(names) + i for i, d in enumerate(dict.fromkeys(f["dataset"]))}
    colour = {d: cmap(i % 10) for d, i in order.items()}
    panels = [(f[~synthetic], _real_title(f[~synthetic])), (f[synthetic], SYNTHETIC_TITLE)]
    panels = [(sub, title) for sub, title in panels if len(sub)]
    rows = max(len(sub) + (sub["like_for_like"].astype(bool).sum()) for sub, _ in panels)
    height = max(3.4, 0.2 * rows + 1.2)      # room for the label column
    fig, axes = plt.subplots(len(panels), 1, figsize=(8.0, height * len(panels) + 0.4), squeeze=False)
    kinds: set[str] = set()
    for ax, (sub, title) in zip(axes[:, 0], panels, strict=True):
        kinds |= _draw_panel(ax, sub, colour, title)
    fig.tight_layout(h_pad=2.0)
    _legend(fig, axes[-1, 0], kinds)
    return fig


def plot_accuracy_vs_efficiency(report: Report, path: Path) -> Path:
    """Draw and save report.png."""
    fig = accuracy_figure(report)
    save(fig, path)
    pyplot().close(fig)
    return Path(path)


def write_plots(report: Report, out_dir: Path | None = None) -> tuple[list[Path], list[str]]:
    """report.png plus a floorplan per row that has one. Returns (written, warnings):
    a malformed floorplan is a warning naming the file, not a failed report."""
    out_dir = report.root if out_dir is None else Path(out_dir)
    written = [plot_accuracy_vs_efficiency(report, out_dir / "report.png")]
    warnings = []
    for r in report.rows:
        if r.result.floorplan is None:
            continue
        try:
            written.append(plot_floorplan(r, floorplan_path(out_dir, r)))
        except ArtifactError as e:
            warnings.append(f"{e}; floorplan not drawn")
    return written, warnings
