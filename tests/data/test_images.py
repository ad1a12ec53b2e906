"""Image readers (cifar10, cifar100, svhn, gtsrb, logo32) on tiny fixtures written here in
each dataset's official format, their synthetic stand-ins, the CLI's errors, and the real
subsets in ../shared/data."""

from __future__ import annotations

import csv
import json
import pickle

import numpy as np
import pytest
import scipy.io
from PIL import Image
from typer.testing import CliRunner

import tnpipe.data
from tests.conftest import shared_data
from tnpipe.artifacts import PreparedDataset, verify_prepared
from tnpipe.cli import app
from tnpipe.data.config import DataCfg
from tnpipe.data.synthetic_images import nearest_mean_accuracy
from tnpipe.prepare import prepare

runner = CliRunner()
CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _prepare(name, raw, roots, **kw):
    return PreparedDataset.load(prepare(name, source=raw, **kw).path)


# ------------------------------------------------------------------------------------ CIFAR


def _cifar_rows(n: int, seed: int) -> np.ndarray:
    """n images as CIFAR rows (R plane, G plane, B plane of 32x32), distinct per image."""
    return np.random.RandomState(seed).randint(0, 256, (n, 3072)).astype(np.uint8)


def _write_cifar10(folder, per_batch=3):
    """cifar-10-batches-py/ with python-2 style bytes keys; returns (rows, labels) per split."""
    d = folder / "cifar-10-batches-py"
    d.mkdir(parents=True)
    rows, labels = [], []
    for b in range(1, 6):
        r, lab = _cifar_rows(per_batch, b), [(b + i) % 10 for i in range(per_batch)]
        (d / f"data_batch_{b}").write_bytes(pickle.dumps(
            {b"batch_label": b"training batch", b"labels": lab, b"data": r, b"filenames": [b"x.png"] * per_batch}, protocol=2))
        rows.append(r)
        labels += lab
    test_rows, test_labels = _cifar_rows(4, 99), [9, 0, 5, 1]
    (d / "test_batch").write_bytes(pickle.dumps({b"labels": test_labels, b"data": test_rows}, protocol=2))
    (d / "batches.meta").write_bytes(pickle.dumps(
        {b"label_names": [n.encode() for n in CIFAR10_NAMES], b"num_cases_per_batch": per_batch, b"num_vis": 3072}, protocol=2))
    return {"train": (np.concatenate(rows), labels), "test": (test_rows, test_labels)}


def test_cifar10_pickles_pixel_layout_labels_and_names(roots, tmp_path):
    truth = _write_cifar10(tmp_path / "c10")
    ds = _prepare("cifar10", tmp_path / "c10", roots)
    assert ds.counts() == {"train": 15, "test": 4}
    assert ds.input_shape == (3, 32, 32) and ds.class_names == CIFAR10_NAMES
    for split, (rows, labels) in truth.items():
        assert ds.y[split].tolist() == labels
        x = ds.x[split]
        assert x.shape == (len(labels), 32, 32, 3) and x.dtype == np.uint8
        # pixel (r, c) channel k is row element k*1024 + r*32 + c
        assert x[0, 0, 0].tolist() == [rows[0, 0], rows[0, 1024], rows[0, 2048]]
        assert x[1, 5, 7, 2] == rows[1, 2048 + 5 * 32 + 7]
        assert np.array_equal(x.transpose(0, 3, 1, 2).reshape(len(x), 3072), rows)
    meta = json.loads((roots["prepared"] / "cifar10" / "meta.json").read_text())
    assert meta["feature_params"]["layout"] == "pickle" and set(meta["sources"]) >= {"data_batch_1", "test_batch", "batches.meta"}


def test_cifar10_source_may_be_the_batches_folder_itself(roots, tmp_path):
    truth = _write_cifar10(tmp_path / "c10")
    ds = _prepare("cifar10", tmp_path / "c10" / "cifar-10-batches-py", roots)
    assert ds.y["test"].tolist() == truth["test"][1]


