"""RunResult: `results/<id>/<net>/result.json`, what `deploy` hands to `report`.

A JSON object whose required fields and their types are `RESULT_REQUIRED`; `deploy` also
records `chip` (the [chip] settings used) and `made_from` (what the result was computed
from: network.npz's sha256, the training run key, the chip settings and frames), which is
how a later `deploy` tells whether the result is still current.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tnpipe.artifacts.common import (
    check_fields,
    check_number,
    check_text,
    fix_hint,
    read_json_object,
)
from tnpipe.atomic import write_json
from tnpipe.errors import ArtifactError

RESULT_NAME = "result.json"
RESULT_FORMAT_VERSION = 1

RESULT_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "format_version": int,
    "dataset": str,              # benchmark name, e.g. "cifar10"
    "network": str,              # recipe network name, e.g. "1chip"
    "synthetic": bool,
    "frames": int,               # test frames run on the simulated chip
    "accuracy_chip": float,      # fraction 0..1, from the chip simulation's votes
    "accuracy_graph": float,     # fraction 0..1, training graph in hardware mode
    "accuracy_float": (float, type(None)),  # training graph's float forward (None if not measured)
    "agreement": float,          # fraction of frames where chip and graph predict the same class
    "cores": int,
    "chips": int,
    "cores_per_layer": dict,     # layer name -> cores (splitters listed as their own entries)
    "latency_ticks": int,        # ticks from a frame entering to its votes leaving
    "tick_hz": float,
    "fps": float,                # frames per second = tick rate (one frame per tick, pipelined)
    "synaptic_events_per_frame": float,
    "spikes_per_frame": float,
    "hops_per_frame": float,
    "chip_crossings_per_frame": float,
    "mw": float,                 # model estimate
    "fps_per_w": float,          # model estimate
    "uj_per_frame": float,       # model estimate
    "energy_model": dict,        # profile name, voltage, constants, "model_estimate": True
    "git_sha": str,
    "versions": dict,
    "date": str,
}


def validate_result(obj: dict[str, Any], where: str) -> None:
    if obj.get("format_version") != RESULT_FORMAT_VERSION:
        raise ArtifactError(
            f"{where}: result format_version {obj.get('format_version')!r}; expected {RESULT_FORMAT_VERSION} "
            "(re-run `tnpipe deploy` to regenerate it)"
        )
    check_fields(obj, RESULT_REQUIRED, where, "result")
    with fix_hint(f"re-run `tnpipe deploy {Path(where).parent} --force` to regenerate it"):
        check_values(obj, where)


FRACTIONS = ("accuracy_chip", "accuracy_graph", "agreement")
COUNTS = ("frames", "cores", "chips")          # at least 1 each
MEASURES = ("latency_ticks", "tick_hz", "fps", "synaptic_events_per_frame", "spikes_per_frame", "hops_per_frame",
            "chip_crossings_per_frame", "mw", "fps_per_w", "uj_per_frame")
TEXTS = ("dataset", "network", "git_sha", "date")


def check_values(obj: dict[str, Any], where: str) -> None:
    """Every value the report shows or computes with: fractions in 0..1, counts >= 1, finite
    measures >= 0, plain text (no terminal control codes)."""
    for key in FRACTIONS:
        check_number(obj[key], where, key, 0.0, 1.0)
    if obj["accuracy_float"] is not None:
        check_number(obj["accuracy_float"], where, "accuracy_float", 0.0, 1.0)
    for key in COUNTS:
        check_number(obj[key], where, key, 1, integer=True)
    for key in MEASURES:
        check_number(obj[key], where, key, 0.0)
    for key in TEXTS:
        check_text(obj[key], where, key)
    if obj.get("stand_in") is not None:
        check_text(obj["stand_in"], where, "stand_in", max_len=2000)
    for name, n in obj["cores_per_layer"].items():
        check_text(name, where, "cores_per_layer")
        check_number(n, where, f"cores_per_layer[{name!r}]", 0, integer=True)


def save_result(path: Path, obj: dict[str, Any]) -> None:
    obj = dict(obj, format_version=RESULT_FORMAT_VERSION)
    validate_result(obj, str(path))
    write_json(Path(path), obj)


def load_result(path: Path) -> dict[str, Any]:
    obj = read_json_object(Path(path), "RunResult result.json")
    validate_result(obj, str(path))
    return obj
