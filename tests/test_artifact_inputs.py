"""Issue 23: artifacts are input too. Every field read back is checked against the chip's own
rules and the artifact's own record; a bad one is refused in one line naming file and field;
strings shown to a person are shown literally."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.chip.handmap import hand_map
from tests.chip.netref import random_description
from tests.test_report import make_result
from tnpipe.artifacts import NetworkDescription, load_result
from tnpipe.artifacts.common import read_json_object
from tnpipe.chip.coremap import CoreMap
from tnpipe.cli import app
from tnpipe.errors import ArtifactError

runner = CliRunner()
NET = "S-8 N-32 P-32(2) N-16(2)"


# ------------------------------------------------------------------ result.json


def write_json_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("key, value, message", [
    ("mw", float("nan"), "not valid JSON (ValueError: NaN is not a number a tnpipe artifact holds"),
    ("fps", float("inf"), "not valid JSON (ValueError: Infinity is not a number"),
    ("mw", -1.0, "'mw' is -1.0; expected a finite number >= 0"),
    ("accuracy_chip", 1.5, "'accuracy_chip' is 1.5; expected a finite number in 0..1"),
    ("cores", 0, "'cores' is 0; expected a finite number >= 1"),
    ("chips", True, "'chips' is bool True; expected"),
    ("frames", "2000", "'frames' is str '2000'; expected"),
    ("network", "1chip\x1b[2J", "'network' holds control characters"),
    ("dataset", "x" * 600, "'dataset' is 600 characters long; expected at most 500"),
    ("cores_per_layer", {"L1\x07": 3}, "'cores_per_layer' holds control characters"),
])
def test_result_json_bad_values_refused_in_one_line(tmp_path, key, value, message):
    res = make_result("cifar10", "1chip", False)
    res[key] = value
    path = write_json_text(tmp_path / "result.json", json.dumps(res))
    with pytest.raises(ArtifactError) as e:
        load_result(path)
    assert str(e.value).startswith(f"{path}: ") and message in str(e.value) and "\n" not in str(e.value)


def test_result_json_as_written_loads(tmp_path):   # negative control for the cases above
    path = write_json_text(tmp_path / "result.json", json.dumps(make_result("cifar10", "1chip", False)))
    assert load_result(path).cores == 3901


def test_json_deep_huge_and_overflowing_values(tmp_path):
    deep = write_json_text(tmp_path / "deep.json", "[" * 100_000 + "]" * 100_000)
    with pytest.raises(ArtifactError, match="nested too deeply|nested more than"):
        read_json_object(deep, "RunResult result.json")
    nested = write_json_text(tmp_path / "nested.json", '{"a": ' + "[" * 40 + "]" * 40 + "}")
    with pytest.raises(ArtifactError, match="nested more than 32 levels deep"):
        read_json_object(nested, "RunResult result.json")
    digits = write_json_text(tmp_path / "digits.json", '{"cores": ' + "9" * 5000 + "}")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        read_json_object(digits, "RunResult result.json")
    assert read_json_object(write_json_text(tmp_path / "ok.json", '{"a": [[1]]}'), "x") == {"a": [[1]]}


def test_report_shows_markup_literally_and_skips_control_codes(roots):
    from tnpipe.artifacts import RunResult, save_result

    r = roots["results"]
    save_result(r / "cifar10" / "x" / "result.json",
                RunResult.from_json(make_result("cifar10", "[red]evil[/red]", False), "test"))
    bad = make_result("gtsrb", "1chip", False)
    bad["network"] = "\x1b]0;owned\x07"
    write_json_text(r / "gtsrb" / "1chip" / "result.json", json.dumps(bad))
    res = runner.invoke(app, ["report", "--all", "--wide"])
    assert res.exit_code == 0, res.output
    assert "[red]evil[/red]" in res.stdout                  # literal, not eaten as markup
    assert "\x1b" not in res.stdout + res.stderr              # the control code never reaches the terminal
    assert "'network' holds control characters" in res.stderr


# ------------------------------------------------------------------ core maps


@pytest.fixture
def saved_map(tmp_path):
    cm = hand_map(2, 4, [(0, 0, 0, 1), (1, 1, 1, 1)])
    cm.save(tmp_path)
    return tmp_path


def edit_header(folder: Path, change) -> None:
    js = folder / "coremap.json"
    h = json.loads(js.read_text())
    change(h)
    js.write_text(json.dumps(h))


@pytest.mark.parametrize("change, message", [
    (lambda h: h["spec"].update(axons=512), "field 'spec' differs from the chip's own rules: axons 512 (chip: 256)"),
    (lambda h: h["spec"].update(leak_max=10**6), "field 'spec' differs from the chip's own rules: leak_max"),
    (lambda h: h["spec"].update(delay_max=255), "delay_max 255 (chip: 15)"),
    (lambda h: h["counts"].update(chips=-1), "'counts.chips' is -1"),
    (lambda h: h["counts"].update(cores=3), "counts.cores is 3; coremap.npz holds 2"),
    (lambda h: h.update(latency_ticks="15"), "'latency_ticks' is str"),
    (lambda h: h.update(chip_grid=[0, 1]), "'chip_grid[0]' is 0"),
    (lambda h: h.update(layer_names=["\x1b[31mL1"]), "'layer_names' holds control characters"),
    (lambda h: h.update(layer_names=[]), "array 'core_layer' holds 0..0; the header lists 0 layer names"),
])
def test_coremap_header_cannot_widen_the_limits_it_is_checked_against(saved_map, change, message):
    assert CoreMap.load(saved_map).n_cores == 2          # negative control: the map as saved loads
    edit_header(saved_map, change)
    with pytest.raises(ArtifactError) as e:
        CoreMap.load(saved_map)
    assert message in str(e.value) and str(saved_map) in str(e.value), str(e.value)


# ------------------------------------------------------------------ network.npz


def resave(path: Path, **arrays) -> None:
    with np.load(path) as z:
        a = {k: z[k] for k in z.files}
    a.update(arrays)
    with open(path, "wb") as f:
        np.savez_compressed(f, **a)


def header_of(path: Path) -> dict:
    with np.load(path) as z:
        return json.loads(z["header"].tobytes().decode())


@pytest.fixture
def npz(tmp_path):
    desc = random_description(NET, input_shape=(3, 8, 8), num_classes=4)
    desc.save(tmp_path / "network.npz")
    return tmp_path / "network.npz"


def _header(**over):
    def make(path):
        h = dict(header_of(path), **over)
        return np.frombuffer(json.dumps(h).encode(), dtype=np.uint8)
    return make


@pytest.mark.parametrize("arrays, message", [
    ({"w0": np.zeros((32, 8, 3, 3), np.int8)}, "array 'w0' is int8 (32, 8, 3, 3); the recorded network's"),
    ({"w0": np.zeros((32, 8, 1, 1), np.float32)}, "array 'w0' is float32"),
    ({"w1": np.full((32, 16, 2, 2), 2, np.int8)}, "array 'w1' holds 2..2; expected trinary -1, 0, +1"),
    ({"leak0": np.full(32, 999, np.int16)}, "array 'leak0' holds 999..999; expected -255..255"),
    ({"leak0": np.zeros(31, np.int16)}, "array 'leak0' is int16 (31,)"),
    ({"class_of_feature": np.full(16, 7, np.int64)}, "array 'class_of_feature' is int64 (16,); expected int64 (16,) of classes 0..3"),
    ({"class_of_feature": np.zeros(15, np.int64)}, "array 'class_of_feature' is int64 (15,)"),
    ({"header": _header(num_classes=-4)}, "'num_classes' is -4"),
    ({"header": _header(net_input_shape=[3, 8])}, "field 'net_input_shape' is [3, 8]"),
    ({"header": _header(network="S-8\x1b[0m")}, "'network' holds control characters"),
    ({"header": _header(network=["S-8"])}, "'network' is list; expected a string"),
])
def test_network_npz_checked_against_its_recorded_network(npz, arrays, message):
    assert NetworkDescription.load(npz).has_weights          # negative control
    resave(npz, **{k: (v(npz) if callable(v) else v) for k, v in arrays.items()})
    with pytest.raises(ArtifactError) as e:
        NetworkDescription.load(npz)
    assert str(e.value).startswith(f"{npz}: ") and message in str(e.value), str(e.value)


# ------------------------------------------------------------------ train.json


def test_train_json_values_checked(tmp_path):
    from tnpipe.artifacts.training import TrainingRecord
    from tnpipe.chip.config import ChipCfg
    from tnpipe.nn.train_section import TrainCfg
    from tnpipe.nn.trained import load_record

    rec = TrainingRecord("cifar10", "tiny", NET, True, "p", "k", 0, 80, 0.5, 0.5, 1.0, None, 1, 1, 0.0, 12.5,
                         "full", TrainCfg(), ChipCfg())
    rec.save(tmp_path)
    assert load_record(tmp_path).seconds == 12.5    # negative control
    for key, value, message in (("hw_test_acc", 2.0, "'hw_test_acc' is 2.0"), ("seconds", -1, "'seconds' is -1"),
                                ("network", "t\x1bx", "'network' holds control characters")):
        obj = json.loads((tmp_path / "train.json").read_text())
        obj[key] = value
        (tmp_path / "train.json").write_text(json.dumps(obj))
        with pytest.raises(ArtifactError, match=message.replace("[", r"\[")):
            load_record(tmp_path)
        rec.save(tmp_path)


# ------------------------------------------------------------------ prepared meta.json


@pytest.mark.parametrize("key, value, message", [
    ("input_shape", [3, -8, 8], "'input_shape[1]' is -8"),
    ("num_classes", 2.5, "'num_classes' is float"),
    ("class_names", ["a", "b\x1b[1m", "c", "d"], "'class_names' holds control characters"),
    ("class_names", ["a"], "1 class_names for 4 classes"),
    ("counts", {"train": -1, "test": 80}, "'counts.train' is -1"),
    ("kind", "video", "'kind' is 'video'; expected 'image' or 'speech'"),
])
def test_prepared_meta_values_checked(roots, key, value, message):
    from tests.test_train import write_tiny_dataset
    from tnpipe.artifacts import PreparedRecord

    folder = write_tiny_dataset(roots["prepared"])
    assert PreparedRecord.load(folder).num_classes == 4          # negative control
    meta = json.loads((folder / "meta.json").read_text())
    meta[key] = value
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError) as e:
        PreparedRecord.load(folder)
    assert str(e.value).startswith(str(folder / "meta.json")) and message in str(e.value), str(e.value)


def test_train_json_of_the_last_release_loads_typed(tmp_path):
    """A train.json written by the last release (dict sections, [chip] without `engine`) loads
    with its [train] a TrainCfg and its [chip] a ChipCfg, and is written back with the same keys;
    a bad section value is refused in one line naming the file and the field."""
    import shutil

    from tnpipe.chip.config import ChipCfg
    from tnpipe.nn.train_section import TrainCfg
    from tnpipe.nn.trained import load_record

    shipped = Path(__file__).resolve().parents[1] / "results" / "full-scale" / "cifar10" / "1chip" / "train.json"
    shutil.copy(shipped, tmp_path / "train.json")
    old = json.loads(shipped.read_text())
    assert "engine" not in old["chip"] and isinstance(old["train"], dict)
    rec = load_record(tmp_path)
    assert isinstance(rec.train, TrainCfg) and isinstance(rec.chip, ChipCfg)
    assert rec.train.precision == "bf16" and rec.train.per_network["cpu"]["epochs"] == 40
    assert rec.chip == ChipCfg(profile="truenorth-1.0v", tick_hz=0.0, frames=0, placement="regions")
    rec.save(tmp_path)
    again = json.loads((tmp_path / "train.json").read_text())
    assert {k: again["train"][k] for k in old["train"]} == old["train"]
    assert {k: again["chip"][k] for k in old["chip"]} == old["chip"]
    assert load_record(tmp_path) == rec                                  # negative control for the refusals
    for section, key, value, message in (
            ("train", "dropout", 1.5, "train.dropout: 1.5 must be in [0, 1)"),
            ("train", "lr", "fast", "train.lr: value 'fast' has the wrong type"),
            ("chip", "placement", "zigzag", "chip: chip placement 'zigzag' is unknown"),
            ("chip", "frames", -3, "chip: frames: -3 must be >= 0"),
            ("chip", None, [], "'chip' is list")):
        obj = json.loads(shipped.read_text())
        if key is None:
            obj[section] = value
        else:
            obj[section][key] = value
        (tmp_path / "train.json").write_text(json.dumps(obj))
        with pytest.raises(ArtifactError) as err:
            load_record(tmp_path)
        line = str(err.value)
        assert "\n" not in line and str(tmp_path / "train.json") in line and message in line, line
