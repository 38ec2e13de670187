"""What every results store does, whatever keeps its rows (SQLite, PostgreSQL, Python dicts),
and the one rule that says whether a run marked running is still alive.

A run marked running or queued whose process on this host is gone, or whose heartbeat from
another host is older than GANBENCH_LOST_AFTER_S seconds (60 by default), is `lost`: killed
without a chance to say so (SIGKILL, a power cut, a node gone), and resumable on any host.
`lost` is never stored: `RunStore.status_of` and `RunStore.statuses` work it out as they read.
"""

import abc
import enum
import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ganbench.store.environ as environ
from ganbench.errors import GanbenchError
from ganbench.store.folders import RunFolders


class RunStatus(enum.StrEnum):
    """Where a run stands. A str, so a stored value and its member are equal:
    "completed" == RunStatus.COMPLETED."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    DIVERGED = "diverged"
    INTERRUPTED = "interrupted"
    LOST = "lost"


STATUSES = tuple(status.value for status in RunStatus)
FINISHED = (RunStatus.COMPLETED, RunStatus.DIVERGED)  # what a report shows unless told otherwise
ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)  # recorded as training, or about to
STALE_S = environ.LOST_AFTER.default

RunRow = dict[str, Any]  # a `runs` row: column -> value, times naive in UTC
Beat = tuple[str, int, datetime]  # host, pid, time of the last beat (naive, in UTC)
MetricRow = tuple[int, int, str, float | None, str | None]  # run id, step, name, value, protocol
NetworkRow = tuple[int, str, str, int]  # run id, network name, kind, parameters
Origin = tuple[str, int]  # the identity of the database a run was trained in, its id there
Records = dict[str, list[dict[str, Any]]]  # table -> rows, without the ids a database gave them
# What makes a run that run: a source that reused a deleted run's id has another run under it
SAME_RUN = ("config_hash", "seed", "started_at")


def this_process() -> tuple[str, int]:
    """(host, pid): what a run's row names as the process that trains it, its claim."""
    return socket.gethostname(), os.getpid()


class ClaimLost(GanbenchError):
    """Another process claimed a run this one was writing (it looked lost: stopped past the
    lost-after time, say): this process records nothing more of it."""

    def __init__(self, run_id: int, owner: tuple[str | None, int | None] | None) -> None:
        host, pid = this_process()
        here = f"{host} pid {pid}"
        there = f"{owner[0]} pid {owner[1]}" if owner else "nobody (it was deleted)"
        super().__init__(
            f"run {run_id} is now claimed by {there}, not by this process ({here}), which was "
            f"not heard from for a while; this process stops and records nothing more of it"
        )


def stale_s() -> float:
    """GANBENCH_LOST_AFTER_S, or one line that says what is wrong with it."""
    return environ.number(environ.LOST_AFTER, STALE_S)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def alive(row: Mapping[str, Any], beat: Beat | None, now: datetime | None = None) -> bool:
    """On this host the process tells; elsewhere the heartbeat's age does. A row that names
    no process was left by a start killed before it named one (rows name it from the start
    now), so nothing trains it."""
    if row["host"] is None and beat is None:
        return False
    if row["host"] == socket.gethostname() and row["pid"]:
        return bool(row["pid"] != os.getpid() and pid_alive(row["pid"]))
    if beat is None:
        return True  # another host, no heartbeat (recorded before heartbeats): cannot tell
    last = beat[2] if beat[2].tzinfo else beat[2].replace(tzinfo=UTC)
    return ((now or datetime.now(UTC)) - last).total_seconds() < stale_s()


def _standing(row: Mapping[str, Any], beat: Beat | None, now: datetime | None) -> RunStatus:
    """The only place `lost` is decided: a queued or running run that is not alive."""
    recorded = RunStatus(row["status"])
    if recorded not in ACTIVE or alive(row, beat, now):
        return recorded
    return RunStatus.LOST


