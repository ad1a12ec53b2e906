"""The Typer app object; each command lives in its own module under tnpipe/cli/."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated

import typer

from tnpipe.cli.options import Group
from tnpipe.errors import TnpipeError

app = typer.Typer(
    name="tnpipe",
    cls=Group,
    help=(
        "Eedn on a simulated TrueNorth: prepare datasets, train networks under the chip's "
        "constraints, deploy them onto cores, and report accuracy, frames/s and mW."
    ),
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
    pretty_exceptions_enable=False,
)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn a TnpipeError into one line on stderr ("error: ..." and exit code 1, or
    "interrupted: ..." and 130 for a stopped training), no traceback; the one place where an
    OSError (disk full, read-only folder, a file where a folder is expected) becomes one
    line naming the path and what to do (tnpipe.errors.os_error_line), exit code 1."""
    try:
        yield
    except TnpipeError as e:
        from rich.markup import escape

        from tnpipe.log import err

        # escape: messages quote recipe sections like "[train]", which rich would eat as markup
        colour = "bold red" if e.exit_code == 1 else "bold yellow"
        err.print(f"[{colour}]{e.label}:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
        raise typer.Exit(e.exit_code) from None
    except OSError as e:   # the file system said no (disk full, read-only, a file where a folder is ...)
        from rich.markup import escape

        from tnpipe.errors import os_error_line
        from tnpipe.log import err

        err.print(f"[bold red]error:[/] {escape(os_error_line(e))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("tnpipe")
        except PackageNotFoundError:   # run from a source tree that was never installed
            from tnpipe import __version__ as v
        typer.echo(f"tnpipe {v}")
        raise typer.Exit(0)


@app.callback()
def _root(
    _show_version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print tnpipe's version and exit.")] = False,
) -> None:
    """Eedn on a simulated TrueNorth: prepare, train, deploy, report (or `run` all four)."""
