"""Errors a user can act on.

Every error a user can cause (bad input, missing data, a network that does not fit the
chip) is a `TnpipeError`. Its message is ONE line that names the file or item, the value
found and what was expected. The CLI prints it in red on stderr and exits with code 1;
no traceback, because the fix is in the user's hands, not in the code.
"""


class TnpipeError(Exception):
    """Base class: a one-line, user-actionable message."""


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