class RunStore(abc.ABC):
    """Runs, their per-step metrics and what else is recorded of them, and the folders their
    checkpoints and samples go to. Every store gives the same answers to the same calls: NaN
    and inf come back as written, times come back naive in UTC, JSON columns come back as
    JSON would give them, run ids only grow.

    `url` names the store in messages; `identity` (a uuid hex, None only for a database older
    than identities opened to read) ties checkpoints and merged runs to it."""

    url: str
    identity: str | None
    folders: RunFolders

    # --- run folders ---------------------------------------------------------------------

    @property
    def results_dir(self) -> Path:
        """Where run folders and caches go."""
        return self.folders.results

    def run_dir(self, run_id: int) -> Path:
        """The folder of a run's checkpoint and samples."""
        return self.folders.run_dir(run_id)

    # --- create --------------------------------------------------------------------------

    @abc.abstractmethod
    def create_run(
        self, networks: Mapping[str, tuple[str, int]] | None = None, **fields: Any
    ) -> int:
        """A new run with `fields` (its `runs` columns) and its networks
        {name: (kind, parameters)}, at once; its id."""

    # --- claim ---------------------------------------------------------------------------

    @abc.abstractmethod
    def claim(self, run_id: int, seen: Mapping[str, Any], **fields: Any) -> bool:
        """Set `fields` on a run only if it is still as `seen` (status, host, pid; a missing
        host is "" and a missing pid -1): of two processes resuming one run, exactly one gets
        True."""

    @property
    def held(self) -> set[int]:
        """The runs this store writes as their claimant (see `hold`)."""
        held: set[int] = self.__dict__.setdefault("_held", set())
        return held

    def hold(self, run_id: int) -> None:
        """Fence every later write of this store to the run with this process's claim (the
        host and pid in its row): once another process has claimed it, each write, checked in
        its own transaction, raises ClaimLost and writes nothing."""
        self.held.add(run_id)

    @abc.abstractmethod
    def check_claim(self, run_id: int) -> None:
        """Raise ClaimLost if a held run is no longer claimed by this process (before a write
        outside the store, such as its checkpoint)."""

    # --- record --------------------------------------------------------------------------

    @abc.abstractmethod
    def update_run(self, run_id: int, **fields: Any) -> None:
        """Set `runs` columns of a run (none, for a run that is not there)."""

    @abc.abstractmethod
    def add_metrics(self, run_id: int, rows: Sequence[Sequence[Any]]) -> None:
        """(step, name, value) or (step, name, value, protocol) rows, all or none."""

    @abc.abstractmethod
    def add_protocols(self, protocols: Mapping[str, Any]) -> None:
        """Record {id: details} for the ids not recorded yet; a recorded one is kept as it was."""

    @abc.abstractmethod
    def drop_metrics_after(self, run_id: int, step: int) -> None:
        """Forget metrics (and an early stop) past a checkpoint, before a resumed run writes
        them again."""

    @abc.abstractmethod
    def tag(self, run_ids: Sequence[int], tag: str, remove: bool = False) -> None:
        """Give runs a tag (once, however often given), or take it away."""

    # --- finish --------------------------------------------------------------------------

    @abc.abstractmethod
    def finish_run(
        self,
        run_id: int,
        stop: tuple[int, str] | None = None,
        cost: tuple[float | None, float | None] | None = None,
        **fields: Any,
    ) -> None:
        """A run's final fields and, at once, its early stop (step, reason) and its cost
        (peak_mem_mb, energy_j) where known, each replacing any recorded before."""

    # --- heartbeat -----------------------------------------------------------------------

    @abc.abstractmethod
    def beat(self, run_id: int, host: str, pid: int) -> None:
        """A running run's heartbeat: the latest replaces the one before."""

    @abc.abstractmethod
    def heartbeats(self) -> dict[int, Beat]:
        """{run id: (host, pid, time of the last beat)}."""

    # --- liveness ------------------------------------------------------------------------

    def status_of(self, row: Mapping[str, Any], now: datetime | None = None) -> RunStatus:
        """A run's status as it stands: `lost` for a queued or running run that is not alive."""
        return _standing(row, self.heartbeats().get(row["id"]), now)

    def statuses(
        self, rows: Iterable[Mapping[str, Any]] | None = None, now: datetime | None = None
    ) -> dict[int, RunStatus]:
        """{run id: status as it stands} for `rows` (default: every run in the store)."""
        stale_s()  # a bad setting is said whatever the runs
        beats = self.heartbeats()
        chosen = self.runs() if rows is None else rows
        return {row["id"]: _standing(row, beats.get(row["id"]), now) for row in chosen}

    # --- query ---------------------------------------------------------------------------

    @abc.abstractmethod
    def get_run(self, run_id: int) -> RunRow:
        """A run's `runs` row, or one line saying there is no such run."""

    @abc.abstractmethod
    def runs(self) -> list[RunRow]:
        """Every run's `runs` row, by id."""

    @abc.abstractmethod
    def metrics(self, run_id: int | None = None) -> list[MetricRow]:
        """The metrics of one run, or of all, in the order they were recorded."""

    @abc.abstractmethod
    def protocols(self) -> dict[str, Any]:
        """{protocol id: details}: how each score was made."""

    @abc.abstractmethod
    def tags(self) -> dict[int, list[str]]:
        """{run id: its tags, sorted}."""

    @abc.abstractmethod
    def costs(self) -> dict[int, tuple[float | None, float | None]]:
        """{run id: (peak_mem_mb, energy_j)} of the runs whose cost was measured."""

    @abc.abstractmethod
    def early_stops(self) -> dict[int, tuple[int, str]]:
        """{run id: (step, reason)} of the runs the stop rule ended."""

    @abc.abstractmethod
    def networks(self) -> list[NetworkRow]:
        """[(run id, network name, kind, parameters)] for every run that recorded them."""

    @abc.abstractmethod
    def records(self, run_id: int) -> Records:
        """{table: [rows]} of everything recorded of one run besides its `runs` row (metrics,
        networks, costs, early_stops, tags, heartbeats), without ids: what a merge copies."""

    @abc.abstractmethod
    def origins(self) -> dict[int, Origin]:
        """{run id: (source database identity, run id there)} of the runs a merge copied."""

    # --- merge ---------------------------------------------------------------------------

    @abc.abstractmethod
    def adopt(
        self, origin: Origin, row: Mapping[str, Any], records: Records, protocols: Mapping[str, Any]
    ) -> tuple[int, str]:
        """Record another database's run here, once: its `runs` row (without its id), its
        records and the protocols its scores name, keyed by `origin`. A run adopted before is
        left alone if unchanged, else replaced in place, keeping the tags given here; one whose
        SAME_RUN fields differ is another run, copied anew. Returns (run id here, 'copied' |
        'updated' | 'unchanged')."""

    # --- delete --------------------------------------------------------------------------

    @abc.abstractmethod
    def delete_runs(self, run_ids: Sequence[int]) -> None:
        """Runs and everything recorded of them, at once (their folders are the caller's)."""
