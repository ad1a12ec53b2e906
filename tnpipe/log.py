"""Consoles: `console` for results people read, `err` for warnings and errors (stderr)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console()
err = Console(stderr=True)


def progress(transient: bool = True) -> Progress:
    """The project's one progress-bar style (rich), on stderr so stdout stays parseable."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=transient,
        # piped (not a terminal): no bar at all; a stopped bar would leave a blank line before
        # every epoch line of the log
        disable=not err.is_terminal,
    )


@contextlib.contextmanager
def heartbeat(label: Callable[[], str | None], first: float = 3.0, every: float = 15.0,
              out: Console | None = None, poll: float = 0.5) -> Iterator[None]:
    """While a long step runs silently, a line on stderr once it has run `first` seconds and
    then every `every` seconds: "  LABEL ... 18 s" (also when piped, where no bar shows), the
    seconds counted from when `label()` last changed (a new step starts its own count).
    `label()` None: a step that prints its own progress; no line."""
    out = out or err
    stop = threading.Event()

    def beat() -> None:
        current, since, printed = None, time.perf_counter(), None
        while not stop.wait(poll):
            what, now = label(), time.perf_counter()
            if what != current:
                current, since, printed = what, now, None
            due = now - since >= first if printed is None else now - printed >= every
            if what and due:
                out.print(f"  {what} ... {now - since:.0f} s", highlight=False, markup=False)
                printed = now

    thread = threading.Thread(target=beat, name="tnpipe-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