def test_cifar100_fine_labels(roots, tmp_path):
    d = tmp_path / "c100" / "cifar-100-python"
    d.mkdir(parents=True)
    tr, te = _cifar_rows(6, 1), _cifar_rows(2, 2)
    (d / "train").write_bytes(pickle.dumps({b"data": tr, b"fine_labels": [0, 99, 5, 42, 7, 1], b"coarse_labels": [0] * 6}, protocol=2))
    (d / "test").write_bytes(pickle.dumps({b"data": te, b"fine_labels": [99, 3], b"coarse_labels": [1, 1]}, protocol=2))
    (d / "meta").write_bytes(pickle.dumps({b"fine_label_names": [f"n{i}".encode() for i in range(100)],
                                           b"coarse_label_names": [b"c"] * 20}, protocol=2))
    ds = _prepare("cifar100", tmp_path / "c100", roots)
    assert ds.num_classes == 100 and ds.class_names[99] == "n99"
    assert ds.y["train"].tolist() == [0, 99, 5, 42, 7, 1] and ds.y["test"].tolist() == [99, 3]
    assert np.array_equal(ds.x["test"].transpose(0, 3, 1, 2).reshape(2, 3072), te)


def test_cifar10_class_folders_sorted_names_and_exact_pixels(roots, tmp_path):
    root = tmp_path / "folders"
    pics = {}
    for split, n in (("train", 2), ("test", 1)):
        for c, name in enumerate(reversed(CIFAR10_NAMES)):    # creation order must not matter
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                im = np.full((32, 32, 3), (c * 20 + i, i, 200 - c), np.uint8)
                im[3, 4] = (1, 2, 3)
                Image.fromarray(im).save(root / split / name / f"{i:04d}.png")
                pics[(split, name, i)] = im
    ds = _prepare("cifar10", root, roots)
    assert ds.counts() == {"train": 20, "test": 10} and ds.class_names == CIFAR10_NAMES
    assert ds.y["train"].tolist() == [c for c in range(10) for _ in range(2)]
    assert np.array_equal(ds.x["train"][2 * 3 + 1], pics[("train", "cat", 1)])     # cat = class 3
    assert np.array_equal(ds.x["test"][9], pics[("test", "truck", 0)])


def test_cifar10_class_folders_wrong_class_count(roots, tmp_path):
    for split in ("train", "test"):
        for name in ("cat", "dog"):
            (tmp_path / "f" / split / name).mkdir(parents=True)
    r = runner.invoke(app, ["prepare", "cifar10", "--source", str(tmp_path / "f")])
    assert r.exit_code == 1
    assert f"error: {tmp_path / 'f' / 'train'}: 2 class folders; expected 10 for cifar10" in _one_line(r.stderr)


# ------------------------------------------------------------------------------------- SVHN


def test_svhn_mat_layout_and_label_ten_is_digit_zero(roots, tmp_path):
    raw = tmp_path / "svhn"
    raw.mkdir()
    rng = np.random.RandomState(0)
    xs = {}
    for f, labels in (("train_32x32.mat", [10, 1, 9, 10, 5]), ("test_32x32.mat", [3, 10])):
        X = rng.randint(0, 256, (32, 32, 3, len(labels))).astype(np.uint8)
        scipy.io.savemat(raw / f, {"X": X, "y": np.array(labels, np.uint8).reshape(-1, 1)})
        xs[f] = X
    ds = _prepare("svhn", raw, roots)
    assert ds.y["train"].tolist() == [0, 1, 9, 0, 5] and ds.y["test"].tolist() == [3, 0]
    assert ds.class_names == [str(d) for d in range(10)]
    assert np.array_equal(ds.x["train"][2], xs["train_32x32.mat"][:, :, :, 2])
    assert ds.x["test"].shape == (2, 32, 32, 3)


def test_svhn_truncated_mat_names_the_file(roots, tmp_path):
    raw = tmp_path / "svhn"
    raw.mkdir()
    for f in ("train_32x32.mat", "test_32x32.mat"):
        scipy.io.savemat(raw / f, {"X": np.zeros((32, 32, 3, 4), np.uint8), "y": np.ones((4, 1), np.uint8)})
    blob = (raw / "test_32x32.mat").read_bytes()
    (raw / "test_32x32.mat").write_bytes(blob[:300])
    r = runner.invoke(app, ["prepare", "svhn", "--source", str(raw)])
    assert r.exit_code == 1
    assert f"error: {raw / 'test_32x32.mat'}: unreadable .mat file" in _one_line(r.stderr)
    assert not (roots["prepared"] / "svhn").exists()


# ------------------------------------------------------------------------------------ GTSRB

HEADER = "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId"
RED, BLUE = (250, 10, 10), (10, 10, 250)


