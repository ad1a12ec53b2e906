"""The report's columns: machine name (csv header), title and unit (people), formatting.

Titles carry their footnote marks: * = a model estimate of ours (tnpipe's energy model,
nothing measured on silicon), † = the paper's Table 3 value. Which columns each output
shows is decided here too: MARKDOWN (every table column), OURS and PAPER (the two
terminal tables that fit 80 columns, abbreviations spelled out in LEGEND), WIDE (one
terminal table, as report.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tnpipe.report.frame import FIELDS


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def fmt_sig(x: float | None, sig: int = 4) -> str:
    """A number with `sig` significant digits in fixed point (never 1e+03): 1249, 204.4, 0.0004120."""
    if _missing(x):
        return "-"
    if x == 0:
        return "0"
    decimals = min(8, max(0, sig - 1 - math.floor(math.log10(abs(x)))))
    return f"{x:.{decimals}f}"


def fmt_printed(x: float | None) -> str:
    """A paper value as printed (6 significant digits covers every Table 3 entry): 6108.6, 26.1."""
    return "-" if _missing(x) else f"{x:g}"


def fmt_pct(x: float | None) -> str:
    return "-" if _missing(x) else f"{100 * x:.2f}%"


def fmt_text(x: Any) -> str:
    return "-" if _missing(x) or x == "" else str(x)


@dataclass(frozen=True)
class Column:
    key: str                          # the frame's column and the csv header (machine name)
    title: str                        # table / markdown header (people), with its footnote mark
    fmt: Callable[[Any], str]         # raw value -> cell text
    numeric: bool = True              # right-aligned

    def text(self, value: Any) -> str:
        return self.fmt(value)


_COLUMNS = (
    Column("data", "data", fmt_text, numeric=False),
    Column("dataset", "dataset", fmt_text, numeric=False),
    Column("network", "network", fmt_text, numeric=False),
    Column("accuracy_chip", "acc chip", fmt_pct),
    Column("accuracy_graph", "acc graph", fmt_pct),
    Column("agreement", "agree", fmt_pct),
    Column("exact", "exact‡", fmt_text, numeric=False),
    Column("cores", "cores", fmt_text),
    Column("chips", "chips", fmt_text),
    Column("fps", "fps*", fmt_sig),
    Column("mw", "mW*", fmt_sig),
    Column("fps_per_w", "fps/W*", fmt_sig),
    Column("uj_per_frame", "uJ/frame*", fmt_sig),
    Column("paper_row", "paper row†", fmt_text, numeric=False),
    Column("paper_accuracy", "paper acc†", fmt_pct),
    Column("paper_cores", "paper cores†", fmt_text),
    Column("paper_fps", "paper fps†", fmt_printed),
    Column("paper_mw", "paper mW†", fmt_printed),
    Column("paper_fps_per_w", "paper fps/W†", fmt_printed),
)
# NeuroBench's metric names (result.json "neurobench"; tnpipe/nn/nb_metrics.py): wide table only
_NEUROBENCH = (
    Column("nb_footprint_bytes", "NB footprint B", fmt_text),
    Column("nb_connection_sparsity", "NB conn sparsity", fmt_sig),
    Column("nb_activation_sparsity", "NB act sparsity", fmt_sig),
    Column("nb_synops_dense", "NB synops dense", fmt_sig),
    Column("nb_synops_effective", "NB synops eff", fmt_sig),
)
COLUMN: dict[str, Column] = {c.key: c for c in (*_COLUMNS, *_NEUROBENCH)}
assert set(COLUMN) <= set(FIELDS), "every titled column is a frame column"


def pick(*keys: str) -> tuple[Column, ...]:
    return tuple(COLUMN[k] for k in keys)


MARKDOWN = _COLUMNS
WIDE = (*_COLUMNS, *_NEUROBENCH)

# ---- the compact terminal tables: they fit 80 columns (tested at 80 and 100), so a few cells
# are abbreviated; LEGEND (printed under them) spells each abbreviation out
DATA_CODE = {"real": "r", "stand-in": "i", "synthetic": "s"}
EXACT_CODE = {"votes+spikes": "v+s", "votes": "v"}


def _code(codes: dict[str, str]) -> Callable[[Any], str]:
    return lambda x: codes.get(fmt_text(x), fmt_text(x))


def _paper_row(x: Any) -> str:
    return "ref. only" if "ref. only" in fmt_text(x) else fmt_text(x)


_DATA = Column("data", "data", _code(DATA_CODE), numeric=False)
# ours: acc graph, chips (= cores / 4096, rounded up) and uJ/frame (= 1e6 / (fps/W)) stay in
# --wide, report.md and report.csv
OURS = (_DATA, *pick("dataset", "network", "accuracy_chip", "agreement"),
        Column("exact", "exact‡", _code(EXACT_CODE), numeric=False),
        *pick("cores", "fps", "mw", "fps_per_w"))
# the second terminal table: the paper's row beside each of ours
PAPER = (_DATA, *pick("dataset", "network"), Column("paper_row", "paper row†", _paper_row, numeric=False),
         *pick("paper_accuracy", "paper_cores", "paper_fps", "paper_mw", "paper_fps_per_w"))
LEGEND = ("data: r = real, i = stand-in (real data in place of the paper's), s = synthetic; exact‡: v+s = "
          "votes+spikes, v = votes; paper row† 'ref. only' = the paper's 1-chip figures shown for reference "
          "(not like-for-like); acc graph, chips and uJ/frame: with --wide, in report.md and report.csv")
CSV_KEYS = tuple(FIELDS)
