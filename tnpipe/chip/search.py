"""The fewest cores: every layer's tiling chosen at once, and the per-layer plan table.

A layer's cost depends on its own tiling (cores, and splitter cores where its outputs'
copies overflow a core) and on its consumer's tiling (how many consumer cores read each
output: the copies). The network is a chain, so an exact dynamic programme over the
candidate tilings (tiling.candidates) finds the minimum, last layer first:

    best(l, T) = min over T' of  cost(l, T | demand of T') + best(l+1, T')

compared as (cores incl. splitters, splitter cores, neurons, input packets): fewest cores
first; at equal cores no splitter stage (a tick of latency and a second spike per relayed
output), then fewest copies (spikes, hence energy), then the fewest packets a frame sends
into the chip. The first layer's inputs come from off-chip, where the periphery may send
one transduction spike to any number of axons (one packet each): duplicating them costs
I/O bandwidth, not cores, and is counted and reported (`input_packets`).

`plan_rows(cm)` reads a mapped CoreMap back into one row per layer (pandas DataFrame):
cores, splitter cores, the lower bound, axon and neuron utilisation, copies per output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tnpipe.chip.tiling import Demand, Tiling, candidates, layer_cost
from tnpipe.corespec import CoreSpec
from tnpipe.errors import MappingError


@dataclass(frozen=True)
class Choice:
    tiling: Tiling
    cost: tuple[int, int, int, int]     # (cores incl. splitters, splitter cores, neurons, input packets)


def _add(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def input_packets(t: Tiling, in_channels: int) -> int:
    """Packets into the chip per frame if every input spiked: one per (input, axon)."""
    cy, cx = t.cover()
    return 2 * in_channels * t.fsplit * int(cy.sum()) * int(cx.sum())


def choose_tilings(layers, spec: CoreSpec, square: bool = False) -> list[Tiling]:
    """The tilings of fewest total cores (exact over the candidates), first layer first."""
    nl = len(layers)
    # demands[d] = best (cost, tiling chain from layer l+1 on) among consumer tilings imposing d
    last = layers[-1]
    demands: dict[Demand, tuple[tuple[int, ...], list[Tiling]]] = {
        Demand.votes(*last.out_hw): ((0, 0, 0, 0), [])}
    for li in reversed(range(nl)):
        layer = layers[li]
        cout_g = layer.out_channels // layer.groups
        best: dict[Demand, tuple[tuple[int, ...], list[Tiling]]] = {}
        for t in candidates(layer, spec, square):
            wires = input_packets(t, layer.in_channels) if li == 0 else 0
            chosen = None
            for d, (down, chain) in demands.items():
                c = layer_cost(t, cout_g, d, spec)
                if c is None:
                    continue
                cores, split, neurons = c
                total = _add((cores + split, split, neurons, wires), down)
                if chosen is None or total < chosen[0]:
                    chosen = (total, [t, *chain])
            if chosen is None:
                continue
            key = t.demand() if li > 0 else Demand((), (), 0)
            if key not in best or chosen[0] < best[key][0]:
                best[key] = chosen
        if not best:
            cin_g = layer.in_channels // layer.groups
            raise MappingError(
                f"{layer.name}: no tile fits a core ({cin_g} inputs per group need "
                f"{2 * layer.kernel ** 2 * cin_g} axons, {cout_g} features per group); limits "
                f"{spec.axons} axons, {spec.neurons} neurons"
            )
        demands = best
    (_, chain), = demands.values()
    return chain


PLAN_COLUMNS = ["layer", "tile", "g/core", "fsplit", "cores", "splitters", "bound", "axons", "neurons", "copies"]


def plan_rows(cm):
    """One row per on-chip layer of a mapped CoreMap (pandas DataFrame, PLAN_COLUMNS): tile,
    filter groups per core, feature splits, cores and splitter cores as mapped, the lower
    bound (tiling.lower_bound), the share of the layer's axons and neurons (splitters
    included) in use, and the mean copies per output (neurons per output value carried)."""
    import pandas as pd

    a = cm.arrays
    n, spec = cm.n_cores, cm.spec
    axon_used = np.zeros((n, spec.axons), dtype=bool)
    tc, ta = a["target_core"], a["target_axon"]
    on = tc >= 0
    axon_used[tc[on].astype(np.int64), ta[on].astype(np.int64)] = True
    axon_used[a["in_core"].astype(np.int64), a["in_axon"].astype(np.int64)] = True
    used = cm.used()
    layer = a["core_layer"].astype(np.int64)
    rows = []
    for name, p in cm.info["plan"].items():
        li = cm.layer_names.index(name)
        split_name = f"{name} splitters"
        si = cm.layer_names.index(split_name) if split_name in cm.layer_names else -1
        mine = (layer == li) | (layer == si)
        cores, splitters = int((layer == li).sum()), int((layer == si).sum())
        src = a["neuron_source"][layer == li]
        values = len(np.unique(src[src >= 0]))
        rows.append({
            "layer": name, "tile": f"{p['tile'][0]}x{p['tile'][1]}", "g/core": p["groups_per_core"],
            "fsplit": p["feature_splits"], "cores": cores, "splitters": splitters, "bound": p["bound"],
            "axons": float(axon_used[mine].mean()), "neurons": float(used[mine].mean()),
            "copies": float(used[mine].sum()) / max(values, 1),
        })
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)
