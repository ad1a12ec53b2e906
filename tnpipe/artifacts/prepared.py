"""PreparedDataset: output of `tnpipe prepare`, input of `train` and `deploy`.

On disk (`datasets/prepared/<name>[-synthetic]/`):
    x_train.npy, x_test.npy   uint8 images (N, H, W, C)  or float16 features (N, C, H, W)
    y_train.npy, y_test.npy   int64 labels (N,)
    meta.json                 format_version, name, kind ("image"|"speech"), input_shape
                              (C, H, W), num_classes, class_names, counts, feature params,
                              source checksums, synthetic flag, tnpipe version, the key of
                              the settings it was prepared with, and the sha256 of every
                              .npy file (so a tampered or truncated file is caught)

`PreparedRecord` is meta.json alone (what `run` and `train` need without the arrays).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tnpipe import __version__
from tnpipe.artifacts.common import check_fields, check_version, read_json_object, sha256_file
from tnpipe.atomic import atomic_dir, write_json
from tnpipe.errors import ArtifactError

SPLITS = ("train", "test")
PREPARED_FORMAT_VERSION = 1
META_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "name": str, "kind": str, "input_shape": list, "num_classes": int, "class_names": list,
    "synthetic": bool, "files": dict, "counts": dict,
}


def _check_meta_values(meta: dict[str, Any], where: str) -> None:
    """Values, not only types: names as plain text, a (C, H, W) of positive integers, class
    and split counts that are non-negative integers, one name per class."""
    from tnpipe.artifacts.common import check_number, check_text

    check_text(meta["name"], where, "name")
    if meta["kind"] not in ("image", "speech"):
        raise ArtifactError(f"{where}: 'kind' is {str(meta['kind'])[:40]!r}; expected 'image' or 'speech'")
    if len(meta["input_shape"]) != 3:
        raise ArtifactError(f"{where}: 'input_shape' is {str(meta['input_shape'])[:40]}; expected [C, H, W]")
    for i, v in enumerate(meta["input_shape"]):
        check_number(v, where, f"input_shape[{i}]", 1, 1 << 16, integer=True)
    check_number(meta["num_classes"], where, "num_classes", 1, 1 << 20, integer=True)
    if len(meta["class_names"]) != meta["num_classes"]:
        raise ArtifactError(f"{where}: {len(meta['class_names'])} class_names for {meta['num_classes']} classes")
    for name in meta["class_names"]:
        check_text(name, where, "class_names")
    for split, n in meta["counts"].items():
        check_number(n, where, f"counts.{split}", 0, integer=True)


@dataclass(frozen=True)
class PreparedRecord:
    """meta.json of a prepared folder, checked field by field when read."""

    folder: Path
    name: str
    kind: str
    input_shape: tuple[int, int, int]
    num_classes: int
    synthetic: bool
    counts: dict[str, int]
    files: dict[str, str]          # .npy name -> sha256
    prepare_key: str
    raw: dict[str, Any]            # the whole meta.json, for readers of the optional fields

    @classmethod
    def load(cls, folder: Path) -> PreparedRecord:
        path = Path(folder) / "meta.json"
        meta = read_json_object(path, "prepared-dataset meta.json")
        check_version(meta, "format_version", PREPARED_FORMAT_VERSION, str(path), "prepared dataset",
                      f"re-run `tnpipe prepare {meta.get('name', 'NAME')} --force`")
        check_fields(meta, META_REQUIRED, str(path), "meta.json")
        from tnpipe.artifacts.common import fix_hint

        with fix_hint(f"prepare it again with `tnpipe prepare {str(meta['name'])[:40]} --force`"):
            _check_meta_values(meta, str(path))
        return cls(Path(folder), meta["name"], meta["kind"], tuple(meta["input_shape"]), int(meta["num_classes"]),
                   bool(meta["synthetic"]), dict(meta["counts"]), dict(meta["files"]),
                   str(meta.get("prepare_key", "")), meta)

    def verify(self) -> bool:
        """True if every .npy is there and matches its checksum."""
        return len(self.files) == 2 * len(SPLITS) and all(
            (self.folder / n).is_file() and sha256_file(self.folder / n) == h for n, h in self.files.items())


@dataclass
class PreparedDataset:
    """The arrays and their description; `save` writes the folder atomically, `load` verifies it."""

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
    prepare_key: str = ""   # hash of the settings and raw folder it was prepared from (set by `prepare`)
    raw: str = ""           # the raw folder it was read from (set by `prepare`)

    def counts(self) -> dict[str, int]:
        return {s: int(len(self.y[s])) for s in self.y}

    def meta(self) -> dict[str, Any]:
        return {
            "format_version": PREPARED_FORMAT_VERSION,
            "name": self.name, "kind": self.kind, "input_shape": list(self.input_shape),
            "num_classes": self.num_classes, "class_names": list(self.class_names), "counts": self.counts(),
            "x_dtype": {s: str(self.x[s].dtype) for s in self.x}, "synthetic": self.synthetic,
            "feature_params": self.feature_params, "sources": self.sources, "notes": self.notes,
            "stand_in": self.stand_in, "prepare_key": self.prepare_key, "raw": self.raw,
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
            write_json(tmp / "meta.json", dict(self.meta(), files=checksums))

    @classmethod
    def load(cls, folder: Path, verify: bool = True, mmap: bool = False) -> PreparedDataset:
        """`mmap`: the arrays memory-mapped, read only where indexed (a rank of a multi-node
        run copies its shard of rows and never holds the whole set)."""
        folder = Path(folder)
        rec = PreparedRecord.load(folder)
        x, y = {}, {}
        for s in SPLITS:
            for arr_name, store in ((f"x_{s}", x), (f"y_{s}", y)):
                store[s] = _load_array(folder / f"{arr_name}.npy", rec, verify, mmap)
        meta = rec.raw
        ds = cls(
            name=rec.name, kind=rec.kind, input_shape=rec.input_shape, num_classes=rec.num_classes,
            class_names=list(meta["class_names"]), x=x, y=y, synthetic=rec.synthetic,
            feature_params=meta.get("feature_params", {}), sources=meta.get("sources", {}),
            notes=meta.get("notes", []), stand_in=str(meta.get("stand_in", "")),
            prepare_key=rec.prepare_key, raw=str(meta.get("raw", "")),
        )
        ds.validate(str(folder))
        return ds


def _load_array(p: Path, rec: PreparedRecord, verify: bool, mmap: bool = False) -> np.ndarray:
    if not p.is_file():
        raise ArtifactError(f"{p}: missing from the prepared dataset; re-run `tnpipe prepare {rec.name} --force`")
    if verify and sha256_file(p) != rec.files.get(p.name):
        raise ArtifactError(f"{p}: checksum differs from meta.json (truncated or modified); "
                            f"re-run `tnpipe prepare {rec.name} --force`")
    try:
        return np.load(p, allow_pickle=False, mmap_mode="r" if mmap else None)
    except (ValueError, OSError) as e:
        raise ArtifactError(f"{p}: unreadable .npy ({e})") from e


def verify_prepared(folder: Path) -> bool:
    """True if the folder holds a complete prepared dataset whose files match meta.json."""
    try:
        return PreparedRecord.load(folder).verify()
    except ArtifactError:
        return False
