"""Energy and timing model: simulated activity -> fps, mW, fps/W, uJ/frame (MODEL ESTIMATES).

The paper's own accounting ([EEDN] section 1.3: P_total = P_idle * cores/4096 + active,
the active part scaled to the measured fps), with one frame per tick:

    P = P_idle * N_c/4096  +  fps * E_active/frame               (idle part, active part)
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

import sys
from pathlib import Path
from typing import Any

from tnpipe.artifacts.result import EnergyModel
from tnpipe.errors import RecipeError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROFILES = Path(__file__).resolve().parent / "profiles"
ENERGY_KEYS = ("p_idle_mw_per_chip", "e_sop_pj", "e_hop_pj", "e_periphery_pj_per_bit",
               "e_chip_pj_per_bit", "packet_bits")
TIMING_KEYS = ("tick_floor_us", "sop_ns")


def load_profile(name: str = "truenorth-1.0v") -> dict[str, Any]:
    """Read profiles/<name>.toml (or a path) and check it has every constant."""
    path = Path(name) if name.endswith(".toml") else PROFILES / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PROFILES.glob("*.toml")))
        raise RecipeError(f"chip profile {name!r} not found ({path}); known profiles: {known}")
    try:
        prof = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise RecipeError(f"{path}: not valid TOML ({e})") from e
    for section, keys in (("energy", ENERGY_KEYS), ("timing", TIMING_KEYS)):
        missing = [k for k in keys if k not in prof.get(section, {})]
        if missing:
            raise RecipeError(f"{path}: [{section}] lacks {', '.join(missing)}")
    if "voltage" not in prof or "name" not in prof:
        raise RecipeError(f"{path}: needs 'name' and 'voltage'")
    return prof


def modelled_tick_hz(busiest_core_sops: float, prof: dict[str, Any]) -> float:
    """Fastest tick at which the busiest core's token controller finishes its work."""
    t = prof["timing"]
    return 1.0 / (t["tick_floor_us"] * 1e-6 + busiest_core_sops * t["sop_ns"] * 1e-9)


def active_uj_per_frame(activity: dict[str, float], prof: dict[str, Any]) -> dict[str, float]:
    """The active energy of one frame, per term (uJ)."""
    e = prof["energy"]
    bits = e["packet_bits"]
    pj = {
        "sops": e["e_sop_pj"] * activity["sops"],
        "hops": e["e_hop_pj"] * activity["hops"],
        "periphery": e["e_periphery_pj_per_bit"] * bits * activity["io_spikes"],
        "chip_crossings": e["e_chip_pj_per_bit"] * bits * activity["crossings"],
    }
    return {k: v * 1e-6 for k, v in pj.items()}


def estimate(activity: dict[str, float], cores: int, prof: dict[str, Any], tick_hz: float | None = None,
             cores_per_chip: int = 4096) -> dict[str, Any]:
    """activity: per-frame sops, hops, crossings, io_spikes, and busiest_core_sops (per tick).

    Returns fps, mw = idle_mw + active_mw, fps_per_w, uj_per_frame, the active energy per
    frame and its breakdown (uJ), all labelled model estimates; static_mw = idle_mw."""
    fps = float(tick_hz) if tick_hz and tick_hz > 0 else modelled_tick_hz(activity["busiest_core_sops"], prof)
    parts = active_uj_per_frame(activity, prof)
    active_uj = sum(parts.values())
    idle_mw = prof["energy"]["p_idle_mw_per_chip"] * cores / cores_per_chip
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


def energy_model_record(prof: dict[str, Any]) -> EnergyModel:
    """What a RunResult stores under "energy_model"."""
    return EnergyModel(profile=prof["name"], voltage=prof["voltage"], constants=dict(prof["energy"]),
                       timing=dict(prof["timing"]), model_estimate=True)
