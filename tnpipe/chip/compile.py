"""Compile a CoreMap into a frame-batched dataflow program (for the fast execution paths).

Works on ANY CoreMap that is feed-forward and synchronous, knowing nothing of layers:

* Signals. Every spike train on the chip is a *signal*: 0 = always silent, 1 = always
  firing, 2.. = the external inputs, then one per distinct neuron output. Axons that
  carry the same signal (an Eedn axon pair, or one input reaching many cores) are folded
  into one input row: W[u, j] = sum over axons i carrying u of w_ij * s_j^{G_i}.
* Copies. Neurons of one core with the same folded column and threshold spike together:
  computed once. A neuron whose column reads one signal and fires exactly when it does
  (a splitter, a relay) *is* that signal: no work at all.
* Memoryless neurons. With threshold 1, normal reset to 0, and a floor at 0 (saturate,
  beta 0), V is 0 at the end of every tick, so a neuron's spike in the tick its frame
  arrives is exactly  spike = (sum_u W[u, j] x_u + leak_j >= 1): one frame per tick is
  the same as one frame at a time, and frames can be batched.
* Synchronous. All axons of a core must receive one frame's spikes in the same tick
  (the mapper's delays guarantee it); the program checks it and refuses otherwise.
* Classes. Cores whose folded matrix, thresholds and tick agree (e.g. the interior tiles
  of one layer and group) share one weight matrix: a single GEMM over all of them.

Anything else (recurrence, stateful neurons, two spikes OR-ed onto one axon) raises
UnsupportedMap and the caller falls back to the reference engine.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from tnpipe.chip.coremap import NEG_SATURATE, RESET_NORMAL, CoreMap

ZERO, ONE = 0, 1


class UnsupportedMap(Exception):
    """The CoreMap is not feed-forward, synchronous and memoryless: use the reference engine."""


@dataclass
class CoreClass:
    """Cores that share one folded matrix: out = (W^T x + bias >= 0) per core."""

    tick: int
    weight: np.ndarray        # float32 (U, K)
    thr: np.ndarray           # float32 (K,): spike when sum >= thr
    in_ids: np.ndarray        # int64 (n, U) signal ids read by each core
    out_ids: np.ndarray       # int64 (n, K) signal ids written by each core


@dataclass
class Program:
    n_signals: int
    n_inputs: int
    n_outputs: int
    classes: list[CoreClass]
    out_sig: np.ndarray       # int64 (M,) signal of each output wire
    out_idx: np.ndarray       # int64 (M,) output it votes for
    sop_w: np.ndarray         # float64 (n_signals,) synaptic events when the signal fires
    spike_w: np.ndarray       # neurons (copies included) that spike when the signal fires
    hop_w: np.ndarray
    cross_w: np.ndarray
    input_w: np.ndarray       # input wires (packets from off-chip) per input signal
    core_tick: np.ndarray = field(default=None)    # int64 (n_cores,): tick a frame reaches the core (-1: none)
    neuron_sig: np.ndarray = field(default=None)   # int64 (n_cores, 256): each neuron's signal
    core_spike: tuple[np.ndarray, np.ndarray, np.ndarray] = field(default=None)  # (core, signal, count)
    core_sop: tuple[np.ndarray, np.ndarray, np.ndarray] = field(default=None)
    stats: dict = field(default_factory=dict)


def _check_memoryless(cm: CoreMap, used: np.ndarray) -> None:
    a = cm.arrays
    ok = ((a["threshold"] == 1) & (a["reset_mode"] == RESET_NORMAL) & (a["reset_value"] == 0)
          & (a["neg_mode"] == NEG_SATURATE) & (a["neg_threshold"] == 0)) | ~used
    if not ok.all():
        c, j = (int(v) for v in np.argwhere(~ok)[0])
        raise UnsupportedMap(f"core {c} neuron {j} keeps state between ticks (threshold/reset/floor not 1/0/0)")


def _topo_order(cm: CoreMap) -> np.ndarray:
    tc = cm.arrays["target_core"]
    src_core = np.repeat(np.arange(cm.n_cores), cm.spec.neurons).reshape(tc.shape)
    on = tc >= 0
    edges = np.unique(np.stack([src_core[on], tc[on]], 1), axis=0) if on.any() else np.zeros((0, 2), np.int64)
    indeg = np.bincount(edges[:, 1], minlength=cm.n_cores)
    succ = defaultdict(list)
    for s, d in edges:
        succ[int(s)].append(int(d))
    order, stack = [], [int(c) for c in np.flatnonzero(indeg == 0)]
    indeg = indeg.copy()
    while stack:
        c = stack.pop()
        order.append(c)
        for d in succ[c]:
            indeg[d] -= 1
            if indeg[d] == 0:
                stack.append(d)
    if len(order) != cm.n_cores:
        raise UnsupportedMap(f"the core graph has a cycle ({cm.n_cores - len(order)} cores on or after it)")
    return np.array(order, dtype=np.int64)


@dataclass
class _Build:
    """State of one compilation, filled core by core in topological order."""

    axon_sig: np.ndarray          # int64 (n_cores, axons): signal on each axon, -1: nothing drives it
    axon_time: np.ndarray         # int64 (n_cores, axons): tick a frame's spike arrives (frame at 0)
    neuron_sig: np.ndarray        # int64 (n_cores, neurons): each neuron's signal
    core_tick: np.ndarray         # int64 (n_cores,)
    next_sig: int
    groups: dict = field(default_factory=dict)      # class key -> [(in signals, out signals)] per core
    sop: list = field(default_factory=list)         # (core, signal, crossbar bits) per live axon


def _wire_inputs(cm: CoreMap) -> _Build:
    """Axon sources from the input wiring (neurons fill in as their cores compile); refuses
    an axon driven twice (its spikes would be OR-ed, which the folded sums cannot express)."""
    a, na = cm.arrays, cm.spec.axons
    axon_sig = np.full((cm.n_cores, na), -1, dtype=np.int64)
    axon_time = np.full((cm.n_cores, na), -1, dtype=np.int64)
    key = a["in_core"].astype(np.int64) * na + a["in_axon"].astype(np.int64)
    if len(np.unique(key)) != len(key):
        raise UnsupportedMap("two input wires drive one axon (their spikes would be OR-ed)")
    axon_sig.reshape(-1)[key] = 2 + a["in_index"].astype(np.int64)
    axon_time.reshape(-1)[key] = a["in_delay"].astype(np.int64)
    driven = np.zeros(cm.n_cores * na, dtype=np.int64)
    np.add.at(driven, key, 1)
    tc, ta = a["target_core"].astype(np.int64), a["target_axon"].astype(np.int64)
    on = tc >= 0
    np.add.at(driven, (tc * na + ta)[on], 1)
    if driven.max(initial=0) > 1:
        c, i = divmod(int(np.argmax(driven)), na)
        raise UnsupportedMap(f"core {c} axon {i} is driven by {int(driven.max())} sources (OR of spikes)")
    return _Build(axon_sig, axon_time, np.full((cm.n_cores, cm.spec.neurons), ZERO, dtype=np.int64),
                  np.full(cm.n_cores, -1, dtype=np.int64), 2 + cm.n_inputs)


def _fold(eff: np.ndarray, s_ax: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """W[u, j] = sum of eff over the axons `keep` carrying signal u; signals in order of
    their first axon. Returns (signals (U,), W (U, used))."""
    usig, first, inv_ax = np.unique(s_ax[keep], return_index=True, return_inverse=True)
    by_first = np.argsort(first, kind="stable")
    rank = np.empty(len(usig), dtype=np.int64)
    rank[by_first] = np.arange(len(usig))
    usig = usig[by_first]
    r = rank[inv_ax.ravel()]
    order = np.argsort(r, kind="stable")          # rows sorted by signal, then summed
    if not len(order):
        return usig, np.zeros((0, eff.shape[1]), dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, np.diff(r[order]) != 0])
    return usig, np.add.reduceat(eff[keep][order], starts, axis=0)


def _unique_columns(col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Copies share column and threshold: (index of each distinct column's first neuron,
    distinct column of every neuron), distinct columns in order of first neuron."""
    seen: dict[bytes, int] = {}
    inv = np.empty(len(col), dtype=np.int64)
    first_j = []
    for j in range(len(col)):
        q = seen.setdefault(col[j].tobytes(), len(seen))
        if q == len(first_j):
            first_j.append(j)
        inv[j] = q
    return np.array(first_j, dtype=np.int64), inv


