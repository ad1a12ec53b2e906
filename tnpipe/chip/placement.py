"""Placement of cores on 64x64 chip meshes: which chip, and which (x, y) on it, per core.

Two placements (recipe key `chip.placement`; PLACEMENTS):

* "snake": a snake (boustrophedon) walk in network order, chip after chip. Cores arrive
  layer by layer (splitters right after their layer), so the walk keeps every layer's
  cores contiguous and consecutive layers adjacent: on one chip most spikes travel a few
  rows. Rows alternate direction so that the walk itself never jumps (consecutive cores
  are always 1 hop apart). Across chips, though, nearly every layer boundary becomes a
  chip boundary (72% of the 8-chip CIFAR-10 network's spikes leave their chip).
* "regions" (the default): a chip holds every layer's cores for one region of the image.
  Each core gets a topographic position, the mean image position of the spikes that reach
  it (input pixels for the first layer, then the positions of its source cores, layer by
  layer); the image is cut into bands, one per row of the chip grid, and each band into
  one region per chip, by core count so that no chip overflows. Conv nets only talk to
  their neighbourhood, so only spikes near a region's border cross chips (10% instead of
  72% on the 8-chip network; benchmarks/placement.py). Inside a chip, cores keep the
  snake walk in network order. On one chip "regions" is exactly "snake".

Chips are tiled in a near-square grid (e.g. 4 chips as 2x2, like the 4x4 NS16e board uses
16), walked as a snake too (CoreMap.chip_xy), so consecutive chips are neighbours.
"""

from __future__ import annotations

import math

import numpy as np

from tnpipe.corespec import TRUENORTH, CoreSpec
from tnpipe.errors import RecipeError

PLACEMENTS = ("snake", "regions")


def check_placement(name: str) -> str:
    """The name, if it is a placement; else a one-line RecipeError naming the valid ones."""
    if name not in PLACEMENTS:
        raise RecipeError(f"chip placement {name!r} is unknown; valid placements: {', '.join(PLACEMENTS)}")
    return name


def chip_grid(chips: int) -> tuple[int, int]:
    """(columns, rows) of a near-square grid holding `chips` chips."""
    cols = max(1, math.ceil(math.sqrt(chips)))
    return cols, max(1, math.ceil(chips / cols))


def chips_needed(n_cores: int, spec: CoreSpec = TRUENORTH) -> int:
    return max(1, int(math.ceil(n_cores / spec.cores_per_chip)))


def snake_place(n_cores: int, spec: CoreSpec = TRUENORTH) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Core i -> (chip, x, y) along a snake walk; returns (chip, x, y, chips)."""
    i = np.arange(n_cores, dtype=np.int64)
    per = spec.cores_per_chip
    chip = i // per
    r = i % per
    y = r // spec.chip_width
    x = r % spec.chip_width
    x = np.where(y % 2 == 1, spec.chip_width - 1 - x, x)
    return chip.astype(np.int32), x.astype(np.int16), y.astype(np.int16), chips_needed(n_cores, spec)


def core_graph(target_core: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Core-to-core connections (source, target, neurons): each neuron's target counts 1."""
    n = target_core.shape[0]
    src = np.broadcast_to(np.arange(n, dtype=np.int64)[:, None], target_core.shape)
    on = target_core >= 0
    pair, neurons = np.unique(src[on] * n + target_core[on].astype(np.int64), return_counts=True)
    return pair // n, pair % n, neurons.astype(np.float64)


