"""Hand-built CoreMaps for the neuron and core rules (no mapper involved)."""

from __future__ import annotations

import numpy as np

from tnpipe.chip.coremap import OFF_CHIP, CoreMap, empty_arrays


def hand_map(n_cores: int, n_inputs: int, wires: list[tuple[int, int, int, int]], n_outputs: int = 1) -> CoreMap:
    """n cores in a row on one chip; wires = (input index, core, axon, delay)."""
    a = empty_arrays(n_cores, len(wires), 0)
    for k, (i, c, ax, d) in enumerate(wires):
        a["in_index"][k], a["in_core"][k], a["in_axon"][k], a["in_delay"][k] = i, c, ax, d
    a["core_x"][:] = np.arange(n_cores)
    return CoreMap(arrays=a, n_inputs=n_inputs, n_outputs=n_outputs, latency_ticks=0, layer_names=["hand"])


def set_bits(cm: CoreMap, core: int, pairs: list[tuple[int, int]]) -> None:
    """Set crossbar bits (axon, neuron) of one core."""
    bits = cm.crossbar_bits(slice(core, core + 1))[0]
    for i, j in pairs:
        bits[i, j] = True
    cm.arrays["crossbar"][core] = np.packbits(bits, axis=-1)


def neuron(cm: CoreMap, core: int, j: int, weights=(1, -1, 0, 0), leak=0, alpha=1, gamma=0, R=0, beta=0,
           kappa=1, target: tuple[int, int, int] | None = None, out: int | None = 0) -> None:
    """Configure neuron j; target = (core, axon, delay) or None for an off-chip output `out`."""
    a = cm.arrays
    a["type_weight"][core, j] = weights
    a["leak"][core, j] = leak
    a["threshold"][core, j] = alpha
    a["reset_mode"][core, j] = gamma
    a["reset_value"][core, j] = R
    a["neg_threshold"][core, j] = beta
    a["neg_mode"][core, j] = kappa
    if target is None:
        a["target_core"][core, j] = OFF_CHIP
        for name, v in (("out_core", core), ("out_neuron", j), ("out_index", out)):
            a[name] = np.append(a[name], np.array([v], dtype=a[name].dtype))
    else:
        a["target_core"][core, j], a["target_axon"][core, j], a["target_delay"][core, j] = target


def scalar_neuron(inputs: list[int], weights: list[int], leak: int, alpha: int, gamma: int, R: int,
                  beta: int, kappa: int, vmin: int = -(2 ** 19), vmax: int = 2 ** 19 - 1) -> list[int]:
    """The rules of reference section 2.3, one neuron, one tick at a time (plain Python).
    inputs[t] = the summed synaptic input of tick t (sum of A_i w_ij s^G_i)."""
    v, out = 0, []
    for s in inputs:
        v = v + s + leak
        if v >= alpha:
            out.append(1)
            v = R if gamma == 0 else (v - alpha if gamma == 1 else v)
        else:
            out.append(0)
            if v < -beta:
                if kappa == 1:
                    v = -beta
                else:
                    v = -R if gamma == 0 else (v + beta if gamma == 1 else v)
        v = max(vmin, min(vmax, v))
    return out
