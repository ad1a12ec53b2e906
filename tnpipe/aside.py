"""Moving an earlier artifact out of the way instead of overwriting it (`previous-TIME/`).

`train --force` sets an earlier run aside (its log, checkpoint, network and what was
deployed from it); `deploy` with other chip settings sets the earlier deployment aside
(result.json, coremap.*), so that comparing chip settings never loses one. The report does
not read `previous-*` folders (tnpipe.report.collect.find_results).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from pathlib import Path

PREFIX = "previous-"


def set_aside(run_dir: Path, names: Sequence[str], kind: str = "") -> Path | None:
    """Move the `names` that exist in `run_dir` into run_dir/previous-[KIND-]TIME/ (kept);
    None when none exists."""
    run_dir = Path(run_dir)
    found = [run_dir / f for f in names if (run_dir / f).exists()]
    if not found:
        return None
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    base = f"{PREFIX}{kind + '-' if kind else ''}{stamp}"
    dest, n = run_dir / base, 1
    while dest.exists():
        n += 1
        dest = run_dir / f"{base}-{n}"
    dest.mkdir(parents=True)
    for f in found:
        shutil.move(str(f), str(dest / f.name))
    return dest


def put_back(dest: Path | None, run_dir: Path) -> None:
    """Undo a set_aside (the command that moved them failed): every file back in place,
    replacing whatever the failed command wrote there, and the folder removed."""
    if dest is None:
        return
    for f in list(Path(dest).iterdir()):
        shutil.move(str(f), str(Path(run_dir) / f.name))
    Path(dest).rmdir()
