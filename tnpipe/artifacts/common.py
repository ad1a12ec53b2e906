"""Helpers every artifact module shares: checksums, JSON objects read with one-line errors,
typed field checks, and the environment stamp of a RunResult."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tnpipe.errors import ArtifactError


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from `path`, or an ArtifactError naming the file and what was wrong."""
    if not path.is_file():
        raise ArtifactError(f"{path}: {what} not found")
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ArtifactError(f"{path}: not valid JSON ({e.__class__.__name__}: {e}); expected a {what}") from e
    if not isinstance(obj, dict):
        raise ArtifactError(f"{path}: expected a JSON object ({what}), found {type(obj).__name__}")
    return obj


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
