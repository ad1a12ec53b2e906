"""[chip] section of a recipe: which chip profile, tick rate, core placement and simulator engine
`deploy` uses."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tnpipe.chip.engines import check_engine
from tnpipe.chip.placement import check_placement
from tnpipe.errors import RecipeError


@dataclass
class ChipCfg:
    profile: str = "truenorth-1.0v"     # tnpipe/chip/profiles/<profile>.toml
    tick_hz: float = 0.0                # 0 = the profile's tick model decides; else a fixed tick rate
    frames: int = 0                     # test frames to simulate; 0 = the whole test split
    placement: str = "regions"          # cores on chips: "regions" or "snake" (placement.py; same on 1 chip)
    engine: str = "auto"                # simulator engine by name (engines.py); speed only, same spikes

    def __post_init__(self) -> None:
        check_placement(self.placement)   # a bad name fails when the recipe loads, not after mapping
        if isinstance(self.engine, str):
            check_engine(self.engine)
        if isinstance(self.frames, int) and self.frames < 0:
            raise RecipeError(f"frames: {self.frames} must be >= 0 (0 = the whole test split)")
        if isinstance(self.tick_hz, (int, float)) and not (math.isfinite(self.tick_hz) and self.tick_hz >= 0):
            raise RecipeError(f"tick_hz: {self.tick_hz} must be a finite number >= 0 (0 = the profile's tick model)")
