"""The mapper: a NetworkDescription -> a CoreMap (a pure function of the network and spec).

Construction (Esser et al. 2016, Fig. 3), in the steps `map_network` takes:

1. Tiles: per layer, which output positions of which filter group a core computes
   (tiling.py), chosen last layer first: a layer's copies depend on its consumer's tiles.
2. Per core, its outputs and their consumers. A neuron drives one axon, so an output read
   by n consumer tiles needs 2n neurons (copies: identical columns, same core). Where a
   core's copies exceed 256 neurons, the outputs with most copies send one spike to a
   splitter core instead, whose neurons (one crossbar bit each, weight +1, leak 0,
   threshold 1) repeat it to every consumer axon.
3. Core ids: each layer's cores, then its splitters.
4. Timing: layer l integrates at tick a_l after its frame entered (a_0 = 1); a layer's
   spikes reach the next layer with delay 1, or 2 when that layer has splitters (1 to the
   splitter, 1 from it), and every path into a layer has the same length: the chip takes
   a new frame every tick. The last layer's spikes leave the chip (output wiring) as class
   votes at tick latency = a_last.
5. Input wiring: transduction spikes enter from off-chip; input index c*H*W + y*W + x
   reaches every (core, axon) that reads it, with delay 1 (the periphery may send one
   spike to many axons: one packet each).
6. Cores: each trinary input (c, iy, ix) of a tile's receptive field owns an axon pair,
   axon 2q of type 0 (s^0 = +1) and axon 2q+1 of type 1 (s^1 = -1); weight +1 sets the
   crossbar bit on the + axon, -1 on the - axon, 0 neither. So the neuron integrates
   exactly s = sum w * x over the filter, plus the layer's integer leak L; threshold 1,
   reset to 0, floor 0 (negative threshold 0, saturate): spike = (s + L >= 1), memoryless
   per tick. Then the splitter cores.
7. Output wiring and placement (placement.py): one chip, a snake walk over the 64x64 mesh
   in network order; several chips, "regions" (default) gives each chip every layer's
   cores of one image region, so that few spikes cross chips; "snake" walks chip after
   chip in network order.

Without weights (architecture only), cores, neurons and wiring are the same and every
crossbar is empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tnpipe.artifacts import NetworkDescription
from tnpipe.chip.coremap import OFF_CHIP, CoreMap, empty_arrays
from tnpipe.chip.layerplan import LayerPlan
from tnpipe.chip.placement import check_placement, chip_grid, input_positions, place
from tnpipe.chip.search import choose_tilings
from tnpipe.chip.tiling import Tiling, lower_bound, relay_plan
from tnpipe.corespec import TRUENORTH, CoreSpec
from tnpipe.errors import MappingError

PLUS, MINUS = 0, 1   # axon types of the Eedn axon pair
PAIR_WEIGHTS = np.array([1, -1, 0, 0], dtype=np.int16)
SPLIT_WEIGHTS = np.array([1, 0, 0, 0], dtype=np.int16)


@dataclass(frozen=True)
class _LayerWiring:
    """What step 6 needs to write one layer's cores and splitters."""

    plan: LayerPlan
    nxt: LayerPlan | None          # the next layer (None: the last, whose neurons are the votes)
    work: list                     # _core_work's cores: (core, outs, consumers, relay, slots)
    split_base: int                # id of the layer's first splitter core
    d_direct: int                  # delay from this layer's neurons to the next layer's axons
    oshape: tuple[int, int, int]   # the layer's output feature map (features, height, width)
    ooff: int                      # its offset in the flat enumeration of feature maps
    desc: NetworkDescription
    spec: CoreSpec


@dataclass(frozen=True)
class _Mapped:
    """What step 7 needs besides the arrays: the plans and the numbering of steps 1-4."""

    desc: NetworkDescription
    plans: list[LayerPlan]
    names: list[str]               # layer names, splitters as their own entries
    layer_of_core: list[int]
    arrive: list[int]              # tick at which each layer's input arrives
    fm: list                       # _fm_offsets
    spec: CoreSpec
    placement: str


def _fm_offsets(desc: NetworkDescription) -> list[tuple[str, tuple[int, int, int], int]]:
    """The network's feature maps as one flat enumeration (for neuron_source)."""
    maps = [("input", tuple(desc.input_shape), 0)]
    off = int(np.prod(desc.input_shape))
    for layer in desc.layers:
        shape = (layer.out_channels, *layer.out_hw)
        maps.append((layer.name, shape, off))
        off += int(np.prod(shape))
    return maps


