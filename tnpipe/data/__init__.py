"""Dataset readers: one module per benchmark, each reading the official on-disk format.

`data` knows nothing of training or the chip. The registry maps a benchmark name to its
`DatasetSource` class; modules are imported lazily so `--help` stays fast.
"""

from __future__ import annotations

import importlib

from tnpipe.errors import DataError, did_you_mean

# name -> "module:Class"
_REGISTRY: dict[str, str] = {
    "cifar10": "tnpipe.data.cifar:Cifar10",
    "cifar100": "tnpipe.data.cifar:Cifar100",
    "svhn": "tnpipe.data.svhn:Svhn",
    "gtsrb": "tnpipe.data.gtsrb:Gtsrb",
    "logo32": "tnpipe.data.logo32:Logo32",
    "vad": "tnpipe.data.vad:Vad",
    "timit_class": "tnpipe.data.timit:TimitClass",
    "timit_frames": "tnpipe.data.timit:TimitFrames",
    "fsdd": "tnpipe.data.fsdd:Fsdd",
}
BENCHMARKS: tuple[str, ...] = (
    "cifar10", "cifar100", "svhn", "gtsrb", "logo32", "vad", "timit_class", "timit_frames",
)
DATASET_NAMES: tuple[str, ...] = tuple(_REGISTRY)  # the eight benchmarks + the open extra fsdd
OPEN_EXTRA = "fsdd"   # in --all only where its raw data is present or with --synthetic
NAMES_HELP = " ".join(DATASET_NAMES)   # for the CLI's help texts


def check_names(names: list[str] | tuple[str, ...] | None) -> list[str]:
    """The named datasets, each checked against the registry (duplicates dropped, order kept)."""
    if not names:
        raise DataError(f"name at least one dataset or pass --all; valid names: {', '.join(DATASET_NAMES)}")
    for n in names:
        if n not in _REGISTRY:
            raise DataError(f"unknown dataset {n!r}{did_you_mean(n, DATASET_NAMES)}; valid names: "
                            f"{', '.join(DATASET_NAMES)}")
    return list(dict.fromkeys(names))


def choose(names: list[str] | tuple[str, ...] | None, all_: bool, with_open_extra: bool) -> list[str]:
    """--all: the eight benchmarks (+ the open extra when `with_open_extra`); else `check_names`.

    Reads BENCHMARKS at call time, so a test may narrow it."""
    if all_:
        return list(BENCHMARKS) + ([OPEN_EXTRA] if with_open_extra else [])
    return check_names(names)


def get_dataset(name: str):
    check_names([name])
    module, cls = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)()
