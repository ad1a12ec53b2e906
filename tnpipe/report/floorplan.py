"""floorplans/<dataset-id>-<net>.png: one picture per deployed network whose result.json has
the optional "floorplan" key. Two rows of panels, one column per chip:

    top      each used core coloured by the layer it computes (legend: layer names, and what
             the notation means);
    bottom   each used core's spikes per frame on a log colour scale, with its colourbar;
             a used core that never spiked is drawn in its own colour (the colourbar's
             "0" end), unused cores light grey.

Axes are core coordinates (x, y on the chip's 64 x 64 mesh). Tiny networks use a corner of
a chip: each panel then shows the smallest multiple-of-8 square from (0, 0) that holds
every used core, and its title says so.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np

from tnpipe import paths
from tnpipe.errors import ArtifactError
from tnpipe.report.columns import fmt_sig
from tnpipe.report.figures import pyplot, save
from tnpipe.report.row import Row

FLOORPLAN_KEYS = ("width", "height", "chips", "layer_names", "core_chip", "core_x", "core_y",
                  "core_layer", "core_spikes_per_frame")
UNUSED_RGB = (0.92, 0.92, 0.92)
SILENT_RGB = (0.55, 0.75, 0.95)       # a used core with 0 spikes/frame: not on the log scale
NOTATION = (
    "Ln      the n-th layer (L0, transduction: off-chip)",
    "S-F(g)  3x3 spatial filter, stride 1",
    "N-F(g)  1x1 network-in-network",
    "P-F(g)  2x2 pooling, stride 2 (learned)",
    "P4-F(g) 4x4 pooling, stride 2, overlapping",
    "        F features in g groups; no (g): 1 group",
    "splitters  cores that copy a layer's spikes",
    "           to more axons than one neuron reaches",
)


def check_floorplan(fp: Any, where: str) -> dict[str, np.ndarray]:
    """Validate the result's "floorplan" block; returns the per-core arrays."""
    if not isinstance(fp, dict):
        raise ArtifactError(f"{where}: floorplan is {type(fp).__name__}; expected an object")
    missing = [k for k in FLOORPLAN_KEYS if k not in fp]
    if missing:
        raise ArtifactError(f"{where}: floorplan lacks {', '.join(missing)}")
    arrays = {k: np.asarray(fp[k]) for k in ("core_chip", "core_x", "core_y", "core_layer", "core_spikes_per_frame")}
    n = {k: a.shape for k, a in arrays.items()}
    if len({s for s in n.values()}) != 1 or arrays["core_chip"].ndim != 1:
        raise ArtifactError(f"{where}: floorplan core arrays differ in shape {n}; expected one value per core")
    w, h, chips, layers = int(fp["width"]), int(fp["height"]), int(fp["chips"]), len(fp["layer_names"])
    for key, hi in (("core_x", w), ("core_y", h), ("core_chip", chips), ("core_layer", layers)):
        a = arrays[key]
        if a.size and (a.min() < 0 or a.max() >= hi):
            raise ArtifactError(f"{where}: floorplan {key} spans {int(a.min())}..{int(a.max())}; expected 0..{hi - 1}")
    return arrays


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def layer_colours(plt, n: int) -> np.ndarray:
    """The ten strong tab20 colours first (even indices), the pale ones only past ten layers."""
    cmap = plt.get_cmap("tab20")
    return np.array([cmap((2 * i + (i // 10) % 2) % 20)[:3] for i in range(n)]).reshape(-1, 3)


def _view(a: dict[str, np.ndarray], w: int, h: int) -> tuple[int, int]:
    """Width and height of the part of each chip shown: the whole of a side, or, where the used
    cores fill less than half of it, the smallest multiple of 8 (at least 16) from 0 that holds them."""
    def side(used: int, full: int) -> int:
        part = max(16, 8 * math.ceil(used / 8))
        return full if part * 2 > full else part

    return (side(int(a["core_x"].max(initial=0)) + 1, w), side(int(a["core_y"].max(initial=0)) + 1, h))


def _layer_panel(ax, a, on, rgb, view) -> None:
    img = np.tile(np.array(UNUSED_RGB), (view[1], view[0], 1))
    img[a["core_y"][on].astype(int), a["core_x"][on].astype(int)] = rgb[a["core_layer"][on].astype(int)]
    ax.imshow(img, interpolation="nearest", origin="upper", extent=(-0.5, view[0] - 0.5, view[1] - 0.5, -0.5))


def _spike_panel(ax, a, on, view, norm, cmap):
    vals = np.full((view[1], view[0]), np.nan)          # NaN: unused core ("bad" colour)
    s = a["core_spikes_per_frame"].astype(float)
    silent = norm.vmin / 10                              # below the scale: the "under" colour, not "bad"
    vals[a["core_y"][on].astype(int), a["core_x"][on].astype(int)] = np.where(s[on] > 0, s[on], silent)
    return ax.imshow(np.ma.masked_invalid(vals), cmap=cmap, norm=norm, interpolation="nearest", origin="upper",
                     extent=(-0.5, view[0] - 0.5, view[1] - 0.5, -0.5))


def _axes_style(ax, view, w, h, ylabel: bool) -> None:
    ax.set_xticks(range(0, view[0], 8 if view[0] <= 32 else 16))
    ax.set_yticks(range(0, view[1], 8 if view[1] <= 32 else 16))
    ax.tick_params(labelsize=6.5)
    ax.set_xlabel("core x", fontsize=7)
    if ylabel:       # once per row: a neighbouring chip's panel would sit on it
        ax.set_ylabel("core y", fontsize=7)
    ax.set_facecolor(UNUSED_RGB)


def _norm_and_cmap(plt, spikes: np.ndarray):
    from matplotlib.colors import LogNorm

    pos = spikes[spikes > 0]
    hi = float(pos.max()) if pos.size else 1.0
    lo = float(pos.min()) if pos.size else 0.1
    lo = min(lo, hi / 10)                         # at least one decade, so the bar has a scale
    cmap = plt.get_cmap("viridis").with_extremes(under=SILENT_RGB, bad=UNUSED_RGB)
    return LogNorm(vmin=lo, vmax=hi), cmap


def _legends(fig, key_ax, bar_ax, image, names, rgb) -> None:
    """Layer legend and the notation spelled out (right column), the colourbar (right of the spikes)."""
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    handles = [Patch(color=rgb[i], label=n) for i, n in enumerate(names)]
    handles.append(Patch(color=UNUSED_RGB, label="unused core"))
    handles.append(Patch(color=SILENT_RGB, label="used core, 0 spikes"))
    key_ax.axis("off")
    legend = key_ax.legend(handles=handles, loc="upper left", fontsize=7, title="layer (colour, top row)",
                           title_fontsize=7.5, frameon=False, alignment="left", borderaxespad=0.0)
    key_ax.add_artist(legend)
    key_ax.text(0.0, 0.0, "notation (Esser et al. 2016, Table 1)\n" + "\n".join(NOTATION), fontsize=6.5,
                family="monospace", ha="left", va="bottom", linespacing=1.45, transform=key_ax.transAxes)
    bar = fig.colorbar(image, cax=bar_ax, extend="min")
    bar.set_label("spikes / frame per core\n(log scale)", fontsize=7)
    # plain numbers (20, 50 rather than 2 x 10^1 in a larger font), minor ticks labelled at 2 and 5 only
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    bar.ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "25" else ""))
    bar.ax.tick_params(which="both", labelsize=6.5)


CHIPS_PER_ROW = 4      # an 8-chip network wraps onto two rows of chips instead of one 30-inch strip


def _grid(plt, chips: int, view: tuple[int, int], legend_lines: int):
    """Per chip a layer panel above a spike panel, sized to the part of the chip shown (cores
    stay square), at most CHIPS_PER_ROW chips side by side; a colourbar right of the first
    spike row; a column right of everything for the legend and the notation.
    Returns the figure, panels[0 | 1, chip] (layers | spikes), the key and colourbar axes."""
    cols, rows = min(chips, CHIPS_PER_ROW), math.ceil(chips / CHIPS_PER_ROW)
    panel_w = 3.4 * min(1.6, max(1.0, view[0] / view[1]))
    panel_h = panel_w * view[1] / view[0]
    key_h = 0.16 * (legend_lines + len(NOTATION) + 3)          # legend, then the notation, in text lines
    height = max(rows * (2 * panel_h + 1.7) + 0.4, key_h + 0.6)  # 0.85 in above each panel: titles
    fig = plt.figure(figsize=(panel_w * cols + 0.5 * cols + 4.5, height))
    gs = fig.add_gridspec(2 * rows, cols + 3, width_ratios=[panel_w] * cols + [0.12, 0.5, 3.2], wspace=0.12,
                          hspace=0.85 / panel_h, left=0.5 / fig.get_figwidth(), right=0.99,
                          top=1 - 0.8 / height, bottom=0.4 / height)
    panels = np.array([[fig.add_subplot(gs[2 * (c // cols) + r, c % cols]) for c in range(chips)] for r in range(2)])
    key_ax = fig.add_subplot(gs[:, cols + 2])        # column cols + 1: room for the colourbar's label
    bar_ax = fig.add_subplot(gs[1, cols])
    return fig, panels, key_ax, bar_ax


def floorplan_figure(row: Row):
    """Layers (top) and log spikes/frame (bottom) of every chip's used cores."""
    plt = pyplot()
    fp = dataclasses.asdict(row.result.floorplan)
    a = check_floorplan(fp, str(row.path))
    w, h, chips, names = int(fp["width"]), int(fp["height"]), int(fp["chips"]), list(fp["layer_names"])
    rgb, view = layer_colours(plt, len(names)), _view(a, w, h)
    spikes = a["core_spikes_per_frame"].astype(float)
    norm, cmap = _norm_and_cmap(plt, spikes)
    fig, axes, key_ax, bar_ax = _grid(plt, chips, view, len(names) + 2)
    for chip in range(chips):
        on = a["core_chip"] == chip
        _layer_panel(axes[0, chip], a, on, rgb, view)
        image = _spike_panel(axes[1, chip], a, on, view, norm, cmap)
        shown = "" if view == (w, h) else f"\n(x 0..{view[0] - 1}, y 0..{view[1] - 1} shown of the {w} x {h} chip)"
        axes[0, chip].set_title(f"chip {chip}: {plural(int(on.sum()), 'core')} by layer{shown}", fontsize=8)
        axes[1, chip].set_title(f"chip {chip}: spikes per frame", fontsize=8)
        for ax in axes[:, chip]:
            _axes_style(ax, view, w, h, ylabel=chip % CHIPS_PER_ROW == 0)
    _legends(fig, key_ax, bar_ax, image, names, rgb)
    fig.suptitle(f"{row.dataset}{' (synthetic stand-in)' if row.synthetic else ''} {row.network}: "
                 f"{plural(len(spikes), 'core')} on {plural(chips, 'chip')}; busiest core "
                 f"{fmt_sig(float(spikes.max()) if spikes.size else 0.0, 3)} spikes/frame", fontsize=9)
    return fig


def plot_floorplan(row: Row, path: Path) -> Path:
    fig = floorplan_figure(row)
    save(fig, path)
    pyplot().close(fig)
    return Path(path)


def floorplan_path(out_dir: Path, row: Row) -> Path:
    return Path(out_dir) / "floorplans" / f"{paths.dataset_id(row.dataset, row.synthetic)}-{row.network}.png"
