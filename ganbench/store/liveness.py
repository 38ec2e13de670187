"""A running run's heartbeat: it beats every BEAT_S seconds from a thread of its own, so that
a host other than its own can tell it is alive (see ganbench.store.base, where a run that is
not is found `lost`). GANBENCH_HEARTBEAT_S changes BEAT_S, and GANBENCH_LOST_AFTER_S how old
a beat may be (a cluster whose shared database is slow to reach may want longer for both)."""

import os
import socket
import threading
from types import TracebackType
from typing import Protocol

import ganbench.store.environ as environ
from ganbench.store.base import FINISHED, STATUSES

__all__ = ["BEAT_S", "FINISHED", "STATUSES", "Heart", "beat_s"]  # FINISHED, STATUSES: for readers

BEAT_S = environ.HEARTBEAT.default  # tests may set it lower


class Beating(Protocol):
    """What a heart needs of a store."""

    def beat(self, run_id: int, host: str, pid: int) -> None: ...


def beat_s() -> float:
    return environ.number(environ.HEARTBEAT, BEAT_S)


class Heart:
    """Beats for one run from a daemon thread until stopped; a failed beat is skipped."""

    def __init__(self, store: Beating, run_id: int) -> None:
        self.store, self.run_id, self.done = store, run_id, threading.Event()
        self.every = beat_s()  # a bad setting is said here, before training, not in the thread
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        host, pid = socket.gethostname(), os.getpid()
        while True:
            try:
                self.store.beat(self.run_id, host, pid)
            except Exception:  # noqa: BLE001 - a missed beat only makes the run look older
                pass
            if self.done.wait(self.every):
                return

    def __enter__(self) -> "Heart":
        self.thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.done.set()
        self.thread.join()
