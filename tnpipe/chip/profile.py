"""A chip profile: ONE file, tnpipe/chip/profiles/<name>.toml, says what chip `deploy` maps onto
and how its energy and time are modelled; the recipe's `chip.profile` (or `--set
chip.profile=NAME`, or a path to a .toml) chooses it.

    name, voltage     the profile's name and the voltage its constants hold at
    [core]            the limits (tnpipe.corespec.CoreSpec fields: axons, neurons, weights,
                      leak, delays, chip_width x chip_height cores per chip, ...); a key left
                      out is TrueNorth's, so a TrueNorth profile may omit the section
    [energy]          p_idle_mw_per_chip, e_sop_pj, e_hop_pj, e_periphery_pj_per_bit,
                      e_chip_pj_per_bit, packet_bits (tnpipe.chip.energy)
    [timing]          tick_floor_us, sop_ns

A second chip is one more file in profiles/: nothing else names a profile.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from tnpipe.corespec import TRUENORTH, CoreSpec
from tnpipe.errors import RecipeError
from tnpipe.settings import check_values

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROFILES = Path(__file__).resolve().parent / "profiles"
DEFAULT_PROFILE = "truenorth-1.0v"
ENERGY_KEYS = ("p_idle_mw_per_chip", "e_sop_pj", "e_hop_pj", "e_periphery_pj_per_bit",
               "e_chip_pj_per_bit", "packet_bits")
TIMING_KEYS = ("tick_floor_us", "sop_ns")


@dataclass(frozen=True)
class ChipProfile:
    name: str
    voltage: float
    spec: CoreSpec                 # the limits every mapped core obeys
    energy: dict[str, float]       # ENERGY_KEYS
    timing: dict[str, float]       # TIMING_KEYS
    path: Path


def profile_path(name: str) -> Path:
    return Path(name) if name.endswith(".toml") else PROFILES / f"{name}.toml"


def load_profile(name: str = DEFAULT_PROFILE) -> ChipProfile:
    """Read profiles/<name>.toml (or a path) and check every section; one line when wrong."""
    path = profile_path(name)
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
    core = prof.get("core", {})
    check_values(CoreSpec, core, f"{path}: [core]")
    spec = CoreSpec(**core) if core else TRUENORTH
    return ChipProfile(name=prof["name"], voltage=prof["voltage"], spec=spec, energy=dict(prof["energy"]),
                       timing=dict(prof["timing"]), path=path)
