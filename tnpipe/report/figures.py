"""What every report picture shares: matplotlib on the Agg backend (no display needed) and
an atomic PNG save (a picture is either the old one or the whole new one)."""

from __future__ import annotations

from pathlib import Path

from tnpipe.atomic import atomic_path

DPI = 110


def pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: Path) -> Path:
    with atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    return Path(path)