def _sign(w: int, h: int, box) -> np.ndarray:
    """A blue picture whose INCLUSIVE box x1..x2, y1..y2 is red."""
    im = np.zeros((h, w, 3), np.uint8)
    im[:] = BLUE
    x1, y1, x2, y2 = box
    im[y1:y2 + 1, x1:x2 + 1] = RED
    return im


def _write_gtsrb(raw, test_csv_in="GTSRB/Final_Test/Images"):
    train = {0: [((20, 16), (3, 2, 12, 9))] * 2, 2: [((18, 18), (5, 5, 14, 15))]}
    for cls, items in train.items():
        d = raw / "GTSRB" / "Final_Training" / "Images" / f"{cls:05d}"
        d.mkdir(parents=True)
        lines = [HEADER]
        for i, ((w, h), box) in enumerate(items):
            name = f"00000_{i:05d}.ppm"
            Image.fromarray(_sign(w, h, box)).save(d / name)
            lines.append(f"{name};{w};{h};{';'.join(map(str, box))};{cls}")
        (d / f"GT-{cls:05d}.csv").write_text("\r\n".join(lines) + "\r\n")
    d = raw / "GTSRB" / "Final_Test" / "Images"
    d.mkdir(parents=True)
    lines = [HEADER]
    for i, cls in enumerate([42, 0, 17]):
        box = (2, 3, 9 + i, 11)
        Image.fromarray(_sign(16, 16, box)).save(d / f"{i:05d}.ppm")
        lines.append(f"{i:05d}.ppm;16;16;{';'.join(map(str, box))};{cls}")
    (raw / test_csv_in / "GT-final_test.csv").parent.mkdir(parents=True, exist_ok=True)
    (raw / test_csv_in / "GT-final_test.csv").write_text("\r\n".join(lines) + "\r\n")


@pytest.mark.parametrize("test_csv_in", ["GTSRB/Final_Test/Images", "GTSRB/Final_Test", "."])
def test_gtsrb_roi_crop_is_inclusive_and_labels_follow_the_csvs(roots, tmp_path, test_csv_in):
    raw = tmp_path / "gtsrb"
    _write_gtsrb(raw, test_csv_in)
    ds = _prepare("gtsrb", raw, roots)
    assert ds.counts() == {"train": 3, "test": 3} and ds.num_classes == 43
    assert ds.y["train"].tolist() == [0, 0, 2] and ds.y["test"].tolist() == [42, 0, 17]
    # the crop holds exactly the red box (both end rows/columns included): no blue leaks in
    for x in (ds.x["train"], ds.x["test"]):
        assert x.shape[1:] == (32, 32, 3)
        assert (x[..., 0] >= 240).all() and (x[..., 2] <= 20).all()


def test_gtsrb_without_roi_crop_keeps_the_background(roots, tmp_path):
    raw = tmp_path / "gtsrb"
    _write_gtsrb(raw)
    ds = _prepare("gtsrb", raw, roots, cfg=DataCfg("gtsrb", roi_crop=False))
    assert (ds.x["train"][0, 0, 0] == BLUE).all() and (ds.x["train"][0, 16, 16] == RED).all()


def test_gtsrb_test_csv_without_classid_is_explained(roots, tmp_path):
    raw = tmp_path / "gtsrb"
    _write_gtsrb(raw)
    p = raw / "GTSRB" / "Final_Test" / "Images" / "GT-final_test.csv"
    p.write_text("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2\r\n00000.ppm;16;16;2;3;9;11\r\n")
    r = runner.invoke(app, ["prepare", "gtsrb", "--source", str(raw)])
    assert r.exit_code == 1
    assert (f"error: {p}: header is 'Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2'; expected '{HEADER}' "
            "(GT-final_test.test.csv has no ClassId: get GTSRB_Final_Test_GT.zip)") in _one_line(r.stderr)


# ----------------------------------------------------------------------------------- logo32


