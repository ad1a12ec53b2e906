"""Dataset readers: one module per benchmark, each reading the official on-disk format.

`data` knows nothing of training or the chip. The registry maps a benchmark name to its
`DatasetSource` class; modules are imported lazily so `--help` stays fast.
"""

from __future__ import annotations

import importlib

from tnpipe.errors import DataError

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


def get_dataset(name: str):
    if name not in _REGISTRY:
        raise DataError(f"unknown dataset {name!r}; valid names: {', '.join(DATASET_NAMES)}")
    module, cls = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)()