def _column_signals(ucol: np.ndarray, usig: np.ndarray, next_sig: int) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct column's output signal: a constant (0 or 1), the input it relays, or a
    new computed signal numbered from next_sig. Returns (signal per column, computed columns)."""
    wq, tq = ucol[:, :-1], ucol[:, -1]
    nnz = (wq != 0).sum(1)
    # the single weight of one-input columns (a core whose inputs are all constant
    # signals has U = 0 columns: nothing to pick, and argmax of an empty row would fail)
    one = (np.where(nnz == 1, wq[np.arange(len(ucol)), np.argmax(wq != 0, 1)], 0)
           if wq.shape[1] else np.zeros(len(ucol), dtype=np.int64))
    fire0 = 0 >= tq                                                   # output with silent inputs
    fire1 = one >= tq                                                 # ... with its one input on
    out = np.where(fire0, ONE, ZERO).astype(np.int64)                 # constants
    relay = (nnz == 1) & ~fire0 & fire1                               # fires exactly with its input
    if relay.any():
        out[relay] = usig[np.argmax(wq[relay] != 0, 1)]
    compute = np.flatnonzero((nnz > 1) | ((nnz == 1) & fire0 & ~fire1))
    out[compute] = np.arange(next_sig, next_sig + len(compute))
    return out, compute


def _compile_core(cm: CoreMap, c: int, used: np.ndarray, st: _Build) -> None:
    """Fold one core (its axons' signals are known: its sources compiled before it), give
    its neurons their signals, and route those to the target axons."""
    a, nn = cm.arrays, cm.spec.neurons
    sig = st.axon_sig[c]
    times = st.axon_time[c][(sig > ONE)]
    if len(times) and (times != times[0]).any():
        raise UnsupportedMap(f"core {c}: its axons receive one frame at different ticks {sorted(set(times.tolist()))}")
    tick = int(times[0]) if len(times) else -1
    st.core_tick[c] = tick
    uj = np.flatnonzero(used[c])
    bits = np.unpackbits(a["crossbar"][c], axis=-1, count=nn)[:, uj].astype(np.int64)    # (axons, used)
    rows = bits.sum(1)
    live = np.flatnonzero((sig >= 0) & (rows > 0))
    if len(live):   # synaptic events: an axon that fires counts its crossbar bits (used neurons)
        st.sop.append((np.full(len(live), c), np.where(sig[live] < 0, ZERO, sig[live]), rows[live]))
    sw = a["type_weight"][c][uj].astype(np.int64)                                     # (used, 4)
    eff = bits * sw[:, a["axon_type"][c].astype(np.int64)].T                          # (axons, used)
    s_ax = np.where(sig < 0, ZERO, sig)
    bias = eff[s_ax == ONE].sum(0)
    usig, w = _fold(eff, s_ax, live[s_ax[live] > ONE])
    thr = 1 - a["leak"][c][uj].astype(np.int64) - bias
    col = np.ascontiguousarray(np.concatenate([w, thr[None]], 0).T)                   # (used, U+1)
    first_j, inv = _unique_columns(col)
    ucol = col[first_j]
    out_of_unique, compute = _column_signals(ucol, usig, st.next_sig)
    st.next_sig += len(compute)
    st.neuron_sig[c, uj] = out_of_unique[inv]
    if len(compute):
        if tick < 0:
            raise UnsupportedMap(f"core {c} computes from no input (a free-running core)")
        wk = ucol[compute, :-1].T.astype(np.float32)                                  # (U, K)
        tk = ucol[compute, -1].astype(np.float32)
        st.groups.setdefault((tick, wk.shape, wk.tobytes(), tk.tobytes()), []).append((usig, out_of_unique[compute]))
    tc = a["target_core"].astype(np.int64)
    js = uj[tc[c, uj] >= 0]
    s_out = st.neuron_sig[c, js]
    dst_c, dst_a = tc[c, js], a["target_axon"][c, js].astype(np.int64)
    st.axon_sig[dst_c, dst_a] = s_out
    st.axon_time[dst_c, dst_a] = np.where(s_out > ONE, tick + a["target_delay"][c, js].astype(np.int64), -1)


def _classes(groups: dict) -> list[CoreClass]:
    """One CoreClass per distinct (tick, folded matrix, thresholds), in tick order."""
    classes = []
    for (tick, (u, k), wb, tb), members in sorted(groups.items(), key=lambda kv: kv[0][0]):
        w = np.frombuffer(wb, dtype=np.float32).reshape(u, k).copy()     # W rebuilt from the key bytes
        t = np.frombuffer(tb, dtype=np.float32).copy()
        classes.append(CoreClass(tick, w, t, np.stack([m[0] for m in members]).astype(np.int64),
                                 np.stack([m[1] for m in members]).astype(np.int64)))
    return classes


def compile_program(cm: CoreMap) -> Program:
    """The Program of a feed-forward, synchronous, memoryless CoreMap (module docstring);
    raises UnsupportedMap for any other."""
    a, nn = cm.arrays, cm.spec.neurons
    used = cm.used()
    _check_memoryless(cm, used)
    st = _wire_inputs(cm)
    for c in _topo_order(cm):
        _compile_core(cm, int(c), used, st)
    n_sig, neuron_sig = st.next_sig, st.neuron_sig
    classes = _classes(st.groups)
    # per-signal counter weights: what one firing of the signal costs, copies included
    hops, cross = cm.route_cost()
    s_used = neuron_sig[used]
    spike_w = np.bincount(s_used, minlength=n_sig).astype(np.float64)
    hop_w = np.bincount(s_used, weights=hops[used].astype(np.float64), minlength=n_sig)
    cross_w = np.bincount(s_used, weights=cross[used].astype(np.float64), minlength=n_sig)
    cores_of = np.repeat(np.arange(cm.n_cores), nn).reshape(used.shape)[used]
    if st.sop:
        sc, ss, sn = (np.concatenate(p) for p in zip(*st.sop, strict=True))
    else:
        sc = ss = sn = np.zeros(0, dtype=np.int64)
    sop_w = np.bincount(ss, weights=sn.astype(np.float64), minlength=n_sig)
    input_w = np.bincount(2 + a["in_index"].astype(np.int64), minlength=n_sig).astype(np.float64)
    out_sig = neuron_sig[a["out_core"].astype(np.int64), a["out_neuron"].astype(np.int64)]
    stats = {
        "cores": cm.n_cores,
        "classes": len(classes),
        "computed_neurons": int(sum(cl.out_ids.size for cl in classes)),
        "used_neurons": int(used.sum()),
        "macs_per_frame": int(sum(cl.in_ids.shape[0] * cl.weight.size for cl in classes)),
    }
    return Program(n_sig, cm.n_inputs, cm.n_outputs, classes, out_sig, a["out_index"].astype(np.int64),
                   sop_w, spike_w, hop_w, cross_w, input_w, core_tick=st.core_tick, neuron_sig=neuron_sig,
                   core_spike=(cores_of, s_used, np.ones(len(s_used))), core_sop=(sc, ss, sn), stats=stats)
