"""FlickrLogos-32 (Romberg et al. 2011): photos of 32 brand logos, one 32x32 sample per logo box.

Licensed: the archive is given on request by the University of Augsburg (Multimedia
Computing and Computer Vision Lab, http://www.multimedia-computing.de/flickrlogos/)
and is never downloaded. Official layout (`FlickrLogos-v2/` inside the raw folder, or the
raw folder itself):

    classes/jpg/<Brand>/<id>.jpg                   photos (32 brands + no-logo)
    classes/masks/<brand>/<id>.jpg.bboxes.txt      one box a line, "x y width height"
                                                   (a first header line is skipped)
    trainset.txt, valset.txt, testset.txt          set lists: lines "brand,<id>.jpg"; the
    (or *.relpaths.txt)                            *.relpaths.txt variants hold
                                                   "classes/jpg/<brand>/<id>.jpg" (preferred)

Splits: train = trainset + valset (the paper's protocol has no tuning step here, so the
validation logos become training data: 10 + 30 photos per brand); if only trainvalset is
present, it is the train split. Test = testset. `no-logo` photos are excluded.
Classes: the 32 brand folders sorted case-insensitively (so `HP` sorts among the h's).
Each box is one sample: with `cfg.roi_crop` the box (pixels x..x+width-1, y..y+height-1)
is cut out and resized to 32x32 with Pillow BILINEAR; without it the whole photo is
resized (one sample per photo).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tnpipe.artifacts.prepared import PreparedDataset, sha256_file
from tnpipe.data.base import DatasetSource
from tnpipe.data.config import DataCfg
from tnpipe.data.image_files import decode_images
from tnpipe.errors import DataError

NO_LOGO = "no-logo"
NUM_CLASSES = 32
SYNTHETIC_SEED = 32
BRANDS = ("adidas", "aldi", "apple", "becks", "bmw", "carlsberg", "chimay", "cocacola", "corona", "dhl",
          "erdinger", "esso", "fedex", "ferrari", "ford", "fosters", "google", "guiness", "heineken", "HP",
          "milka", "nvidia", "paulaner", "pepsi", "rittersport", "shell", "singha", "starbucks",
          "stellaartois", "texaco", "tsingtao", "ups")


def parse_set_line(line: str, where: str) -> tuple[str, str] | None:
    """One set-list line -> (brand, file name); None for a blank line.

    Accepts "brand,file.jpg", "brand/file.jpg" and "classes/jpg/brand/file.jpg"."""
    s = line.strip().replace("\\", "/")
    if not s:
        return None
    if "," in s:
        brand, _, fname = s.partition(",")
    else:
        parts = [p for p in s.split("/") if p]
        if len(parts) < 2:
            raise DataError(f"{where}: line {line.strip()!r}; expected 'brand,<id>.jpg' or 'classes/jpg/<brand>/<id>.jpg'")
        brand, fname = parts[-2], parts[-1]
    return brand.strip(), fname.strip()


def read_bboxes(path: Path) -> list[tuple[int, int, int, int]]:
    """Boxes (x, y, width, height) of a `*.bboxes.txt` file; a non-numeric first line is a header."""
    boxes = []
    for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines()):
        f = line.split()
        if not f:
            continue
        try:
            x, y, w, h = (int(float(v)) for v in f[:4])
        except ValueError:
            if i == 0:
                continue        # header "x y width height"
            raise DataError(f"{path}: line {i + 1} is {line!r}; expected 'x y width height'") from None
        if len(f) < 4 or w <= 0 or h <= 0:
            raise DataError(f"{path}: line {i + 1} is {line!r}; expected 'x y width height' with positive sizes")
        boxes.append((x, y, w, h))
    return boxes


class Logo32(DatasetSource):
    name = "logo32"
    kind = "image"
    num_classes = NUM_CLASSES
    raw_folder = "logo32"
    resources = ()
    how_to_get = ("the University of Augsburg (FlickrLogos-32, on request: "
                  "http://www.multimedia-computing.de/flickrlogos/)")
    expected_layout = ("FlickrLogos-v2/classes/jpg/<Brand>/*.jpg, classes/masks/<brand>/*.jpg.bboxes.txt "
                       "and the set lists trainset.txt, valset.txt, testset.txt")

    def input_shape(self, cfg: DataCfg) -> tuple[int, int, int]:
        return (3, cfg.image_size, cfg.image_size)

    def _root(self, raw: Path) -> Path:
        for root in (raw / "FlickrLogos-v2", raw):
            if (root / "classes" / "jpg").is_dir():
                return root
        raise self.missing(raw)

    @staticmethod
    def _set_list(root: Path, stem: str) -> Path | None:
        for name in (f"{stem}.relpaths.txt", f"{stem}.txt"):
            if (root / name).is_file():
                return root / name
        return None

    def read(self, raw: Path, cfg: DataCfg) -> PreparedDataset:
        raw = Path(raw)
        root = self._root(raw)
        jpg, masks = root / "classes" / "jpg", root / "classes" / "masks"
        brands = sorted((d.name for d in jpg.iterdir() if d.is_dir() and d.name.lower() != NO_LOGO), key=str.lower)
        if len(brands) != NUM_CLASSES:
            raise DataError(f"{jpg}: {len(brands)} brand folders (besides no-logo); expected {NUM_CLASSES}")
        index = {b.lower(): i for i, b in enumerate(brands)}
        mask_dirs = {d.name.lower(): d for d in masks.iterdir() if d.is_dir()} if masks.is_dir() else {}

        train_lists = [p for p in (self._set_list(root, "trainset"), self._set_list(root, "valset")) if p]
        if not train_lists and self._set_list(root, "trainvalset"):
            train_lists = [self._set_list(root, "trainvalset")]
        test_list = self._set_list(root, "testset")
        if not train_lists or test_list is None:
            raise self.missing(raw, f"{self.expected_layout} (a set list is missing in {root})")

        sources: dict[str, str] = {}
        x, y = {}, {}
        for split, lists in (("train", train_lists), ("test", [test_list])):
            paths, boxes, labels = [], [], []
            for lst in lists:
                sources[lst.name] = sha256_file(lst)
                for sample in self._samples(lst, brands, index, jpg, masks, mask_dirs, cfg):
                    paths.append(sample[0])
                    boxes.append(sample[1])
                    labels.append(sample[2])
            if not paths:
                raise DataError(f"{', '.join(p.name for p in lists)}: no logo photos listed; expected lines like 'adidas,<id>.jpg'")
            x[split] = decode_images(paths, cfg.image_size, boxes, description=f"logo32 {split}")
            y[split] = np.asarray(labels, dtype=np.int64)
            sources[f"{split} images"] = f"{len(set(paths))} jpg files, {len(paths)} samples"
        what = "one sample per bounding box (inclusive crop)" if cfg.roi_crop else "one sample per whole photo"
        return PreparedDataset(
            name=self.name, kind="image", input_shape=self.input_shape(cfg), num_classes=NUM_CLASSES,
            class_names=brands, x=x, y=y,
            feature_params={"image_size": cfg.image_size, "roi_crop": cfg.roi_crop, "resize": "PIL BILINEAR"},
            sources=sources,
            notes=[f"train = {' + '.join(p.name for p in train_lists)}; test = {test_list.name}; no-logo excluded",
                   f"{what}, Pillow BILINEAR resize to {cfg.image_size}x{cfg.image_size}"],
        )

    @staticmethod
    def _samples(lst: Path, brands: list[str], index: dict[str, int], jpg: Path, masks: Path,
                 mask_dirs: dict[str, Path], cfg: DataCfg):
        """(photo, box or None, label) for every logo a set list names: one per bounding box
        with roi_crop, else one per photo; no-logo lines are skipped."""
        for line in lst.read_text(encoding="utf-8", errors="replace").splitlines():
            entry = parse_set_line(line, str(lst))
            if entry is None or entry[0].lower() == NO_LOGO:
                continue
            brand, fname = entry
            if brand.lower() not in index:
                raise DataError(f"{lst}: brand {brand!r} is not one of the {NUM_CLASSES} folders in {jpg}")
            label = index[brand.lower()]
            img = jpg / brands[label] / fname
            if not img.is_file():
                raise DataError(f"{img}: listed in {lst.name} but missing on disk")
            if not cfg.roi_crop:
                yield img, None, label
                continue
            bb = mask_dirs.get(brand.lower(), masks / brand) / f"{fname}.bboxes.txt"
            if not bb.is_file():
                raise DataError(f"{bb}: bounding boxes of {img.name} missing; expected 'x y width height' lines")
            for bx, by, bw, bh in read_bboxes(bb):
                yield img, (bx, by, bx + bw - 1, by + bh - 1), label

    def write_synthetic(self, raw: Path, cfg: DataCfg) -> None:
        """jpg photos with one logo box each, bboxes files, set lists (+ relpaths) and no-logo photos."""
        from PIL import Image

        from tnpipe.atomic import write_text
        from tnpipe.data import synthetic_images as syn

        n_tr, n_te = cfg.synthetic_train_per_class, cfg.synthetic_test_per_class
        x_tr, _, x_te, _ = syn.split(NUM_CLASSES, n_tr, n_te, SYNTHETIC_SEED, shuffle=False)
        rng = np.random.RandomState(SYNTHETIC_SEED + 3)
        root = Path(raw) / "FlickrLogos-v2"
        sets: dict[str, list[tuple[str, str]]] = {"trainset": [], "valset": [], "testset": []}
        next_id = [100000000]

        def photo(brand: str, patch: np.ndarray | None) -> str:
            fname = f"{next_id[0]}.jpg"
            next_id[0] += 1
            d = root / "classes" / "jpg" / brand
            d.mkdir(parents=True, exist_ok=True)
            if patch is None:       # a no-logo photo: background only
                Image.fromarray(np.clip(rng.normal(110, 35, (40, 48, 3)), 0, 255).astype(np.uint8)).save(d / fname, quality=95)
                return fname
            scene, (x1, y1, x2, y2) = syn.embed(patch, rng)
            Image.fromarray(scene).save(d / fname, quality=95)
            m = root / "classes" / "masks" / brand.lower()
            m.mkdir(parents=True, exist_ok=True)
            # plain write: a stand-in is regenerated whole on every run, so no fsync per file
            (m / f"{fname}.bboxes.txt").write_text(f"x y width height\n{x1} {y1} {x2 - x1 + 1} {y2 - y1 + 1}\n")
            return fname

        n_train_set = max(1, n_tr // 4)       # official: 10 train + 30 val photos per brand
        for c, brand in enumerate(BRANDS):
            for i in range(n_tr):
                sets["trainset" if i < n_train_set else "valset"].append((brand, photo(brand, x_tr[c * n_tr + i])))
            for i in range(n_te):
                sets["testset"].append((brand, photo(brand, x_te[c * n_te + i])))
        for s in ("valset", "testset"):
            sets[s] += [(NO_LOGO, photo(NO_LOGO, None)) for _ in range(3)]
        for s, entries in sets.items():
            write_text(root / f"{s}.txt", "".join(f"{b},{f}\n" for b, f in entries))
            write_text(root / f"{s}.relpaths.txt", "".join(f"classes/jpg/{b}/{f}\n" for b, f in entries))
