"""`tnpipe prepare --download`: fetch a dataset's public files, verify them, extract them safely.

For every `Resource` of a dataset (tnpipe.data.base):

1. Fetch. A file already in the raw folder whose checksum verifies is not fetched again.
   Otherwise the URL (used as is, so tests can point it at a local server) is streamed
   with urllib into a temporary file beside the target while md5/sha256 are computed on
   the way; only a file whose digest matches the published value is renamed into place.
   A mismatch deletes the temporary file, leaves any existing file untouched, and raises
   `ChecksumError` naming the file, the expected and the found digest.
2. Extract (archives: .tar, .tar.gz/.tgz, .tar.bz2, .tar.xz, .zip) into the raw folder.
   Every member is checked first: an absolute path, a path that resolves outside the
   raw folder, a link whose target does, or a device/fifo member refuses the whole
   archive with `DataError` naming the member, before anything is written.
   `Resource.strip_components` drops leading folders (GitHub's archive zips wrap the
   repository in REPO-REF/). A marker file `.<archive>.extracted` holding the archive's
   sha256 records a completed extraction, so a re-run skips it; an interrupted
   extraction has no marker and is redone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from tnpipe.errors import ChecksumError, DataError

CHUNK = 1 << 20
TIMEOUT_S = 60
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


def file_digests(path: Path) -> dict[str, str]:
    """md5 and sha256 of a file, in one pass."""
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            md5.update(block)
            sha.update(block)
    return {"md5": md5.hexdigest(), "sha256": sha.hexdigest()}


def _expected(res) -> tuple[str, str] | None:
    """(algorithm, published digest) of a resource; sha256 preferred when both are given."""
    if getattr(res, "sha256", None):
        return "sha256", res.sha256.lower()
    if getattr(res, "md5", None):
        return "md5", res.md5.lower()
    return None


def verified(path: Path, res) -> bool:
    """True if `path` exists and matches the resource's published checksum."""
    exp = _expected(res)
    if not path.is_file():
        return False
    if exp is None:
        return True      # nothing published to check against (warned about when fetched)
    return file_digests(path)[exp[0]] == exp[1]


def fetch(res, raw_dir: Path) -> Path:
    """Download one resource into `raw_dir` (see the module docstring); returns its path."""
    raw_dir = Path(raw_dir)
    target = raw_dir / res.filename
    if verified(target, res):
        return target
    raw_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=raw_dir, prefix=f".{res.filename}.", suffix=".part")
    tmp = Path(tmp_name)
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                resp = urllib.request.urlopen(res.url, timeout=TIMEOUT_S)  # noqa: S310 (http/https URLs from the dataset module)
            except (urllib.error.URLError, OSError, ValueError) as e:
                raise DataError(f"{res.filename}: download from {res.url} failed ({e}); "
                                f"check the network, or fetch it by hand into {raw_dir}") from None
            with resp:
                total = int(resp.headers.get("Content-Length") or 0) or None
                got = 0
                from tnpipe.log import progress

                with progress() as bar:
                    task = bar.add_task(f"download {res.filename}", total=total)
                    try:
                        while block := resp.read(CHUNK):
                            out.write(block)
                            md5.update(block)
                            sha.update(block)
                            got += len(block)
                            bar.advance(task, len(block))
                    except (OSError, urllib.error.URLError) as e:
                        raise DataError(f"{res.filename}: download from {res.url} broke off after {got} bytes ({e}); run again to retry") from None
            if total is not None and got != total:
                raise DataError(f"{res.filename}: download from {res.url} gave {got} bytes; the server announced {total}; run again to retry")
        found = {"md5": md5.hexdigest(), "sha256": sha.hexdigest()}
        exp = _expected(res)
        if exp is None:
            from tnpipe.log import err

            err.print(f"[yellow]warning:[/] {res.filename}: no published checksum to verify; sha256 {found['sha256']}")
        elif found[exp[0]] != exp[1]:
            kept = "; the existing file is untouched" if target.exists() else ""
            raise ChecksumError(
                f"{res.filename}: {exp[0]} of the download from {res.url} is {found[exp[0]]}, expected {exp[1]}; "
                f"the download was deleted{kept}"
            )
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return target


# ------------------------------------------------------------------------------ extraction


