"""Energy and timing model: simulated activity -> fps, mW, fps/W, uJ/frame (MODEL ESTIMATES).

The paper's own accounting ([EEDN] section 1.3: P_total = P_idle * cores/4096 + active,
the active part scaled to the measured fps), with one frame per tick:

    P = P_idle * N_c/C  +  fps * E_active/frame       (idle part, active part; C = cores per
                                                      chip of the profile's [core]: 4096)
    E_active/frame = E_sop * SOPs                          synaptic events (A_i AND w_ij)
                   + E_hop * hops                          spike-hops on the mesh
                   + E_per * 32 * (input + output spikes)  packets entering/leaving the array
                   + E_chip * 32 * chip crossings
    fps = tick rate: chip.tick_hz when > 0, else the modelled fastest tick
          1 / (tick_floor + busiest_core_SOPs_per_tick * t_sop)

P_idle is measured at 1.0 V with the chip ticking and no input ([CVPR17] Table 2), so it
holds leakage and the per-tick reading of every neuron row; the active part is what
activity adds. Constants, their sources and derivations: tnpipe/chip/profiles/<name>.toml
and docs/energy-model.md. Every result carries "model_estimate": True.
"""

from __future__ import annotations

from typing import Any

from tnpipe.artifacts.result import EnergyModel
from tnpipe.chip.profile import ChipProfile, load_profile

__all__ = ["active_uj_per_frame", "energy_model_record", "estimate", "load_profile", "modelled_tick_hz"]


def modelled_tick_hz(busiest_core_sops: float, prof: ChipProfile) -> float:
    """Fastest tick at which the busiest core's token controller finishes its work."""
    t = prof.timing
    return 1.0 / (t["tick_floor_us"] * 1e-6 + busiest_core_sops * t["sop_ns"] * 1e-9)


def active_uj_per_frame(activity: dict[str, float], prof: ChipProfile) -> dict[str, float]:
    """The active energy of one frame, per term (uJ)."""
    e = prof.energy
    bits = e["packet_bits"]
    pj = {
        "sops": e["e_sop_pj"] * activity["sops"],
        "hops": e["e_hop_pj"] * activity["hops"],
        "periphery": e["e_periphery_pj_per_bit"] * bits * activity["io_spikes"],
        "chip_crossings": e["e_chip_pj_per_bit"] * bits * activity["crossings"],
    }
    return {k: v * 1e-6 for k, v in pj.items()}


def estimate(activity: dict[str, float], cores: int, prof: ChipProfile,
             tick_hz: float | None = None) -> dict[str, Any]:
    """activity: per-frame sops, hops, crossings, io_spikes, and busiest_core_sops (per tick).

    Returns fps, mw = idle_mw + active_mw, fps_per_w, uj_per_frame, the active energy per
    frame and its breakdown (uJ), all labelled model estimates; static_mw = idle_mw."""
    fps = float(tick_hz) if tick_hz and tick_hz > 0 else modelled_tick_hz(activity["busiest_core_sops"], prof)
    parts = active_uj_per_frame(activity, prof)
    active_uj = sum(parts.values())
    idle_mw = prof.energy["p_idle_mw_per_chip"] * cores / prof.spec.cores_per_chip   # the profile's chip
    active_mw = fps * active_uj * 1e-3
    mw = idle_mw + active_mw
    return {
        "fps": fps,
        "tick_hz": fps,
        "tick_source": "recipe" if tick_hz and tick_hz > 0 else "model",
        "mw": mw,
        "idle_mw": idle_mw,
        "active_mw": active_mw,
        "static_mw": idle_mw,
        "fps_per_w": fps / (mw * 1e-3) if mw > 0 else 0.0,
        "uj_per_frame": mw / fps * 1e3 if fps > 0 else 0.0,
        "active_uj_per_frame": active_uj,
        "breakdown_uj_per_frame": parts,
        "model_estimate": True,
    }


def energy_model_record(prof: ChipProfile) -> EnergyModel:
    """What a RunResult stores under "energy_model"."""
    return EnergyModel(profile=prof.name, voltage=prof.voltage, constants=dict(prof.energy),
                       timing=dict(prof.timing), model_estimate=True)
