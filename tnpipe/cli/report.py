"""`tnpipe report`: every RunResult under the results root as one table, beside the paper's."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from tnpipe.cli.app import app, user_errors


class Format(str, Enum):
    table = "table"
    md = "md"
    csv = "csv"


def print_skipped(skipped) -> None:
    from tnpipe.log import err

    for _path, why in skipped:
        err.print(f"[yellow]skipped:[/] {why}", highlight=False, soft_wrap=True)


def show_report(report, fmt: str = "table", out_dir: Path | None = None, plot: bool = False) -> None:
    """Print `report` on stdout in `fmt`, write report.md/.csv (and pictures) to `out_dir`.

    Unreadable result files are named on stderr. Shared by `report` and `run`."""
    from tnpipe.log import console, err
    from tnpipe.report import print_table, render_csv, render_markdown, write_files

    print_skipped(report.skipped)
    if fmt == "table":
        print_table(report, console)
    elif fmt == "md":
        console.out(render_markdown(report), end="", highlight=False)
    else:
        console.out(render_csv(report), end="", highlight=False)
    written = list(write_files(report, out_dir).values())
    if plot:
        from tnpipe.report.plot import write_plots

        pics, warnings = write_plots(report, out_dir)
        written += pics
        for w in warnings:
            err.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    err.print("wrote " + ", ".join(str(p) for p in written), highlight=False, soft_wrap=True)


@app.command()
def report(
    names: Annotated[list[str] | None, typer.Argument(help="Datasets to report (real and synthetic rows of each); see --all.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every result.json under the results root.")] = False,
    network: Annotated[list[str] | None, typer.Option(help="Only these networks (repeatable), e.g. --network 1chip.")] = None,
    results_root: Annotated[Path | None, typer.Option(help="Where to look for result.json, recursively (default results/, or $TNPIPE_RESULTS_ROOT).")] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for report.md, report.csv, report.png, floorplans/ (default: the results root).")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="What to print on stdout.")] = Format.table,
    plot: Annotated[bool, typer.Option(help="Also draw report.png (accuracy vs fps/W) and floorplans/<dataset>-<network>.png.")] = False,
) -> None:
    """Accuracy, cores, chips, fps, mW, fps/W, uJ/frame of every deployed network, beside Esser et al. 2016 Table 3."""
    from tnpipe.errors import DataError
    from tnpipe.report import NoResults, collect

    with user_errors():
        if not all_ and not names:
            from tnpipe.data import DATASET_NAMES

            raise DataError(f"name at least one dataset or pass --all; valid names: {', '.join(DATASET_NAMES)}")
        try:
            rep = collect(results_root, names=None if all_ else names, networks=network or None)
        except NoResults as e:
            print_skipped(e.skipped)
            raise
        show_report(rep, fmt.value, out, plot)
        if rep.skipped:
            from tnpipe.log import err

            err.print(f"[yellow]{len(rep.skipped)} result file(s) skipped[/] (named above); "
                      f"{len(rep.rows)} reported", highlight=False)
