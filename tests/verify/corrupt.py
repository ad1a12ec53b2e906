"""The single corruptions of a CoreMap named in issue 10, each at a site where it changes
the chip's spikes (judged by running the chip, corrupted and clean, on the frames used).

Each corruption is a function (map, k) -> description that applies the k-th candidate
site in place; `effective` walks the candidates until the chip's trace changes and says
how many it had to skip (sites that can change no spike: a synapse on an axon that never
fires, a leak whose neuron's sum never reaches the threshold, ...).
"""

from __future__ import annotations

import copy

import numpy as np

from tnpipe.chip.coremap import CoreMap
from tnpipe.chip.reference import ReferenceEngine, arrival_ticks


def _neurons(cm: CoreMap, on_chip: bool = True) -> np.ndarray:
    tc = cm.arrays["target_core"]
    return np.argwhere(tc >= 0) if on_chip else np.argwhere(tc != -1)


def _bit(cm: CoreMap, k: int, value: bool) -> str:
    bits = cm.crossbar_bits()
    c, j = _neurons(cm)[k * 7 % len(_neurons(cm))]
    axons = np.flatnonzero(bits[c, :, j] != value)
    i = int(axons[k % len(axons)])
    bits[c, i, j] = value
    cm.arrays["crossbar"][c] = np.packbits(bits[c], axis=-1)
    return f"crossbar bit core {c} axon {i} neuron {j} {'set' if value else 'cleared'}"


def bit_set(cm: CoreMap, k: int) -> str:
    return _bit(cm, k, True)


def bit_cleared(cm: CoreMap, k: int) -> str:
    return _bit(cm, k, False)


def axon_to_partner(cm: CoreMap, k: int) -> str:
    c, j = _neurons(cm)[k * 11 % len(_neurons(cm))]
    a = cm.arrays["target_axon"]
    old = int(a[c, j])
    a[c, j] = old ^ 1
    return f"core {c} neuron {j} target axon {old} -> {old ^ 1} (its pair partner)"


def leak_plus_one(cm: CoreMap, k: int) -> str:
    c, j = _neurons(cm, on_chip=False)[k * 13 % len(_neurons(cm, on_chip=False))]
    cm.arrays["leak"][c, j] += 1
    return f"core {c} neuron {j} leak +1"


def delay_plus_one(cm: CoreMap, k: int) -> str:
    c, j = _neurons(cm)[k * 17 % len(_neurons(cm))]
    cm.arrays["target_delay"][c, j] += 1
    return f"core {c} neuron {j} delay +1"


def type_weight_changed(cm: CoreMap, k: int) -> str:
    c, j = _neurons(cm, on_chip=False)[k * 19 % len(_neurons(cm, on_chip=False))]
    g = k % 2
    cm.arrays["type_weight"][c, j, g] = 0
    return f"core {c} neuron {j} type {g} weight -> 0"


def output_reclassed(cm: CoreMap, k: int) -> str:
    a = cm.arrays["out_index"]
    w = k % len(a)
    old = int(a[w])
    a[w] = (old + 1) % cm.n_outputs
    return f"output wire {w} class {old} -> {(old + 1) % cm.n_outputs}"


def input_swapped(cm: CoreMap, k: int) -> str:
    a = cm.arrays["in_index"]
    w = (k * 23) % len(a)
    other = int(np.flatnonzero(a != a[w])[k % int((a != a[w]).sum())])
    a[w], a[other] = a[other], a[w]
    return f"input wires {w} and {other} swapped (inputs {int(a[other])} <-> {int(a[w])})"


CORRUPTIONS = {f.__name__: f for f in (bit_set, bit_cleared, axon_to_partner, leak_plus_one, delay_plus_one,
                                         type_weight_changed, output_reclassed, input_swapped)}


def _observed(cm: CoreMap, x: np.ndarray, arrival: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(spikes (frames, cores, neurons) each core read at the tick it holds the frame, by
    the clean map's timing; votes): what the equivalence check compares."""
    res = ReferenceEngine(cm).run(x, streams=max(1, len(x) // 2), record=True)
    rec, per = res.recorded["spikes"], res.recorded["frames_per_stream"]
    s, i = np.divmod(np.arange(len(x)), per)
    cores = np.arange(cm.n_cores)
    return rec[i[:, None] + arrival[None, :], cores[None, :], :, s[:, None]], res.votes


def effective(cm: CoreMap, name: str, x: np.ndarray, tries: int = 40) -> tuple[CoreMap, str, int]:
    """(corrupted copy, what was done, candidate sites skipped because they changed nothing
    the check compares on frames x (N, n_inputs)): the first site whose spikes (at the
    ticks that hold a frame) or votes differ from the clean map's."""
    arrival = arrival_ticks(cm)
    clean_spikes, clean_votes = _observed(cm, x, arrival)
    for k in range(tries):
        bad = copy.deepcopy(cm)
        what = CORRUPTIONS[name](bad, k)
        spikes, votes = _observed(bad, x, arrival)
        if (spikes != clean_spikes).any() or (votes != clean_votes).any():
            return bad, what, k
    raise AssertionError(f"{name}: none of {tries} sites changes a spike on these frames")
