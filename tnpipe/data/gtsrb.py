"""GTSRB (Stallkamp et al. 2012): German traffic signs, 43 classes.

Official layout (as the three archives extract):
    GTSRB/Final_Training/Images/000CC/*.ppm + GT-000CC.csv      (CC = class 00..42)
    GTSRB/Final_Test/Images/*.ppm
    GT-final_test.csv       (with ClassId; from GTSRB_Final_Test_GT.zip, which extracts
                             beside GTSRB/; also accepted in Final_Test/ or Final_Test/Images/)
The CSVs are semicolon separated: Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId.
The raw folder may hold GTSRB/ or be the GTSRB folder itself.

Each picture becomes one 32x32 sample: with `cfg.roi_crop` the annotated ROI is cut out
first, as an INCLUSIVE box (columns Roi.X1..Roi.X2 and rows Roi.Y1..Roi.Y2, both ends
included, as the GTSRB documentation defines them), then the crop (or whole picture) is
resized to image_size x image_size with Pillow's BILINEAR filter (antialiased when
shrinking). Order: training classes in folder order, rows in CSV order; test in CSV order.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from tnpipe.artifacts.prepared import PreparedDataset, sha256_file
from tnpipe.data.base import DatasetSource, Resource
from tnpipe.data.config import DataCfg
from tnpipe.data.image_files import Box, decode_images
from tnpipe.errors import DataError

COLUMNS = ("Filename", "Width", "Height", "Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2", "ClassId")
NUM_CLASSES = 43
TEST_CSV = "GT-final_test.csv"
SYNTHETIC_SEED = 43
_BASE = "https://sid.erda.dk/public/archives/daaeac0d7ce1152aea9b61d9f1e19370/"


def read_gt_csv(path: Path) -> list[tuple[str, Box, int]]:
    """Rows of a GTSRB ground-truth CSV: (Filename, inclusive ROI box, ClassId)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: unreadable ({e})") from None
    rows = list(csv.reader(text.splitlines(), delimiter=";"))
    if not rows or tuple(c.strip() for c in rows[0][:len(COLUMNS)]) != COLUMNS:
        found = ";".join(rows[0]) if rows else "an empty file"
        hint = " (GT-final_test.test.csv has no ClassId: get GTSRB_Final_Test_GT.zip)" if rows and "ClassId" not in rows[0] else ""
        raise DataError(f"{path}: header is {found!r}; expected {';'.join(COLUMNS)!r}{hint}")
    out = []
    for i, r in enumerate(rows[1:], start=2):
        if not r or not "".join(r).strip():
            continue
        try:
            name = r[0].strip()
            x1, y1, x2, y2, cls = (int(v) for v in r[3:8])
        except (ValueError, IndexError):
            raise DataError(f"{path}: line {i} is {';'.join(r)!r}; expected 8 fields with integers after the file name") from None
        if not 0 <= cls < NUM_CLASSES:
            raise DataError(f"{path}: line {i} has ClassId {cls}; expected 0..{NUM_CLASSES - 1}")
        out.append((name, (x1, y1, x2, y2), cls))
    return out


