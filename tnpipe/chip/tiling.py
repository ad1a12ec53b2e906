"""Tiles: which output positions of one filter group a core computes, and what it reads.

A layer with kernel k, stride s, padding p is cut into tiles of th x tw output positions;
one core computes one filter group over one tile. Its axons are the inputs of the tile's
receptive field, clipped to the input map (zero padding needs no axon), two axons per
trinary input (type 0 = +1, type 1 = -1):

    rows read by tile row ty:  [max(0, y0*s - p),  min(H, (y1 - 1)*s - p + k))
    with y0 = ty*th, y1 = min(oh, y0 + th)

so axons = 2 * rows * cols * C_in/groups must stay <= 256. Neurons: each output needs one
neuron per consumer axon (its "copies"); `plan_layer` chooses the tile that needs the
fewest cores, counting the splitter cores that copies beyond 256 neurons would need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tnpipe.chip.spec import CoreSpec

MAX_TILE = 16   # search bound per dimension; larger tiles never fit 128 inputs for k >= 1 and C >= 1


@dataclass(frozen=True)
class Tiling:
    th: int
    tw: int
    oh: int
    ow: int
    kernel: int
    stride: int
    padding: int
    in_h: int
    in_w: int

    @property
    def nty(self) -> int:
        return math.ceil(self.oh / self.th)

    @property
    def ntx(self) -> int:
        return math.ceil(self.ow / self.tw)

    def out_rows(self, ty: int) -> range:
        return range(ty * self.th, min(self.oh, (ty + 1) * self.th))

    def out_cols(self, tx: int) -> range:
        return range(tx * self.tw, min(self.ow, (tx + 1) * self.tw))

    def in_rows(self, ty: int) -> range:
        r = self.out_rows(ty)
        return range(max(0, r.start * self.stride - self.padding),
                     min(self.in_h, (r.stop - 1) * self.stride - self.padding + self.kernel))

    def in_cols(self, tx: int) -> range:
        c = self.out_cols(tx)
        return range(max(0, c.start * self.stride - self.padding),
                     min(self.in_w, (c.stop - 1) * self.stride - self.padding + self.kernel))

    def cover(self) -> tuple[np.ndarray, np.ndarray]:
        """How many tile rows read input row y, and tile columns read input column x."""
        cy = np.zeros(self.in_h, dtype=np.int64)
        cx = np.zeros(self.in_w, dtype=np.int64)
        for ty in range(self.nty):
            r = self.in_rows(ty)
            cy[r.start:r.stop] += 1
        for tx in range(self.ntx):
            r = self.in_cols(tx)
            cx[r.start:r.stop] += 1
        return cy, cx

    def max_inputs(self, cin_g: int) -> int:
        return max(len(self.in_rows(ty)) for ty in range(self.nty)) * \
            max(len(self.in_cols(tx)) for tx in range(self.ntx)) * cin_g


def relay_plan(copies: np.ndarray, budget: int) -> np.ndarray:
    """Which outputs of one core go through a splitter (bool mask), given each output's
    copy count: a relayed output costs 1 neuron instead of its copies, so relay the ones
    with the most copies first until the core's neurons fit the budget."""
    relay = np.zeros(len(copies), dtype=bool)
    need = int(copies.sum())
    if need <= budget:
        return relay
    for o in np.argsort(-copies, kind="stable"):
        if need <= budget:
            break
        if copies[o] > 1:
            relay[o] = True
            need -= int(copies[o]) - 1
    return relay


def plan_layer(layer, consumer_copies: np.ndarray | None, spec: CoreSpec,
               square: bool = True) -> tuple[Tiling, int, int]:
    """Choose the tile of a layer: splitter-free if any tile is (a splitter stage costs a
    tick of latency and a second spike, with its hops, for every relayed output), then
    fewest cores (own + estimated splitters), then the fewest copies asked of the producer
    (overlapping receptive fields cost copies upstream), then the largest tile.

    square=True keeps th == tw, the paper's style (a 4x4x8 region feeding 2x2 positions
    of a 3x3 filter); square=False also tries rectangles, which can use the clipped
    borders of small maps to save cores.

    `consumer_copies` is (oh, ow): neurons each output needs at that position (2 axons per
    consumer tile reading it), or None for the last layer (1 neuron: the off-chip vote).
    Returns (tiling, cores, splitter cores).
    """
    oh, ow = layer.out_hw
    cin_g = layer.in_channels // layer.groups
    cout_g = layer.out_channels // layer.groups
    cp = np.ones((oh, ow), dtype=np.int64) if consumer_copies is None else consumer_copies
    best = None
    for t in _candidate_tiles(layer, spec, square):
        splitters = _splitter_cores(t, cp, cout_g, layer.groups, spec)
        cores = t.nty * t.ntx * layer.groups
        cy, cx = t.cover()
        key = (splitters > 0, cores + splitters, int(cy.sum() * cx.sum()), -(t.th * t.tw))
        if best is None or key < best[0]:
            best = (key, t, cores, splitters)
    if best is None:
        from tnpipe.errors import MappingError

        raise MappingError(
            f"{layer.name}: no tile fits a core ({cin_g} inputs per group need "
            f"{2 * layer.kernel ** 2 * cin_g} axons, {cout_g} features per group); limits "
            f"{spec.axons} axons, {spec.neurons} neurons"
        )
    return best[1], best[2], best[3]


def _candidate_tiles(layer, spec: CoreSpec, square: bool):
    """Every tile shape whose outputs fit the neurons and whose receptive field fits the axons."""
    oh, ow = layer.out_hw
    cin_g = layer.in_channels // layer.groups
    cout_g = layer.out_channels // layer.groups
    for th in range(1, min(oh, MAX_TILE) + 1):
        for tw in range(1, min(ow, MAX_TILE) + 1):
            if square and th != tw and (oh == ow or not (th == oh or tw == ow)):
                continue
            if cout_g * th * tw > spec.neurons:
                continue
            t = Tiling(th, tw, oh, ow, layer.kernel, layer.stride, layer.padding, *layer.in_hw)
            if 2 * t.max_inputs(cin_g) <= spec.axons:
                yield t


def _splitter_cores(t: Tiling, cp: np.ndarray, cout_g: int, groups: int, spec: CoreSpec) -> int:
    """Estimated splitter cores of a tiling: the relayed copies of every tile, 256 a core."""
    relayed = 0
    for ty in range(t.nty):
        for tx in range(t.ntx):
            per_out = np.repeat(cp[ty * t.th:(ty + 1) * t.th, tx * t.tw:(tx + 1) * t.tw].ravel(), cout_g)
            mask = relay_plan(per_out, spec.neurons)
            relayed += int(per_out[mask].sum())
    return math.ceil(relayed * groups / spec.neurons)
