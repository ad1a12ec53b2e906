"""floorplans/<dataset-id>-<net>.png: one picture per deployed network whose result.json has
the optional "floorplan" key: each chip's 64 x 64 cores, coloured by the layer they compute
and shaded by spike activity.

Floorplan shading: a used core's colour is its layer's colour mixed with white,
    rgb = white + (layer_rgb - white) * (0.25 + 0.75 * a),   a = log1p(s) / log1p(s_max)
with s the core's spikes per frame and s_max the busiest core of that network; log scale
because core activity spans orders of magnitude. Unused cores stay light grey.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tnpipe import paths
from tnpipe.errors import ArtifactError
from tnpipe.report.collect import Row
from tnpipe.report.figures import pyplot, save

FLOORPLAN_KEYS = ("width", "height", "chips", "layer_names", "core_chip", "core_x", "core_y",
                  "core_layer", "core_spikes_per_frame")
UNUSED_RGB = (0.93, 0.93, 0.93)
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


def plot_floorplan(row: Row, path: Path) -> Path:
    """One panel per chip: cores coloured by layer, shaded by spikes per frame."""
    plt = pyplot()
    from matplotlib.patches import Patch

    fp = row.result["floorplan"]
    a = check_floorplan(fp, str(row.path))
    w, h, chips, names = int(fp["width"]), int(fp["height"]), int(fp["chips"]), list(fp["layer_names"])
    cmap = plt.get_cmap("tab20")
    # the ten strong tab20 colours first (even indices), the pale ones only past ten layers,
    # so a pale layer colour is not mistaken for a quiet core of a neighbouring layer
    layer_rgb = np.array([cmap((2 * i + (i // 10) % 2) % 20)[:3] for i in range(len(names))]).reshape(-1, 3)
    spikes = a["core_spikes_per_frame"].astype(float)
    top = np.log1p(spikes.max()) if spikes.size and spikes.max() > 0 else 1.0
    shade = 0.25 + 0.75 * np.log1p(np.clip(spikes, 0, None)) / top
    white = np.ones(3)
    core_rgb = white + (layer_rgb[a["core_layer"].astype(int)] - white) * shade[:, None]

    fig, axes = plt.subplots(1, chips, figsize=(4.2 * chips + 2.2, 4.6), squeeze=False)
    for chip in range(chips):
        img = np.tile(np.array(UNUSED_RGB), (h, w, 1))
        on = a["core_chip"] == chip
        img[a["core_y"][on].astype(int), a["core_x"][on].astype(int)] = core_rgb[on]
        ax = axes[0, chip]
        ax.imshow(img, interpolation="nearest", origin="upper")
        ax.set_title(f"chip {chip}: {int(on.sum())} cores", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    handles = [Patch(color=layer_rgb[i], label=n) for i, n in enumerate(names)]
    axes[0, -1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7,
                       title="layer", title_fontsize=8)
    fig.suptitle(f"{row.dataset}{' (synthetic)' if row.synthetic else ''} {row.network}: "
                 f"{len(spikes)} cores on {chips} chip(s); shade = log spikes/frame "
                 f"(max {spikes.max() if spikes.size else 0:.3g})", fontsize=9)
    save(fig, path)
    plt.close(fig)
    return Path(path)


def floorplan_path(out_dir: Path, row: Row) -> Path:
    return Path(out_dir) / "floorplans" / f"{paths.dataset_id(row.dataset, row.synthetic)}-{row.network}.png"
