"""`tnpipe prepare`: datasets from their official formats into PreparedDatasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tnpipe.cli.app import app, user_errors
from tnpipe.errors import DataError, TnpipeError


@app.command()
def prepare(
    names: Annotated[list[str] | None, typer.Argument(help="Datasets: cifar10 cifar100 svhn gtsrb logo32 vad timit_class timit_frames fsdd")] = None,
    all_: Annotated[bool, typer.Option("--all", help="The eight benchmarks (plus fsdd where its data is present or with --synthetic).")] = False,
    raw_root: Annotated[Path | None, typer.Option(help="Root of raw data, one folder per dataset in its official layout (default datasets/raw, or $TNPIPE_RAW_ROOT).")] = None,
    source: Annotated[Path | None, typer.Option(help="Read this ONE dataset from DIR instead of <raw-root>/NAME.")] = None,
    download: Annotated[bool, typer.Option(help="Fetch datasets that have a public URL and verify their checksums.")] = False,
    synthetic: Annotated[bool, typer.Option(help="Write a small learnable stand-in in the official format, then prepare it (labelled synthetic).")] = False,
    force: Annotated[bool, typer.Option(help="Redo datasets that are already prepared and verified.")] = False,
) -> None:
    """Read datasets in their official on-disk formats and write datasets/prepared/NAME/."""
    from tnpipe.data import BENCHMARKS, DATASET_NAMES
    from tnpipe.log import console, err
    from tnpipe.prepare import prepare_one

    with user_errors():
        if all_:
            # fsdd is the open extra: included where its data is present or with --synthetic
            from tnpipe import paths

            root = raw_root if raw_root is not None else paths.raw_root()
            chosen = list(BENCHMARKS) + (["fsdd"] if synthetic or paths.raw_dir("fsdd", False, root).exists() else [])
        elif names:
            chosen = list(names)
        else:
            raise DataError(f"name at least one dataset or pass --all; valid names: {', '.join(DATASET_NAMES)}")
        for n in chosen:
            if n not in DATASET_NAMES:
                raise DataError(f"unknown dataset {n!r}; valid names: {', '.join(DATASET_NAMES)}")
        if source is not None and len(chosen) != 1:
            raise DataError(f"--source points ONE dataset at a folder, but {len(chosen)} were named")
        rows, failed = [], []
        for n in chosen:
            err.print(f"[bold]prepare[/] {n}{' (synthetic)' if synthetic else ''} ...")
            try:
                rows.append(prepare_one(n, raw_root=raw_root, source=source, synthetic=synthetic,
                                        download=download, force=force))
            except TnpipeError as e:
                if len(chosen) == 1:
                    raise
                # several datasets: report this one and go on with the rest; exit 1 at the end
                from rich.markup import escape

                err.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
                failed.append(n)
        from rich.table import Table

        table = Table(title="prepared datasets")
        for col in ("dataset", "train", "test", "input (C,H,W)", "classes", "data", "seconds", "folder"):
            table.add_column(col, justify="right" if col in ("train", "test", "classes", "seconds") else "left")
        for r in rows:
            table.add_row(r.name, str(r.counts.get("train", 0)), str(r.counts.get("test", 0)),
                          "x".join(map(str, r.input_shape)), str(r.num_classes),
                          "synthetic" if r.synthetic else "real",
                          "skipped (verified)" if r.skipped else f"{r.seconds:.1f}", str(r.folder))
        if rows:
            console.print(table)
        if failed:
            raise DataError(f"{len(failed)} of {len(chosen)} datasets failed: {', '.join(failed)} "
                            f"(each error is above); the others were prepared")
