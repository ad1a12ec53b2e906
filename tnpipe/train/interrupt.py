"""Ctrl-C and SIGTERM during training: a request to stop, honoured between steps.

The step in progress finishes (its optimiser update is whole), the rest of the epoch is
abandoned, and the last epoch's checkpoint.pt stays as it is: `--resume` continues from
it and ends with the same weights as an uninterrupted run. A second signal stops at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Set by the signal handler; read by the training loop after each step."""

    def __init__(self) -> None:
        self.signum: int | None = None

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""

    def handle(self, signum: int, _frame) -> None:
        if self.signum is not None:   # asked twice: the user does not want to wait for the step
            raise KeyboardInterrupt
        self.signum = signum


class Stopped(Exception):
    """Raised by the loop when it stopped on a request: where it was, and what is kept."""

    def __init__(self, signame: str, epoch: int, step: int, steps: int, checkpoint_epoch: int) -> None:
        super().__init__(signame)
        self.signame, self.epoch, self.step, self.steps = signame, epoch, step, steps
        self.checkpoint_epoch = checkpoint_epoch


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """Catch SIGINT/SIGTERM as a StopRequest for the block (main thread only: signal
    handlers cannot be installed elsewhere, and there the default behaviour stays)."""
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    old = {s: signal.signal(s, stop.handle) for s in SIGNALS}
    try:
        yield stop
    finally:
        for s, h in old.items():
            signal.signal(s, h)
