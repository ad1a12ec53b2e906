"""SVHN (Netzer et al. 2011), format 2: cropped 32x32 house-number digits, 10 classes.

Official files `train_32x32.mat` and `test_32x32.mat` (MATLAB v5, read with scipy.io):
    X  uint8 (32, 32, 3, N)    height, width, channel, image
    y  (N, 1)                  digit labels 1..10, where 10 means the digit 0
Label 10 becomes 0, so label = digit. The "extra" set is not used (the Eedn paper's
SVHN networks used train/test; extra could be added as more training data later).
Output: uint8 NHWC (N, 32, 32, 3), input_shape (3, 32, 32).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tnpipe.artifacts.prepared import PreparedDataset, sha256_file
from tnpipe.data.base import DatasetSource, Resource
from tnpipe.data.config import DataCfg
from tnpipe.data.image_files import resize_batch
from tnpipe.errors import DataError

FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat"}
SYNTHETIC_SEED = 7


class Svhn(DatasetSource):
    name = "svhn"
    kind = "image"
    num_classes = 10
    raw_folder = "svhn"
    # URLs from http://ufldl.stanford.edu/housenumbers/ ; md5 values as torchvision's SVHN
    # checks them (the site publishes no checksum of its own)
    resources = (
        Resource("http://ufldl.stanford.edu/housenumbers/train_32x32.mat", "train_32x32.mat",
                 md5="e26dedcc434d2e4c54c9b2d4a06d8373", extract=False),
        Resource("http://ufldl.stanford.edu/housenumbers/test_32x32.mat", "test_32x32.mat",
                 md5="eb5a983be6a315427106f1b164d9cef3", extract=False),
    )
    how_to_get = "http://ufldl.stanford.edu/housenumbers/ (format 2, cropped digits)"
    expected_layout = "train_32x32.mat and test_32x32.mat (SVHN format 2)"

    def input_shape(self, cfg: DataCfg) -> tuple[int, int, int]:
        return (3, cfg.image_size, cfg.image_size)

    def read(self, raw: Path, cfg: DataCfg) -> PreparedDataset:
        raw = Path(raw)
        for f in FILES.values():
            if not (raw / f).is_file():
                raise self.missing(raw, f"{self.expected_layout} ({f} is missing)")
        x, y = {}, {}
        for split, f in FILES.items():
            x[split], y[split] = self._read_mat(raw / f)
            x[split] = resize_batch(x[split], cfg.image_size)
        return PreparedDataset(
            name=self.name, kind="image", input_shape=self.input_shape(cfg), num_classes=10,
            class_names=[str(d) for d in range(10)], x=x, y=y,
            feature_params={"image_size": cfg.image_size},
            sources={f: sha256_file(raw / f) for f in FILES.values()},
            notes=["SVHN format 2; label 10 (digit 0) mapped to 0"],
        )

    @staticmethod
    def _read_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
        import scipy.io

        try:
            m = scipy.io.loadmat(path, variable_names=["X", "y"])
        except Exception as e:  # noqa: BLE001  (scipy raises ValueError, MatReadError, OSError ...)
            raise DataError(f"{path}: unreadable .mat file ({e.__class__.__name__}: {e}); expected SVHN format 2 (MATLAB v5)") from None
        if "X" not in m or "y" not in m:
            raise DataError(f"{path}: variables {sorted(k for k in m if not k.startswith('__'))}; expected 'X' and 'y'")
        X, yy = m["X"], np.asarray(m["y"])
        if X.dtype != np.uint8 or X.ndim != 4 or X.shape[2] != 3:
            raise DataError(f"{path}: X is {X.dtype} {X.shape}; expected uint8 (32, 32, 3, N)")
        yy = yy.reshape(-1).astype(np.int64)
        if len(yy) != X.shape[3]:
            raise DataError(f"{path}: y has {len(yy)} labels for {X.shape[3]} images; expected one per image")
        if len(yy) and (yy.min() < 1 or yy.max() > 10):
            raise DataError(f"{path}: y spans {yy.min()}..{yy.max()}; expected 1..10 (10 = digit 0)")
        return np.ascontiguousarray(X.transpose(3, 0, 1, 2)), yy % 10

    def write_synthetic(self, raw: Path, cfg: DataCfg) -> None:
        """Two .mat files with X (32, 32, 3, N) uint8 and y (N, 1) uint8 in 1..10, as SVHN has them."""
        import scipy.io

        from tnpipe.atomic import atomic_path
        from tnpipe.data import synthetic_images as syn

        x_tr, y_tr, x_te, y_te = syn.split(10, cfg.synthetic_train_per_class, cfg.synthetic_test_per_class,
                                           SYNTHETIC_SEED)
        for f, x, y in ((FILES["train"], x_tr, y_tr), (FILES["test"], x_te, y_te)):
            labels = np.where(y == 0, 10, y).astype(np.uint8).reshape(-1, 1)
            with atomic_path(Path(raw) / f) as tmp, open(tmp, "wb") as fh:
                scipy.io.savemat(fh, {"X": np.ascontiguousarray(x.transpose(1, 2, 3, 0)), "y": labels})
