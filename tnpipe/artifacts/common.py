"""Helpers every artifact module shares: checksums, JSON objects read with one-line errors,
typed field checks, and the environment stamp of a RunResult."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tnpipe.errors import ArtifactError


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


JSON_MAX_BYTES = 256 << 20   # an 8-chip result.json with its floorplan is a few MB; more is not ours
JSON_MAX_DEPTH = 32          # our records nest 3-4 deep; deeper is a hand-made or hostile file
# C0/C1 control characters (ESC starts a terminal escape sequence), DEL; tab and newline excluded
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from `path`, or an ArtifactError naming the file and what was wrong
    (not JSON, too large, nested too deeply, NaN/Infinity, an integer of thousands of digits)."""
    if not path.is_file():
        raise ArtifactError(f"{path}: {what} not found")
    size = path.stat().st_size
    if size > JSON_MAX_BYTES:
        raise ArtifactError(f"{path}: {size} bytes; a {what} is at most {JSON_MAX_BYTES} bytes")
    try:
        obj = json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:   # JSONDecodeError is a ValueError
        why = "nested too deeply" if isinstance(e, RecursionError) else f"{e.__class__.__name__}: {str(e)[:200]}"
        raise ArtifactError(f"{path}: not valid JSON ({why}); expected a {what}") from e
    if _depth(obj) > JSON_MAX_DEPTH:
        raise ArtifactError(f"{path}: nested more than {JSON_MAX_DEPTH} levels deep; expected a {what}")
    if not isinstance(obj, dict):
        raise ArtifactError(f"{path}: expected a JSON object ({what}), found {type(obj).__name__}")
    return obj


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a tnpipe artifact holds")


def _depth(obj: Any, limit: int = JSON_MAX_DEPTH + 1) -> int:
    """Nesting depth of lists and dicts, counted up to `limit` (no recursion)."""
    depth, level = 0, [obj]
    while level and depth < limit:
        nxt = []
        for o in level:
            nxt += list(o.values()) if isinstance(o, dict) else o if isinstance(o, list) else []
        level = [o for o in nxt if isinstance(o, (dict, list))]
        depth += 1
    return depth


@contextlib.contextmanager
def fix_hint(fix: str) -> Iterator[None]:
    """An ArtifactError raised inside gets `; FIX` appended: what to run next."""
    try:
        yield
    except ArtifactError as e:
        raise ArtifactError(f"{e}; {fix}") from None


def check_text(value: Any, where: str, key: str, max_len: int = 500) -> str:
    """A string shown to a person: no terminal control codes, not absurdly long."""
    if not isinstance(value, str):
        raise ArtifactError(f"{where}: {key!r} is {type(value).__name__}; expected a string")
    if CONTROL.search(value):
        raise ArtifactError(f"{where}: {key!r} holds control characters ({value[:40]!r}); expected plain text")
    if len(value) > max_len:
        raise ArtifactError(f"{where}: {key!r} is {len(value)} characters long; expected at most {max_len}")
    return value


def check_number(value: Any, where: str, key: str, low: float = 0.0, high: float = math.inf,
                 integer: bool = False) -> float:
    """A finite number (an int where `integer`) in [low, high], else one line naming file and field."""
    kind = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ArtifactError(f"{where}: {key!r} is {type(value).__name__} {str(value)[:40]}; "
                            f"expected {'an integer' if integer else 'a number'}")
    if not (math.isfinite(value) and low <= value <= high):
        span = f">= {low:g}" if high == math.inf else f"in {low:g}..{high:g}"
        raise ArtifactError(f"{where}: {key!r} is {value!r}; expected a finite number {span}")
    return value


def check_fields(obj: dict[str, Any], required: dict[str, type | tuple[type, ...]], where: str, what: str) -> None:
    """Every key of `required` present with its type (an int passes for a float), else one line."""
    for key, typ in required.items():
        if key not in obj:
            raise ArtifactError(f"{where}: key {key!r} missing from {what}")
        val = obj[key]
        ok = isinstance(val, typ) or (typ is float and isinstance(val, int) and not isinstance(val, bool))
        if not ok:
            raise ArtifactError(f"{where}: {key!r} is {type(val).__name__} {val!r}; expected {typ}")


def check_version(obj: dict[str, Any], key: str, version: int, where: str, what: str, fix: str) -> None:
    if obj.get(key) != version:
        raise ArtifactError(f"{where}: {what} {key} {obj.get(key)!r}; expected {version} ({fix})")


def environment() -> dict[str, Any]:
    """git sha, package versions and date: recorded in every RunResult and the report."""
    import datetime
    import platform
    import subprocess

    import numpy as np

    from tnpipe import __version__

    versions = {"tnpipe": __version__, "python": platform.python_version(), "numpy": np.__version__}
    try:
        import torch
        versions["torch"] = torch.__version__
    except ImportError:  # pragma: no cover
        pass
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        sha = "unknown"
    return {
        "git_sha": sha,
        "versions": versions,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }
