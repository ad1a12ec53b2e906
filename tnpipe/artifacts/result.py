"""RunResult: `results/<id>/<net>/result.json`, what `deploy` hands to `report`.

A typed record (`RunResult`, with its nested `Equivalence`, `EnergyModel`, `Floorplan`,
`SimulatorRecord` and `MapSource` parts), written and read here only. The JSON keeps the
keys of format_version 1 as the last release wrote them: a result.json of that release
loads, one of any other version is refused in one line. Fields an older version-1 file
lacks (`equivalence`, `floorplan`, `simulator`, ...) load as None; keys this release does
not know are kept in `extra` and written back unchanged.

`deploy` also records `chip` (the [chip] settings used) and `made_from` (what the result
was computed from: network.npz's sha256, the training run key, the chip settings and
frames), which is how a later `deploy` tells whether the result is still current.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tnpipe.artifacts.common import (
    check_number,
    check_text,
    fix_hint,
    read_json_object,
)
from tnpipe.atomic import write_json
from tnpipe.errors import ArtifactError
from tnpipe.settings import field_types, type_name, type_ok

RESULT_NAME = "result.json"
RESULT_FORMAT_VERSION = 1


@dataclass
class Equivalence:
    """Chip == trained network at three levels (tnpipe.verify), strictest first."""

    exact: bool                  # votes and spikes both exact
    votes_exact: bool            # every class vote of every frame equal
    vote_frames: int
    spikes_exact: bool           # every spike of the spike-level sample equal
    spike_frames: int
    spikes_compared: int
    neuron_ticks_compared: int
    agreement: float             # arg-max agreement of chip and graph
    first_mismatch: str | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class EnergyModel:
    """The energy/timing profile a result's estimates come from (tnpipe.chip.energy)."""

    profile: str
    voltage: float | None = None
    constants: dict[str, float] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)
    model_estimate: bool = True


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


@dataclass
class Floorplan:
    """Where each core sits (chip, x, y), its layer and its spikes per frame (report pictures)."""

    width: int
    height: int
    chips: int
    layer_names: list[str]
    core_chip: list[int]
    core_x: list[int]
    core_y: list[int]
    core_layer: list[int]
    core_spikes_per_frame: list[float]


@dataclass
class SimulatorRecord:
    """Which engine ran the frames, where, and how long each part took (seconds)."""

    engine: str
    device: str
    seconds: float | None = None            # the whole simulate call
    compile_seconds: float | None = None    # CoreMap -> program
    kernel_seconds: float | None = None     # one-time: numba compile or cache load
    run_seconds: float | None = None        # the frames alone
    frames_per_s: float | None = None       # steady state: frames / run_seconds
    verify_seconds: float | None = None
    fallback: str | None = None             # why the requested engine could not run the map


@dataclass
class MapSource:
    folder: str          # where the simulated coremap.npz + coremap.json were read from
    npz_sha256: str


