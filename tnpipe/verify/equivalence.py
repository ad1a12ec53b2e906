"""Chip == trained network at three levels, strictest first (issue 10; INTERFACES.md #1).

1. votes: every class vote count of every simulated frame equals the training graph's
   (hardware mode) - `votes_exact`;
2. spikes: on a sample of frames fed to the chip one per tick, every used neuron of every
   core, at every tick at which its core holds a sample frame, fires exactly when the
   network value it carries (the map's `neuron_source`: copies and splitters carry the
   value they repeat) is 1 in the numpy graph (graph.py) - `spikes_exact`;
3. arg-max agreement of chip and graph - the accuracy-level figure.

Ticks are placed by the CoreMap's own wiring: frame f, fed at tick f, reaches core c at
tick f + arrival[c], the shortest path over the input wiring's and the neurons' delays
(`core_arrival`, computed here, not by the simulator). The chip side comes in as data: its
votes, and `trace(frames) -> (bool (ticks, cores, neurons, streams), per)`: which neuron
fired at which tick in each of `streams` chip instances, instance s fed frames
s*per .. s*per+per-1 one per tick from tick 0.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tnpipe.artifacts import Equivalence, NetworkDescription
from tnpipe.chip.coremap import UNUSED, CoreMap
from tnpipe.verify.graph import ValueMap, forward

Trace = Callable[[np.ndarray], tuple[np.ndarray, int]]
CHUNK = 64            # sample frames per chip trace at most (a trace holds every neuron at every tick)
CELLS = 1 << 24       # (frame, neuron) pairs compared at once: a 1-chip map (~10^6 neurons) takes 16 frames


def core_arrival(cm: CoreMap) -> np.ndarray:
    """int64 (n_cores,): tick at which a frame fed at tick 0 first reaches each core (-1:
    no frame ever does), by relaxing every wire's delay until nothing changes."""
    a, n = cm.arrays, cm.n_cores
    far = np.iinfo(np.int64).max // 2
    dist = np.full(n, far, dtype=np.int64)
    np.minimum.at(dist, a["in_core"].astype(np.int64), a["in_delay"].astype(np.int64))
    tc = a["target_core"].astype(np.int64)
    on = tc >= 0
    src = np.nonzero(on)[0]
    dst, delay = tc[on], a["target_delay"].astype(np.int64)[on]
    for _ in range(n + 1):
        new = dist.copy()
        np.minimum.at(new, dst, dist[src] + delay)
        if (new == dist).all():
            break
        dist = new
    return np.where(dist >= far, -1, dist)


def _line(frame: int, tick: int, core: int, neuron: int, values: ValueMap, source: int, chip, graph) -> str:
    if 0 <= source < values.size:
        layer, feature, (y, x) = values.describe(source)
    else:
        layer, feature, y, x = "none (neuron_source -1)", -1, -1, -1
    return (f"frame {frame}, tick {tick}, core {core}, neuron {neuron}, layer {layer}, feature {feature}, "
            f"position ({y}, {x}), chip {chip}, graph {graph}")


def compare_spikes(cm: CoreMap, values: ValueMap, flat: np.ndarray, trace: np.ndarray, per: int,
                   arrival: np.ndarray, frame0: int = 0) -> tuple[int, int, str | None]:
    """flat (F, values) graph values of F frames; trace (ticks, cores, neurons, streams) the
    chip's spikes, frame f fed to instance f // per at tick f % per. Returns (neuron ticks compared, chip spikes among them,
    first mismatch line or None): the mismatch at the earliest tick (nearest its cause),
    its tick counted from the frame's entry into the chip."""
    used = cm.arrays["target_core"] != UNUSED
    cores, neurons = np.nonzero(used)
    frames = flat.shape[0]
    if (arrival[cores] < 0).any():
        c = int(cores[arrival[cores] < 0][0])
        return 0, 0, f"frame {frame0}, core {c}: no frame reaches this core over the map's wiring, yet it is used"
    stream, entry = np.divmod(np.arange(frames), per)
    ticks = (entry[:, None] + arrival[cores][None, :]).astype(np.int32)              # (F, used)
    if ticks.max(initial=0) >= len(trace):
        return 0, 0, f"frame {frame0}: the chip trace has {len(trace)} ticks; the map needs {int(ticks.max()) + 1}"
    chip = trace[ticks, cores[None, :], neurons[None, :], stream[:, None]].astype(np.uint8)
    src = cm.arrays["neuron_source"][cores, neurons].astype(np.int64)
    known = (src >= 0) & (src < values.size)
    graph = flat[:, np.where(known, src, 0)]
    diff = (chip != graph) | ~known[None, :]
    silent = trace[:, ~used]                                                          # (ticks, unused, streams)
    if silent.any():   # an unused neuron may never fire
        t, k, _ = (int(v) for v in np.argwhere(silent)[0])
        c, j = (int(v) for v in np.argwhere(~used)[k])
        return chip.size, int(chip.sum()), f"tick {t}, core {c}, neuron {j}: an unused neuron fired (chip 1, graph none)"
    if not diff.any():
        return chip.size, int(chip.sum()), None
    f, u = np.argwhere(diff).T
    first = np.lexsort((u, ticks[f, u]))[0]
    f, u = int(f[first]), int(u[first])
    line = _line(frame0 + f, int(ticks[f, u]) - int(entry[f]), int(cores[u]), int(neurons[u]), values, int(src[u]),
                 int(chip[f, u]), int(graph[f, u]) if known[u] else "none")
    return chip.size, int(chip.sum()), line


