"""Errors a user can act on.

Every error a user can cause (bad input, missing data, a network that does not fit the
chip) is a `TnpipeError`. Its message is ONE line that names the file or item, the value
found and what was expected. The CLI prints it in red on stderr and exits with code 1;
no traceback, because the fix is in the user's hands, not in the code.
"""


import difflib
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
