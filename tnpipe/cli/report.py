"""`tnpipe report`: RunResults as one table beside the paper's; the full report's files with --all."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from tnpipe.cli.app import app, user_errors
from tnpipe.cli.options import Command


class Format(str, Enum):
    table = "table"
    md = "md"
    csv = "csv"


def print_skipped(skipped) -> None:
    from tnpipe.log import err

    for _path, why in skipped:
        err.print(f"[yellow]skipped:[/] {why}", highlight=False, soft_wrap=True)


def _note(kind: str, lines: Sequence[str]) -> None:
    from rich.markup import escape

    from tnpipe.log import err

    colour = {"note": "dim", "warning": "yellow"}[kind]
    for line in lines:
        err.print(f"[{colour}]{kind}:[/] {escape(line)}", highlight=False, soft_wrap=True)


def print_report(report, fmt: str = "table", wide: bool = False) -> None:
    """`report` on stdout in `fmt` (unreadable result files named on stderr first)."""
    from tnpipe.log import console
    from tnpipe.report import print_table, render_csv, render_markdown

    print_skipped(report.skipped)
    if fmt == "table":
        print_table(report, console, wide=wide)
    elif fmt == "md":
        console.out(render_markdown(report), end="", highlight=False)
    else:
        console.out(render_csv(report), end="", highlight=False)


def say_written(done) -> list[Path]:
    """A write's notes and warnings, then the files written, on stderr."""
    from tnpipe.log import err

    _note("warning", done.warnings)
    _note("note", done.notes)
    err.print("wrote " + ", ".join(str(p) for p in done.paths), highlight=False, soft_wrap=True)
    return done.paths


def write_report(report, out_dir: Path, plot: bool = False, curves: bool = False,
                 overwrite: bool = False) -> list[Path]:
    """tnpipe.report.write_report (the policy), then what it wrote, on stderr."""
    from tnpipe.report import write_report as write

    return say_written(write(report, out_dir, plot, curves, overwrite))


def show_run_report(files: Sequence[Path], plot: bool = False) -> None:
    """What `tnpipe run` ends with: the table of the results it made, then the FULL report
    files (every result under the results root), so a run of one dataset never leaves a
    report.md of one row in place of the whole one."""
    from tnpipe import paths
    from tnpipe.report import collect, rewrite_full

    root = paths.results_root()
    print_report(collect(root, files=files))
    say_written(rewrite_full(root, plot))


def _check_options(names, all_: bool, network, out: Path | None, plot: bool, curves: bool) -> None:
    from tnpipe.errors import DataError

    if not all_:
        from tnpipe.data import check_names

        check_names(names)   # "name at least one dataset or pass --all" / unknown names
    if (not all_ or network) and out is None and (plot or curves):
        what = " and ".join(o for o, on in (("--plot", plot), ("--curves", curves)) if on)
        these = "these datasets" if not all_ else "this filtered view"
        raise DataError(f"{what} writes pictures: pass --out DIR for {these}, or use --all (no --network) for the "
                        "full report in the results root")


def _check_root(results_root: Path | None) -> None:
    """The results root exists, before pandas is imported (the same line find_results gives)."""
    from tnpipe import paths
    from tnpipe.errors import ArtifactError

    root = paths.results_root() if results_root is None else Path(results_root)
    if not root.is_dir():
        raise ArtifactError(f"{root}: results root not found; run `tnpipe deploy RUN_DIR` or `tnpipe run` first, "
                            "or point --results-root / $TNPIPE_RESULTS_ROOT at the folder that holds them")


@app.command(cls=Command)
def report(
    names: Annotated[list[str] | None, typer.Argument(help="Datasets to show (real and synthetic rows of each); printed only, written with --out. See --all.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every result.json under the results root; without --network, writes the full report (report.md, report.csv; report.png, floorplans/ with --plot; curves/ with --curves) into the results root. With --network it prints a filtered view only (files with --out DIR).")] = False,
    network: Annotated[list[str] | None, typer.Option(help="Only these networks (repeatable), e.g. --network 1chip; a filtered view never replaces the full report.")] = None,
    results_root: Annotated[Path | None, typer.Option(help="Where to look for result.json, recursively (default results/, or $TNPIPE_RESULTS_ROOT).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write report.md, report.csv (and the pictures asked for) into this folder; an existing file there is replaced only with --force.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="What to print on stdout.")] = Format.table,
    wide: Annotated[bool, typer.Option(help="One terminal table with every column (as report.md) instead of two that fit 80 columns.")] = False,
    plot: Annotated[bool, typer.Option(help="Also draw report.png (accuracy vs fps/W) and floorplans/<dataset>-<network>.png.")] = False,
    curves: Annotated[bool, typer.Option(help="Also draw curves/<dataset>-<network>.png (accuracy and loss against epoch) from each run's metrics.csv.")] = False,
    force: Annotated[bool, typer.Option(help="Replace report files that already exist in --out.")] = False,
) -> None:
    """Accuracy, exactness, cores, chips, fps, mW, fps/W of deployed networks, beside Esser et al. 2016 Table 3."""
    with user_errors():
        _check_options(names, all_, network, out, plot, curves)
        _check_root(results_root)
        # pandas: imported once the arguments are known good
        from tnpipe.report import NoResults, collect

        try:
            rep = collect(results_root, names=None if all_ else names, networks=network or None)
        except NoResults as e:
            print_skipped(e.skipped)
            raise
        from tnpipe.report import destination

        where, overwrite = destination(rep, out, force)   # refused before anything is printed or written
        print_report(rep, fmt.value, wide)
        if where is not None:
            write_report(rep, where, plot, curves, overwrite)
        else:
            _note("note", [f"nothing written: --out DIR writes this table's files; `tnpipe report --all` "
                           f"writes the full report into {rep.root}"])
        if rep.skipped:
            from tnpipe.log import err

            err.print(f"[yellow]{len(rep.skipped)} result file(s) skipped[/] (named above); "
                      f"{len(rep.rows)} reported", highlight=False)
