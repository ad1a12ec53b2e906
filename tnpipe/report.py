"""Stage 4, `tnpipe report`: every RunResult under the results root -> one table.

The report reads RunResults ONLY (`result.json`, loaded and verified by
`tnpipe.artifacts.load_result`); it never opens a checkpoint, a core map or a dataset.
For each result it shows, per dataset and network:

    ours   accuracy on the simulated chip, accuracy of the training graph (hardware mode),
           agreement between the two, cores, chips, and the energy model's fps, mW,
           fps/W and uJ/frame (labelled "model estimate": nothing here is measured on silicon)
    paper  Esser et al. 2016, Table 3, "TN 1-chip" column: accuracy, cores, fps, mW, fps/W
           (tnpipe/report_data/paper_table3.csv). They are like-for-like only for our
           "1chip" networks; for any other network they are shown as a reference and the
           row says so.

Rows from synthetic stand-ins carry data = "synthetic", are sorted after every real row,
and are never presented as a result on the benchmark. Rows on real data that stands in for
the paper's (e.g. VAD from FSDD speech and generated noise) carry data = "stand-in", sort
between the two, are never like-for-like with the paper, and a footnote says what replaced what.

Derived figures (the paper prints no energy per frame): uJ/frame = 1000 * mW / fps
(mW divided by frames/s is mJ per frame), e.g. CIFAR-10 1-chip 1000 * 204.4 / 1249 = 163.7 uJ.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from tnpipe import paths
from tnpipe.artifacts import environment, load_result
from tnpipe.atomic import write_text
from tnpipe.errors import ArtifactError, DataError, TnpipeError

PAPER_CITATION = (
    "Esser et al., Convolutional networks for fast, energy-efficient neuromorphic computing, "
    "PNAS 113(41):11441-11446 (2016), Table 3 ('TN 1-chip' networks, measured on the chip)"
)
PAPER_NETWORK = "1chip"      # our recipe network that is the paper's "TN 1-chip" network
MODEL_NOTE = "fps, mW, fps/W and uJ/frame of ours are model estimates (tnpipe energy model), not measurements"
# networks in the order the paper grows them, then the project's own small ones
NETWORK_ORDER = ("half", "1chip", "2chip", "4chip", "8chip", "cpu", "tiny")


# ------------------------------------------------------------------------------ paper table


@dataclass(frozen=True)
class PaperRow:
    """One dataset's row of the paper's Table 3 (accuracies as fractions 0..1)."""

    dataset: str
    accuracy: float          # TN 1-chip accuracy
    cores: int
    fps: float
    mw: float
    fps_per_w: float
    best_accuracy: float     # largest network (up to 8 chips, simulated)
    best_cores: int
    sota_method: str
    sota_accuracy: float
    note: str = ""

    @property
    def uj_per_frame(self) -> float:
        """Not printed in the paper: derived as mW / fps (x1000 for uJ)."""
        return self.mw * 1e3 / self.fps


def load_paper_table(path: Path | None = None) -> dict[str, PaperRow]:
    """The paper's Table 3 keyed by our dataset name; `#` lines are the citation."""
    if path is None:
        text = resources.files("tnpipe").joinpath("report_data/paper_table3.csv").read_text(encoding="utf-8")
        where = "tnpipe/report_data/paper_table3.csv"
    else:
        text, where = Path(path).read_text(encoding="utf-8"), str(path)
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    table: dict[str, PaperRow] = {}
    for i, rec in enumerate(csv.DictReader(lines), start=2):
        try:
            table[rec["dataset"]] = PaperRow(
                dataset=rec["dataset"], accuracy=float(rec["tn1_accuracy"]), cores=int(rec["tn1_cores"]),
                fps=float(rec["tn1_fps"]), mw=float(rec["tn1_mw"]), fps_per_w=float(rec["tn1_fps_per_w"]),
                best_accuracy=float(rec["best_accuracy"]), best_cores=int(rec["best_cores"]),
                sota_method=rec["sota_method"], sota_accuracy=float(rec["sota_accuracy"]),
                note=rec.get("note") or "",
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ArtifactError(f"{where}: data row {i} unreadable ({e.__class__.__name__}: {e})") from e
    return table


# ---------------------------------------------------------------------------- collecting


class NoResults(ArtifactError):
    """Nothing readable to report; `skipped` names the unreadable files (the CLI lists them)."""

    def __init__(self, message: str, skipped: list[tuple[Path, str]]):
        super().__init__(message)
        self.skipped = skipped


@dataclass
class Row:
    """One deployed network: its RunResult and, where the paper has the dataset, its Table 3 row."""

    result: dict[str, Any]
    path: Path
    paper: PaperRow | None

    @property
    def dataset(self) -> str:
        name = self.result["dataset"]
        return name[: -len(paths.SYNTHETIC_SUFFIX)] if name.endswith(paths.SYNTHETIC_SUFFIX) else name

    @property
    def network(self) -> str:
        return self.result["network"]

    @property
    def synthetic(self) -> bool:
        return bool(self.result["synthetic"])

    @property
    def stand_in(self) -> str:
        return "" if self.synthetic else str(self.result.get("stand_in") or "")

    @property
    def data(self) -> str:
        return "synthetic" if self.synthetic else "stand-in" if self.stand_in else "real"

    @property
    def paper_like_for_like(self) -> bool:
        """The paper's numbers are for its 1-chip networks; only our "1chip" matches them."""
        return self.paper is not None and self.network == PAPER_NETWORK and not self.stand_in

    @property
    def paper_label(self) -> str:
        if self.paper is None:
            return "-"
        return "TN 1-chip" if self.paper_like_for_like else "TN 1-chip (ref. only)"


@dataclass
class Report:
    rows: list[Row]
    skipped: list[tuple[Path, str]] = field(default_factory=list)   # (file, why) of unreadable results
    root: Path = Path("results")
    env: dict[str, Any] = field(default_factory=dict)


def find_results(root: Path) -> list[Path]:
    """Every result.json under `root`, recursively, in a stable order."""
    root = Path(root)
    if not root.is_dir():
        raise ArtifactError(
            f"{root}: results root not found; run `tnpipe deploy RUN_DIR` or `tnpipe run` first, "
            "or point --results-root / $TNPIPE_RESULTS_ROOT at the folder that holds them"
        )
    found = sorted(p for p in root.rglob("result.json") if p.is_file())
    if not found:
        raise ArtifactError(
            f"{root}: no result.json under the results root; run `tnpipe deploy RUN_DIR` or `tnpipe run` first"
        )
    return found


def _order_key(row: Row) -> tuple:
    from tnpipe.data import DATASET_NAMES

    ds = DATASET_NAMES.index(row.dataset) if row.dataset in DATASET_NAMES else len(DATASET_NAMES)
    net = NETWORK_ORDER.index(row.network) if row.network in NETWORK_ORDER else len(NETWORK_ORDER)
    # real before synthetic, always: a synthetic row must never sit among the real ones
    return (row.synthetic, bool(row.stand_in), ds, row.dataset, net, row.network, str(row.path))


def check_names(names: Iterable[str]) -> list[str]:
    from tnpipe.data import DATASET_NAMES

    names = list(names)
    for n in names:
        if n not in DATASET_NAMES:
            raise DataError(f"unknown dataset {n!r}; valid names: {', '.join(DATASET_NAMES)}")
    return names


def collect(
    root: Path | None = None,
    names: Sequence[str] | None = None,
    networks: Sequence[str] | None = None,
    synthetic: bool | None = None,
    files: Sequence[Path] | None = None,
) -> Report:
    """Load RunResults under `root` (or exactly `files`), keeping those that match the filters.

    names: dataset names (both real and synthetic rows of each); networks: recipe network
    names; synthetic: True/False keeps only that kind, None keeps both.
    A malformed or older-version result.json is skipped and listed in `Report.skipped`;
    if nothing readable is left, ArtifactError (naming the root and the skipped count).
    """
    root = paths.results_root() if root is None else Path(root)
    wanted = set(check_names(names)) if names else None
    candidates = [Path(f) for f in files] if files is not None else find_results(root)
    paper = load_paper_table()
    rows: list[Row] = []
    skipped: list[tuple[Path, str]] = []
    for p in candidates:
        try:
            res = load_result(p)
        except TnpipeError as e:
            skipped.append((p, str(e)))
            continue
        row = Row(res, p, None)
        row.paper = paper.get(row.dataset)
        if wanted is not None and row.dataset not in wanted:
            continue
        if networks and row.network not in networks:
            continue
        if synthetic is not None and row.synthetic != synthetic:
            continue
        rows.append(row)
    if not rows:
        what = []
        if names:
            what.append(f"dataset {', '.join(names)}")
        if networks:
            what.append(f"network {', '.join(networks)}")
        if synthetic is not None:
            what.append("synthetic" if synthetic else "real data")
        filt = f" for {'; '.join(what)}" if what else ""
        bad = f" ({len(skipped)} result.json skipped as unreadable)" if skipped else ""
        raise NoResults(f"{root}: no readable result{filt}{bad}", skipped)
    rows.sort(key=_order_key)
    return Report(rows=rows, skipped=skipped, root=root, env=environment())


# ------------------------------------------------------------------------------- columns


def fmt_sig(x: float | None, sig: int = 4) -> str:
    """A number with `sig` significant digits in fixed point (never 1e+03): 1249, 204.4, 0.0004120."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if x == 0:
        return "0"
    decimals = min(8, max(0, sig - 1 - math.floor(math.log10(abs(x)))))
    return f"{x:.{decimals}f}"


def fmt_printed(x: float | None) -> str:
    """A paper value as printed (6 significant digits covers every Table 3 entry): 6108.6, 26.1."""
    return "-" if x is None else f"{x:g}"


def fmt_pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


@dataclass(frozen=True)
class Column:
    key: str          # csv header (machine name)
    title: str        # table / markdown header (people)
    text: Any         # Row -> str (table, markdown)
    value: Any        # Row -> raw value (csv)
    numeric: bool = True


def _paper(attr: str):
    return lambda r: None if r.paper is None else getattr(r.paper, attr)


COLUMNS: tuple[Column, ...] = (
    Column("data", "data", lambda r: r.data, lambda r: r.data, numeric=False),
    Column("dataset", "dataset", lambda r: r.dataset, lambda r: r.dataset, numeric=False),
    Column("network", "network", lambda r: r.network, lambda r: r.network, numeric=False),
    Column("accuracy_chip", "acc chip", lambda r: fmt_pct(r.result["accuracy_chip"]), lambda r: r.result["accuracy_chip"]),
    Column("accuracy_graph", "acc graph", lambda r: fmt_pct(r.result["accuracy_graph"]), lambda r: r.result["accuracy_graph"]),
    Column("agreement", "agree", lambda r: fmt_pct(r.result["agreement"]), lambda r: r.result["agreement"]),
    Column("cores", "cores", lambda r: str(r.result["cores"]), lambda r: r.result["cores"]),
    Column("chips", "chips", lambda r: str(r.result["chips"]), lambda r: r.result["chips"]),
    Column("fps", "fps*", lambda r: fmt_sig(r.result["fps"]), lambda r: r.result["fps"]),
    Column("mw", "mW*", lambda r: fmt_sig(r.result["mw"]), lambda r: r.result["mw"]),
    Column("fps_per_w", "fps/W*", lambda r: fmt_sig(r.result["fps_per_w"]), lambda r: r.result["fps_per_w"]),
    Column("uj_per_frame", "uJ/frame*", lambda r: fmt_sig(r.result["uj_per_frame"]), lambda r: r.result["uj_per_frame"]),
    Column("paper_row", "paper row†", lambda r: r.paper_label, lambda r: r.paper_label, numeric=False),
    Column("paper_accuracy", "paper acc†", lambda r: fmt_pct(_paper("accuracy")(r)), _paper("accuracy")),
    Column("paper_cores", "paper cores†", lambda r: "-" if r.paper is None else str(r.paper.cores), _paper("cores")),
    Column("paper_fps", "paper fps†", lambda r: fmt_printed(_paper("fps")(r)), _paper("fps")),
    Column("paper_mw", "paper mW†", lambda r: fmt_printed(_paper("mw")(r)), _paper("mw")),
    Column("paper_fps_per_w", "paper fps/W†", lambda r: fmt_printed(_paper("fps_per_w")(r)), _paper("fps_per_w")),
)
# csv-only provenance columns (the table stays readable)
CSV_EXTRA: tuple[Column, ...] = (
    Column("accuracy_float", "", None, lambda r: r.result.get("accuracy_float")),
    Column("frames", "", None, lambda r: r.result["frames"]),
    Column("latency_ticks", "", None, lambda r: r.result["latency_ticks"]),
    Column("tick_hz", "", None, lambda r: r.result["tick_hz"]),
    Column("energy_profile", "", None, lambda r: r.result["energy_model"].get("profile", r.result["energy_model"].get("name", ""))),
    Column("model_estimate", "", None, lambda r: True),
    Column("paper_uj_per_frame_derived", "", None, _paper("uj_per_frame")),
    Column("git_sha", "", None, lambda r: r.result["git_sha"]),
    Column("result_date", "", None, lambda r: r.result["date"]),
    Column("tnpipe_version", "", None, lambda r: r.result["versions"].get("tnpipe", "")),
    Column("torch_version", "", None, lambda r: r.result["versions"].get("torch", "")),
    Column("device", "", None, lambda r: r.result.get("device") or (r.result.get("simulator") or {}).get("device", "")),
    Column("result", "", None, lambda r: str(r.path)),
)


def footnotes(report: Report) -> list[str]:
    notes = [
        f"* {MODEL_NOTE}.",
        f"† paper: {PAPER_CITATION}. Like-for-like only on rows whose network is {PAPER_NETWORK!r} "
        "(paper row 'TN 1-chip'); on other networks or stand-in data ('ref. only') they are the paper's 1-chip "
        "numbers, shown for reference.",
    ]
    if any(r.synthetic for r in report.rows):
        notes.append("synthetic rows come from the generated stand-in datasets: they test the pipeline "
                     "and are NOT results on the benchmark.")
    for ds, what in sorted({(r.dataset, r.stand_in) for r in report.rows if r.stand_in}):
        notes.append(f"stand-in: {ds}: {what}; not the paper's benchmark data.")
    for p in sorted({r.paper.note for r in report.rows if r.paper is not None and r.paper.note}):
        notes.append(f"paper note: {p}.")
    return notes


def provenance(report: Report) -> list[str]:
    """Where the report and its results came from: this environment, and each result's own."""
    env = report.env
    lines = [
        f"report written {env.get('date', '?')} by tnpipe {env.get('versions', {}).get('tnpipe', '?')} "
        f"at git {env.get('git_sha', '?')} on {env.get('machine', '?')} "
        f"({', '.join(f'{k} {v}' for k, v in env.get('versions', {}).items())})",
        f"results root: {report.root}",
    ]
    by_sha: dict[tuple[str, str, str], int] = {}
    for r in report.rows:
        v = r.result["versions"]
        device = r.result.get("device") or (r.result.get("simulator") or {}).get("device", "")
        key = (r.result["git_sha"], ", ".join(f"{k} {v[k]}" for k in sorted(v)), device)
        by_sha[key] = by_sha.get(key, 0) + 1
    for (sha, vers, device), n in sorted(by_sha.items()):
        on = f", simulated on {device}" if device else ""
        lines.append(f"{n} result(s) from git {sha} ({vers}{on})")
    return lines


# ------------------------------------------------------------------------------ rendering


def render_csv(report: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = COLUMNS + CSV_EXTRA
    w.writerow([c.key for c in cols])
    for r in report.rows:
        w.writerow(["" if (v := c.value(r)) is None else v for c in cols])
    return buf.getvalue()


def render_markdown(report: Report) -> str:
    out = ["# tnpipe report", ""]
    out += [f"- {line}" for line in provenance(report)]
    out.append("")
    out.append("| " + " | ".join(c.title for c in COLUMNS) + " |")
    out.append("|" + "|".join("---:" if c.numeric else "---" for c in COLUMNS) + "|")
    for r in report.rows:
        out.append("| " + " | ".join(c.text(r) for c in COLUMNS) + " |")
    out.append("")
    # "\\*" so that the model-estimate footnote is not read as a list item
    out += [(("\\" + n) if n.startswith("*") else n) + "  " for n in footnotes(report)]
    if report.skipped:
        out += ["", "Skipped (unreadable) result files:", ""]
        out += [f"- {why}" for _, why in report.skipped]
    return "\n".join(out) + "\n"


def render_table(report: Report):
    """A rich Table (synthetic rows dimmed and marked); headers on two lines to stay narrow."""
    from rich import box
    from rich.table import Table

    table = Table(title="tnpipe report: ours (model estimate*) beside Esser et al. 2016 Table 3†",
                  caption="\n".join(footnotes(report) + provenance(report)), caption_justify="left",
                  box=box.SIMPLE_HEAD, padding=(0, 1))
    for c in COLUMNS:
        table.add_column(c.title.replace(" ", "\n", 1), justify="right" if c.numeric else "left",
                         style="cyan" if c.key.startswith("paper") else None, no_wrap=True)
    for r in report.rows:
        table.add_row(*(c.text(r) for c in COLUMNS), style="dim" if r.synthetic else None)
    return table


def print_table(report: Report, console) -> None:
    """Print the table no narrower than its widest cell needs: numbers never fold; a narrow
    terminal wraps whole lines instead (piped output stays one line per row)."""
    table = render_table(report)
    need = console.measure(table, options=console.options.update_width(1000)).maximum
    old = console.width
    console.width = max(old, need)   # Console.print(width=) is clamped to the console's width
    try:
        console.print(table)
    finally:
        console.width = old


def write_files(report: Report, out_dir: Path | None = None) -> dict[str, Path]:
    """Write report.md and report.csv (always) into `out_dir` (default: the results root)."""
    out_dir = report.root if out_dir is None else Path(out_dir)
    written = {"md": out_dir / "report.md", "csv": out_dir / "report.csv"}
    write_text(written["md"], render_markdown(report))
    write_text(written["csv"], render_csv(report))
    return written


__all__ = [
    "PAPER_CITATION", "NoResults", "PaperRow", "load_paper_table", "Row", "Report", "find_results", "collect",
    "check_names", "fmt_sig", "fmt_pct", "COLUMNS", "render_csv", "render_markdown", "render_table",
    "print_table", "write_files", "footnotes", "provenance",
]
