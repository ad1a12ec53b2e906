"""Command-line interface: `tnpipe prepare | train | deploy | report | run | export | import`.

Each command is a thin shell over one library call (tnpipe.prepare, tnpipe.train, ...);
nothing imports the CLI.
"""

from __future__ import annotations

from tnpipe.cli import deploy, export, nir_import, prepare, report, run, train  # noqa: F401  (register commands)
from tnpipe.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
