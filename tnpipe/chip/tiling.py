"""Tilings: which outputs of a layer one core computes, what it reads, and what it costs.

A layer with kernel k, stride s, padding p and g filter groups is cut into tiles of
th x tw output positions. One core computes `gpc` whole filter groups (consecutive) over
one tile, or, with `fsplit` > 1, 1/fsplit of each of those groups' features (the fsplit
cores of a tile read the same inputs). Its axons are the inputs of the tile's receptive
field, clipped to the input map (zero padding needs no axon), per group, two axons per
trinary input (type 0 = +1, type 1 = -1):

    rows read by tile row ty:  [max(0, y0*s - p),  min(H, (y1 - 1)*s - p + k))
    with y0 = ty*th, y1 = min(oh, y0 + th)

so axons = 2 * rows * cols * C_in/g * gpc must stay <= 256. Neurons: each output needs one
neuron per consumer axon pair it feeds (2 per consumer core: its "copies"), or 1 for the
last layer's votes. Where a core's copies pass 256 neurons, the outputs with most copies
are relayed: 1 neuron sends the spike to a splitter core, whose neurons hold the copies.

A producer's copies are set by its consumer's tiling: output (c, y, x) is read by
cover_y[y] * cover_x[x] * fsplit cores of the consumer (`Demand`). search.py chooses every
layer's tiling at once; `layer_cost` and `lower_bound` are the per-layer terms it uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from tnpipe.corespec import CoreSpec

MAX_TILE = 16   # search bound per dimension: a 3x3 or larger filter cannot fit 17 positions in 128 inputs


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
    groups: int = 1      # filter groups of the layer
    gpc: int = 1         # filter groups per core
    fsplit: int = 1      # cores per (group block, tile), each with 1/fsplit of the features

    @property
    def nty(self) -> int:
        return math.ceil(self.oh / self.th)

    @property
    def ntx(self) -> int:
        return math.ceil(self.ow / self.tw)

    @property
    def n_cores(self) -> int:
        return self.groups // self.gpc * self.nty * self.ntx * self.fsplit

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
        return _cover(self.th, self.tw, self.oh, self.ow, self.kernel, self.stride, self.padding, self.in_h, self.in_w)

    def max_inputs(self, cin_g: int) -> int:
        """Trinary inputs of the largest core (axon pairs): receptive field x C_in/g x gpc."""
        return max(len(self.in_rows(ty)) for ty in range(self.nty)) * \
            max(len(self.in_cols(tx)) for tx in range(self.ntx)) * cin_g * self.gpc

    def demand(self) -> Demand:
        """The copies this tiling asks of its producer: 2 neurons per consumer core."""
        cy, cx = self.cover()
        return Demand(tuple(int(v) for v in cy), tuple(int(v) for v in cx), 2 * self.fsplit)


@lru_cache(maxsize=4096)
def _cover(th, tw, oh, ow, kernel, stride, padding, in_h, in_w) -> tuple[np.ndarray, np.ndarray]:
    """Tiling.cover, computed once for the tilings that differ only in gpc or fsplit."""
    t = Tiling(th, tw, oh, ow, kernel, stride, padding, in_h, in_w)
    cy = np.zeros(in_h, dtype=np.int64)
    cx = np.zeros(in_w, dtype=np.int64)
    for ty in range(t.nty):
        r = t.in_rows(ty)
        cy[r.start:r.stop] += 1
    for tx in range(t.ntx):
        r = t.in_cols(tx)
        cx[r.start:r.stop] += 1
    cy.flags.writeable = cx.flags.writeable = False     # shared by every caller
    return cy, cx


@dataclass(frozen=True)
class Demand:
    """Copies per output of a producer at (y, x): per_core * rows[y] * cols[x]."""

    rows: tuple[int, ...]
    cols: tuple[int, ...]
    per_core: int

    @staticmethod
    def votes(oh: int, ow: int) -> Demand:
        """The last layer: each output is 1 neuron, its vote leaves the chip."""
        return Demand((1,) * oh, (1,) * ow, 1)

    def grid(self) -> np.ndarray:
        return self.per_core * np.outer(np.array(self.rows, dtype=np.int64), np.array(self.cols, dtype=np.int64))


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


def _relay_counts(copies: tuple[int, ...], features: int, spec: CoreSpec) -> tuple[int, int, int] | None:
    """relay_plan's outcome in closed form for a core whose positions have these copy
    counts, each position holding `features` outputs: (neurons on the core, outputs
    relayed, neurons on splitters), or None if the core cannot fit even with splitters."""
    need = features * sum(copies)
    relayed = split_neurons = 0
    for c in sorted(copies, reverse=True):
        if need <= spec.neurons or c <= 1:
            break
        if c > spec.neurons:
            return None        # one splitter core cannot hold this output's copies
        r = min(features, -(-(need - spec.neurons) // (c - 1)))
        need -= r * (c - 1)
        relayed += r
        split_neurons += r * c
    return (need, relayed, split_neurons) if need <= spec.neurons else None


def _runs(keys: list[tuple[int, ...]]) -> dict[tuple[int, ...], int]:
    out: dict[tuple[int, ...], int] = {}
    for k in keys:
        out[k] = out.get(k, 0) + 1
    return out


def layer_cost(t: Tiling, cout_g: int, demand: Demand, spec: CoreSpec) -> tuple[int, int, int] | None:
    """(cores, splitter cores, neurons incl. splitters) of a layer tiled by t whose outputs
    carry `demand`; None if some core cannot fit. Splitter cores are counted as the relayed
    copies at 256 a core (the mapper packs them in order, which may need a few more)."""
    features = t.gpc * cout_g // t.fsplit
    rows = _runs([tuple(demand.rows[y] for y in t.out_rows(ty)) for ty in range(t.nty)])
    cols = _runs([tuple(demand.cols[x] for x in t.out_cols(tx)) for tx in range(t.ntx)])
    per_block = t.groups // t.gpc * t.fsplit
    neurons = split = 0
    for r, nr in rows.items():
        for c, nc in cols.items():
            copies = tuple(demand.per_core * a * b for a in r for b in c)
            got = _relay_counts(copies, features, spec)
            if got is None:
                return None
            n = nr * nc * per_block
            neurons += n * (got[0] + got[2])
            split += n * got[2]
    return t.n_cores, -(-split // spec.neurons), neurons


def candidates(layer, spec: CoreSpec, square: bool = False):
    """Every tiling of a layer whose receptive field fits the axons and whose outputs fit
    the neurons at one neuron each. square=True keeps th == tw (the paper's worked example)
    except where a map is not square."""
    oh, ow = layer.out_hw
    cin_g = layer.in_channels // layer.groups
    cout_g = layer.out_channels // layer.groups
    for th in range(1, min(oh, MAX_TILE) + 1):
        for tw in range(1, min(ow, MAX_TILE) + 1):
            if square and th != tw and (oh == ow or not (th == oh or tw == ow)):
                continue
            base = Tiling(th, tw, oh, ow, layer.kernel, layer.stride, layer.padding, *layer.in_hw,
                          groups=layer.groups)
            inputs = base.max_inputs(cin_g)
            for gpc in _divisors(layer.groups):
                if 2 * inputs * gpc > spec.axons:
                    break
                for fs in _divisors(cout_g):
                    if gpc * cout_g // fs * th * tw <= spec.neurons:
                        yield Tiling(th, tw, oh, ow, layer.kernel, layer.stride, layer.padding, *layer.in_hw,
                                     groups=layer.groups, gpc=gpc, fsplit=fs)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _span(start: np.ndarray, count: int, stride: int, padding: int, kernel: int, size: int) -> np.ndarray:
    """Inputs read along one axis by `count` outputs starting at each `start` (clipped)."""
    return np.minimum(size, (start + count - 1) * stride - padding + kernel) - np.maximum(0, start * stride - padding)


def lower_bound(layer, consumed_on_chip: bool, spec: CoreSpec) -> int:
    """Cores (the layer's and its splitters') that no map with rectangular tiles can beat.

    Axons: a core holding the outputs of a th x tw rectangle of positions reads its clipped
    receptive field, at most 128 trinary inputs; so output position (y, x) sits on a core
    with at most cap(y, x) outputs (the largest rectangle through it, at any offset, whose
    field fits, times the features that many groups hold, <= 256 neurons), and the layer
    needs at least sum over outputs of 1 / cap. Neurons: every output consumed on chip needs
    2 neurons (its pair, or 1 to a splitter plus 2 there), a vote 1."""
    oh, ow = layer.out_hw
    cin_g = layer.in_channels // layer.groups
    cout_g = layer.out_channels // layer.groups
    k, s, p = layer.kernel, layer.stride, layer.padding
    cap = np.zeros((oh, ow), dtype=np.int64)
    for th in range(1, min(oh, MAX_TILE) + 1):
        rows = _span(np.arange(oh - th + 1), th, s, p, k, layer.in_hw[0])
        for tw in range(1, min(ow, MAX_TILE) + 1):
            cols = _span(np.arange(ow - tw + 1), tw, s, p, k, layer.in_hw[1])
            inputs = np.outer(rows, cols) * cin_g                                # per offset (y0, x0)
            gpc = np.minimum(layer.groups, spec.max_fan_in // np.maximum(inputs, 1))
            outs = np.where(inputs <= spec.max_fan_in, np.minimum(spec.neurons, th * tw * cout_g * gpc), 0)
            for dy in range(th):
                for dx in range(tw):
                    view = cap[dy:dy + outs.shape[0], dx:dx + outs.shape[1]]
                    np.maximum(view, outs, out=view)
    outputs = layer.out_channels * oh * ow
    by_axons = layer.out_channels * float((1.0 / np.maximum(cap, 1)).sum())
    by_neurons = outputs * (2 if consumed_on_chip else 1) / spec.neurons
    return math.ceil(max(by_axons, by_neurons) - 1e-9)
