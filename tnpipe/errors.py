"""Errors a user can act on.

Every error a user can cause (bad input, missing data, a network that does not fit the
chip) is a `TnpipeError`. Its message is ONE line that names the file or item, the value
found and what was expected. The CLI prints it in red on stderr and exits with code 1;
no traceback, because the fix is in the user's hands, not in the code.
"""


import difflib
import errno
from collections.abc import Iterable


class TnpipeError(Exception):
    """Base class: a one-line, user-actionable message."""

    exit_code = 1
    label = "error"


class DataError(TnpipeError):
    """A dataset is missing, corrupt, truncated, or laid out wrongly."""


class ChecksumError(DataError):
    """A downloaded or on-disk file does not match its published checksum."""


class RecipeError(TnpipeError):
    """A recipe or a --set override is malformed (unknown key, wrong type)."""


class NetworkSpecError(TnpipeError):
    """A network string is malformed or breaks a TrueNorth limit (fan-in, neurons per core)."""


class ArtifactError(TnpipeError):
    """An artifact (prepared dataset, checkpoint, core map, result) is missing, truncated,
    tampered with, or of an unsupported version."""


class MappingError(TnpipeError):
    """A network cannot be placed on cores, or a CoreMap breaks a core rule."""


class TrainingError(TnpipeError):
    """Training cannot go on (e.g. the loss became NaN); the last good checkpoint stays."""


class LockedError(TnpipeError):
    """Another process is writing the same run folder or prepared dataset."""


class TrainingInterrupted(TnpipeError):
    """SIGINT/SIGTERM stopped training between steps; the last epoch's checkpoint stays."""

    exit_code = 130   # what a shell reports for a process ended by Ctrl-C
    label = "interrupted"
    detail = ""       # the message without its "continue with: COMMAND"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'cifar10'?)' for the closest of `choices` (case ignored), else ''."""
    choices = list(choices)
    folded = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(folded), n=1, cutoff=0.6)
    return f" (did you mean {folded[close[0]]!r}?)" if close else ""


# what the file system said, in words, and what to do about it (errno -> line)
_OS_HINTS = {
    errno.ENOSPC: "no space left on the device; free some space (or point $TNPIPE_RESULTS_ROOT / "
                  "$TNPIPE_PREPARED_ROOT at another disk) and run the command again",
    errno.EDQUOT: "disk quota exceeded; free some space and run the command again",
    errno.EROFS: "read-only file system; point $TNPIPE_RESULTS_ROOT / $TNPIPE_PREPARED_ROOT at a writable "
                 "folder and run the command again",
    errno.EACCES: "permission denied; make it writable (or readable) for this user, or point "
                  "$TNPIPE_RESULTS_ROOT / $TNPIPE_PREPARED_ROOT elsewhere",
    errno.EPERM: "operation not permitted; make it writable for this user, or point $TNPIPE_RESULTS_ROOT / "
                 "$TNPIPE_PREPARED_ROOT elsewhere",
    errno.ENOTDIR: "a file stands where a folder is expected; move the file away (or choose another path)",
    errno.EISDIR: "a folder stands where a file is expected; move the folder away (or choose another path)",
    errno.EEXIST: "exists, and is not what is expected there (a file where a folder belongs?); move it away",
    errno.ENOENT: "not found (a folder on the way is missing?); check the path",
    errno.ENAMETOOLONG: "file name too long; choose a shorter path",
    errno.EIO: "input/output error from the device; check the disk",
}


def os_error_line(e: OSError) -> str:
    """One line for an OSError: the path (or paths), what the system said, what to do.

    Every stage writes through tnpipe.atomic (temporary sibling + rename), so a write that
    fails leaves the earlier file, or none, never a half one; the line says nothing was kept."""
    path = e.filename if e.filename is not None else ""
    if e.filename2 is not None:
        path = f"{path} -> {e.filename2}"
    why = _OS_HINTS.get(e.errno or -1, "")
    said = e.strerror or e.__class__.__name__
    written = " (nothing half-written was kept)" if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO) else ""
    line = f"{path}: {said}{written}" if path else f"{said}{written}"
    return f"{line}; {why}" if why else f"{line} ({e.__class__.__name__}, errno {e.errno})"
