"""The CoreMap validator: every core rule of the spec, checked before anything runs.

A broken map is refused with a one-line MappingError naming the core (and its layer), the
neuron or axon, the rule, the value found and the limit. Limits come from `CoreSpec` only.
"""

from __future__ import annotations

import numpy as np

from tnpipe.chip.coremap import OFF_CHIP, UNUSED, CoreMap
from tnpipe.errors import MappingError


def _where(cm: CoreMap, core: int) -> str:
    names = cm.layer_names
    li = int(cm.arrays["core_layer"][core])
    label = names[li] if 0 <= li < len(names) else f"layer #{li}"
    return f"core {core} ({label})"


def _first_bad(mask: np.ndarray) -> tuple[int, ...] | None:
    idx = np.argwhere(mask)
    return tuple(int(v) for v in idx[0]) if len(idx) else None


def _check_range(cm: CoreMap, name: str, lo: int, hi: int, rule: str, only: np.ndarray | None = None) -> None:
    a = cm.arrays[name].astype(np.int64)
    bad = (a < lo) | (a > hi)
    if only is not None:
        bad &= only
    hit = _first_bad(bad)
    if hit is not None:
        core, *rest = hit
        item = "" if not rest else (f" neuron {rest[0]}" if name != "axon_type" else f" axon {rest[0]}")
        if len(rest) == 2:
            item += f" type {rest[1]}"
        raise MappingError(
            f"{_where(cm, core)}{item}: {rule} {name} = {int(a[hit])} is outside the limit {lo}..{hi}"
        )


