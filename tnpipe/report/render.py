"""The report's frame rendered as report.csv, report.md and rich tables for the terminal.

Every function here reads `report.frame` (tnpipe.report.frame) and the column list of
tnpipe.report.columns: no output computes a value of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tnpipe.atomic import write_text
from tnpipe.report import columns as C
from tnpipe.report.collect import Report
from tnpipe.report.notes import footnotes, provenance

TERMINAL_WIDTH = 80   # the compact tables are checked to fit this many columns (tests, at 80 and 100)


def render_csv(report: Report) -> str:
    """Every column of the frame, raw values (empty cell for a missing one)."""
    frame = report.frame[list(C.CSV_KEYS)]
    return frame.to_csv(index=False, lineterminator="\n", na_rep="")


def cells(report: Report, cols: Sequence[C.Column]) -> list[list[str]]:
    """The formatted text of `cols` for each row of the frame."""
    frame = report.frame
    return [[c.text(v) for c, v in zip(cols, rec, strict=True)]
            for rec in frame[[c.key for c in cols]].itertuples(index=False, name=None)]


def render_markdown(report: Report) -> str:
    cols = C.MARKDOWN
    out = ["# tnpipe report", ""]
    out += [f"- {line}" for line in provenance(report)]
    out.append("")
    out.append("| " + " | ".join(c.title for c in cols) + " |")
    out.append("|" + "|".join("---:" if c.numeric else "---" for c in cols) + "|")
    out += ["| " + " | ".join(row) + " |" for row in cells(report, cols)]
    out.append("")
    # "\\*" so that the model-estimate footnote is not read as a list item
    out += [(("\\" + n) if n.startswith("*") else n) + "  " for n in footnotes(report)]
    if report.skipped:
        out += ["", "Skipped (unreadable) result files:", ""]
        out += [f"- {why}" for _, why in report.skipped]
    return "\n".join(out) + "\n"


def render_table(report: Report, cols: Sequence[C.Column] = C.WIDE, title: str | None = None,
                 caption: Sequence[str] | None = None):
    """A rich Table of `cols` (synthetic rows dimmed); headers fold onto two lines to stay narrow."""
    from rich import box
    from rich.table import Table

    title = title or "tnpipe report: ours (model estimate*) beside Esser et al. 2016 Table 3†"
    caption = footnotes(report) + provenance(report) if caption is None else caption
    table = Table(title=title, caption="\n".join(caption) or None, caption_justify="left",
                  box=box.SIMPLE_HEAD, padding=(0, 0), show_edge=False)
    for c in cols:
        table.add_column(c.title.replace(" ", "\n", 1), justify="right" if c.numeric else "left",
                         style="cyan" if c.key.startswith("paper") else None, no_wrap=True)
    from rich.text import Text

    for synthetic, row in zip(report.frame["synthetic"], cells(report, cols), strict=True):
        # Text: a cell is shown literally ("[red]" in a network name is not rich markup)
        table.add_row(*(Text(c) for c in row), style="dim" if synthetic else None)
    return table


def tables(report: Report, wide: bool = False) -> list:
    """What `tnpipe report` prints: by default two tables that fit 80 columns (ours, then
    the paper's row beside each), or with `wide` one table with every column (as report.md).
    Their notes are printed after them (print_table), wrapped to the terminal, not the table."""
    if wide:
        return [render_table(report, C.WIDE, caption=[])]
    ours = render_table(report, C.OURS, title="tnpipe report: ours (* model estimate)", caption=[])
    paper = render_table(report, C.PAPER, title="beside Esser et al. 2016 Table 3 († paper, TN 1-chip)", caption=[])
    return [ours, paper]


def print_table(report: Report, console, wide: bool = False) -> None:
    """Print the report's tables, each no narrower than its widest cell needs: numbers never
    fold or shorten to "…"; a terminal narrower than that wraps whole lines instead (piped
    output stays one line per row). The compact tables need at most TERMINAL_WIDTH columns.
    Then the footnotes and provenance, wrapped to the terminal's width."""
    for table in tables(report, wide):
        need = console.measure(table, options=console.options.update_width(1000)).maximum
        # Console.print(width=) is clamped to the console's width; widen, then restore the
        # console's own setting (None = follow the terminal/COLUMNS), not the width it had now
        pinned = getattr(console, "_width", None)
        console.width = max(console.width, need)
        try:
            console.print(table)
        finally:
            console._width = pinned
    legend = [] if wide else [C.LEGEND]
    for line in legend + footnotes(report) + provenance(report):
        console.print(line, highlight=False, markup=False)


def write_files(report: Report, out_dir: Path | None = None) -> dict[str, Path]:
    """Write report.md and report.csv into `out_dir` (default: the results root)."""
    out_dir = report.root if out_dir is None else Path(out_dir)
    written = {"md": out_dir / "report.md", "csv": out_dir / "report.csv"}
    write_text(written["md"], render_markdown(report))
    write_text(written["csv"], render_csv(report))
    return written
