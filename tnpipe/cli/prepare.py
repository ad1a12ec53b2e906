"""`tnpipe prepare`: datasets from their official formats into PreparedDatasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tnpipe.cli.app import app, user_errors
from tnpipe.cli.options import Command
from tnpipe.data import NAMES_HELP
from tnpipe.errors import DataError, TnpipeError

COLUMNS = ("dataset", "train", "test", "input (C,H,W)", "classes", "data", "seconds")


def _table(outcomes):
    """The prepared sets (fits 80 columns); each folder is named on its own line after it."""
    from rich import box
    from rich.table import Table

    table = Table(title="prepared datasets", box=box.SIMPLE_HEAD, show_edge=False)
    for col in COLUMNS:
        table.add_column(col, justify="right" if col in ("train", "test", "classes", "seconds") else "left",
                         no_wrap=True)
    for o in outcomes:
        r = o.record
        table.add_row(r.name, str(r.counts.get("train", 0)), str(r.counts.get("test", 0)),
                      "x".join(map(str, r.input_shape)), str(r.num_classes),
                      "synthetic" if r.synthetic else "real",
                      "reused" if o.status == "reused" else f"{o.seconds:.1f}")
    return table


def _folders(outcomes) -> list[str]:
    return [f"{o.record.name}: {o.path}" + (" (reused: it verifies and was made with these settings)"
                                             if o.status == "reused" else "") for o in outcomes]


def _prepare_each(chosen: list[str], **kw) -> tuple[list, list[str]]:
    """Every dataset in turn; with several, a failing one is reported and the rest go on."""
    from rich.markup import escape

    from tnpipe.log import err, heartbeat
    from tnpipe.prepare import prepare as prepare_stage

    done, failed = [], []
    for n in chosen:
        what = f"prepare {n}{' (synthetic)' if kw['synthetic'] else ''}"
        err.print(f"[bold]{what}[/] ...")
        try:
            with heartbeat(lambda what=what: f"{what}: reading and transforming"):
                done.append(prepare_stage(n, **kw))
        except TnpipeError as e:
            if len(chosen) == 1:
                raise
            err.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
            failed.append(n)
    return done, failed


@app.command(cls=Command)
def prepare(
    names: Annotated[list[str] | None, typer.Argument(help=f"Datasets: {NAMES_HELP}")] = None,
    all_: Annotated[bool, typer.Option("--all", help="The eight benchmarks (plus fsdd where its data is present or with --synthetic).")] = False,
    raw_root: Annotated[Path | None, typer.Option(help="Root of raw data, one folder per dataset in its official layout (default datasets/raw, or $TNPIPE_RAW_ROOT).")] = None,
    source: Annotated[Path | None, typer.Option(help="Read this ONE dataset from DIR instead of <raw-root>/NAME.")] = None,
    download: Annotated[bool, typer.Option(help="Fetch datasets that have a public URL and verify their checksums.")] = False,
    synthetic: Annotated[bool, typer.Option(help="Write a small learnable stand-in in the official format, then prepare it (labelled synthetic).")] = False,
    force: Annotated[bool, typer.Option(help="Redo datasets that are already prepared and verified.")] = False,
) -> None:
    """Read datasets in their official on-disk formats and write datasets/prepared/NAME/."""
    from tnpipe.log import console
    from tnpipe.run import choose_datasets

    with user_errors():
        chosen = choose_datasets(names, all_, synthetic, raw_root)
        if source is not None and len(chosen) != 1:
            raise DataError(f"--source points ONE dataset at a folder, but {len(chosen)} were named")
        done, failed = _prepare_each(chosen, raw_root=raw_root, source=source, synthetic=synthetic,
                                     download=download, force=force)
        if done:
            console.print(_table(done))
            for line in _folders(done):
                console.print(line, highlight=False, markup=False, soft_wrap=True)
        if failed:
            rest = ("none was prepared" if not done else
                    f"the others were prepared ({', '.join(o.record.name for o in done)})")
            raise DataError(f"{len(failed)} of {len(chosen)} datasets failed: {', '.join(failed)} "
                            f"(each error is above); {rest}")