def validate_coremap(cm: CoreMap) -> None:
    """Raise MappingError at the first rule a core breaks; return None for a valid map."""
    spec = cm.spec
    if cm.n_cores == 0:
        raise MappingError("core map has 0 cores; expected at least 1")
    if cm.arrays["crossbar"].shape[1:] != (spec.axons, spec.neurons // 8):
        raise MappingError(
            f"crossbar shape {cm.arrays['crossbar'].shape[1:]}; expected {spec.axons} axons x {spec.neurons} neurons (packed)"
        )
    _check_fields(cm)
    _check_unused(cm)
    _check_placement(cm)
    _check_reach(cm)
    _check_wiring(cm)
    if cm.latency_ticks < 0:
        raise MappingError(f"latency_ticks = {cm.latency_ticks}; expected >= 0")
    assert UNUSED == -1  # the ranges above rely on the codes being -1 and -2


def _check_fields(cm: CoreMap) -> None:
    """Every per-neuron and per-axon field inside its CoreSpec range."""
    spec, n = cm.spec, cm.n_cores
    used = cm.used()
    on_chip = cm.arrays["target_core"] >= 0
    _check_range(cm, "axon_type", 0, spec.axon_types - 1, "axon type rule:")
    _check_range(cm, "type_weight", spec.type_weight_min, spec.type_weight_max, "9-bit type weight rule:")
    _check_range(cm, "leak", spec.leak_min, spec.leak_max, "leak rule:", used)
    _check_range(cm, "threshold", spec.threshold_min, spec.potential_max, "threshold rule:", used)
    _check_range(cm, "reset_mode", 0, spec.reset_modes - 1, "reset mode rule:", used)
    _check_range(cm, "neg_mode", 0, 1, "negative-threshold mode rule:", used)
    _check_range(cm, "reset_value", spec.potential_min, spec.potential_max, "reset value rule:", used)
    _check_range(cm, "neg_threshold", 0, spec.potential_max, "negative threshold rule:", used)
    _check_range(cm, "target_core", OFF_CHIP, n - 1, "target rule:")
    _check_range(cm, "target_axon", 0, spec.axons - 1, "target axon rule:", on_chip)
    _check_range(cm, "target_delay", spec.delay_min, spec.delay_max, "delay rule:", on_chip)


def _check_unused(cm: CoreMap) -> None:
    """An unused neuron must not hold synapses: it would be a neuron the map forgot to wire."""
    cols = np.unpackbits(cm.arrays["crossbar"], axis=-1, count=cm.spec.neurons).any(axis=1)
    hit = _first_bad(cols & ~cm.used())
    if hit is not None:
        raise MappingError(f"{_where(cm, hit[0])} neuron {hit[1]}: has synapses but no target (unused neuron)")


def _check_placement(cm: CoreMap) -> None:
    """Inside the mesh, one core per site, enough chips."""
    spec, n = cm.spec, cm.n_cores
    if n > cm.chips * spec.cores_per_chip:
        raise MappingError(f"core map has {n} cores on {cm.chips} chip(s); the limit is {spec.cores_per_chip} per chip")
    _check_range(cm, "core_x", 0, spec.chip_width - 1, "placement rule:")
    _check_range(cm, "core_y", 0, spec.chip_height - 1, "placement rule:")
    _check_range(cm, "core_chip", 0, cm.chips - 1, "placement rule:")
    site = (cm.arrays["core_chip"].astype(np.int64) * spec.chip_height + cm.arrays["core_y"]) * spec.chip_width + cm.arrays["core_x"]
    uniq, counts = np.unique(site, return_counts=True)
    if (counts > 1).any():
        s = int(uniq[counts > 1][0])
        dup = np.flatnonzero(site == s)
        raise MappingError(f"{_where(cm, int(dup[1]))}: placed on the same site as core {int(dup[0])} (one core per site)")


def _check_reach(cm: CoreMap) -> None:
    """Packet reach: dx, dy are 9-bit signed (+-255 cores)."""
    spec = cm.spec
    on_chip = cm.arrays["target_core"] >= 0
    gx, gy = cm.global_xy()
    tc = np.where(on_chip, cm.arrays["target_core"], 0).astype(np.int64)
    reach = np.maximum(np.abs(gx[tc] - gx[:, None]), np.abs(gy[tc] - gy[:, None]))
    hit = _first_bad((reach > spec.route_reach) & on_chip)
    if hit is not None:
        raise MappingError(
            f"{_where(cm, hit[0])} neuron {hit[1]}: route reach rule: target {int(reach[hit])} cores away; "
            f"the limit is {spec.route_reach} (repeater cores needed)"
        )


def _check_wiring(cm: CoreMap) -> None:
    """Input wires inside their ranges; output wires on exactly the off-chip neurons, one each."""
    spec, n, a = cm.spec, cm.n_cores, cm.arrays
    for name, lo, hi in (("in_index", 0, cm.n_inputs - 1), ("in_core", 0, n - 1), ("in_axon", 0, spec.axons - 1),
                         ("in_delay", spec.delay_min, spec.delay_max)):
        v = a[name].astype(np.int64)
        bad = np.flatnonzero((v < lo) | (v > hi))
        if len(bad):
            raise MappingError(f"input wire {int(bad[0])}: {name} = {int(v[bad[0]])} is outside the limit {lo}..{hi}")
    for name, lo, hi in (("out_core", 0, n - 1), ("out_neuron", 0, spec.neurons - 1), ("out_index", 0, cm.n_outputs - 1)):
        v = a[name].astype(np.int64)
        bad = np.flatnonzero((v < lo) | (v > hi))
        if len(bad):
            raise MappingError(f"output wire {int(bad[0])}: {name} = {int(v[bad[0]])} is outside the limit {lo}..{hi}")
    wired = np.zeros(cm.used().shape, dtype=np.int64)
    np.add.at(wired, (a["out_core"].astype(np.int64), a["out_neuron"].astype(np.int64)), 1)
    off = a["target_core"] == OFF_CHIP
    hit = _first_bad(off & (wired != 1))
    if hit is not None:
        raise MappingError(f"{_where(cm, hit[0])} neuron {hit[1]}: sends off chip but has {int(wired[hit])} output wires; expected 1")
    hit = _first_bad(~off & (wired > 0))
    if hit is not None:
        raise MappingError(f"{_where(cm, hit[0])} neuron {hit[1]}: has an output wire but its target is not off-chip")