def _vote_line(cm: CoreMap, desc: NetworkDescription, values: ValueMap, frame: int,
               chip: np.ndarray, graph: np.ndarray) -> str:
    """Why frame's votes differ when no sampled spike does: an output wire whose class is
    not its value's class, else the two vote vectors."""
    a = cm.arrays
    last = values.maps[-1][0]
    for core, neuron, cls in zip(a["out_core"].tolist(), a["out_neuron"].tolist(), a["out_index"].tolist(),
                                 strict=True):
        source = int(a["neuron_source"][core, neuron])
        if not 0 <= source < values.size:
            return _line(frame, cm.latency_ticks, core, neuron, values, source, f"votes for class {cls}", "none")
        layer, feature, _ = values.describe(source)
        want = int(desc.class_of_feature[feature]) if layer == last else None
        if cls != want:
            return _line(frame, cm.latency_ticks, core, neuron, values, source, f"votes for class {cls}",
                         f"votes for class {want}" if want is not None else "no vote (not the last layer)")
    return (f"frame {frame}, tick {cm.latency_ticks}, votes: chip {chip.tolist()}, graph {graph.tolist()} "
            "(no sampled spike differs)")


def _sample_spikes(cm, desc, values, spikes, hw_votes, frames, trace, arrival):
    """(neuron ticks, spikes, first mismatch) over `frames` (indices), a chunk at a time;
    also checks the numpy graph's votes against the training graph's on those frames."""
    compared = fired = 0
    first = None
    chunk = int(np.clip(CELLS // max(int((cm.arrays["target_core"] != UNUSED).sum()), 1), 1, CHUNK))
    for lo in range(0, len(frames), chunk):
        idx = frames[lo:lo + chunk]
        maps = forward(desc, spikes[idx])
        own = desc.votes(maps[-1])
        bad = np.flatnonzero((own != hw_votes[idx]).any(1))
        if len(bad) and first is None:
            f = int(idx[bad[0]])
            first = (f"frame {f}: network.npz in numpy votes {own[bad[0]].tolist()}, the training graph's "
                     f"hardware mode {hw_votes[f].tolist()} (the exported network is not the trained one)")
        x = spikes[idx].reshape(len(idx), -1)
        n, k, line = compare_spikes(cm, values, values.flat(maps), *trace(x), arrival, int(idx[0]))
        compared, fired = compared + n, fired + k
        first = first or line
    return compared, fired, first


def check_equivalence(cm: CoreMap, desc: NetworkDescription, spikes: np.ndarray, chip_votes: np.ndarray,
                      graph_votes: np.ndarray, trace: Trace, spike_frames: int | None = 32) -> Equivalence:
    """spikes (N, C, H, W): the transduced frames the chip ran; chip_votes, graph_votes
    (N, classes): the chip's and the training graph's (hardware mode) votes on them;
    trace: the chip's per-tick spikes for consecutive frames; spike_frames: the sample
    (the first frames; None: all). Where votes differ outside the sample, the first such
    frame is traced too, to name the spike behind it (not counted in the sample)."""
    n = len(spikes)
    values = ValueMap.of(desc)
    arrival = core_arrival(cm)
    votes_exact = bool((chip_votes == graph_votes).all())
    s = n if spike_frames is None else min(int(spike_frames), n)
    compared, fired, first = _sample_spikes(cm, desc, values, spikes, graph_votes, np.arange(s), trace, arrival)
    spikes_exact = first is None and compared > 0
    if first is None and not votes_exact:
        f = int(np.flatnonzero((chip_votes != graph_votes).any(1))[0])
        if f >= s:
            _, _, first = _sample_spikes(cm, desc, values, spikes, graph_votes, np.array([f]), trace, arrival)
        first = first or _vote_line(cm, desc, values, f, chip_votes[f], graph_votes[f])
    if first is None and compared == 0:
        first = "no neuron was compared (empty sample or no used neuron)"
    agreement = float((chip_votes.argmax(1) == graph_votes.argmax(1)).mean()) if n else 0.0
    return Equivalence(votes_exact and spikes_exact, votes_exact, n, spikes_exact, s, fired, compared,
                       agreement, first)
