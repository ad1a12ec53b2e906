"""`tnpipe report`: hand-written RunResults -> exact table, csv and markdown; plots; bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tnpipe.artifacts import RESULT_FORMAT_VERSION, save_result
from tnpipe.cli import app
from tnpipe.report import collect, fmt_sig, load_paper_table, render_csv, render_markdown

runner = CliRunner()


def make_result(dataset: str, network: str, synthetic: bool, **over) -> dict:
    res = {
        "format_version": RESULT_FORMAT_VERSION,
        "dataset": dataset, "network": network, "synthetic": synthetic, "frames": 2000,
        "accuracy_chip": 0.8125, "accuracy_graph": 0.8125, "accuracy_float": 0.85, "agreement": 1.0,
        "cores": 3901, "chips": 1, "cores_per_layer": {"L1 P4-252(2)": 512},
        "latency_ticks": 15, "tick_hz": 1000.0, "fps": 1000.0,
        "synaptic_events_per_frame": 1.5e6, "spikes_per_frame": 2.0e5, "hops_per_frame": 1.0e6,
        "chip_crossings_per_frame": 0.0, "mw": 180.0, "fps_per_w": 5555.555555555556,
        "uj_per_frame": 180.0, "energy_model": {"profile": "truenorth-1.0v", "model_estimate": True},
        "git_sha": "abc1234", "versions": {"tnpipe": "0.1.0", "torch": "2.13"},
        "date": "2026-11-27T12:00:00+00:00",
    }
    res.update(over)
    return res


def write(root: Path, dataset: str, network: str, synthetic: bool, **over) -> Path:
    folder = root / (dataset + ("-synthetic" if synthetic else "")) / network
    save_result(folder / "result.json", make_result(dataset, network, synthetic, **over))
    return folder / "result.json"


def floorplan(cores: int = 6) -> dict:
    return {"width": 64, "height": 64, "chips": 2, "layer_names": ["L1 S", "L2 N", "L3 P"],
            "core_chip": [0, 0, 0, 1, 1, 1][:cores], "core_x": [0, 1, 2, 0, 63, 5][:cores],
            "core_y": [0, 0, 1, 0, 63, 5][:cores], "core_layer": [0, 0, 1, 1, 2, 2][:cores],
            "core_spikes_per_frame": [0.0, 3.5, 10.0, 120.0, 1.0, 0.0][:cores]}


@pytest.fixture
def three(roots):
    """cifar10 1chip (real), gtsrb cpu (real), cifar10 tiny (synthetic), fsdd tiny (real, no paper)."""
    r = roots["results"]
    write(r, "cifar10", "tiny", True, accuracy_chip=0.5, accuracy_graph=0.5, fps=500.0, mw=0.25,
          fps_per_w=2.0e6, uj_per_frame=0.5, cores=12, floorplan=floorplan())
    write(r, "cifar10", "1chip", False)
    write(r, "gtsrb", "cpu", False, accuracy_chip=0.9, accuracy_graph=0.875, agreement=0.96875,
          cores=300, fps=2000.0, mw=20.0, fps_per_w=100000.0, uj_per_frame=10.0)
    write(r, "fsdd", "tiny", False, accuracy_chip=0.75, accuracy_graph=0.75, cores=7)
    return r


def test_paper_table_matches_table3():
    t = load_paper_table()
    assert sorted(t) == sorted(["cifar10", "cifar100", "svhn", "gtsrb", "logo32", "vad", "timit_class", "timit_frames"])
    c = t["cifar10"]
    assert (c.accuracy, c.cores, c.fps, c.mw, c.fps_per_w) == (0.8341, 4042, 1249.0, 204.4, 6108.6)
    assert t["vad"].cores == 423 and t["vad"].fps_per_w == 59010.7
    assert t["cifar100"].cores == 4402 and "4402" in t["cifar100"].note   # as printed, typo noted
    assert round(c.uj_per_frame, 1) == 163.7                               # derived mW/fps
    for row in t.values():  # the printed fps/W agrees with fps / W within 0.1% (reference 1.6)
        assert abs(row.fps / (row.mw / 1e3) - row.fps_per_w) / row.fps_per_w < 1e-3


def test_fmt_sig():
    assert [fmt_sig(x) for x in (1249.0, 204.4, 6108.6, 0.000412, 0, 59010.7, None)] == \
        ["1249", "204.4", "6109", "0.0004120", "0", "59011", "-"]


def test_rows_sorted_real_first_with_paper_columns(three):
    rep = collect(three)
    assert [(r.data, r.dataset, r.network) for r in rep.rows] == [
        ("real", "cifar10", "1chip"), ("real", "gtsrb", "cpu"), ("real", "fsdd", "tiny"),
        ("synthetic", "cifar10", "tiny")]
    assert [r.paper_label for r in rep.rows] == ["TN 1-chip", "TN 1-chip (ref. only)", "-", "TN 1-chip (ref. only)"]


def test_csv_exact(three):
    rows = list(csv.DictReader(io.StringIO(render_csv(collect(three)))))
    assert len(rows) == 4
    c = rows[0]
    assert (c["data"], c["dataset"], c["network"]) == ("real", "cifar10", "1chip")
    assert (c["accuracy_chip"], c["accuracy_graph"], c["agreement"], c["cores"], c["chips"]) == \
        ("0.8125", "0.8125", "1.0", "3901", "1")
    assert (c["fps"], c["mw"], c["fps_per_w"], c["uj_per_frame"]) == ("1000.0", "180.0", "5555.555555555556", "180.0")
    assert (c["paper_row"], c["paper_accuracy"], c["paper_cores"], c["paper_fps"], c["paper_mw"], c["paper_fps_per_w"]) == \
        ("TN 1-chip", "0.8341", "4042", "1249.0", "204.4", "6108.6")
    assert c["model_estimate"] == "True" and c["git_sha"] == "abc1234"
    g = rows[1]
    assert (g["dataset"], g["agreement"], g["paper_accuracy"], g["paper_cores"], g["paper_row"]) == \
        ("gtsrb", "0.96875", "0.965", "4042", "TN 1-chip (ref. only)")
    f = rows[2]
    assert (f["dataset"], f["paper_row"], f["paper_accuracy"], f["paper_fps"]) == ("fsdd", "-", "", "")
    s = rows[3]
    assert (s["data"], s["dataset"], s["network"], s["cores"], s["fps_per_w"]) == \
        ("synthetic", "cifar10", "tiny", "12", "2000000.0")


def test_markdown_exact(three):
    md = render_markdown(collect(three))
    lines = md.splitlines()
    header = next(line for line in lines if line.startswith("| data"))
    assert header == ("| data | dataset | network | acc chip | acc graph | agree | cores | chips | fps* | mW* "
                      "| fps/W* | uJ/frame* | paper row† | paper acc† | paper cores† | paper fps† | paper mW† "
                      "| paper fps/W† |")
    body = [line for line in lines if line.startswith("| ") and line != header]
    assert body == [
        "| real | cifar10 | 1chip | 81.25% | 81.25% | 100.00% | 3901 | 1 | 1000 | 180.0 | 5556 | 180.0 "
        "| TN 1-chip | 83.41% | 4042 | 1249 | 204.4 | 6108.6 |",
        "| real | gtsrb | cpu | 90.00% | 87.50% | 96.88% | 300 | 1 | 2000 | 20.00 | 100000 | 10.00 "
        "| TN 1-chip (ref. only) | 96.50% | 4042 | 1615 | 200.6 | 8051.8 |",
        "| real | fsdd | tiny | 75.00% | 75.00% | 100.00% | 7 | 1 | 1000 | 180.0 | 5556 | 180.0 | - | - | - | - | - | - |",
        "| synthetic | cifar10 | tiny | 50.00% | 50.00% | 100.00% | 12 | 1 | 500.0 | 0.2500 | 2000000 | 0.5000 "
        "| TN 1-chip (ref. only) | 83.41% | 4042 | 1249 | 204.4 | 6108.6 |",
    ]
    assert "\\* fps, mW, fps/W and uJ/frame of ours are model estimates" in md
    assert "model estimate" in md and "Esser et al." in md and "Table 3" in md
    assert "NOT results on the benchmark" in md
    assert "4 result(s) from git abc1234" in md


def test_cli_table_and_files(three):
    res = runner.invoke(app, ["report", "--all", "--results-root", str(three)])
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "83.41%" in out and "81.25%" in out and "synthetic" in out and "model estimate" in out
    assert (three / "report.md").is_file() and (three / "report.csv").is_file()
    assert not (three / "report.png").exists()


def test_cli_formats_and_filters(three):
    res = runner.invoke(app, ["report", "gtsrb", "--format", "csv", "--results-root", str(three)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [(r["dataset"], r["network"]) for r in rows] == [("gtsrb", "cpu")]
    res = runner.invoke(app, ["report", "--all", "--network", "tiny", "--format", "md", "--results-root", str(three)])
    assert res.exit_code == 0, res.output
    assert res.stdout.count("| tiny |") == 2 and "| 1chip |" not in res.stdout


def test_plot_writes_png_and_floorplan(three, tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["report", "--all", "--plot", "--results-root", str(three), "--out", str(out)])
    assert res.exit_code == 0, res.output
    png = out / "report.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fps = sorted(p.name for p in (out / "floorplans").iterdir())
    assert fps == ["cifar10-synthetic-tiny.png"]       # the only row with a floorplan
    from PIL import Image

    with Image.open(out / "floorplans" / "cifar10-synthetic-tiny.png") as im:
        assert im.size[0] > im.size[1] > 100       # two chip panels side by side
    assert (out / "report.md").is_file() and (out / "report.csv").is_file()


def test_malformed_floorplan_is_a_warning(roots):
    bad = floorplan()
    bad["core_x"] = [0, 1, 2, 0, 64, 5]            # 64 is off a 64-wide chip
    write(roots["results"], "cifar10", "tiny", True, floorplan=bad)
    res = runner.invoke(app, ["report", "--all", "--plot"])
    assert res.exit_code == 0, res.output
    assert "floorplan core_x spans 0..64; expected 0..63; floorplan not drawn" in res.stderr
    assert not (roots["results"] / "floorplans").exists()


def test_missing_root(tmp_path):
    res = runner.invoke(app, ["report", "--all", "--results-root", str(tmp_path / "nope")])
    assert res.exit_code == 1
    assert f"{tmp_path / 'nope'}: results root not found" in res.stderr


def test_empty_root(roots):
    res = runner.invoke(app, ["report", "--all"])
    assert res.exit_code == 1
    assert "no result.json under the results root" in res.stderr


def test_bad_results_skipped_and_named(three):
    bad = three / "svhn" / "1chip" / "result.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("{ not json")
    old = three / "vad" / "1chip" / "result.json"
    old.parent.mkdir(parents=True)
    old.write_text(json.dumps(make_result("vad", "1chip", False, format_version=0)))
    res = runner.invoke(app, ["report", "--all", "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert f"{bad}: not valid JSON" in res.stderr
    assert f"{old}: result format_version 0; expected 1" in res.stderr
    assert "2 result file(s) skipped" in res.stderr
    assert len(list(csv.DictReader(io.StringIO(res.stdout)))) == 4
    md = (three / "report.md").read_text()
    assert "Skipped (unreadable) result files:" in md and str(bad) in md


def test_only_bad_results_exit_1(roots):
    bad = roots["results"] / "svhn" / "1chip" / "result.json"
    bad.parent.mkdir(parents=True)
    bad.write_text(json.dumps({"format_version": 1, "dataset": "svhn"}))
    res = runner.invoke(app, ["report", "--all"])
    assert res.exit_code == 1
    assert f"{bad}: key 'network' missing from result" in res.stderr
    assert "no readable result (1 result.json skipped as unreadable)" in res.stderr


def test_unknown_dataset(three):
    res = runner.invoke(app, ["report", "cifar11"])
    assert res.exit_code == 1
    assert "unknown dataset 'cifar11'; valid names: cifar10, cifar100, svhn, gtsrb, logo32, vad, " \
        "timit_class, timit_frames, fsdd" in res.stderr


def test_no_names_no_all(three):
    res = runner.invoke(app, ["report"])
    assert res.exit_code == 1
    assert "name at least one dataset or pass --all" in res.stderr


def test_filter_matches_nothing(three):
    res = runner.invoke(app, ["report", "svhn"])
    assert res.exit_code == 1
    assert "no readable result for dataset svhn" in res.stderr


def test_stand_in_rows_are_marked_sorted_and_never_like_for_like(three):
    write(three, "vad", "1chip", False, stand_in="FSDD digit speech instead of TIMIT")
    rep = collect(three)
    assert [(r.data, r.dataset, r.network) for r in rep.rows] == [
        ("real", "cifar10", "1chip"), ("real", "gtsrb", "cpu"), ("real", "fsdd", "tiny"),
        ("stand-in", "vad", "1chip"), ("synthetic", "cifar10", "tiny")]
    vad = rep.rows[3]
    assert vad.paper is not None and not vad.paper_like_for_like and vad.paper_label == "TN 1-chip (ref. only)"
    md = render_markdown(rep)
    assert "stand-in: vad: FSDD digit speech instead of TIMIT; not the paper's benchmark data." in md
