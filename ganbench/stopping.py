"""How a command stops: Ctrl-C, SIGTERM (a cluster's scheduler) and SIGHUP (its terminal
closed) end it the same way.

Before a run is recorded, a stop request interrupts at once (nothing to save). While a run
trains, it is a request that the training loop takes at the next step boundary, so the
checkpoint written then is whole; a second request interrupts at once. While the final
status is written, requests wait, so every stop Python sees ends in a final status."""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stop:
    """The command's stop requests; one per process (`STOP`)."""

    def __init__(self) -> None:
        self.requested, self.deferring = False, False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.deferring and not self.requested:
            self.requested = True
            return
        self.requested = True
        raise KeyboardInterrupt

    @contextmanager
    def installed(self) -> Iterator["Stop"]:
        """Take SIGINT and SIGTERM for the command (only the main thread can)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        self.requested = False
        previous = {s: signal.signal(s, self.handle) for s in SIGNALS}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """From a run's record on: a request waits for the next step boundary."""
        before, self.deferring = self.deferring, True
        try:
            yield
        finally:
            self.deferring = before

    @contextmanager
    def held(self) -> Iterator[None]:
        """Requests wait while the final status is written."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.signal(s, self._note) for s in SIGNALS}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True


STOP = Stop()
