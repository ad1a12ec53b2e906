"""Placement of cores on 64x64 chip meshes: a snake (boustrophedon) walk, chip after chip.

Cores arrive in network order (layer by layer, splitters right after their layer), so a
snake walk keeps every layer's cores contiguous and consecutive layers adjacent: most
spikes travel a few rows, never across the chip. Rows alternate direction so that the
walk itself never jumps (consecutive cores are always 1 hop apart). Chips are tiled in a
near-square grid (e.g. 4 chips as 2x2, like the 4x4 NS16e board uses 16), walked as a
snake too (CoreMap.chip_xy), so consecutive chips are neighbours.
"""

from __future__ import annotations

import math

import numpy as np

from tnpipe.chip.spec import TRUENORTH, CoreSpec


def chip_grid(chips: int) -> tuple[int, int]:
    """(columns, rows) of a near-square grid holding `chips` chips."""
    cols = max(1, math.ceil(math.sqrt(chips)))
    return cols, max(1, math.ceil(chips / cols))


def snake_place(n_cores: int, spec: CoreSpec = TRUENORTH) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Core i -> (chip, x, y) along a snake walk; returns (chip, x, y, chips)."""
    i = np.arange(n_cores, dtype=np.int64)
    per = spec.cores_per_chip
    chip = i // per
    r = i % per
    y = r // spec.chip_width
    x = r % spec.chip_width
    x = np.where(y % 2 == 1, spec.chip_width - 1 - x, x)
    chips = max(1, int(math.ceil(n_cores / per)))
    return chip.astype(np.int32), x.astype(np.int16), y.astype(np.int16), chips
