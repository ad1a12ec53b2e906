"""What every dataset module provides (torchvision-style: mostly class data, plus parsing).

A dataset module subclasses `DatasetSource`, declares its class attributes, and writes:

    read(raw, cfg)                  official on-disk layout -> PreparedDataset
    write_synthetic(raw, cfg)       a small learnable stand-in IN THE OFFICIAL LAYOUT

`tnpipe.prepare` does the rest (paths, skip-if-verified, atomic save, summary table).
Readers raise `DataError` (one line: which file, what was found, what was expected).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from tnpipe.artifacts.prepared import PreparedDataset
from tnpipe.data.config import DataCfg
from tnpipe.errors import DataError


@dataclass(frozen=True)
class Resource:
    """One downloadable file with its published checksum."""

    url: str
    filename: str
    md5: str | None = None
    sha256: str | None = None
    extract: bool = True          # archives are extracted into the raw folder
    strip_components: int = 0     # leading folders dropped on extraction (GitHub archives: REPO-REF/)


class DatasetSource:
    name: ClassVar[str]
    kind: ClassVar[str]                       # "image" or "speech"
    num_classes: ClassVar[int]
    raw_folder: ClassVar[str]                 # folder under the raw root (speech sets share "timit")
    raw_folders_else: ClassVar[tuple[str, ...]] = ()   # read instead when raw_folder is absent
    resources: ClassVar[tuple[Resource, ...]] = ()   # empty: never downloaded (licensed)
    how_to_get: ClassVar[str] = ""            # official URL, or the licence holder
    expected_layout: ClassVar[str] = ""       # e.g. "cifar-10-batches-py/data_batch_1..5, test_batch"

    def input_shape(self, cfg: DataCfg) -> tuple[int, int, int]:
        raise NotImplementedError

    def raw_dir(self, root: Path) -> Path:
        """root/raw_folder, or the first of raw_folders_else that exists when it does not
        (e.g. the TIMIT sample's timit-sample/ where no full timit/ is present)."""
        for name in (self.raw_folder, *self.raw_folders_else):
            if (Path(root) / name).is_dir():
                return Path(root) / name
        return Path(root) / self.raw_folder

    def default_cfg(self) -> DataCfg:
        """The [data] values this dataset uses when no recipe gives them."""
        return DataCfg(name=self.name)

    def read(self, raw: Path, cfg: DataCfg) -> PreparedDataset:
        raise NotImplementedError

    def write_synthetic(self, raw: Path, cfg: DataCfg) -> None:
        raise NotImplementedError

    def missing(self, raw: Path, what: str | None = None) -> DataError:
        """The standard 'dataset not found' error: what is expected, where, and how to get it."""
        what = what or self.expected_layout
        hint = "pass --download" if self.resources else f"obtain it from {self.how_to_get}"
        return DataError(
            f"{self.name}: expected {what} under {raw}; {hint}, or use --source DIR / --synthetic"
        )
