"""The one parser of `--set section.key=value` overrides, and the one field type check.

Values are TOML literals (bare words are strings); a value is checked against the type
annotation of the dataclass field it sets, resolved with `typing.get_type_hints` (no
evaluation of annotation strings here). Used by the recipe loader, the [train] section's
per-network settings, deploy's [chip] overrides and the TrainingRecord loader.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from collections.abc import Iterable
from typing import Any

from tnpipe.errors import RecipeError, did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def parse_override(text: str) -> tuple[str, str, Any]:
    """'train.epochs=5' -> ('train', 'epochs', 5). Values are TOML literals; bare words are strings."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise RecipeError(f"--set {text!r}: expected section.key=value, e.g. train.epochs=5")
    lhs, raw = text.split("=", 1)
    section, key = lhs.strip().split(".", 1)
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return section, key, value


def check_sections(overrides: Iterable[str], allowed: tuple[str, ...], command: str) -> None:
    """Each `--set` names one of `allowed` sections (a command ignores none silently)."""
    for ov in overrides:
        sec, _key, _value = parse_override(ov)
        if sec not in allowed:
            raise RecipeError(f"--set {ov!r}: {command} takes only {', '.join(s + '.KEY' for s in allowed)} settings"
                              f"{did_you_mean(sec, allowed)}")


def overrides_for(section: str, overrides: Iterable[str]) -> dict[str, Any]:
    """The `--set` values of one section, in order (a later one wins)."""
    out: dict[str, Any] = {}
    for ov in overrides:
        sec, key, value = parse_override(ov)
        if sec == section:
            out[key] = value
    return out


def field_types(cls: type) -> dict[str, Any]:
    """Field name -> resolved annotation of a dataclass."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def type_name(annotation: Any) -> str:
    return annotation.__name__ if isinstance(annotation, type) else str(annotation).replace("typing.", "")


def type_ok(value: Any, annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(type_ok(value, a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is Any:
        return True
    if origin in (list, tuple):
        args = typing.get_args(annotation)
        return isinstance(value, (list, tuple)) and (not args or all(type_ok(v, args[0]) for v in value))
    if origin is dict:
        return isinstance(value, dict)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, origin or annotation)


def check_values(cls: type, values: dict[str, Any], where: str, skip: tuple[str, ...] = ()) -> None:
    """Unknown keys and wrongly typed values of `cls`'s fields, refused with one line."""
    types_ = {k: v for k, v in field_types(cls).items() if k not in skip}
    for key, val in values.items():
        if key not in types_:
            raise RecipeError(f"{where}: unknown key {key!r}{did_you_mean(key, types_)}; valid keys: {', '.join(types_)}")
        if not type_ok(val, types_[key]):
            raise RecipeError(f"{where}.{key}: value {val!r} has the wrong type; expected {type_name(types_[key])}")


def build(cls: type, values: dict[str, Any], where: str) -> Any:
    """`cls(**values)` after the type check; a section's own check names `where` too."""
    check_values(cls, values, where)
    try:
        return cls(**values)
    except (TypeError, RecipeError) as e:   # e.g. [chip] placement: the file and section lead
        raise RecipeError(f"{where}: {e}") from e
