"""Atomic writes: an interrupted stage never leaves a half artifact behind.

Files are written to a temporary sibling and renamed into place (rename is atomic on
POSIX within one file system). Folders are built in a temporary sibling folder and
renamed as a whole, so a prepared dataset appears complete or not at all.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _public(path: str | Path, mode: int = 0o666) -> None:
    """mkstemp/mkdtemp create private files (0600/0700); give the artifact the mode an
    ordinary open() or mkdir() would have given it under the user's umask."""
    os.chmod(path, mode & ~_umask())


def _named(e: OSError, path: Path, tmp: str | Path) -> OSError:
    """The error naming the artifact's path (not the temporary sibling's, nor none, as a
    full disk's write() gives), for the one-line message at the command boundary."""
    name = None if e.filename is None else Path(str(e.filename))
    if name is None or name == Path(tmp) or name == path.parent or name.name.startswith(f".{path.name}."):
        return OSError(e.errno, e.strerror or str(e), str(path))
    return e


def write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _public(tmp)
        os.replace(tmp, path)
    except OSError as e:
        if tmp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise _named(e, path, tmp) from e
    except BaseException:
        if tmp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it onto `path`.

    For writers that want a file name (np.save, torch.save, savez)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise _named(e, path, "") from e
    os.close(fd)
    try:
        yield Path(tmp)
        _public(tmp)
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise _named(e, path, tmp) from e
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside `path`; on success it replaces `path` whole.

    If the body raises, the temporary folder is removed and `path` (old content, if
    any) is left exactly as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        _public(tmp, 0o777)
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
            old.rmdir()
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        named = _named(e, path, tmp)
        if e.filename is not None and str(e.filename).startswith(str(tmp)):   # a file inside the temp folder
            named = OSError(e.errno, e.strerror or str(e), str(path / Path(e.filename).relative_to(tmp)))
        raise named from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