class Gtsrb(DatasetSource):
    name = "gtsrb"
    kind = "image"
    num_classes = NUM_CLASSES
    raw_folder = "gtsrb"
    # URLs of the official archive (linked from https://benchmark.ini.rub.de/gtsrb_dataset.html);
    # md5 values as torchvision's GTSRB and tensorflow-datasets check them
    resources = (
        Resource(_BASE + "GTSRB_Final_Training_Images.zip", "GTSRB_Final_Training_Images.zip",
                 md5="f33fd80ac59bff73c82d25ab499e03a3"),
        Resource(_BASE + "GTSRB_Final_Test_Images.zip", "GTSRB_Final_Test_Images.zip",
                 md5="c7e4e6327067d32654124b0fe9e82185"),
        Resource(_BASE + "GTSRB_Final_Test_GT.zip", "GTSRB_Final_Test_GT.zip",
                 md5="fe31e9c9270bbcd7b84b7f21a9d9d9e5"),
    )
    how_to_get = "https://benchmark.ini.rub.de/gtsrb_dataset.html"
    expected_layout = ("GTSRB/Final_Training/Images/000CC/*.ppm + GT-000CC.csv, "
                       "GTSRB/Final_Test/Images/*.ppm and GT-final_test.csv (with ClassId)")

    def input_shape(self, cfg: DataCfg) -> tuple[int, int, int]:
        return (3, cfg.image_size, cfg.image_size)

    def _root(self, raw: Path) -> Path:
        for root in (raw / "GTSRB", raw):
            if (root / "Final_Training" / "Images").is_dir():
                return root
        raise self.missing(raw)

    def _test_csv(self, raw: Path, root: Path) -> Path:
        for d in (root / "Final_Test" / "Images", root / "Final_Test", root, raw):
            if (d / TEST_CSV).is_file():
                return d / TEST_CSV
        raise self.missing(raw, f"{TEST_CSV} (from GTSRB_Final_Test_GT.zip) in {raw} or {root / 'Final_Test'}")

    def read(self, raw: Path, cfg: DataCfg) -> PreparedDataset:
        raw = Path(raw)
        root = self._root(raw)
        if not (root / "Final_Test" / "Images").is_dir():
            raise self.missing(raw, f"{self.expected_layout} (Final_Test/Images is missing)")
        sources: dict[str, str] = {}
        splits: dict[str, tuple[list[Path], list[Box | None], list[int]]] = {}

        paths, boxes, labels = [], [], []
        train_dir = root / "Final_Training" / "Images"
        class_dirs = sorted(d for d in train_dir.iterdir() if d.is_dir())
        if not class_dirs:
            raise DataError(f"{train_dir}: no class folders 00000..00042; expected {self.expected_layout}")
        for d in class_dirs:
            gt = d / f"GT-{d.name}.csv"
            if not gt.is_file():
                raise DataError(f"{d}: {gt.name} is missing; expected one ground-truth CSV per class folder")
            sources[str(gt.relative_to(raw))] = sha256_file(gt)
            for fname, box, cls in read_gt_csv(gt):
                paths.append(d / fname)
                boxes.append(box)
                labels.append(cls)
        splits["train"] = (paths, boxes, labels)

        test_csv = self._test_csv(raw, root)
        sources[str(test_csv.relative_to(raw))] = sha256_file(test_csv)
        test_dir = root / "Final_Test" / "Images"
        rows = read_gt_csv(test_csv)
        splits["test"] = ([test_dir / r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])

        x, y = {}, {}
        for split, (paths, boxes, labels) in splits.items():
            for p in paths:
                if not p.is_file():
                    raise DataError(f"{p}: listed in the ground-truth CSV but missing on disk")
            x[split] = decode_images(paths, cfg.image_size, boxes if cfg.roi_crop else None,
                                     description=f"gtsrb {split}")
            y[split] = np.asarray(labels, dtype=np.int64)
            sources[f"{split} images"] = f"{len(paths)} ppm files"
        crop = "ROI crop (inclusive box), then " if cfg.roi_crop else "whole picture, "
        return PreparedDataset(
            name=self.name, kind="image", input_shape=self.input_shape(cfg), num_classes=NUM_CLASSES,
            class_names=[f"{c:05d}" for c in range(NUM_CLASSES)], x=x, y=y,
            feature_params={"image_size": cfg.image_size, "roi_crop": cfg.roi_crop, "resize": "PIL BILINEAR"},
            sources=sources,
            notes=[f"{crop}Pillow BILINEAR resize to {cfg.image_size}x{cfg.image_size}"],
        )

    def write_synthetic(self, raw: Path, cfg: DataCfg) -> None:
        """ppm pictures of varying size, the sign inside an annotated ROI, + GT csv files (CRLF)."""
        from PIL import Image

        from tnpipe.atomic import write_text
        from tnpipe.data import synthetic_images as syn

        x_tr, y_tr, x_te, y_te = syn.split(NUM_CLASSES, cfg.synthetic_train_per_class,
                                           cfg.synthetic_test_per_class, SYNTHETIC_SEED, shuffle=False)
        rng = np.random.RandomState(SYNTHETIC_SEED + 3)
        root = Path(raw) / "GTSRB"
        header = ";".join(COLUMNS)

        def put(path: Path, patch: np.ndarray, cls: int) -> str:
            scene, (x1, y1, x2, y2) = syn.embed(patch, rng)
            Image.fromarray(scene).save(path, format="PPM")
            return f"{path.name};{scene.shape[1]};{scene.shape[0]};{x1};{y1};{x2};{y2};{cls}"

        n = cfg.synthetic_train_per_class
        for c in range(NUM_CLASSES):
            d = root / "Final_Training" / "Images" / f"{c:05d}"
            d.mkdir(parents=True, exist_ok=True)
            # official names TTTTT_FFFFF.ppm: 30 frames of one physical sign per track
            lines = [put(d / f"{i // 30:05d}_{i % 30:05d}.ppm", x_tr[c * n + i], c) for i in range(n)]
            write_text(d / f"GT-{c:05d}.csv", "\r\n".join([header, *lines]) + "\r\n")
        d = root / "Final_Test" / "Images"
        d.mkdir(parents=True, exist_ok=True)
        order = rng.permutation(len(y_te))      # the official test set is not sorted by class
        lines = [put(d / f"{j:05d}.ppm", x_te[i], int(y_te[i])) for j, i in enumerate(order)]
        write_text(Path(raw) / TEST_CSV, "\r\n".join([header, *lines]) + "\r\n")