def input_positions(in_index: np.ndarray, input_shape: tuple[int, int, int]) -> np.ndarray:
    """(wires, 2) image position (y, x) in [0, 1) of each input wire's pixel; input index
    c*H*W + y*W + x as the mapper numbers transduction spikes."""
    _, h, w = input_shape
    idx = np.asarray(in_index, dtype=np.int64)
    return np.stack([(idx // w % h + 0.5) / h, (idx % w + 0.5) / w], axis=1)


def topographic_positions(target_core: np.ndarray, in_core: np.ndarray, in_yx: np.ndarray) -> np.ndarray:
    """(n, 2) image position (y, x) in [0, 1) per core: the mean position of the spikes that
    reach it. in_yx: the image position of each input wire's pixel. Cores that nothing
    reaches sit at the centre. The map is feed-forward, so the positions settle after one
    sweep per layer."""
    n = target_core.shape[0]
    src, dst, neurons = core_graph(target_core)
    in_core = np.asarray(in_core, dtype=np.int64)
    from_inputs = np.stack([np.bincount(in_core, weights=in_yx[:, k], minlength=n) for k in range(2)], axis=1)
    reached = np.bincount(in_core, minlength=n) + np.bincount(dst, weights=neurons, minlength=n)
    pos = np.full((n, 2), 0.5)
    for _ in range(n + 1):   # at most one sweep per layer; n bounds any feed-forward depth
        total = from_inputs + np.stack(
            [np.bincount(dst, weights=neurons * pos[src, k], minlength=n) for k in range(2)], axis=1)
        new = np.where(reached[:, None] > 0, total / np.maximum(reached, 1)[:, None], 0.5)
        if np.array_equal(new, pos):
            break
        pos = new
    return pos


def chip_columns(chip: np.ndarray, cols: int) -> np.ndarray:
    """Each chip's column in the grid: CoreMap.chip_xy's snake over rows (odd rows run
    right to left, so a short last row may sit at the right end)."""
    cy = chip // cols
    return np.where(cy % 2 == 1, cols - 1 - chip % cols, chip % cols)


def region_chips(pos: np.ndarray, chips: int) -> np.ndarray:
    """Chip per core: the image is cut into one band (in y) per row of the chip grid, each
    band into one region (in x) per chip of that row, so that neighbouring regions sit on
    neighbouring chips. Cuts go by core count: every chip gets n/chips cores (rounded), so
    none overflows. Ties (cores at the same position) keep network order."""
    n = len(pos)
    ids = np.arange(n)
    cols, rows = chip_grid(chips)
    cut = [round(n * k / chips) for k in range(chips + 1)]    # the k-th region holds cut[k]:cut[k+1]
    by_y = np.lexsort((ids, pos[:, 1], pos[:, 0]))
    chip = np.empty(n, dtype=np.int32)
    for cy in range(rows):
        first, last = cy * cols, min(chips, (cy + 1) * cols)  # this band's chips and regions
        row = np.arange(first, last)
        row = row[np.argsort(chip_columns(row, cols))]        # the row's chips, left to right
        band = by_y[cut[first]:cut[last]]
        band = band[np.lexsort((band, pos[band, 0], pos[band, 1]))]   # across the band, by x
        for k, c in enumerate(row):
            chip[band[cut[first + k] - cut[first]:cut[first + k + 1] - cut[first]]] = c
    return chip


def snake_within_chips(chip: np.ndarray, chips: int, spec: CoreSpec = TRUENORTH) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) per core: each chip's cores, in network order, along the snake walk."""
    x = np.empty(len(chip), dtype=np.int16)
    y = np.empty(len(chip), dtype=np.int16)
    for c in range(chips):
        cores = np.flatnonzero(chip == c)
        _, x[cores], y[cores], _ = snake_place(len(cores), spec)
    return x, y


def region_place(target_core: np.ndarray, in_core: np.ndarray, in_yx: np.ndarray,
                 spec: CoreSpec = TRUENORTH) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Core i -> (chip, x, y) by topographic region; returns (chip, x, y, chips)."""
    n = target_core.shape[0]
    chips = chips_needed(n, spec)
    if chips == 1:   # one region: the snake itself, so 1-chip maps never move
        return snake_place(n, spec)
    chip = region_chips(topographic_positions(target_core, in_core, in_yx), chips)
    x, y = snake_within_chips(chip, chips, spec)
    return chip, x, y, chips


def place(placement: str, target_core: np.ndarray, in_core: np.ndarray, in_yx: np.ndarray,
          spec: CoreSpec = TRUENORTH) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Place a map's cores by the named placement; returns (chip, x, y, chips).

    target_core: (n, neurons) each neuron's target core (< 0: none); in_core, in_yx: each
    input wire's core and its pixel's image position (y, x) in [0, 1)."""
    if check_placement(placement) == "snake":
        return snake_place(target_core.shape[0], spec)
    return region_place(target_core, in_core, in_yx, spec)
