"""`tnpipe report`: hand-written RunResults -> exact table, csv and markdown; plots; bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tnpipe.artifacts import RESULT_FORMAT_VERSION, RunResult, save_result
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
    save_result(folder / "result.json", RunResult.from_json(make_result(dataset, network, synthetic, **over), "test"))
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
    write(r, "cifar10", "1chip", False, frames=10_000)   # the whole official test split
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
    assert header == ("| data | dataset | network | acc chip | acc graph | agree | exact‡ | cores | chips | fps* | mW* "
                      "| fps/W* | uJ/frame* | paper row† | paper acc† | paper cores† | paper fps† | paper mW† "
                      "| paper fps/W† |")
    body = [line for line in lines if line.startswith("| ") and line != header]
    assert body == [
        "| real | cifar10 | 1chip | 81.25% | 81.25% | 100.00% | - | 3901 | 1 | 1000 | 180.0 | 5556 | 180.0 "
        "| TN 1-chip | 83.41% | 4042 | 1249 | 204.4 | 6108.6 |",
        "| real | gtsrb | cpu | 90.00% | 87.50% | 96.88% | - | 300 | 1 | 2000 | 20.00 | 100000 | 10.00 "
        "| TN 1-chip (ref. only) | 96.50% | 4042 | 1615 | 200.6 | 8051.8 |",
        "| real | fsdd | tiny | 75.00% | 75.00% | 100.00% | - | 7 | 1 | 1000 | 180.0 | 5556 | 180.0 | - | - | - | - | - | - |",
        "| synthetic | cifar10 | tiny | 50.00% | 50.00% | 100.00% | - | 12 | 1 | 500.0 | 0.2500 | 2000000 | 0.5000 "
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
    assert res.stderr == ("error: unknown dataset 'cifar11' (did you mean 'cifar10'?); valid names: cifar10, "
                          "cifar100, svhn, gtsrb, logo32, vad, timit_class, timit_frames, fsdd\n")


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


def test_timit_sample_rows_are_labelled_real_subset_never_like_for_like(three):
    write(three, "timit_class", "1chip", False,
          stand_in="real (TIMIT sample, 16 speakers): NLTK's TIMIT sample instead of the full corpus")
    rep = collect(three, names=["timit_class"])
    (row,) = rep.rows
    assert row.data == "real (TIMIT sample, 16 speakers)"
    assert row.paper is not None and not row.paper_like_for_like and row.paper_label == "TN 1-chip (ref. only)"
    assert "| real (TIMIT sample, 16 speakers) | timit_class | 1chip |" in render_markdown(rep)


# ------------------------------------------------------------------ exactness (issue 10)


def equivalence(exact: bool, spike_frames: int = 8, votes_exact: bool | None = None) -> dict:
    votes = exact if votes_exact is None else votes_exact
    return {"exact": exact, "votes_exact": votes, "vote_frames": 2000, "spikes_exact": exact,
            "spike_frames": spike_frames, "spikes_compared": 123456, "neuron_ticks_compared": 999,
            "agreement": 1.0 if votes else 0.9995,
            "first_mismatch": None if exact else "frame 3, tick 7, core 12, neuron 40, L2 N-64(2), chip 1, graph 0"}


def test_exact_column_from_equivalence(roots):
    r = roots["results"]
    write(r, "cifar10", "1chip", False, equivalence=equivalence(True))
    write(r, "cifar100", "1chip", False, equivalence=equivalence(True, spike_frames=0))
    write(r, "svhn", "1chip", False, equivalence=equivalence(False, votes_exact=True))
    write(r, "gtsrb", "1chip", False, equivalence=equivalence(False))
    write(r, "logo32", "1chip", False)                                  # older result.json: no record
    write(r, "vad", "1chip", False, equivalence="yes")                  # malformed: unknown, never exact
    rep = collect(r)
    assert list(rep.frame["exact"]) == ["votes+spikes", "votes", "NO", "NO", "-", "-"]
    rows = list(csv.DictReader(io.StringIO(render_csv(rep))))
    assert [(x["exact"], x["votes_exact"], x["spikes_exact"], x["spike_frames"]) for x in rows] == [
        ("votes+spikes", "True", "True", "8"), ("votes", "True", "True", "0"), ("NO", "True", "False", "8"),
        ("NO", "False", "False", "8"), ("-", "", "", ""), ("-", "", "", "")]
    assert rows[3]["first_mismatch"] == "frame 3, tick 7, core 12, neuron 40, L2 N-64(2), chip 1, graph 0"
    md = render_markdown(rep)
    assert "| real | cifar10 | 1chip | 81.25% | 81.25% | 100.00% | votes+spikes | 3901 |" in md
    assert "‡ exact: the chip simulation against the training graph in hardware mode" in md


# ------------------------------------------------------------ the terminal table (issue 13)


@pytest.fixture
def nine(roots):
    """Nine rows with the longest cells the report has: names, stand-in, verdicts, big numbers."""
    r = roots["results"]
    for i, ds in enumerate(["cifar10", "cifar100", "svhn", "gtsrb", "logo32", "timit_class", "timit_frames", "fsdd"]):
        write(r, ds, "tiny", True, equivalence=equivalence(i % 3 != 2), fps=123456.0, mw=0.000123,
              fps_per_w=12345678.9, uj_per_frame=0.0001234, cores=4096 * 8, chips=8, agreement=0.99995)
    write(r, "vad", "1chip", False, stand_in="FSDD digit speech instead of TIMIT", equivalence=equivalence(True))
    write(r, "timit_frames", "8chip", False, equivalence=equivalence(True, spike_frames=0))
    return r


def printed(report, width: int, wide: bool = False) -> list[str]:
    from rich.console import Console

    from tnpipe.report import print_table

    buf = io.StringIO()
    print_table(report, Console(file=buf, width=width, force_terminal=False, color_system=None), wide=wide)
    return buf.getvalue().splitlines()


@pytest.mark.parametrize("width", [80, 100])
def test_terminal_tables_fit_80_columns(nine, width):
    rep = collect(nine)
    lines = printed(rep, width)
    tables = lines[:next(i for i, line in enumerate(lines) if line.startswith("data: r = real"))]
    assert len(tables) == 2 * (4 + 10) and max(len(line) for line in tables) <= 80, max(tables, key=len)
    assert max(len(line) for line in lines) <= width                  # notes wrap to the terminal
    text = "\n".join(lines)
    # every figure whole (no "…"), mW in the default table, the paper columns in the second table,
    # each abbreviation spelled out in the legend under them (issue 23)
    assert "…" not in text and " v+s " in text and "ref. only" in text and "mW*" in text
    assert "12345679" in text and "32768" in text
    assert "data: r = real, i = stand-in (real data in place of the paper's), s = synthetic;" in " ".join(text.split())
    assert "exact‡: v+s = votes+spikes, v = votes" in " ".join(text.split())
    # --wide: one table with every column, as report.md; wider than 100 and never folded
    wide = printed(rep, 100, wide=True)
    assert max(len(line) for line in wide) > 100
    assert "…" not in "\n".join(wide)


# ------------------------------------------------------ what is written, and when (issue 12)


def test_report_names_prints_only(three):
    (three / "report.md").write_text("the full report\n")
    res = runner.invoke(app, ["report", "gtsrb"])
    assert res.exit_code == 0, res.output
    assert "gtsrb" in res.stdout and "90.00%" in res.stdout
    assert (three / "report.md").read_text() == "the full report\n"
    assert not (three / "report.csv").exists()
    assert f"nothing written: --out DIR writes this table's files; `tnpipe report --all` writes the full " \
        f"report into {three}" in res.stderr


def test_report_names_pictures_need_out(three):
    res = runner.invoke(app, ["report", "gtsrb", "--plot", "--curves"])
    assert res.exit_code == 1
    assert res.stderr.strip() == ("error: --plot and --curves writes pictures: pass --out DIR for these datasets, "
                                  "or use --all (no --network) for the full report in the results root")
    assert not (three / "report.png").exists()


def test_report_out_never_overwrites_without_force(three, tmp_path):
    out = tmp_path / "mine"
    res = runner.invoke(app, ["report", "gtsrb", "--format", "md", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert [r["dataset"] for r in csv.DictReader(io.StringIO((out / "report.csv").read_text()))] == ["gtsrb"]
    (out / "report.md").write_text("my notes\n")
    again = runner.invoke(app, ["report", "fsdd", "--out", str(out)])
    assert again.exit_code == 1
    assert f"error: {out / 'report.md'}: exists; pass --force to overwrite it, or choose another --out" in again.stderr
    assert (out / "report.md").read_text() == "my notes\n"                     # nothing half-written
    assert [r["dataset"] for r in csv.DictReader(io.StringIO((out / "report.csv").read_text()))] == ["gtsrb"]
    forced = runner.invoke(app, ["report", "fsdd", "--out", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert [r["dataset"] for r in csv.DictReader(io.StringIO((out / "report.csv").read_text()))] == ["fsdd"]


def test_report_all_regenerates_its_own_files(three):
    for _ in range(2):
        res = runner.invoke(app, ["report", "--all"])
        assert res.exit_code == 0, res.output
    assert len(list(csv.DictReader(io.StringIO((three / "report.csv").read_text())))) == 4


def test_run_report_writes_the_full_report(three, capsys):
    from tnpipe.cli.report import show_run_report

    show_run_report([three / "gtsrb" / "cpu" / "result.json"])
    out = capsys.readouterr().out
    assert "gtsrb" in out and "cifar10" not in out                            # the table: what this run made
    rows = list(csv.DictReader(io.StringIO((three / "report.csv").read_text())))
    assert len(rows) == 4                                                      # the files: every result


# --------------------------------------------------------------------- pictures (issue 13)


def _labels(fig) -> list:
    fig.canvas.draw()
    return [t for ax in fig.axes for t in ax.texts if type(t).__name__ == "Annotation"]


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def assert_readable(fig) -> list[str]:
    """No two point labels overlap, each sits right of its axes (off the data), the legend
    lies outside every panel. Returns the label texts."""
    labels = _labels(fig)
    r = fig.canvas.get_renderer()
    from matplotlib.text import Text

    boxes = [Text.get_window_extent(t, r) for t in labels]     # the words, not their leader lines
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not _overlap(boxes[i], boxes[j]), (labels[i].get_text(), labels[j].get_text())
    for t, b in zip(labels, boxes, strict=True):
        assert b.x0 >= t.axes.get_window_extent(r).x1, t.get_text()
    for legend in fig.legends:
        for ax in fig.axes:
            assert not _overlap(legend.get_window_extent(r), ax.get_window_extent(r))
    return [t.get_text() for t in labels]


def test_report_png_real_beside_paper_synthetic_apart(three):
    from tnpipe.report.plot import accuracy_figure

    fig = accuracy_figure(collect(three))
    real, synth = fig.axes
    assert "beside Esser et al. 2016" in real.get_title(loc="left")
    assert "NOT benchmark results" in synth.get_title(loc="left")
    labels = assert_readable(fig)
    assert labels == ["cifar10 1chip", "gtsrb cpu", "fsdd tiny", "cifar10 paper TN 1-chip", "cifar10 tiny"]
    # a star only where a like-for-like row exists: cifar10 1chip, not gtsrb cpu; none among the synthetic
    assert [t.get_text() for t in synth.texts if "paper" in t.get_text()] == []
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "ours, real data", "ours, synthetic stand-in", "paper, TN 1-chip (measured)"]


def test_report_png_one_real_row(roots):
    from tnpipe.report.plot import accuracy_figure

    write(roots["results"], "fsdd", "tiny", False)
    fig = accuracy_figure(collect(roots["results"]))
    assert len(fig.axes) == 1 and "no paper point" in fig.axes[0].get_title(loc="left")
    assert assert_readable(fig) == ["fsdd tiny"]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["ours, real data"]   # no star not drawn


def test_report_png_crowded_labels_never_overlap(nine):
    from tnpipe.report.plot import accuracy_figure

    fig = accuracy_figure(collect(nine))        # eight synthetic points on ONE spot, two real ones
    labels = assert_readable(fig)
    assert len(labels) == 10 and "vad 1chip (stand-in)" in labels
    assert not any("paper" in t for t in labels)   # the stand-in vad 1chip is not like-for-like


def test_spread_keeps_gap_order_and_bounds():
    from tnpipe.report.labels import spread

    assert spread([0.5, 0.5, 0.5], 0.1) == pytest.approx([0.5, 0.6, 0.7])
    assert spread([0.95, 0.99, 0.2], 0.1) == pytest.approx([0.9, 1.0, 0.2])   # pushed down from the top
    assert spread([0.1, 0.3], 0.1) == pytest.approx([0.1, 0.3])                 # room enough: untouched
    assert spread([0.5] * 21, 0.1) == pytest.approx([k / 20 for k in range(21)])  # too many: evenly spread


def test_floorplan_colourbar_coordinates_notation(three):
    from tnpipe.report.floorplan import floorplan_figure

    rep = collect(three)
    fig = floorplan_figure(next(r for r in rep.rows if r.result.floorplan is not None))
    assert fig._suptitle.get_text() == ("cifar10 (synthetic stand-in) tiny: 6 cores on 2 chips; "
                                        "busiest core 120 spikes/frame")
    bars = [ax for ax in fig.axes if ax.get_ylabel() == "spikes / frame per core\n(log scale)"]
    assert len(bars) == 1
    panels = [ax for ax in fig.axes if ax.get_xlabel() == "core x"]
    assert len(panels) == 4 and [ax.get_ylabel() for ax in panels] == ["core y", "", "core y", ""]
    assert list(panels[0].get_xticks()[:2]) == [0, 16]
    image = panels[2].images[0]                  # chip 0's spikes: log norm up to the busiest core
    assert (image.norm.vmax, image.norm.vmin) == (120.0, 1.0)
    texts = " ".join(t.get_text() for ax in fig.axes for t in ax.texts)
    assert "S-F(g)  3x3 spatial filter" in texts and "F features in g groups" in texts
    legend = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert legend == ["L1 S", "L2 N", "L3 P", "unused core", "used core, 0 spikes"]


def test_floorplan_one_chip_corner_view(roots):
    from tnpipe.report.floorplan import floorplan_figure

    fp = {"width": 64, "height": 64, "chips": 1, "layer_names": ["L1 S-8"], "core_chip": [0],
          "core_x": [3], "core_y": [2], "core_layer": [0], "core_spikes_per_frame": [4.0]}
    write(roots["results"], "fsdd", "tiny", False, floorplan=fp)
    fig = floorplan_figure(collect(roots["results"]).rows[0])
    assert "1 core on 1 chip;" in fig._suptitle.get_text()
    assert fig.axes[0].get_title() == "chip 0: 1 core by layer\n(x 0..15, y 0..15 shown of the 64 x 64 chip)"


# ----------------------------------------------------------------- training curves (issue 13)

METRICS = """epoch,loss,train_acc,test_acc,lr,seconds,spike_rate_L1,spike_rate_L2
1,2.25,0.30,0.35,0.1,10.5,0.41,0.30
2,1.50,0.50,0.55,0.08,10.1,0.38,0.29
3,1.25,0.60,0.625,0.05,9.9,0.36,0.27
"""


def test_curves_from_metrics_csv(three, tmp_path):
    (three / "cifar10" / "1chip" / "metrics.csv").write_text(METRICS)
    (three / "gtsrb" / "cpu" / "metrics.csv").write_text(METRICS.replace("0.625", "62.5"))
    out = tmp_path / "out"
    res = runner.invoke(app, ["report", "--all", "--curves", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (out / "curves").iterdir()) == ["cifar10-1chip.png"]
    assert (out / "curves" / "cifar10-1chip.png").read_bytes()[:4] == b"\x89PNG"
    notes = [line for line in res.stderr.splitlines() if line.startswith("note:")]
    assert notes == [f"note: {three / 'fsdd' / 'tiny'}: no metrics.csv; no curves for fsdd tiny",
                     f"note: {three / 'cifar10-synthetic' / 'tiny'}: no metrics.csv; no curves for "
                     "cifar10-synthetic tiny"]
    assert (f"warning: {three / 'gtsrb' / 'cpu' / 'metrics.csv'}: metrics.csv test_acc spans 0.35..62.5; "
            "expected fractions in 0..1; curves not drawn") in res.stderr
    assert not (out / "report.png").exists()      # --curves alone draws no report.png


def test_curves_figure_panels(three):
    from tnpipe.report.curves import plot_curves, read_metrics

    path = three / "cifar10" / "1chip" / "metrics.csv"
    path.write_text(METRICS)
    m = read_metrics(path)
    assert list(m["epoch"]) == [1, 2, 3] and list(m["test_acc"]) == [0.35, 0.55, 0.625]
    row = next(r for r in collect(three).rows if r.network == "1chip")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    plot_curves(row, m, three / "c.png")
    fig = plt.figure()
    plt.close(fig)
    assert (three / "c.png").stat().st_size > 1000


@pytest.mark.parametrize("text,msg", [
    ("epoch,train_acc,loss,test_acc,lr,seconds\n1,0.5,2.0,0.5,0.1,1\n",
     "metrics.csv columns start epoch, train_acc, loss, test_acc, lr, seconds; expected epoch, loss, train_acc, "
     "test_acc, lr, seconds"),
    ("epoch,loss,train_acc,test_acc,lr,seconds\n", "metrics.csv has no epoch rows yet"),
    ("epoch,loss,train_acc,test_acc,lr,seconds\n1,2.0,0.5,,0.1,1\n",
     "metrics.csv line 2 column 'test_acc' is empty; expected a number"),
    ("epoch,loss,train_acc,test_acc,lr,seconds\n1,2.0,0.5,0.5,fast,1\n",
     "metrics.csv line 2 column 'lr' is 'fast'; expected a number"),
    ("epoch,loss,train_acc,test_acc,lr,seconds,acc_L1\n1,2.0,0.5,0.5,0.1,1,3\n",
     "metrics.csv column 'acc_L1'; expected only spike_rate_<layer> after seconds"),
    ("", "metrics.csv unreadable (EmptyDataError: No columns to parse from file)"),
])
def test_read_metrics_errors(tmp_path, text, msg):
    from tnpipe.errors import ArtifactError
    from tnpipe.report.curves import read_metrics

    p = tmp_path / "metrics.csv"
    p.write_text(text)
    with pytest.raises(ArtifactError) as e:
        read_metrics(p)
    assert str(e.value) == f"{p}: {msg}"


def test_like_for_like_needs_the_whole_official_test_split(roots):
    """The paper's 1-chip row compares with our 1chip network only on every frame of the
    benchmark's official test split: on a subset's 2000 test frames it is for reference only."""
    r = roots["results"]
    write(r, "cifar10", "1chip", False, frames=2000)
    write(r, "gtsrb", "1chip", False, frames=12_630)
    rows = {row.dataset: row for row in collect(r).rows}
    assert not rows["cifar10"].paper_like_for_like and rows["cifar10"].paper_label == "TN 1-chip (ref. only)"
    assert rows["gtsrb"].paper_like_for_like and rows["gtsrb"].paper_label == "TN 1-chip"


# --------------------------------------------------------------------- write policy (issue 23)


def test_filtered_all_never_replaces_the_full_report(three):
    """`report --all --network cpu` prints a filtered view; results/report.* stay the full report."""
    full = runner.invoke(app, ["report", "--all"])
    assert full.exit_code == 0, full.output
    before = {f: (three / f).read_bytes() for f in ("report.md", "report.csv")}
    res = runner.invoke(app, ["report", "--all", "--network", "cpu"])
    assert res.exit_code == 0, res.output
    assert "gtsrb" in res.stdout and "cifar10" not in res.stdout                 # the filtered view is printed
    assert "nothing written" in res.stderr and "wrote" not in res.stderr
    assert {f: (three / f).read_bytes() for f in before} == before               # the full report is untouched
    # --out naming the results root with a filter is refused, even with --force, before anything is printed
    for extra in ([], ["--force"]):
        bad = runner.invoke(app, ["report", "--all", "--network", "cpu", "--out", str(three)] + extra)
        assert bad.exit_code == 1
        assert bad.stderr.startswith(f"error: {three}: the results root holds the full report")
        assert bad.stdout == ""
        assert {f: (three / f).read_bytes() for f in before} == before
    named = runner.invoke(app, ["report", "gtsrb", "--out", str(three), "--force"])
    assert named.exit_code == 1 and {f: (three / f).read_bytes() for f in before} == before
    # negative control: unfiltered --all does rewrite it (4 rows)
    (three / "report.csv").write_text("stale\n")
    again = runner.invoke(app, ["report", "--all"])
    assert again.exit_code == 0 and len(list(csv.DictReader(io.StringIO((three / "report.csv").read_text())))) == 4


def test_filtered_view_goes_elsewhere_only_with_out(three, tmp_path):
    out = tmp_path / "cpu-only"
    res = runner.invoke(app, ["report", "--all", "--network", "cpu", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert [r["network"] for r in csv.DictReader(io.StringIO((out / "report.csv").read_text()))] == ["cpu"]
    pics = runner.invoke(app, ["report", "--all", "--network", "cpu", "--plot"])
    assert pics.exit_code == 1 and "pass --out DIR for this filtered view" in pics.stderr


def test_write_policy_lives_in_report_package(three):
    from tnpipe.errors import ArtifactError
    from tnpipe.report import collect, destination, write_report

    part = collect(three, networks=["cpu"])
    assert not part.full and collect(three).full
    assert destination(part, None) == (None, False)
    assert destination(collect(three), None) == (three, True)
    with pytest.raises(ArtifactError, match="a filtered view is never written there"):
        write_report(part, three, overwrite=True)
    assert not (three / "report.md").exists()


def test_an_archive_folder_is_reported_only_as_its_own_root(three):
    """Results checked in with the code (a folder holding .tnpipe-archive, e.g. results/full-scale)
    never join the report of the results root around them, but are the report of their own root."""
    from tnpipe.report.collect import ARCHIVE_MARKER

    archive = three / "full-scale"
    write(archive, "svhn", "1chip", False)
    assert "svhn" in {r.dataset for r in collect(three).rows}      # negative control: no marker yet
    (archive / ARCHIVE_MARKER).write_text("checked in\n")
    assert "svhn" not in {r.dataset for r in collect(three).rows}
    assert [r.dataset for r in collect(archive).rows] == ["svhn"]
