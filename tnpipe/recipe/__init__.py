"""A recipe: one TOML per dataset (recipes/<name>.toml), its sections typed.

    load.py            load_recipe(path, overrides) -> Recipe; networks by name

Its sections are typed below it: [train] tnpipe.nn.train_section.TrainCfg (one floor down, so
that nn/trained.py can load train.json with it typed), [data] tnpipe.data.config.DataCfg,
[chip] tnpipe.chip.config.ChipCfg.

Read by every stage; imports no stage.
"""

from __future__ import annotations

from tnpipe.nn.train_section import TrainCfg
from tnpipe.recipe.load import Recipe, load_recipe

__all__ = ["Recipe", "TrainCfg", "load_recipe"]
