"""One writer at a time per run folder and per prepared dataset.

The lock is an OS file lock taken with `filelock` (flock on POSIX): the kernel releases it
when its process ends, however it ends, so a lock left by a killed process is simply taken
over by the next writer. A second writer is refused at once (no waiting) with one line that
names the holder's pid, read from a `.pid` file written beside the lock by the holder right
after it took the lock (inside the lock file it would be truncated by every contender's
open). A killed holder leaves both files; the next writer takes the lock and rewrites the pid.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from tnpipe.errors import LockedError

RUN_LOCK = ".tnpipe.lock"   # inside a run folder (results/NAME/NET/)


def run_lock(run_dir: Path) -> Path:
    return Path(run_dir) / RUN_LOCK


def prepared_lock(prepared_dir: Path) -> Path:
    """Beside the prepared folder, not in it: the folder is replaced whole when written."""
    p = Path(prepared_dir)
    return p.parent / f".{p.name}.lock"


def holder_pid(lock_path: Path) -> int | None:
    try:
        return int(Path(f"{lock_path}.pid").read_text().strip())
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def hold(lock_path: Path, what: str) -> Iterator[None]:
    """Hold `lock_path` for the block; LockedError at once if another process holds it."""
    lock_path = Path(lock_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        pid = holder_pid(lock_path)
        who = f"process {pid}" if pid is not None else "another process"
        raise LockedError(f"{what}: in use by {who} (lock {lock_path}); wait for it to end or stop it, "
                          "then run this again") from None
    pid_file = Path(f"{lock_path}.pid")
    try:
        pid_file.write_text(f"{os.getpid()}\n")
        yield
    finally:
        # removed while still held, so a finished or failed stage leaves no file behind; a
        # contender that opened the old file sees it unlinked and retries (filelock >= 4.3)
        with contextlib.suppress(OSError):
            pid_file.unlink()
            lock_path.unlink()
        lock.release()
