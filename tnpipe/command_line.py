"""The one builder of a `tnpipe ...` command line that a user can paste back, e.g. the
`--resume` line printed when a training is interrupted (train and run alike)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any


def command_line(command: str, args: Sequence[str], options: Sequence[tuple[str, Any]]) -> str:
    """`tnpipe COMMAND ARGS OPTIONS`, options in the order given: (flag, None or False) is
    left out, (flag, True) is the bare flag, (flag, list) repeats it, (flag, value) is both."""
    argv = ["tnpipe", command, *map(str, args)]
    for flag, value in options:
        if value is None or value is False:
            continue
        if value is True:
            argv.append(flag)
        elif isinstance(value, (list, tuple)):
            for v in value:
                argv += [flag, str(v)]
        else:
            argv += [flag, str(value)]
    return shlex.join(argv)
