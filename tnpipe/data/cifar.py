"""CIFAR-10 and CIFAR-100 (Krizhevsky 2009): 32x32 colour objects, 10 / 100 classes.

Two on-disk layouts are read, found automatically under the raw folder (or `--source DIR`):

1. The official "python version" pickles, as the archives extract:
       cifar-10-batches-py/data_batch_1..5, test_batch, batches.meta
       cifar-100-python/train, test, meta            (fine labels: 100 classes)
   DIR may be the folder holding `cifar-10-batches-py/` or that folder itself. Each batch is
   a dict {b"data": uint8 (N, 3072) = R plane, G plane, B plane of a row-major 32x32
   image, b"labels" (CIFAR-100: b"fine_labels"): N ints}. Batch sizes are not checked
   against the official 10,000 (subsets re-packed in this format are accepted). Pickles
   are read with the restricted unpickler (tnpipe.data.safe_pickle).
2. Class image folders: DIR/train/<class>/*.png|jpg|jpeg and DIR/test/<class>/...;
   class order = sorted folder names (for CIFAR-10 that IS the official label order,
   airplane .. truck).

Output: uint8 NHWC (N, 32, 32, 3), input_shape (3, 32, 32) (image_size other than 32:
bilinear resize).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from tnpipe.artifacts.prepared import PreparedDataset, sha256_file
from tnpipe.data.base import DatasetSource, Resource
from tnpipe.data.config import DataCfg
from tnpipe.data.image_files import decode_images, list_images, resize_batch
from tnpipe.data.safe_pickle import safe_load
from tnpipe.errors import DataError

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SYNTHETIC_SEED = {"cifar10": 10, "cifar100": 100}


def _key(d: dict, name: str):
    """d[b"name"] (python-2 pickles read with encoding='bytes') or d["name"] (re-pickled)."""
    if name.encode() in d:
        return d[name.encode()]
    return d.get(name)


def _text(v) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


class _Cifar(DatasetSource):
    kind = "image"
    folder: ClassVar[str]               # cifar-10-batches-py | cifar-100-python
    train_files: ClassVar[tuple[str, ...]]
    test_files: ClassVar[tuple[str, ...]]
    meta_file: ClassVar[str]
    label_key: ClassVar[str]
    names_key: ClassVar[str]

    def input_shape(self, cfg: DataCfg) -> tuple[int, int, int]:
        return (3, cfg.image_size, cfg.image_size)

    # ------------------------------------------------------------------ layout detection
    def _layout(self, raw: Path) -> tuple[str, Path]:
        raw = Path(raw)
        if (raw / self.folder).is_dir():
            return "pickle", raw / self.folder
        if (raw / self.test_files[0]).is_file() or (raw / self.meta_file).is_file():
            return "pickle", raw
        if (raw / "train").is_dir() and (raw / "test").is_dir():
            return "folders", raw
        if not raw.exists():
            raise self.missing(raw)
        found = sorted(p.name for p in raw.iterdir())[:8]
        raise DataError(
            f"{self.name}: {raw} holds {found or 'nothing'}; expected {self.expected_layout}, "
            f"or class folders train/<class>/*.png|jpg and test/<class>/...; {self._hint()}"
        )

    def _hint(self) -> str:
        return "pass --download" if self.resources else f"obtain it from {self.how_to_get}"

    # ------------------------------------------------------------------ reading
    def read(self, raw: Path, cfg: DataCfg) -> PreparedDataset:
        layout, where = self._layout(raw)
        if layout == "pickle":
            x, y, names, sources = self._read_pickles(where)
        else:
            x, y, names, sources = self._read_folders(where, cfg.image_size)
        for s in x:
            x[s] = resize_batch(x[s], cfg.image_size)
        return PreparedDataset(
            name=self.name, kind="image", input_shape=self.input_shape(cfg), num_classes=self.num_classes,
            class_names=names, x=x, y=y,
            feature_params={"image_size": cfg.image_size, "layout": layout},
            sources=sources,
            notes=[f"read from {'official python pickles' if layout == 'pickle' else 'class image folders'} in {where}"],
        )

    def _read_pickles(self, folder: Path):
        for f in (*self.train_files, *self.test_files, self.meta_file):
            if not (folder / f).is_file():
                raise self.missing(folder, f"{self.expected_layout} ({f} is missing)")
        meta = safe_load(folder / self.meta_file)
        names_raw = _key(meta, self.names_key) if isinstance(meta, dict) else None
        if not isinstance(names_raw, list | tuple) or len(names_raw) != self.num_classes:
            raise DataError(
                f"{folder / self.meta_file}: expected a dict with {self.names_key!r} listing "
                f"{self.num_classes} class names; found {type(meta).__name__}"
                + (f" with {len(names_raw)} names" if isinstance(names_raw, list | tuple) else f" without {self.names_key!r}")
            )
        names = [_text(n) for n in names_raw]
        x, y = {}, {}
        for split, files in (("train", self.train_files), ("test", self.test_files)):
            xs, ys = [], []
            for f in files:
                xb, yb = self._read_batch(folder / f)
                xs.append(xb)
                ys.append(yb)
            x[split], y[split] = np.concatenate(xs), np.concatenate(ys)
        sources = {f: sha256_file(folder / f) for f in (*self.train_files, *self.test_files, self.meta_file)}
        return x, y, names, sources

    def _read_batch(self, path: Path) -> tuple[np.ndarray, np.ndarray]:
        d = safe_load(path)
        if not isinstance(d, dict):
            raise DataError(f"{path}: expected a dict with 'data' and {self.label_key!r}; found {type(d).__name__}")
        data, labels = _key(d, "data"), _key(d, self.label_key)
        if data is None or labels is None:
            keys = sorted(_text(k) for k in d)
            raise DataError(f"{path}: keys {keys}; expected 'data' and {self.label_key!r}")
        data = np.asarray(data)
        labels = np.asarray(labels, dtype=np.int64)
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
            raise DataError(f"{path}: 'data' is {data.dtype} {data.shape}; expected uint8 (N, 3072)")
        if labels.shape != (data.shape[0],):
            raise DataError(f"{path}: {len(labels)} labels for {data.shape[0]} images; expected one label per image")
        if len(labels) and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise DataError(f"{path}: labels span {labels.min()}..{labels.max()}; expected 0..{self.num_classes - 1}")
        # rows are R, G, B planes of 32x32 -> (N, 3, 32, 32) -> NHWC
        return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels

    def _read_folders(self, root: Path, size: int):
        names = sorted(p.name for p in (root / "train").iterdir() if p.is_dir())
        test_names = sorted(p.name for p in (root / "test").iterdir() if p.is_dir())
        if names != test_names:
            raise DataError(f"{root}: train/ has class folders {names[:5]}... and test/ has {test_names[:5]}...; expected the same classes in both")
        if len(names) != self.num_classes:
            raise DataError(f"{root / 'train'}: {len(names)} class folders; expected {self.num_classes} for {self.name}")
        x, y, sources = {}, {}, {}
        for split in ("train", "test"):
            paths, labels = [], []
            for c, n in enumerate(names):
                files = list_images(root / split / n)
                paths += files
                labels += [c] * len(files)
            if not paths:
                raise DataError(f"{root / split}: no .png/.jpg/.jpeg images in the class folders")
            x[split] = decode_images(paths, size, description=f"{self.name} {split}")
            y[split] = np.asarray(labels, dtype=np.int64)
            sources[f"{split}/"] = f"{len(paths)} image files in {len(names)} class folders"
        return x, y, names, sources

    # ------------------------------------------------------------------ synthetic
    def write_synthetic(self, raw: Path, cfg: DataCfg) -> None:
        """Official pickle layout, written with bytes keys as the python-2 originals have."""
        import pickle

        from tnpipe.atomic import write_bytes
        from tnpipe.data import synthetic_images as syn

        x_tr, y_tr, x_te, y_te = syn.split(self.num_classes, cfg.synthetic_train_per_class,
                                           cfg.synthetic_test_per_class, SYNTHETIC_SEED[self.name])
        folder = Path(raw) / self.folder

        def batch(label: str, x: np.ndarray, y: np.ndarray) -> bytes:
            d = {b"batch_label": label.encode(),
                 self.label_key.encode(): [int(v) for v in y],
                 b"data": x.transpose(0, 3, 1, 2).reshape(len(x), 3072).copy(),
                 b"filenames": [f"synthetic_{label.replace(' ', '_')}_{i:05d}.png".encode() for i in range(len(y))]}
            if self.name == "cifar100":
                d[b"coarse_labels"] = [int(v) // 5 for v in y]
            return pickle.dumps(d, protocol=2)

        parts = np.array_split(np.arange(len(y_tr)), len(self.train_files))
        for i, (f, idx) in enumerate(zip(self.train_files, parts, strict=True)):
            write_bytes(folder / f, batch(f"synthetic training batch {i + 1}", x_tr[idx], y_tr[idx]))
        write_bytes(folder / self.test_files[0], batch("synthetic testing batch", x_te, y_te))
        meta = {self.names_key.encode(): [n.encode() for n in self.synthetic_class_names()]}
        if self.name == "cifar10":
            meta.update({b"num_cases_per_batch": len(parts[0]), b"num_vis": 3072})
        else:
            meta[b"coarse_label_names"] = [f"superclass_{i:02d}".encode() for i in range(20)]
        write_bytes(folder / self.meta_file, pickle.dumps(meta, protocol=2))

    def synthetic_class_names(self) -> list[str]:
        raise NotImplementedError


class Cifar10(_Cifar):
    name = "cifar10"
    num_classes = 10
    raw_folder = "cifar10"
    folder = "cifar-10-batches-py"
    train_files = tuple(f"data_batch_{i}" for i in range(1, 6))
    test_files = ("test_batch",)
    meta_file = "batches.meta"
    label_key = "labels"
    names_key = "label_names"
    # URL and md5 as published on https://www.cs.toronto.edu/~kriz/cifar.html (the same
    # values torchvision's CIFAR10 checks)
    resources = (Resource("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                          "cifar-10-python.tar.gz", md5="c58f30108f718f92721af3b95e74349a"),)
    how_to_get = "https://www.cs.toronto.edu/~kriz/cifar.html (CIFAR-10 python version)"
    expected_layout = "cifar-10-batches-py/data_batch_1..5, test_batch, batches.meta"

    def synthetic_class_names(self) -> list[str]:
        return list(CIFAR10_CLASSES)


class Cifar100(_Cifar):
    name = "cifar100"
    num_classes = 100
    raw_folder = "cifar100"
    folder = "cifar-100-python"
    train_files = ("train",)
    test_files = ("test",)
    meta_file = "meta"
    label_key = "fine_labels"
    names_key = "fine_label_names"
    # https://www.cs.toronto.edu/~kriz/cifar.html (same md5 as torchvision's CIFAR100)
    resources = (Resource("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                          "cifar-100-python.tar.gz", md5="eb9058c3a382ffc7106e4002c42a8d85"),)
    how_to_get = "https://www.cs.toronto.edu/~kriz/cifar.html (CIFAR-100 python version)"
    expected_layout = "cifar-100-python/train, test, meta"

    def synthetic_class_names(self) -> list[str]:
        return [f"class_{i:02d}" for i in range(100)]