@dataclass
class RunResult:
    dataset: str                     # benchmark name, e.g. "cifar10"
    network: str                     # recipe network name, e.g. "1chip"
    synthetic: bool
    frames: int                      # test frames run on the simulated chip
    accuracy_chip: float             # fraction 0..1, from the chip simulation's votes
    accuracy_graph: float            # fraction 0..1, training graph in hardware mode
    accuracy_float: float | None     # training graph's float forward (None if not measured)
    agreement: float                 # fraction of frames where chip and graph predict the same class
    cores: int
    chips: int
    cores_per_layer: dict[str, int]  # layer name -> cores (splitters listed as their own entries)
    latency_ticks: int               # ticks from a frame entering to its votes leaving
    tick_hz: float
    fps: float                       # frames per second = tick rate (one frame per tick, pipelined)
    synaptic_events_per_frame: float
    spikes_per_frame: float
    hops_per_frame: float
    chip_crossings_per_frame: float
    mw: float                        # model estimate
    fps_per_w: float                 # model estimate
    uj_per_frame: float              # model estimate
    energy_model: EnergyModel
    git_sha: str
    versions: dict[str, str]
    date: str
    # written by every deploy of this release; an older version-1 file may lack them
    stand_in: str | None = None      # real data standing in for the paper's ("" = none)
    votes_identical: bool | None = None
    equivalence: Equivalence | None = None
    coremap: MapSource | None = None
    simulator: SimulatorRecord | None = None
    floorplan: Floorplan | None = None
    tick_source: str | None = None   # "recipe" (chip.tick_hz) or "model"
    io_spikes_per_frame: float | None = None
    busiest_core_sops_per_tick: float | None = None
    energy_breakdown_uj_per_frame: dict[str, float] | None = None
    static_mw: float | None = None
    chip: dict[str, Any] | None = None        # the [chip] settings used
    made_from: dict[str, Any] | None = None   # what it was computed from (deploy's reuse check)
    seconds: float | None = None
    neurobench: dict[str, Any] | None = None  # NeuroBench's metrics of the deployed network (issue 21)
    extra: dict[str, Any] = field(default_factory=dict)   # keys this release does not know

    @property
    def exact(self) -> bool:
        """The chip is exactly the trained network (False when there is no record)."""
        return self.equivalence is not None and self.equivalence.exact

    @property
    def device(self) -> str:
        """Where the chip was simulated ("" when unknown)."""
        if self.simulator is not None:
            return self.simulator.device
        return str(self.extra.get("device") or "")

    def to_json(self) -> dict[str, Any]:
        """result.json's object: every required key, the optional ones that are set, then `extra`."""
        out: dict[str, Any] = {"format_version": RESULT_FORMAT_VERSION}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "extra" or (value is None and f.name in _OPTIONAL):
                continue
            out[f.name] = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
        out.update(self.extra)
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any], where: str) -> RunResult:
        """Checked field by field; refused in one line naming `where`, the key and the type."""
        if obj.get("format_version") != RESULT_FORMAT_VERSION:
            raise ArtifactError(
                f"{where}: result format_version {obj.get('format_version')!r}; expected "
                f"{RESULT_FORMAT_VERSION} (re-run `tnpipe deploy` to regenerate it)")
        em = obj.get("energy_model")
        if isinstance(em, dict) and "profile" not in em and "name" in em:   # the earliest spelling
            obj = dict(obj, energy_model={**{k: v for k, v in em.items() if k != "name"}, "profile": em["name"]})
        unknown = _unreadable_equivalence(obj, where)
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"} - set(unknown)
        rec = _read(cls, {k: v for k, v in obj.items() if k not in unknown}, where, "result")
        with fix_hint(f"re-run `tnpipe deploy {Path(where).parent} --force` to regenerate it"):
            check_values(obj, where)
        rec.extra = {k: v for k, v in obj.items() if k not in known and k != "format_version"}
        return rec


_OPTIONAL = frozenset(f.name for f in dataclasses.fields(RunResult)
                      if f.default is None or f.default_factory is not dataclasses.MISSING)


def _unreadable_equivalence(obj: dict[str, Any], where: str) -> set[str]:
    """{"equivalence"} when that record is there but incomplete: it reads as no record
    (unknown, never exact, as the report has always shown it) and is kept as it was."""
    if "equivalence" not in obj or obj["equivalence"] is None:
        return set()
    try:
        _read(Equivalence, obj["equivalence"], where, "result 'equivalence'")
    except ArtifactError:
        return {"equivalence"}
    return set()


def _nested(annotation: Any) -> type | None:
    """The dataclass inside `X` or `X | None`, if any."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        found = [a for a in typing.get_args(annotation) if dataclasses.is_dataclass(a)]
        return found[0] if found else None
    return annotation if dataclasses.is_dataclass(annotation) else None


def _read(cls: type, obj: Any, where: str, what: str) -> Any:
    """`cls` from a JSON object: every field without a default present, every value of its type."""
    if not isinstance(obj, dict):
        raise ArtifactError(f"{where}: {what} is {type(obj).__name__}; expected an object")
    values: dict[str, Any] = {}
    for f, typ in zip(dataclasses.fields(cls), field_types(cls).values(), strict=True):
        if f.name == "extra":
            continue
        if f.name not in obj:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ArtifactError(f"{where}: key {f.name!r} missing from {what}")
            continue
        val, inner = obj[f.name], _nested(typ)
        if inner is not None and isinstance(val, dict):
            val = _read(inner, val, where, f"{what} {f.name!r}")
        elif not type_ok(val, typ):
            raise ArtifactError(f"{where}: {what} {f.name!r} is {type(val).__name__} {val!r}; "
                                f"expected {type_name(typ)}")
        values[f.name] = val
    return cls(**values)


def save_result(path: Path, result: RunResult) -> None:
    obj = result.to_json()
    check_values(obj, str(path))   # nothing unreadable is written
    write_json(Path(path), obj)


def load_result(path: Path) -> RunResult:
    obj = read_json_object(Path(path), "RunResult result.json")
    return RunResult.from_json(obj, str(path))
