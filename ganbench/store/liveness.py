"""Whether a run marked running is alive: its heartbeat, and its process on this host.

A running run beats every BEAT_S seconds from a thread of its own. A run marked running or
queued whose beat is older than STALE_S, or whose process on this host is gone, is `lost`:
killed without a chance to say so (SIGKILL, a power cut, a node gone), and resumable on any
host. GANBENCH_HEARTBEAT_S and GANBENCH_LOST_AFTER_S change the two (a cluster whose shared
database is slow to reach may want a longer wait)."""

import os
import socket
import threading
from datetime import UTC, datetime

from ganbench.errors import GanbenchError

STATUSES = ("queued", "running", "completed", "failed", "diverged", "interrupted", "lost")
FINISHED = ("completed", "diverged")  # what a report shows unless --status says otherwise
BEAT_S = 10.0
STALE_S = 60.0


def beat_s():
    return _seconds("GANBENCH_HEARTBEAT_S", BEAT_S)


def stale_s():
    return _seconds("GANBENCH_LOST_AFTER_S", STALE_S)


def _seconds(name, default):
    """A positive number of seconds from the environment, or one line that says what is wrong."""
    given = os.environ.get(name)
    try:
        seconds = float(given) if given else default
    except ValueError:
        seconds = -1.0
    if not seconds > 0:  # also NaN
        raise GanbenchError(f"{name}={given}: give a number of seconds above 0")
    return seconds


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def status(row, beat, now=None):
    """The run's status as it stands: `lost` for a running or queued run that is not alive."""
    if row["status"] not in ("running", "queued"):
        return row["status"]
    return row["status"] if alive(row, beat, now) else "lost"


def statuses(rows, beats):
    """{run id: status as it stands} for the store's run rows and {run id: heartbeat}."""
    stale_s()  # a bad setting is said whatever the runs
    return {row["id"]: status(row, beats.get(row["id"])) for row in rows}


def alive(row, beat, now=None):
    """On this host the process tells; elsewhere the heartbeat's age does."""
    if row["host"] == socket.gethostname() and row["pid"]:
        return row["pid"] != os.getpid() and pid_alive(row["pid"])
    if beat is None:
        return True  # another host, no heartbeat (recorded before heartbeats): cannot tell
    last = beat[2] if beat[2].tzinfo else beat[2].replace(tzinfo=UTC)
    return ((now or datetime.now(UTC)) - last).total_seconds() < stale_s()


class Heart:
    """Beats for one run from a daemon thread until stopped; a failed beat is skipped."""

    def __init__(self, store, run_id):
        self.store, self.run_id, self.done = store, run_id, threading.Event()
        self.every = beat_s()  # a bad setting is said here, before training, not in the thread
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self):
        host, pid = socket.gethostname(), os.getpid()
        while True:
            try:
                self.store.beat(self.run_id, host, pid)
            except Exception:  # noqa: BLE001 - a missed beat only makes the run look older
                pass
            if self.done.wait(self.every):
                return

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()
