"""The Typer app object; each command lives in its own module under tnpipe/cli/."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer

from tnpipe.errors import TnpipeError

app = typer.Typer(
    name="tnpipe",
    help=(
        "Eedn on a simulated TrueNorth: prepare datasets, train networks under the chip's "
        "constraints, deploy them onto cores, and report accuracy, frames/s and mW."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn a TnpipeError into one red line on stderr and exit code 1 (no traceback)."""
    try:
        yield
    except TnpipeError as e:
        from rich.markup import escape

        from tnpipe.log import err

        # escape: messages quote recipe sections like "[train]", which rich would eat as markup
        err.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


@app.callback()
def _root() -> None:
    """Eedn on a simulated TrueNorth: prepare, train, deploy, report (or `run` all four)."""