def _choose_tiles(layers, spec: CoreSpec, square_tiles: bool, tilings: list[Tiling] | None) -> list[LayerPlan]:
    """Step 1: every layer's tiling, the fewest cores over all layers (search.py), unless given."""
    if tilings is None:
        tilings = choose_tilings(layers, spec, square_tiles)
    for layer, t in zip(layers, tilings, strict=True):
        inputs = t.max_inputs(layer.in_channels // layer.groups)
        if 2 * inputs > spec.axons:
            raise MappingError(f"{layer.name}: the given tiling {t.th}x{t.tw} x {t.gpc} groups reads {inputs} inputs "
                               f"per core; the limit is {spec.axons // 2} ({spec.axons} axons)")
    return [LayerPlan(li, layer, t) for li, (layer, t) in enumerate(zip(layers, tilings, strict=True))]


def _core_work(plan: LayerPlan, nxt: LayerPlan | None, spec: CoreSpec) -> tuple[list, list]:
    """Step 2, one layer: per core its outputs, their consumers, which go through splitters;
    the splitter cores packed in order. Returns (cores, splitters): cores as (tile, outputs,
    consumers per output, relay mask, splitter slots), splitters as lists of (core, output)."""
    cores, splitters, load = [], [], spec.neurons + 1
    for core in plan.cores():
        outs = plan.outputs(core)
        # consumer cores counted from the next layer's first core (its base is not known yet)
        cons = [nxt.consumers(*o) for o in outs] if nxt is not None else [None] * len(outs)
        copies = np.array([2 * len(c) if c is not None else 1 for c in cons], dtype=np.int64)
        relay = relay_plan(copies, spec.neurons)
        if copies[~relay].sum() + relay.sum() > spec.neurons:
            raise MappingError(f"{plan.layer.name}: core {core} needs {int(copies.sum())} neurons even with splitters")
        slots = []
        for oi in np.flatnonzero(relay):
            n = int(copies[oi])
            if n > spec.neurons:
                raise MappingError(f"{plan.layer.name}: output {outs[oi]} has {n} copies; one splitter holds {spec.neurons}")
            if load + n > spec.neurons or len(splitters[-1]) >= spec.axons:
                splitters.append([])
                load = 0
            splitters[-1].append((len(cores), int(oi)))
            slots.append((len(splitters) - 1, len(splitters[-1]) - 1))
            load += n
        cores.append((core, outs, cons, relay, slots))
    return cores, splitters


def _number_cores(plans: list[LayerPlan], splitter_sets: list[list]) -> tuple[list[str], list[int], list[int], int]:
    """Step 3: core ids, each layer's cores then its splitters. Sets each plan's base;
    returns (layer names, layer index per core, first splitter id per layer, cores)."""
    names: list[str] = []
    layer_of_core: list[int] = []
    split_base = []
    nxt_id = 0
    for li, plan in enumerate(plans):
        plan.base = nxt_id
        names.append(plan.layer.name)
        layer_of_core += [len(names) - 1] * plan.n_cores
        nxt_id += plan.n_cores
        split_base.append(nxt_id)
        if splitter_sets[li]:
            names.append(f"{plan.layer.name} splitters")
            layer_of_core += [len(names) - 1] * len(splitter_sets[li])
            nxt_id += len(splitter_sets[li])
    return names, layer_of_core, split_base, nxt_id


def _arrival_ticks(splitter_sets: list[list]) -> list[int]:
    """Step 4: the tick each layer integrates, its frame having entered at tick 0."""
    arrive = [1]
    for li in range(len(splitter_sets) - 1):
        arrive.append(arrive[-1] + (2 if splitter_sets[li] else 1))
    return arrive


def _wire_inputs(a: dict[str, np.ndarray], input_shape, first: LayerPlan) -> None:
    """Step 5: input wiring, every consumer axon pair of the first layer (one packet each)."""
    c0, h0, w0 = input_shape
    wires = []
    for c in range(c0):
        for y in range(h0):
            for x in range(w0):
                idx = (c * h0 + y) * w0 + x
                for core, q in first.consumers(c, y, x):
                    core += first.base
                    wires += [(idx, core, 2 * q), (idx, core, 2 * q + 1)]
    win = np.array(wires, dtype=np.int64).reshape(-1, 3)
    a["in_index"], a["in_core"], a["in_axon"] = win[:, 0].astype(np.int32), win[:, 1].astype(np.int32), win[:, 2].astype(np.int16)
    a["in_delay"] = np.ones(len(win), dtype=np.uint8)


def _column_bits(plan: LayerPlan, core, o: np.ndarray, spec: CoreSpec, has_w: bool) -> tuple[np.ndarray, int]:
    """Step 6a, one core: its crossbar columns (axons x outputs; weight +1 sets the + axon's
    bit, -1 the - axon's, 0 neither; an output only reads its own group's inputs) and the
    number of axon pairs it reads."""
    layer = plan.layer
    k, s, p = layer.kernel, layer.stride, layer.padding
    ig, iy, ix, cl = plan.inputs(core)
    nq = len(iy)
    colbits = np.zeros((spec.axons, len(o)), dtype=bool)
    if has_w:
        dy = iy[:, None] - (o[None, :, 1] * s - p)
        dx = ix[:, None] - (o[None, :, 2] * s - p)
        ok = (dy >= 0) & (dy < k) & (dx >= 0) & (dx < k) & (ig[:, None] == o[None, :, 0] // plan.cout_g)
        wq = layer.weights[o[None, :, 0], cl[:, None], np.clip(dy, 0, k - 1), np.clip(dx, 0, k - 1)]
        wq = np.where(ok, wq, 0)
        colbits[0:2 * nq:2] = wq > 0
        colbits[1:2 * nq:2] = wq < 0
    return colbits, nq


def _write_layer(a, crossbar, lw: _LayerWiring, out_wires: list) -> None:
    """Step 6b: every core of one layer, its neurons (copies in the same core) and targets;
    the last layer's neurons are appended to out_wires as (core, neuron, class)."""
    plan, nxt, work, split_base, d_direct = lw.plan, lw.nxt, lw.work, lw.split_base, lw.d_direct
    oshape, ooff, desc, spec = lw.oshape, lw.ooff, lw.desc, lw.spec
    layer = plan.layer
    for core, outs, cons, relay, slots in work:
        cid = plan.core_id(core)
        o = np.array(outs, dtype=np.int64)
        colbits, nq = _column_bits(plan, core, o, spec, desc.has_weights)
        a["axon_type"][cid, 0:2 * nq:2] = PLUS
        a["axon_type"][cid, 1:2 * nq:2] = MINUS
        leak = layer.leak[o[:, 0]] if desc.has_weights else np.zeros(len(outs), dtype=np.int64)
        src = ooff + (o[:, 0] * oshape[1] + o[:, 1]) * oshape[2] + o[:, 2]
        which, targets = [], []           # per neuron j: the output it copies, its (core, axon, delay)
        slot_iter = iter(slots)
        for oi in range(len(outs)):
            if nxt is None:
                out_wires.append((cid, len(which), int(desc.class_of_feature[o[oi, 0]])))
                tg = [(OFF_CHIP, 0, 0)]
            elif relay[oi]:
                sidx, pos = next(slot_iter)
                tg = [(split_base + sidx, pos, 1)]
            else:
                tg = [(nxt.base + tc, 2 * q + d, d_direct) for tc, q in cons[oi] for d in (0, 1)]
            which += [oi] * len(tg)
            targets += tg
        j = len(which)
        w, tg = np.array(which, dtype=np.int64), np.array(targets, dtype=np.int64).reshape(-1, 3)
        crossbar[cid, :, :j] = colbits[:, w]
        a["target_core"][cid, :j], a["target_axon"][cid, :j], a["target_delay"][cid, :j] = tg[:, 0], tg[:, 1], tg[:, 2]
        a["leak"][cid, :j] = leak[w]
        a["neuron_source"][cid, :j] = src[w]
        a["type_weight"][cid, :j] = PAIR_WEIGHTS


def _write_splitters(a, crossbar, lw: _LayerWiring, splitters: list[list]) -> None:
    """Step 6c: a layer's splitter cores: axon = one relayed output, neurons = its copies
    (one crossbar bit each, weight +1, leak 0, threshold 1). The last layer never splits."""
    nxt, work, split_base, d_direct, oshape, ooff = lw.nxt, lw.work, lw.split_base, lw.d_direct, lw.oshape, lw.ooff
    for sidx, members in enumerate(splitters):
        sid = split_base + sidx
        j = 0
        for axon, (ci, oi) in enumerate(members):
            _, outs, cons, _, _ = work[ci]
            f, oy, ox = outs[oi]
            for core, q in cons[oi]:
                for taxon in (2 * q, 2 * q + 1):
                    crossbar[sid, axon, j] = True
                    a["target_core"][sid, j] = nxt.base + core
                    a["target_axon"][sid, j] = taxon
                    a["target_delay"][sid, j] = d_direct - 1
                    a["neuron_source"][sid, j] = ooff + (f * oshape[1] + oy) * oshape[2] + ox
                    j += 1
        a["type_weight"][sid, :j] = SPLIT_WEIGHTS


def map_network(desc: NetworkDescription, spec: CoreSpec = TRUENORTH, square_tiles: bool = False,
                placement: str = "regions", tilings: list[Tiling] | None = None) -> CoreMap:
    """Map a network onto cores (steps 1-7 of the module docstring). Raises MappingError
    if a layer cannot be placed.

    square_tiles: search only square tiles, the paper's worked example (tiling.candidates).
    placement: how cores are laid out on chips (placement.PLACEMENTS; same on one chip).
    tilings: one Tiling per layer instead of the search's (e.g. to map a hand-made plan)."""
    check_placement(placement)
    if not desc.layers:
        raise MappingError(f"network {desc.network!r} has no on-chip layers to map")
    plans = _choose_tiles(desc.layers, spec, square_tiles, tilings)                                  # 1
    nl = len(plans)
    steps = [_core_work(plan, plans[li + 1] if li + 1 < nl else None, spec) for li, plan in enumerate(plans)]  # 2
    work = [w for w, _ in steps]
    splitter_sets = [s for _, s in steps]
    names, layer_of_core, split_base, n_cores = _number_cores(plans, splitter_sets)          # 3
    arrive = _arrival_ticks(splitter_sets)                                                   # 4
    fm = _fm_offsets(desc)
    a = empty_arrays(n_cores)
    crossbar = np.zeros((n_cores, spec.axons, spec.neurons), dtype=bool)
    _wire_inputs(a, desc.input_shape, plans[0])                                              # 5
    out_wires: list[tuple[int, int, int]] = []
    for li, plan in enumerate(plans):                                                        # 6
        nxt = plans[li + 1] if li + 1 < nl else None
        d_direct = (arrive[li + 1] - arrive[li]) if nxt is not None else 0
        lw = _LayerWiring(plan, nxt, work[li], split_base[li], d_direct, *fm[li + 1][1:], desc, spec)
        _write_layer(a, crossbar, lw, out_wires)
        _write_splitters(a, crossbar, lw, splitter_sets[li])
    a["crossbar"] = np.packbits(crossbar, axis=-1)
    del crossbar
    return _finish(a, out_wires, _Mapped(desc, plans, names, layer_of_core, arrive, fm, spec, placement))  # 7


def _finish(a, out_wires, m: _Mapped) -> CoreMap:
    """Step 7: output wiring, placement on the chips, and the CoreMap with its header info."""
    desc, plans, names, arrive, fm, spec, placement = m.desc, m.plans, m.names, m.arrive, m.fm, m.spec, m.placement
    layer_of_core = m.layer_of_core
    ow = np.array(out_wires, dtype=np.int64).reshape(-1, 3)
    a["out_core"], a["out_neuron"], a["out_index"] = ow[:, 0].astype(np.int32), ow[:, 1].astype(np.int16), ow[:, 2].astype(np.int32)
    a["core_layer"] = np.array(layer_of_core, dtype=np.int16)
    c0, h0, w0 = desc.input_shape
    in_yx = input_positions(a["in_index"], (c0, h0, w0))   # where the regions start from
    chip, x, y, chips = place(placement, a["target_core"], a["in_core"], in_yx, spec)
    a["core_chip"], a["core_x"], a["core_y"] = chip, x, y
    info = {
        "network": desc.network,
        "placement": placement,
        "has_weights": bool(desc.has_weights),
        "tiles": {p.layer.name: [p.t.th, p.t.tw] for p in plans},
        "plan": {p.layer.name: {"tile": [p.t.th, p.t.tw], "groups_per_core": p.t.gpc, "feature_splits": p.t.fsplit,
                                "bound": lower_bound(p.layer, i + 1 < len(plans), spec)} for i, p in enumerate(plans)},
        "input_packets": int(len(a["in_index"])),
        "arrival_ticks": {p.layer.name: arrive[i] for i, p in enumerate(plans)},
        "source_maps": [{"name": n, "shape": list(sh), "offset": off} for n, sh, off in fm],
    }
    return CoreMap(arrays=a, n_inputs=int(c0 * h0 * w0), n_outputs=int(desc.num_classes),
                   latency_ticks=int(arrive[-1]), layer_names=names, spec=spec, chips=chips,
                   chip_grid=chip_grid(chips), info=info)
