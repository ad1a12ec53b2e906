"""[chip] section of a recipe: which chip profile and tick rate `deploy` uses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ChipCfg:
    profile: str = "truenorth-1.0v"     # tnpipe/chip/profiles/<profile>.toml
    tick_hz: float = 0.0                # 0 = the profile's tick model decides; else a fixed tick rate
    frames: int = 0                     # test frames to simulate; 0 = the whole test split
