"""Recipes: one TOML per dataset (`recipes/NAME.toml`), loaded into typed dataclasses.

    [data]      -> tnpipe.data.config.DataCfg    (features, splits; read by `prepare`)
    [train]     -> tnpipe.nn.train_section.TrainCfg  (optimiser, schedule, loss; read by `train`)
    [chip]      -> tnpipe.chip.config.ChipCfg    (energy profile, tick rate; read by `deploy`)
    [networks]  -> name = "Eedn string"          (e.g. 1chip = "S-16 P4-252(2) ...")

Unknown keys are refused with the list of valid ones; `--set section.key=value` overrides
are parsed by tnpipe.settings (TOML literals, type-checked against the field they set).
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tnpipe.chip.config import ChipCfg
from tnpipe.data.config import DataCfg
from tnpipe.errors import RecipeError, did_you_mean
from tnpipe.nn.train_section import TrainCfg
from tnpipe.settings import build, parse_override

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SECTIONS: dict[str, type] = {"data": DataCfg, "train": TrainCfg, "chip": ChipCfg}


@dataclass
class Recipe:
    path: Path
    data: DataCfg
    train: TrainCfg
    chip: ChipCfg
    networks: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.data.name

    def network(self, name: str) -> str:
        if name not in self.networks:
            raise RecipeError(
                f"{self.path}: no network {name!r}{did_you_mean(name, self.networks)}; this recipe defines: "
                f"{', '.join(self.networks) or '(none)'}"
            )
        return self.networks[name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "data": dataclasses.asdict(self.data),
            "train": dataclasses.asdict(self.train),
            "chip": dataclasses.asdict(self.chip),
            "networks": dict(self.networks),
        }


def load_recipe(path: Path, overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"{path}: recipe not found; expected a TOML file such as recipes/cifar10.toml")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise RecipeError(f"{path}: not valid TOML ({e})") from e
    allowed = set(SECTIONS) | {"networks"}
    for section in raw:
        if section not in allowed:
            raise RecipeError(f"{path}: unknown section [{section}]; valid sections: {', '.join(sorted(allowed))}")
    values = {s: dict(raw.get(s, {})) for s in SECTIONS}
    networks = dict(raw.get("networks", {}))
    for ov in overrides:
        section, key, value = parse_override(ov)
        if section == "networks":
            networks[key] = str(value)
            continue
        if section not in SECTIONS:
            raise RecipeError(f"--set {ov!r}: unknown section {section!r}{did_you_mean(section, [*SECTIONS, 'networks'])}; "
                              f"valid sections: {', '.join(SECTIONS)}, networks")
        values[section][key] = value
    if "name" not in values["data"]:
        raise RecipeError(f"{path}: [data] needs a 'name' (the dataset, e.g. \"cifar10\")")
    for name, text in networks.items():
        if not isinstance(text, str):
            raise RecipeError(f"{path}: [networks].{name} must be a string in Eedn notation")
    built = {s: build(cls, values[s], f"{path} [{s}]") for s, cls in SECTIONS.items()}
    return Recipe(path=path, networks=networks, **built)
