"""A recipe: one TOML per dataset (recipes/<name>.toml), its sections typed.

    load.py            load_recipe(path, overrides) -> Recipe; networks by name
    train_section.py   TrainCfg: the [train] section (its [data] and [chip] sections are
                       tnpipe.data.config.DataCfg and tnpipe.chip.config.ChipCfg)

Read by every stage; imports no stage.
"""

from __future__ import annotations

from tnpipe.recipe.load import Recipe, load_recipe
from tnpipe.recipe.train_section import TrainCfg

__all__ = ["Recipe", "TrainCfg", "load_recipe"]
