"""Command-line interface: `tnpipe prepare | train | deploy | report | run | export | import`.

Each command is a thin shell over one library call (tnpipe.prepare, tnpipe.train, ...);
nothing imports the CLI.
"""

from __future__ import annotations

from tnpipe.cli import deploy, export, nir_import, prepare, report, run, train  # noqa: F401  (register commands)
from tnpipe.cli.app import app


def _ascii_safe() -> None:
    """On a terminal (or pipe) whose encoding cannot show box lines, "…" or "†", print those
    as "?" rather than end the command in a UnicodeEncodeError (e.g. LANG=C, PYTHONIOENCODING=ascii)."""
    import sys

    for stream in (sys.stdout, sys.stderr):
        enc = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if not enc.startswith("utf") and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")


def main() -> None:
    _ascii_safe()
    app()


__all__ = ["app", "main"]
