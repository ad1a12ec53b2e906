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

import math
from pathlib import Path
from typing import Any

import numpy as np

from tnpipe import paths
from tnpipe.errors import ArtifactError
from tnpipe.report.collect import Row
from tnpipe.report.figures import pyplot, save

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
    """Width and height of the square shown: the whole chip, or the used corner of it."""
    used = int(max(a["core_x"].max(initial=0), a["core_y"].max(initial=0))) + 1
    side = max(16, 8 * math.ceil(used / 8))
    return (w, h) if side * 2 > min(w, h) else (side, side)


def _layer_panel(ax, a, on, rgb, view) -> None:
    img = np.tile(np.array(UNUSED_RGB), (view[1], view[0], 1))
    img[a["core_y"][on].astype(int), a["core_x"][on].astype(int)] = rgb[a["core_layer"][on].astype(int)]
    ax.imshow(img, interpolation="nearest", origin="upper", extent=(-0.5, view[0] - 0.5, view[1] - 0.5, -0.5))


def _spike_panel(ax, a, on, view, norm, cmap):
    vals = np.full((view[1], view[0]), np.nan)
    s = a["core_spikes_per_frame"].astype(float)
    vals[a["core_y"][on].astype(int), a["core_x"][on].astype(int)] = np.where(s[on] > 0, s[on], -1.0)
    return ax.imshow(np.ma.masked_invalid(vals), cmap=cmap, norm=norm, interpolation="nearest", origin="upper",
                     extent=(-0.5, view[0] - 0.5, view[1] - 0.5, -0.5))


def _axes_style(ax, view, w, h) -> None:
    step = 8 if view[0] <= 32 else 16
    ax.set_xticks(range(0, view[0], step))
    ax.set_yticks(range(0, view[1], step))
    ax.tick_params(labelsize=6.5)
    ax.set_xlabel("core x", fontsize=7)
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


def _legends(fig, key_ax, bar_ax, note_ax, image, names, rgb) -> None:
    """Layer legend (top right), colourbar and the notation spelled out (bottom right)."""
    from matplotlib.patches import Patch

    handles = [Patch(color=rgb[i], label=n) for i, n in enumerate(names)]
    handles.append(Patch(color=UNUSED_RGB, label="unused core"))
    key_ax.axis("off")
    key_ax.legend(handles=handles, loc="upper left", fontsize=7, title="layer (colour)", title_fontsize=7.5,
                  frameon=False, ncol=1 if len(handles) <= 18 else 2)
    bar = fig.colorbar(image, cax=bar_ax, extend="min")
    bar.set_label("spikes / frame per core (log scale)\nbelow the scale: 0 spikes", fontsize=7)
    bar.ax.tick_params(labelsize=6.5)
    note_ax.axis("off")
    note_ax.text(0.12, 1.0, "notation (Esser et al. 2016, Table 1)\n" + "\n".join(NOTATION), fontsize=6.5,
                 family="monospace", ha="left", va="top", linespacing=1.45, transform=note_ax.transAxes)


def _grid(plt, chips: int):
    """Axes: 2 x chips panels, a legend cell right of the top row, a colourbar right of the bottom."""
    fig = plt.figure(figsize=(3.4 * chips + 3.6, 7.0))
    gs = fig.add_gridspec(2, chips + 2, width_ratios=[1.0] * chips + [0.07, 1.0], wspace=0.3, hspace=0.32,
                          left=0.06, right=0.98, top=0.9, bottom=0.08)
    panels = np.array([[fig.add_subplot(gs[r, c]) for c in range(chips)] for r in range(2)])
    key_ax = fig.add_subplot(gs[0, chips:])
    bar_ax = fig.add_subplot(gs[1, chips])
    note_ax = fig.add_subplot(gs[1, chips + 1])
    return fig, panels, key_ax, bar_ax, note_ax


def floorplan_figure(row: Row):
    """Layers (top) and log spikes/frame (bottom) of every chip's used cores."""
    plt = pyplot()
    fp = row.result["floorplan"]
    a = check_floorplan(fp, str(row.path))
    w, h, chips, names = int(fp["width"]), int(fp["height"]), int(fp["chips"]), list(fp["layer_names"])
    rgb, view = layer_colours(plt, len(names)), _view(a, w, h)
    spikes = a["core_spikes_per_frame"].astype(float)
    norm, cmap = _norm_and_cmap(plt, spikes)
    fig, axes, key_ax, bar_ax, note_ax = _grid(plt, chips)
    for chip in range(chips):
        on = a["core_chip"] == chip
        _layer_panel(axes[0, chip], a, on, rgb, view)
        image = _spike_panel(axes[1, chip], a, on, view, norm, cmap)
        shown = "" if view == (w, h) else f"\n(x, y 0..{view[0] - 1} shown of the {w} x {h} chip)"
        axes[0, chip].set_title(f"chip {chip}: {plural(int(on.sum()), 'core')} by layer{shown}", fontsize=8)
        axes[1, chip].set_title(f"chip {chip}: spikes per frame", fontsize=8)
        for ax in axes[:, chip]:
            _axes_style(ax, view, w, h)
    _legends(fig, key_ax, bar_ax, note_ax, image, names, rgb)
    fig.suptitle(f"{row.dataset}{' (synthetic stand-in)' if row.synthetic else ''} {row.network}: "
                 f"{plural(len(spikes), 'core')} on {plural(chips, 'chip')}; busiest core "
                 f"{spikes.max() if spikes.size else 0:.3g} spikes/frame", fontsize=9)
    return fig


def plot_floorplan(row: Row, path: Path) -> Path:
    fig = floorplan_figure(row)
    save(fig, path)
    pyplot().close(fig)
    return Path(path)


def floorplan_path(out_dir: Path, row: Row) -> Path:
    return Path(out_dir) / "floorplans" / f"{paths.dataset_id(row.dataset, row.synthetic)}-{row.network}.png"