def _write_logo32(raw, relpaths: bool):
    from tnpipe.data.logo32 import BRANDS

    root = raw / "FlickrLogos-v2"
    for b in (*BRANDS, "no-logo"):
        (root / "classes" / "jpg" / b).mkdir(parents=True)
    # adidas photo with TWO boxes (two samples); HP photo with one; a header line in one file
    specs = {("adidas", "1.jpg"): [(2, 3, 10, 8), (20, 4, 6, 12)], ("HP", "2.jpg"): [(0, 0, 30, 20)],
             ("ups", "3.jpg"): [(5, 5, 12, 12)]}
    for (b, f), boxes in specs.items():
        Image.fromarray(np.full((30, 40, 3), 128, np.uint8)).save(root / "classes" / "jpg" / b / f)
        m = root / "classes" / "masks" / b.lower()
        m.mkdir(parents=True, exist_ok=True)
        head = "x y width height\n" if b == "adidas" else ""
        (m / f"{f}.bboxes.txt").write_text(head + "".join(f"{x} {y} {w} {h}\n" for x, y, w, h in boxes))
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(root / "classes" / "jpg" / "no-logo" / "9.jpg")
    sets = {"trainset": [("adidas", "1.jpg")], "valset": [("HP", "2.jpg"), ("no-logo", "9.jpg")],
            "testset": [("ups", "3.jpg"), ("no-logo", "9.jpg")]}
    for s, entries in sets.items():
        if relpaths:
            (root / f"{s}.relpaths.txt").write_text("".join(f"classes/jpg/{b}/{f}\n" for b, f in entries))
        else:
            (root / f"{s}.txt").write_text("".join(f"{b},{f}\n" for b, f in entries))


@pytest.mark.parametrize("relpaths", [True, False])
def test_logo32_boxes_sets_and_brand_order(roots, tmp_path, relpaths):
    _write_logo32(tmp_path / "logo", relpaths)
    ds = _prepare("logo32", tmp_path / "logo", roots)
    assert ds.num_classes == 32 and len(ds.class_names) == 32
    assert ds.class_names[:3] == ["adidas", "aldi", "apple"] and ds.class_names.index("HP") == 19
    # train = trainset (adidas: 2 boxes) + valset (HP: 1 box), no-logo dropped; test = ups
    assert ds.y["train"].tolist() == [0, 0, 19] and ds.y["test"].tolist() == [31]
    assert ds.x["train"].shape == (3, 32, 32, 3)


def test_logo32_missing_bboxes_names_the_file(roots, tmp_path):
    _write_logo32(tmp_path / "logo", True)
    bb = tmp_path / "logo" / "FlickrLogos-v2" / "classes" / "masks" / "ups" / "3.jpg.bboxes.txt"
    bb.unlink()
    r = runner.invoke(app, ["prepare", "logo32", "--source", str(tmp_path / "logo")])
    assert r.exit_code == 1
    assert f"error: {bb}: bounding boxes of 3.jpg missing" in _one_line(r.stderr)


# -------------------------------------------------------------------------------- synthetic

SYN = {"cifar10": 10, "cifar100": 100, "svhn": 10, "gtsrb": 43, "logo32": 32}


@pytest.mark.parametrize("name", list(SYN))
def test_synthetic_stand_in_is_official_format_and_learnable(roots, name):
    cfg = DataCfg(name, synthetic_train_per_class=6 if name in ("cifar100", "gtsrb", "logo32") else 12,
                  synthetic_test_per_class=4)
    s = prepare(name, synthetic=True, cfg=cfg)
    ds = PreparedDataset.load(s.path)
    k = SYN[name]
    assert ds.synthetic and s.path.name == f"{name}-synthetic"
    assert ds.counts() == {"train": k * cfg.synthetic_train_per_class, "test": k * 4}
    assert np.bincount(ds.y["test"], minlength=k).tolist() == [4] * k
    # far above chance (1/k) for even the simplest classifier
    assert nearest_mean_accuracy(ds.x["train"], ds.y["train"], ds.x["test"], ds.y["test"]) > 0.8
    # written in the official layout, read back through the normal reader
    raw = roots["raw"] / "synthetic" / name
    expected = {"cifar10": "cifar-10-batches-py/data_batch_5", "cifar100": "cifar-100-python/meta",
                "svhn": "test_32x32.mat", "gtsrb": "GTSRB/Final_Training/Images/00042/GT-00042.csv",
                "logo32": "FlickrLogos-v2/testset.txt"}[name]
    assert (raw / expected).is_file()
    # deterministic: a forced redo gives identical arrays
    again = PreparedDataset.load(prepare(name, synthetic=True, cfg=cfg, force=True).path)
    assert np.array_equal(again.x["train"], ds.x["train"]) and np.array_equal(again.y["test"], ds.y["test"])


