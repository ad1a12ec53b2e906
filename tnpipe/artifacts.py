"""The artifacts that cross stage boundaries (DESIGN.md section 3), with their on-disk forms.

    PreparedDataset     prepare -> train, deploy    datasets/prepared/<id>/
    Checkpoint          train   -> deploy           results/<id>/<net>/checkpoint.pt   (tnpipe.checkpoint)
    NetworkDescription  train   -> deploy (mapper)  results/<id>/<net>/network.npz     (this module)
    CoreMap             deploy  -> simulator        results/<id>/<net>/coremap.npz+json (tnpipe.chip.coremap)
    RunResult           deploy  -> report           results/<id>/<net>/result.json     (this module)

Nothing else crosses a stage boundary. Every writer is atomic (tnpipe.atomic); every
loader verifies what it reads and raises `ArtifactError` with a one-line message naming
the file, the problem and what was expected.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tnpipe import __version__
from tnpipe.atomic import atomic_dir, atomic_path, write_json
from tnpipe.errors import ArtifactError

SPLITS = ("train", "test")


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


# --------------------------------------------------------------------------- PreparedDataset


@dataclass
class PreparedDataset:
    """Output of `tnpipe prepare`, input of `train` and `deploy`.

    On disk (`datasets/prepared/<name>[-synthetic]/`):
        x_train.npy, x_test.npy   uint8 images (N, H, W, C)  or float16 features (N, C, H, W)
        y_train.npy, y_test.npy   int64 labels (N,)
        meta.json                 name, kind ("image"|"speech"), input_shape (C, H, W),
                                  num_classes, class_names, counts, feature params, source
                                  checksums, synthetic flag, tnpipe version, and the sha256
                                  of every .npy file (so a tampered or truncated file is caught)
    """

    name: str
    kind: str                                  # "image" or "speech"
    input_shape: tuple[int, int, int]          # (C, H, W) as the network sees it
    num_classes: int
    class_names: list[str]
    x: dict[str, np.ndarray]                   # split -> array
    y: dict[str, np.ndarray]
    synthetic: bool = False
    feature_params: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)   # source file -> sha256 (or a summary)
    notes: list[str] = field(default_factory=list)           # choices worth recording (e.g. noise kind)
    stand_in: str = ""   # non-empty: real data, but not the paper's benchmark data; says what stands in for what

    def counts(self) -> dict[str, int]:
        return {s: int(len(self.y[s])) for s in self.y}

    def meta(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "counts": self.counts(),
            "x_dtype": {s: str(self.x[s].dtype) for s in self.x},
            "synthetic": self.synthetic,
            "feature_params": self.feature_params,
            "sources": self.sources,
            "notes": self.notes,
            "stand_in": self.stand_in,
            "tnpipe_version": __version__,
        }

    def validate(self, where: str = "") -> None:
        where = where or self.name
        for s in SPLITS:
            if s not in self.x or s not in self.y:
                raise ArtifactError(f"{where}: split {s!r} missing; expected {SPLITS}")
            x, y = self.x[s], self.y[s]
            if len(x) != len(y):
                raise ArtifactError(f"{where}: x_{s} has {len(x)} rows but y_{s} has {len(y)}")
            if len(y) and (y.min() < 0 or y.max() >= self.num_classes):
                raise ArtifactError(
                    f"{where}: y_{s} holds labels {int(y.min())}..{int(y.max())}; expected 0..{self.num_classes - 1}"
                )
            if self.kind == "image" and (x.dtype != np.uint8 or x.ndim != 4):
                raise ArtifactError(f"{where}: x_{s} is {x.dtype} {x.shape}; expected uint8 (N, H, W, C)")
            if self.kind == "speech" and (x.dtype != np.float16 or x.ndim != 4):
                raise ArtifactError(f"{where}: x_{s} is {x.dtype} {x.shape}; expected float16 (N, C, H, W)")

    def save(self, folder: Path) -> None:
        """Write atomically: the folder appears whole, or the old one stays untouched."""
        self.validate(str(folder))
        with atomic_dir(Path(folder)) as tmp:
            checksums = {}
            for s in SPLITS:
                for arr_name, arr in ((f"x_{s}", self.x[s]), (f"y_{s}", self.y[s].astype(np.int64))):
                    p = tmp / f"{arr_name}.npy"
                    np.save(p, np.ascontiguousarray(arr), allow_pickle=False)
                    checksums[p.name] = sha256_file(p)
            meta = self.meta()
            meta["files"] = checksums
            write_json(tmp / "meta.json", meta)

    @classmethod
    def load(cls, folder: Path, verify: bool = True) -> PreparedDataset:
        folder = Path(folder)
        meta = read_prepared_meta(folder)
        x, y = {}, {}
        for s in SPLITS:
            for arr_name, store in ((f"x_{s}", x), (f"y_{s}", y)):
                p = folder / f"{arr_name}.npy"
                if not p.is_file():
                    raise ArtifactError(f"{p}: missing from the prepared dataset; re-run `tnpipe prepare {meta['name']} --force`")
                if verify and sha256_file(p) != meta["files"].get(p.name):
                    raise ArtifactError(f"{p}: checksum differs from meta.json (truncated or modified); re-run `tnpipe prepare {meta['name']} --force`")
                try:
                    store[s] = np.load(p, allow_pickle=False)
                except (ValueError, OSError) as e:
                    raise ArtifactError(f"{p}: unreadable .npy ({e})") from e
        ds = cls(
            name=meta["name"], kind=meta["kind"], input_shape=tuple(meta["input_shape"]),
            num_classes=int(meta["num_classes"]), class_names=list(meta["class_names"]), x=x, y=y,
            synthetic=bool(meta["synthetic"]), feature_params=meta.get("feature_params", {}),
            sources=meta.get("sources", {}), notes=meta.get("notes", []),
            stand_in=str(meta.get("stand_in", "")),
        )
        ds.validate(str(folder))
        return ds


def read_prepared_meta(folder: Path) -> dict[str, Any]:
    meta = read_json_object(Path(folder) / "meta.json", "prepared-dataset meta.json")
    for key in ("name", "kind", "input_shape", "num_classes", "class_names", "synthetic", "files"):
        if key not in meta:
            raise ArtifactError(f"{Path(folder) / 'meta.json'}: key {key!r} missing")
    return meta


def verify_prepared(folder: Path) -> bool:
    """True if the folder holds a complete prepared dataset whose files match meta.json."""
    try:
        meta = read_prepared_meta(folder)
        return all(
            (Path(folder) / n).is_file() and sha256_file(Path(folder) / n) == h
            for n, h in meta["files"].items()
        ) and len(meta["files"]) == 2 * len(SPLITS)
    except ArtifactError:
        return False


# ------------------------------------------------------------------------ NetworkDescription


@dataclass
class LayerDescription:
    """One on-chip layer in integer form: everything the chip needs, nothing of torch.

    Exact semantics (hardware mode; the chip must reproduce it spike for spike):
        s[c_out, y, x] = sum over (c_in in group(c_out), dy, dx) of
                         weights[c_out, c_in - group_start, dy, dx] * spikes_in[c_in, y*stride+dy-padding, x*stride+dx-padding]
                         (positions outside the input contribute 0)
        spike_out[c_out, y, x] = 1  if  s + leak[c_out] >= 1  else 0
    i.e. a TrueNorth neuron with threshold 1, reset to 0 and a floor at 0, evaluated once
    per tick with no memory between frames.
    """

    name: str                    # e.g. "L3 P-256(8)"
    kind: str                    # S, N, P, P4
    in_channels: int
    out_channels: int
    groups: int
    kernel: int
    stride: int
    padding: int
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]
    weights: np.ndarray | None = None   # int8 (C_out, C_in/groups, k, k), values in {-1, 0, +1}
    leak: np.ndarray | None = None      # int16 (C_out,), within the core's leak range

    @property
    def fan_in(self) -> int:
        return self.kernel * self.kernel * self.in_channels // self.groups

    def geometry(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "in_channels": self.in_channels,
            "out_channels": self.out_channels, "groups": self.groups, "kernel": self.kernel,
            "stride": self.stride, "padding": self.padding, "in_hw": list(self.in_hw),
            "out_hw": list(self.out_hw),
        }


NETWORK_FORMAT_VERSION = 1


@dataclass
class NetworkDescription:
    """The trained network as the chip sees it: exported by `train`, read by the mapper.

    `input_shape` is the (C, H, W) of the binary spike map the off-chip transduction layer
    produces; `layers` are the on-chip layers in order; the last layer's feature c votes
    for class `class_of_feature[c]` at every position. Prediction = argmax of the votes,
    ties broken toward the lowest class index (numpy/torch argmax convention).

    Weights may be None for an architecture alone (`deploy --plan-only`).
    """

    network: str                         # the Eedn string it was built from
    input_shape: tuple[int, int, int]
    layers: list[LayerDescription]
    num_classes: int
    class_of_feature: np.ndarray         # int64 (C_last,)

    @property
    def has_weights(self) -> bool:
        return all(layer.weights is not None and layer.leak is not None for layer in self.layers)

    def votes(self, last_spikes: np.ndarray) -> np.ndarray:
        """(N, C_last, H, W) spikes of the last layer -> (N, num_classes) vote counts."""
        per_feature = last_spikes.reshape(last_spikes.shape[0], last_spikes.shape[1], -1).sum(-1)
        out = np.zeros((last_spikes.shape[0], self.num_classes), dtype=np.int64)
        np.add.at(out.T, self.class_of_feature, per_feature.T.astype(np.int64))
        return out

    def save(self, path: Path) -> None:
        header = {
            "format": "tnpipe.NetworkDescription", "version": NETWORK_FORMAT_VERSION,
            "network": self.network, "input_shape": list(self.input_shape),
            "num_classes": self.num_classes, "layers": [layer.geometry() for layer in self.layers],
        }
        arrays: dict[str, np.ndarray] = {
            "header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            "class_of_feature": self.class_of_feature.astype(np.int64),
        }
        for i, layer in enumerate(self.layers):
            if layer.weights is not None:
                arrays[f"w{i}"] = layer.weights.astype(np.int8)
            if layer.leak is not None:
                arrays[f"leak{i}"] = layer.leak.astype(np.int16)
        with atomic_path(Path(path)) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, **arrays)

    @classmethod
    def load(cls, path: Path) -> NetworkDescription:
        path = Path(path)
        if not path.is_file():
            raise ArtifactError(f"{path}: network description not found; run `tnpipe train` first")
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
            raise ArtifactError(f"{path}: unreadable network description ({e.__class__.__name__}: {e})") from e
        try:
            header = json.loads(arrays["header"].tobytes().decode())
        except (KeyError, json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ArtifactError(f"{path}: header missing or corrupt") from e
        if header.get("format") != "tnpipe.NetworkDescription" or header.get("version") != NETWORK_FORMAT_VERSION:
            raise ArtifactError(
                f"{path}: format {header.get('format')!r} version {header.get('version')!r}; "
                f"expected tnpipe.NetworkDescription version {NETWORK_FORMAT_VERSION}"
            )
        layers = []
        for i, g in enumerate(header["layers"]):
            g = dict(g, in_hw=tuple(g["in_hw"]), out_hw=tuple(g["out_hw"]))
            layers.append(LayerDescription(**g, weights=arrays.get(f"w{i}"), leak=arrays.get(f"leak{i}")))
        return cls(header["network"], tuple(header["input_shape"]), layers, int(header["num_classes"]),
                   arrays["class_of_feature"])


def describe_architecture(net: Any, class_of_feature: np.ndarray | None = None) -> NetworkDescription:
    """A weightless NetworkDescription from a parsed `tnpipe.netspec.NetworkSpec`."""
    chip = net.chip_layers
    layers = [
        LayerDescription(spec.name, spec.kind, spec.in_channels, spec.out_channels, spec.groups,
                         spec.kernel, spec.stride, spec.padding, spec.in_hw, spec.out_hw)
        for spec in chip
    ]
    t = net.transduction
    if class_of_feature is None:
        class_of_feature = default_class_of_feature(chip[-1].out_channels, net.num_classes)
    return NetworkDescription(net.text, (t.out_channels, *t.out_hw), layers, net.num_classes, class_of_feature)


def default_class_of_feature(features: int, num_classes: int) -> np.ndarray:
    """Feature c votes for class c mod num_classes (equal populations when it divides)."""
    return np.arange(features, dtype=np.int64) % num_classes


# --------------------------------------------------------------------------------- RunResult

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
    for key, typ in RESULT_REQUIRED.items():
        if key not in obj:
            raise ArtifactError(f"{where}: key {key!r} missing from result")
        val = obj[key]
        ok = isinstance(val, typ) or (typ is float and isinstance(val, int) and not isinstance(val, bool))
        if not ok:
            raise ArtifactError(f"{where}: {key!r} is {type(val).__name__} {val!r}; expected {typ}")


def save_result(path: Path, obj: dict[str, Any]) -> None:
    obj = dict(obj, format_version=RESULT_FORMAT_VERSION)
    validate_result(obj, str(path))
    write_json(Path(path), obj)


def load_result(path: Path) -> dict[str, Any]:
    obj = read_json_object(Path(path), "RunResult result.json")
    validate_result(obj, str(path))
    return obj


def environment() -> dict[str, Any]:
    """git sha, package versions and date: recorded in every RunResult and the report."""
    import datetime
    import platform
    import subprocess

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


def result_dict_skeleton() -> dict[str, Any]:
    """Field names with their meaning live in RESULT_REQUIRED; this is a convenience for writers."""
    return {k: None for k in RESULT_REQUIRED}


__all__ = [
    "PreparedDataset", "read_json_object", "read_prepared_meta", "verify_prepared", "LayerDescription",
    "NetworkDescription", "describe_architecture", "default_class_of_feature", "save_result",
    "load_result", "validate_result", "environment", "RESULT_REQUIRED", "sha256_file", "asdict",
]
