"""One layer's cores under its tiling: their outputs, their inputs, and who reads what.

A core is named by (b, ty, tx, f): group block b (filter groups b*gpc .. b*gpc+gpc-1), tile
(ty, tx), feature split f (features f*F .. f*F+F-1 of each of those groups, F =
C_out/g / fsplit). Its trinary inputs, in axon-pair order q, are group by group, then the
receptive field's rows and columns, then the group's channels:

    q = ((gi * rows + ry) * cols + rx) * C_in/g + cl        (gi: the group's place in the block)
"""

from __future__ import annotations

import numpy as np

from tnpipe.chip.tiling import Tiling


class LayerPlan:
    """A layer's tiling, with the lookups its producers need to find their consumer axons."""

    def __init__(self, index: int, layer, tiling: Tiling):
        self.index, self.layer, self.t = index, layer, tiling
        self.cin_g = layer.in_channels // layer.groups
        self.cout_g = layer.out_channels // layer.groups
        self.fpc = self.cout_g // tiling.fsplit      # features per group on one core
        self._nty, self._ntx, self._fs = tiling.nty, tiling.ntx, tiling.fsplit
        self.base = 0      # first core id, set once every earlier layer's splitter count is known
        self._at: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
        h, w = layer.in_hw
        self.row_tiles: list[list[int]] = [[] for _ in range(h)]
        self.col_tiles: list[list[int]] = [[] for _ in range(w)]
        for ty in range(tiling.nty):
            for y in tiling.in_rows(ty):
                self.row_tiles[y].append(ty)
        for tx in range(tiling.ntx):
            for x in tiling.in_cols(tx):
                self.col_tiles[x].append(tx)

    @property
    def n_cores(self) -> int:
        return self.t.n_cores

    def core_id(self, core: tuple[int, int, int, int]) -> int:
        return self.base + self.rel_id(*core)

    def rel_id(self, b: int, ty: int, tx: int, f: int) -> int:
        return ((b * self._nty + ty) * self._ntx + tx) * self._fs + f

    def cores(self):
        for b in range(self.layer.groups // self.t.gpc):
            for ty in range(self.t.nty):
                for tx in range(self.t.ntx):
                    for f in range(self.t.fsplit):
                        yield b, ty, tx, f

    def outputs(self, core: tuple[int, int, int, int]) -> list[tuple[int, int, int]]:
        """(feature, y, x) of every output the core computes."""
        b, ty, tx, f = core
        feats = [g * self.cout_g + f * self.fpc + k for g in range(b * self.t.gpc, (b + 1) * self.t.gpc)
                 for k in range(self.fpc)]
        return [(c, oy, ox) for oy in self.t.out_rows(ty) for ox in self.t.out_cols(tx) for c in feats]

    def inputs(self, core: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(group, y, x, channel within the group) of each axon pair q of the core."""
        b, ty, tx, _ = core
        gs = np.arange(b * self.t.gpc, (b + 1) * self.t.gpc)
        g, iy, ix, cl = np.meshgrid(gs, np.array(self.t.in_rows(ty)), np.array(self.t.in_cols(tx)),
                                    np.arange(self.cin_g), indexing="ij")
        return g.ravel(), iy.ravel(), ix.ravel(), cl.ravel()

    def consumers(self, c: int, y: int, x: int) -> list[tuple[int, int]]:
        """(core, pair index q) of every core of this layer that reads input (c, y, x);
        core ids relative to this layer's first core (add `base`)."""
        g, cl = divmod(c, self.cin_g)
        b, gi = divmod(g, self.t.gpc)
        key = (y, x)
        if key not in self._at:   # the tiles reading position (y, x): pair index of channel 0, pairs per group
            at = []
            for ty in self.row_tiles[y]:
                rows = self.t.in_rows(ty)
                for tx in self.col_tiles[x]:
                    cols = self.t.in_cols(tx)
                    at.append((ty, tx, ((y - rows.start) * len(cols) + (x - cols.start)) * self.cin_g,
                               len(rows) * len(cols) * self.cin_g))
            self._at[key] = at
        fs, ntx = self._fs, self._ntx
        return [(((b * self._nty + ty) * ntx + tx) * fs + f, gi * per_group + q0 + cl)
                for ty, tx, q0, per_group in self._at[key] for f in range(fs)]