def test_synthetic_default_sizes_through_the_cli(roots):
    r = runner.invoke(app, ["prepare", "cifar10", "svhn", "--synthetic"])
    assert r.exit_code == 0, r.output
    counts = {n: json.loads((roots["prepared"] / f"{n}-synthetic" / "meta.json").read_text())["counts"]
              for n in ("cifar10", "svhn")}
    assert counts == {"cifar10": {"train": 400, "test": 100}, "svhn": {"train": 400, "test": 100}}
    assert "synthetic" in r.stdout and "reused" not in r.stdout
    r = runner.invoke(app, ["prepare", "cifar10", "svhn", "--synthetic"])      # verified: reused
    assert r.exit_code == 0 and r.stdout.count("(reused: it verifies") == 2


# ---------------------------------------------------------------------------- CLI failures


def test_missing_dataset_names_expected_files_and_how_to_get_them(roots):
    r = runner.invoke(app, ["prepare", "cifar10"])
    assert r.exit_code == 1
    assert _one_line(r.stderr) == (
        f"prepare cifar10 ... error: cifar10: expected cifar-10-batches-py/data_batch_1..5, test_batch, batches.meta "
        f"under {roots['raw'] / 'cifar10'}; pass --download, or use --source DIR / --synthetic")
    assert list(roots["prepared"].iterdir()) == []


def test_unknown_dataset_lists_valid_names(roots):
    r = runner.invoke(app, ["prepare", "cifar11"])
    assert r.exit_code == 1
    assert _one_line(r.stderr) == ("error: unknown dataset 'cifar11' (did you mean 'cifar10'?); valid names: "
                                   "cifar10, cifar100, svhn, gtsrb, "
                                   "logo32, vad, timit_class, timit_frames, fsdd")


def test_wrong_layout_says_what_was_found(roots, tmp_path):
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "images.zip").write_bytes(b"")
    r = runner.invoke(app, ["prepare", "cifar10", "--source", str(tmp_path / "odd")])
    assert r.exit_code == 1
    assert (f"error: cifar10: {tmp_path / 'odd'} holds ['images.zip']; expected cifar-10-batches-py/data_batch_1..5, "
            "test_batch, batches.meta, or class folders train/<class>/*.png|jpg and test/<class>/...") in _one_line(r.stderr)
    assert list(roots["prepared"].iterdir()) == []


def test_truncated_pickle_names_the_file_and_keeps_the_old_prepared_data(roots):
    raw = roots["raw"] / "cifar10"
    _write_cifar10(raw)
    assert runner.invoke(app, ["prepare", "cifar10"]).exit_code == 0
    out = roots["prepared"] / "cifar10"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = raw / "cifar-10-batches-py" / "data_batch_3"
    bad.write_bytes(bad.read_bytes()[:100])
    r = runner.invoke(app, ["prepare", "cifar10", "--force"])
    assert r.exit_code == 1
    assert f"error: {bad}: truncated or corrupt pickle (" in _one_line(r.stderr)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before and verify_prepared(out)
    assert sorted(p.name for p in roots["prepared"].iterdir()) == ["cifar10"]     # no temp folder left


def test_malicious_pickle_is_refused_through_the_cli(roots, tmp_path):
    raw = roots["raw"] / "cifar10"
    _write_cifar10(raw)
    marker = tmp_path / "pwned"
    evil = f"cposix\nsystem\n(Vtouch {marker}\ntR.".encode()
    (raw / "cifar-10-batches-py" / "batches.meta").write_bytes(evil)
    r = runner.invoke(app, ["prepare", "cifar10"])
    assert r.exit_code == 1
    assert "batches.meta: pickle refers to global posix.system" in _one_line(r.stderr)
    assert not marker.exists() and not (roots["prepared"] / "cifar10").exists()


def test_all_goes_on_past_a_missing_dataset_and_fails_at_the_end(roots, monkeypatch):
    _write_cifar10(roots["raw"] / "cifar10")
    monkeypatch.setattr(tnpipe.data, "BENCHMARKS", ("svhn", "cifar10"))
    r = runner.invoke(app, ["prepare", "--all"])
    assert r.exit_code == 1
    err = _one_line(r.stderr)
    assert f"error: svhn: expected train_32x32.mat and test_32x32.mat (SVHN format 2) (train_32x32.mat is missing) under {roots['raw'] / 'svhn'}" in err
    assert err.endswith("error: 1 of 2 datasets failed: svhn (each error is above); the others were prepared (cifar10)")
    assert verify_prepared(roots["prepared"] / "cifar10") and not (roots["prepared"] / "svhn").exists()


