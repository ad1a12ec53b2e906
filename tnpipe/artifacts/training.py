"""TrainingRecord: `results/<id>/<net>/train.json`, what `train` hands to `deploy` and `run`.

Written once, when training and export are done. It names the prepared dataset the run
was trained on, the [train] settings it trained with and the recipe's [chip] section as it
stood (deploy's defaults), both typed in memory (TrainCfg, ChipCfg) and written as the same
JSON objects as before, the run key (skip check) and the measured accuracies. `load` refuses a
missing or wrongly typed field, or a bad section value, with one line naming the file and field.

The section classes sit above this floor (tnpipe.nn.train_section, tnpipe.chip.config): the
caller hands them to `load` (`tnpipe.nn.trained.load_record` does), so artifacts/ imports none.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from tnpipe.artifacts.common import (
    check_number,
    check_text,
    check_version,
    fix_hint,
    read_json_object,
)
from tnpipe.atomic import write_json
from tnpipe.errors import ArtifactError, RecipeError
from tnpipe.settings import build, field_types, type_name, type_ok

TRAINING_RECORD_NAME = "train.json"
TRAINING_FORMAT_VERSION = 1
SECTIONS = ("train", "chip")


class SectionCfg(Protocol):
    """A recipe section's typed settings: a dataclass built from its JSON object by keyword
    (TrainCfg, ChipCfg); it refuses a bad value itself (RecipeError)."""
    __dataclass_fields__: ClassVar[dict[str, Any]]


@dataclass
class TrainingRecord:
    dataset: str
    network: str                  # the recipe's name for it, e.g. "1chip"
    network_text: str             # the Eedn string
    synthetic: bool
    prepared_dir: str
    run_key: str
    seed: int
    test_frames: int
    hw_test_acc: float            # hardware-mode (integer) graph: the run's figure
    float_test_acc: float
    agreement: float              # hardware mode vs float graph, share of frames
    test_acc_running_stats: float | None
    epochs: int
    epochs_planned: int
    time_budget_min: float
    seconds: float
    bn_stats: str
    train: SectionCfg             # TrainCfg: the [train] settings this network trained with
    chip: SectionCfg              # ChipCfg: the recipe's [chip] section when it trained
    history: list[dict[str, Any]] = field(default_factory=list)
    stand_in: str = ""
    precision: dict[str, Any] = field(default_factory=dict)   # training's arithmetic per on-chip layer
                                                              # (auto: the probe's times, tnpipe.nn.probe)
    finished: bool = True
    format_version: int = TRAINING_FORMAT_VERSION

    def save(self, run_dir: Path) -> Path:
        path = Path(run_dir) / TRAINING_RECORD_NAME
        write_json(path, dataclasses.asdict(self))
        return path

    @classmethod
    def load(cls, run_dir: Path, train_cfg: type, chip_cfg: type) -> TrainingRecord:
        """train.json -> a record whose `train` is a `train_cfg` and `chip` a `chip_cfg`."""
        path = Path(run_dir) / TRAINING_RECORD_NAME
        obj = read_json_object(path, "training record (train.json)")
        check_version(obj, "format_version", TRAINING_FORMAT_VERSION, str(path), "training record",
                      "re-run `tnpipe train --force`")
        types_ = {**field_types(cls), "train": dict, "chip": dict}   # the sections as JSON objects
        for key, typ in types_.items():
            if key not in obj and cls.__dataclass_fields__[key].default is dataclasses.MISSING \
                    and cls.__dataclass_fields__[key].default_factory is dataclasses.MISSING:
                raise ArtifactError(f"{path}: key {key!r} missing; re-run `tnpipe train --force`")
            if key in obj and not type_ok(obj[key], typ):
                raise ArtifactError(f"{path}: {key!r} is {type(obj[key]).__name__} {obj[key]!r}; "
                                    f"expected {type_name(typ)}")
        with fix_hint("train it again with `tnpipe train RECIPE --network NET --force`"):
            _check_values(obj, str(path))
        values = {k: obj[k] for k in types_ if k in obj}
        for key, section in zip(SECTIONS, (train_cfg, chip_cfg), strict=True):
            values[key] = _section(section, obj[key], f"{path}: {key}")
        try:
            return cls(**values)
        except RecipeError as e:  # pragma: no cover - every field is checked above
            raise ArtifactError(f"{path}: {e}") from e


def _section(section: type, values: dict[str, Any], where: str) -> Any:
    """A section's JSON object -> its typed config. Keys this release no longer knows are left
    out (deploy always read only the known ones); missing ones take their defaults; a wrong
    type or value is one line naming the file and the field."""
    known = {k: v for k, v in values.items() if k in section.__dataclass_fields__}
    try:
        cfg = build(section, known, where)
        if hasattr(cfg, "validate"):
            cfg.validate(where)
    except RecipeError as e:
        raise ArtifactError(str(e)) from e
    return cfg


def _check_values(obj: dict[str, Any], where: str) -> None:
    """Values, not only types: fractions in 0..1, finite non-negative counts and times,
    plain text (the record's strings reach the terminal and file paths)."""
    for key in ("hw_test_acc", "float_test_acc", "agreement"):
        check_number(obj[key], where, key, 0.0, 1.0)
    if obj.get("test_acc_running_stats") is not None:
        check_number(obj["test_acc_running_stats"], where, "test_acc_running_stats", 0.0, 1.0)
    for key in ("seconds", "time_budget_min"):
        check_number(obj[key], where, key, 0.0)
    for key in ("epochs", "epochs_planned", "test_frames", "seed"):
        check_number(obj[key], where, key, 0, integer=True)
    for key in ("dataset", "network", "run_key", "bn_stats", "prepared_dir"):
        check_text(obj[key], where, key, max_len=4000)
    check_text(obj["network_text"], where, "network_text", max_len=4000)