def _strip(name: str, n: int) -> str | None:
    """Member name with `n` leading folders removed; None when nothing is left (the wrapper)."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if n and parts and parts[0] == "/":
        return name          # absolute: left for the safety check to refuse
    rest = parts[n:]
    return str(PurePosixPath(*rest)) if rest else None


def _inside(dest: Path, name: str, archive: Path, what: str = "member") -> Path:
    """The path `name` would be written to under `dest`; refuses absolute or escaping names."""
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise DataError(f"{archive}: {what} {name!r} has an absolute path; refused (nothing extracted)")
    target = (dest / p).resolve()
    root = dest.resolve()
    if target != root and root not in target.parents:
        raise DataError(f"{archive}: {what} {name!r} would be written outside {dest}; refused (nothing extracted)")
    return target


def _check_tar(tf: tarfile.TarFile, dest: Path, archive: Path, strip: int) -> list[tarfile.TarInfo]:
    members = []
    for m in tf.getmembers():
        name = _strip(m.name, strip)
        if name is None:
            continue
        if not (m.isfile() or m.isdir() or m.issym() or m.islnk()):
            raise DataError(f"{archive}: member {m.name!r} is a device or fifo; refused (nothing extracted)")
        target = _inside(dest, name, archive)
        if m.issym():
            if m.linkname.startswith("/"):
                raise DataError(f"{archive}: member {m.name!r} links to the absolute path {m.linkname!r}; refused (nothing extracted)")
            link_target = (target.parent / m.linkname).resolve()
            if link_target != dest.resolve() and dest.resolve() not in link_target.parents:
                raise DataError(f"{archive}: member {m.name!r} links to {m.linkname!r}, outside {dest}; refused (nothing extracted)")
        if m.islnk():
            link = _strip(m.linkname, strip)
            if link is None:
                raise DataError(f"{archive}: member {m.name!r} hard-links to {m.linkname!r}; refused (nothing extracted)")
            _inside(dest, link, archive, f"member {m.name!r} hard-links to")
            m.linkname = link
        m.name = name
        members.append(m)
    return members


def _extract_tar(archive: Path, dest: Path, strip: int) -> None:
    try:
        with tarfile.open(archive) as tf:
            members = _check_tar(tf, dest, archive, strip)
            kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            from tnpipe.log import progress

            with progress() as bar:
                task = bar.add_task(f"extract {archive.name}", total=len(members))
                for m in members:
                    tf.extract(m, dest, **kwargs)
                    bar.advance(task)
    except (tarfile.TarError, EOFError, OSError) as e:
        raise DataError(f"{archive}: unreadable tar archive ({e.__class__.__name__}: {e}); delete it and run again") from None


def _extract_zip(archive: Path, dest: Path, strip: int) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            plan = []
            for info in zf.infolist():
                name = _strip(info.filename, strip)
                if name is None:
                    continue
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise DataError(f"{archive}: member {info.filename!r} is a symbolic link; refused (nothing extracted)")
                plan.append((info, _inside(dest, name, archive)))
            from tnpipe.log import progress

            with progress() as bar:
                task = bar.add_task(f"extract {archive.name}", total=len(plan))
                for info, target in plan:
                    if info.is_dir():
                        target.mkdir(parents=True, exist_ok=True)
                    else:
                        target.parent.mkdir(parents=True, exist_ok=True)
                        with zf.open(info) as src, open(target, "wb") as out:
                            shutil.copyfileobj(src, out, CHUNK)
                    bar.advance(task)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as e:
        raise DataError(f"{archive}: unreadable zip archive ({e.__class__.__name__}: {e}); delete it and run again") from None


def extract(archive: Path, dest: Path, strip_components: int = 0) -> None:
    """Safely extract `archive` into `dest`, once (see the module docstring)."""
    archive, dest = Path(archive), Path(dest)
    marker = dest / f".{archive.name}.extracted"
    digest = file_digests(archive)["sha256"]
    if marker.is_file() and marker.read_text().strip() == digest:
        return
    dest.mkdir(parents=True, exist_ok=True)
    name = archive.name.lower()
    if name.endswith(TAR_SUFFIXES):
        _extract_tar(archive, dest, strip_components)
    elif name.endswith(".zip"):
        _extract_zip(archive, dest, strip_components)
    else:
        raise DataError(f"{archive}: not an archive tnpipe can extract; expected one of {', '.join(TAR_SUFFIXES)}, .zip")
    from tnpipe.atomic import write_text

    write_text(marker, digest + "\n")


def download_resources(src, raw_dir: Path) -> list[Path]:
    """Fetch, verify and extract every resource of dataset `src` into `raw_dir`.

    Returns the files fetched or found verified. A dataset without resources (licensed:
    TIMIT, NOISEX-92, FlickrLogos-32) fetches nothing: its reader then reports what is
    missing and who grants access. An archive whose extraction marker exists while the
    archive itself was deleted (to save space) counts as done and is not fetched again."""
    raw_dir = Path(raw_dir)
    files = []
    for res in src.resources:
        is_archive = getattr(res, "extract", False) and res.filename.lower().endswith((*TAR_SUFFIXES, ".zip"))
        if is_archive and not (raw_dir / res.filename).exists() and (raw_dir / f".{res.filename}.extracted").is_file():
            continue
        path = fetch(res, raw_dir)
        if is_archive:
            extract(path, raw_dir, int(getattr(res, "strip_components", 0) or 0))
        files.append(path)
    return files