# ------------------------------------------------------------------------ real data subsets


def _pickle_rows(path):
    with open(path, "rb") as f:
        d = pickle.load(f, encoding="bytes")
    return d[b"data"], d[b"labels"]


def test_real_cifar10_subset(roots):
    root = shared_data("cifar10")
    r = runner.invoke(app, ["prepare", "cifar10", "--raw-root", str(root.parent)])
    assert r.exit_code == 0, r.output
    ds = PreparedDataset.load(roots["prepared"] / "cifar10")
    assert ds.counts() == {"train": 10000, "test": 2000} and ds.class_names == CIFAR10_NAMES
    batches = root / "cifar-10-batches-py"
    train = [_pickle_rows(batches / f"data_batch_{i}") for i in range(1, 6)]
    assert ds.y["train"].tolist() == [lab for _, labels in train for lab in labels]
    rows, labels = _pickle_rows(batches / "test_batch")
    assert ds.y["test"].tolist() == list(labels)
    assert np.array_equal(ds.x["test"].transpose(0, 3, 1, 2).reshape(-1, 3072), rows)
    assert np.bincount(ds.y["test"]).tolist() == [200] * 10


def test_real_gtsrb_subset_labels_match_the_csvs(roots):
    root = shared_data("gtsrb")
    ds = _prepare("gtsrb", root, roots)
    assert ds.counts() == {"train": 7740, "test": 2580} and ds.num_classes == 43
    assert np.bincount(ds.y["train"]).tolist() == [180] * 43 and len(np.unique(ds.y["test"])) == 43
    train_labels = []
    for d in sorted((root / "GTSRB" / "Final_Training" / "Images").iterdir()):
        with open(d / f"GT-{d.name}.csv", newline="") as f:
            train_labels += [int(row["ClassId"]) for row in csv.DictReader(f, delimiter=";")]
    with open(root / "GTSRB" / "Final_Test" / "Images" / "GT-final_test.csv", newline="") as f:
        test_labels = [int(row["ClassId"]) for row in csv.DictReader(f, delimiter=";")]
    assert ds.y["train"].tolist() == train_labels and ds.y["test"].tolist() == test_labels


def test_real_cifar10_class_folders_all_60000(roots):
    root = shared_data("cifar10-images")
    ds = _prepare("cifar10", root, roots)
    assert ds.counts() == {"train": 50000, "test": 10000} and ds.class_names == CIFAR10_NAMES
    assert np.bincount(ds.y["train"]).tolist() == [5000] * 10 and np.bincount(ds.y["test"]).tolist() == [1000] * 10
    first = sorted((root / "test" / "airplane").iterdir())[0]
    assert np.array_equal(ds.x["test"][0], np.asarray(Image.open(first).convert("RGB")))


@pytest.mark.parametrize("pooled", [False, True])
def test_unreadable_image_names_the_file(tmp_path, monkeypatch, pooled):
    from tnpipe.data import image_files
    from tnpipe.errors import DataError

    monkeypatch.setattr(image_files, "POOL_THRESHOLD", 1 if pooled else 10**9)
    monkeypatch.setattr(image_files, "CHUNK", 2)
    paths = []
    for i in range(5):
        p = tmp_path / f"{i}.png"
        Image.fromarray(np.full((8, 8, 3), i, np.uint8)).save(p)
        paths.append(p)
    x = image_files.decode_images(paths, 4)
    assert x.shape == (5, 4, 4, 3) and x[:, 0, 0, 0].tolist() == [0, 1, 2, 3, 4]
    paths[3].write_bytes(b"not a png")
    with pytest.raises(DataError, match=rf"^{paths[3]}: unreadable image \(UnidentifiedImageError: "):
        image_files.decode_images(paths, 4)


def test_image_size_other_than_32_resizes(roots, tmp_path):
    _write_cifar10(tmp_path / "c10")
    ds = _prepare("cifar10", tmp_path / "c10", roots, cfg=DataCfg("cifar10", image_size=16))
    assert ds.input_shape == (3, 16, 16) and ds.x["train"].shape == (15, 16, 16, 3)
    assert ds.feature_params["image_size"] == 16
