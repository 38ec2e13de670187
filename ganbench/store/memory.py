"""A store in Python dicts, for tests and throwaway runs: what the SQL store does, without a
database file. It keeps the `runs` columns of the SQL schema and gives the same answers: NaN
and inf as written, times naive in UTC, JSON columns as JSON gives them back, a claim that
exactly one of two processes wins, ids never given twice (not even a deleted run's).

Everything is behind one lock: a run's heartbeat thread writes while the run does."""

import json
import tempfile
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from itertools import count
from pathlib import Path
from typing import Any, cast

from sqlalchemy import JSON, Column, Float, String, Table

from ganbench.errors import GanbenchError
from ganbench.store.base import (
    SAME_RUN,
    Beat,
    ClaimLost,
    MetricRow,
    NetworkRow,
    Origin,
    Records,
    RunRow,
    RunStore,
    this_process,
)
from ganbench.store.folders import RunFolders
from ganbench.store.sql import RECORDS, Run, UtcDateTime, naive_utc, now

Cost = tuple[float | None, float | None]


def _json(value: Any) -> Any:
    """A value as a JSON column gives it back: a copy, tuples as lists, keys as strings."""
    return json.loads(json.dumps(value))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _text(value: Any) -> str | None:
    """As SQLite's text columns keep it: a str (a RunStatus its value)."""
    return None if value is None else str(value)


def _as_stored(column: Column[Any]) -> Callable[[Any], Any]:
    """How a `runs` column changes a value written to it."""
    kind = column.type
    if isinstance(kind, JSON):
        return _json
    if isinstance(kind, UtcDateTime):
        return lambda value: None if value is None else naive_utc(value)
    if isinstance(kind, Float):
        return _float
    if isinstance(kind, String):
        return _text
    return lambda value: value


# {column: how it stores a value}, and the defaults of a new run, from the SQL schema
RUNS = cast(Table, Run.__table__)
COLUMNS = {c.name: _as_stored(c) for c in RUNS.columns if c.name != "id"}
DEFAULTS = {c.name: getattr(c.default, "arg", None) for c in RUNS.columns}  # a scalar or none
REQUIRED = {c.name for c in RUNS.columns if not c.nullable and c.default is None and c.name != "id"}


def _checked(fields: Mapping[str, Any]) -> dict[str, Any]:
    """`runs` fields as stored; a name that is no column is refused, as the SQL store does."""
    unknown = sorted(set(fields) - set(COLUMNS))
    if unknown:
        raise TypeError(f"no column {', '.join(unknown)} in runs")
    return {name: COLUMNS[name](value) for name, value in fields.items()}


class MemoryStore(RunStore):
    """Runs in Python dicts; run folders under `folder` (default: a temporary folder removed
    with the store). `url` names it in messages."""

    def __init__(self, folder: Path | str | None = None, url: str = "memory://") -> None:
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        if folder is None:  # removed when the store is
            self._temporary = tempfile.TemporaryDirectory(prefix="ganbench-memory-")
            folder = self._temporary.name
        self.url, self.identity = url, uuid.uuid4().hex
        self.folders = RunFolders(Path(folder), "memory", self.identity)
        self._lock = threading.RLock()
        self._run_ids = count(1)
        self._runs: dict[int, RunRow] = {}
        self._metrics: list[MetricRow] = []  # in the order recorded
        self._networks: dict[int, dict[str, tuple[str, int]]] = {}
        self._costs: dict[int, Cost] = {}
        self._early_stops: dict[int, tuple[int, str]] = {}
        self._tags: dict[int, set[str]] = {}
        self._beats: dict[int, Beat] = {}
        self._protocols: dict[str, Any] = {}
        self._origins: dict[int, Origin] = {}

    # --- create, claim, record, finish ---------------------------------------------------

    def create_run(
        self, networks: Mapping[str, tuple[str, int]] | None = None, **fields: Any
    ) -> int:
        missing = sorted(REQUIRED - set(fields))
        if missing:
            raise TypeError(f"a run needs {', '.join(missing)}")
        row = _checked(fields)
        with self._lock:
            run_id = self._new_run(row)
            self._networks[run_id] = {n: (k, p) for n, (k, p) in (networks or {}).items()}
        self.folders.set_aside(run_id)  # ids only grow, but a folder given may hold older runs
        return run_id

    def _new_run(self, row: Mapping[str, Any]) -> int:
        run_id = next(self._run_ids)
        self._runs[run_id] = {**DEFAULTS, **row, "id": run_id}
        return run_id

    def claim(self, run_id: int, seen: Mapping[str, Any], **fields: Any) -> bool:
        changes = _checked(fields)
        with self._lock:
            row = self._runs.get(run_id)
            if row is None or not _as_seen(row, seen):
                return False
            row.update(changes)
            return True

    def _fence(self, run_id: int) -> None:
        """Under the lock, before a write to a held run: is this process still its claimant?"""
        row = self._runs.get(run_id)
        if run_id in self.held and (row is None or (row["host"], row["pid"]) != this_process()):
            raise ClaimLost(run_id, (row["host"], row["pid"]) if row else None)

    def check_claim(self, run_id: int) -> None:
        with self._lock:
            self._fence(run_id)

    def update_run(self, run_id: int, **fields: Any) -> None:
        changes = _checked(fields)
        with self._lock:
            self._fence(run_id)
            if run_id in self._runs:
                self._runs[run_id].update(changes)

    def add_metrics(self, run_id: int, rows: Sequence[Sequence[Any]]) -> None:
        made = [(run_id, r[0], r[1], _float(r[2]), r[3] if len(r) > 3 else None) for r in rows]
        with self._lock:
            self._fence(run_id)
            self._metrics += made

    def add_protocols(self, protocols: Mapping[str, Any]) -> None:
        with self._lock:
            for key, details in protocols.items():
                self._protocols.setdefault(key, _json(details))

    def drop_metrics_after(self, run_id: int, step: int) -> None:
        with self._lock:
            self._fence(run_id)
            self._metrics = [m for m in self._metrics if m[0] != run_id or m[1] <= step]
            stop = self._early_stops.get(run_id)
            if stop is not None and stop[0] > step:
                del self._early_stops[run_id]

    def tag(self, run_ids: Sequence[int], tag: str, remove: bool = False) -> None:
        with self._lock:
            for run_id in run_ids:
                tags = self._tags.setdefault(run_id, set())
                (tags.discard if remove else tags.add)(tag)
                if not tags:
                    del self._tags[run_id]

    def finish_run(
        self,
        run_id: int,
        stop: tuple[int, str] | None = None,
        cost: Cost | None = None,
        **fields: Any,
    ) -> None:
        changes = _checked(fields)
        with self._lock:
            self._fence(run_id)
            if stop is not None:
                self._early_stops[run_id] = (stop[0], stop[1])
            if cost is not None:
                self._costs[run_id] = (_float(cost[0]), _float(cost[1]))
            if run_id in self._runs:
                self._runs[run_id].update(changes)

    # --- heartbeat -----------------------------------------------------------------------

    def beat(self, run_id: int, host: str, pid: int) -> None:
        with self._lock:
            self._fence(run_id)
            self._beats[run_id] = (host, pid, naive_utc(now()))

    def heartbeats(self) -> dict[int, Beat]:
        with self._lock:
            return dict(self._beats)

    # --- query ---------------------------------------------------------------------------

    def get_run(self, run_id: int) -> RunRow:
        with self._lock:
            row = self._runs.get(run_id)
            if row is None:
                raise GanbenchError(
                    f"no run {run_id} in {self.url}; `ganbench runs list` shows the runs"
                )
            return _copy(row)

    def runs(self) -> list[RunRow]:
        with self._lock:
            return [_copy(self._runs[run_id]) for run_id in sorted(self._runs)]

    def metrics(self, run_id: int | None = None) -> list[MetricRow]:
        with self._lock:
            return [m for m in self._metrics if run_id is None or m[0] == run_id]

    def protocols(self) -> dict[str, Any]:
        with self._lock:
            return {key: _json(details) for key, details in self._protocols.items()}

    def tags(self) -> dict[int, list[str]]:
        with self._lock:
            pairs = sorted((tag, run_id) for run_id, tags in self._tags.items() for tag in tags)
        found: dict[int, list[str]] = {}
        for tag, run_id in pairs:
            found.setdefault(run_id, []).append(tag)
        return found

    def costs(self) -> dict[int, Cost]:
        with self._lock:
            return dict(self._costs)

    def early_stops(self) -> dict[int, tuple[int, str]]:
        with self._lock:
            return dict(self._early_stops)

    def networks(self) -> list[NetworkRow]:
        with self._lock:
            return [
                (run_id, name, kind, params)
                for run_id, named in self._networks.items()
                for name, (kind, params) in named.items()
            ]

    def origins(self) -> dict[int, Origin]:
        with self._lock:
            return dict(self._origins)

    def records(self, run_id: int) -> Records:
        with self._lock:
            return {name: self._records_of(name, run_id) for name in RECORDS}

    def _records_of(self, name: str, run_id: int) -> list[dict[str, Any]]:
        """One table's rows of a run, in the SQL store's order and shape."""
        if name == "metrics":
            names = ("step", "name", "value", "protocol")
            return [dict(zip(names, m[1:], strict=True)) for m in self._metrics if m[0] == run_id]
        if name == "networks":
            named = sorted(self._networks.get(run_id, {}).items())
            return [{"name": n, "kind": k, "params": p} for n, (k, p) in named]
        if name == "tags":
            return [{"tag": tag} for tag in sorted(self._tags.get(run_id, ()))]
        keys, table = _ONE_ROW[name]
        found = getattr(self, table).get(run_id)
        return [] if found is None else [dict(zip(keys, found, strict=True))]

    # --- merge ---------------------------------------------------------------------------

    def adopt(
        self, origin: Origin, row: Mapping[str, Any], records: Records, protocols: Mapping[str, Any]
    ) -> tuple[int, str]:
        stored = _checked(row)
        with self._lock:
            self.add_protocols(protocols)
            here = self._adopted(origin, stored)
            if here is None:
                run_id = self._new_run(stored)
                self._origins[run_id] = (origin[0], origin[1])
                self._insert_records(run_id, records)
                return run_id, "copied"
            if self._same_run(here, stored, records):
                return here, "unchanged"
            self._replace_run(here, stored, records)
            return here, "updated"

    def _adopted(self, origin: Origin, row: Mapping[str, Any]) -> int | None:
        """The run here a merge made of `origin` before, if it is still that run at the
        source; else the old copy stays, no longer tied to the origin, and None."""
        found = next((i for i, o in self._origins.items() if o == tuple(origin)), None)
        if found is None:
            return None
        if all(self._runs[found][k] == row.get(k) for k in SAME_RUN):
            return found
        del self._origins[found]
        return None

    def _same_run(self, run_id: int, row: Mapping[str, Any], records: Records) -> bool:
        """Whether the run here already holds `row`, as many records of each kind, and its tags."""
        here = self._runs[run_id]
        if any(here[k] != v for k, v in row.items()):
            return False
        counts = all(
            len(self._records_of(name, run_id)) == len(rows)
            for name, rows in records.items()
            if name != "tags"
        )
        given = {t["tag"] for t in records.get("tags", [])}
        return counts and given <= self._tags.get(run_id, set())

    def _replace_run(self, run_id: int, row: Mapping[str, Any], records: Records) -> None:
        """The source's row and records in place of the old copy's; tags given here are kept."""
        self._runs[run_id].update(row)
        self._drop_records(run_id, keep_tags=True)
        self._insert_records(run_id, records)

    def _insert_records(self, run_id: int, records: Records) -> None:
        for name, rows in records.items():
            for r in rows:
                _INSERT[name](self, run_id, r)

    def _drop_records(self, run_id: int, keep_tags: bool = False) -> None:
        self._metrics = [m for m in self._metrics if m[0] != run_id]
        self._networks.pop(run_id, None)
        self._costs.pop(run_id, None)
        self._early_stops.pop(run_id, None)
        self._beats.pop(run_id, None)
        if not keep_tags:
            self._tags.pop(run_id, None)

    # --- delete --------------------------------------------------------------------------

    def delete_runs(self, run_ids: Sequence[int]) -> None:
        with self._lock:
            for run_id in run_ids:
                self._drop_records(run_id)
                self._origins.pop(run_id, None)
                self._runs.pop(run_id, None)


def _copy(row: RunRow) -> RunRow:
    """A row the caller may change without changing the store's."""
    return {k: _json(v) if isinstance(v, dict | list) else v for k, v in row.items()}


def _as_seen(row: RunRow, seen: Mapping[str, Any]) -> bool:
    """The SQL store's claim condition: status, host ("" if none), pid (-1 if none)."""
    pid = row["pid"] if row["pid"] is not None else -1
    return bool(
        row["status"] == seen["status"]
        and (row["host"] or "") == (seen["host"] or "")
        and pid == (seen["pid"] or -1)
    )


# The records a run has at most one of: their columns and the store's table of them
_ONE_ROW = {
    "costs": (("peak_mem_mb", "energy_j"), "_costs"),
    "early_stops": (("step", "reason"), "_early_stops"),
    "heartbeats": (("host", "pid", "beat_at"), "_beats"),
}


def _insert_metric(store: MemoryStore, run_id: int, r: Mapping[str, Any]) -> None:
    store._metrics.append((run_id, r["step"], r["name"], _float(r["value"]), r.get("protocol")))


def _insert_network(store: MemoryStore, run_id: int, r: Mapping[str, Any]) -> None:
    store._networks.setdefault(run_id, {})[r["name"]] = (r["kind"], r["params"])


def _insert_cost(store: MemoryStore, run_id: int, r: Mapping[str, Any]) -> None:
    store._costs[run_id] = (_float(r.get("peak_mem_mb")), _float(r.get("energy_j")))


def _insert_early_stop(store: MemoryStore, run_id: int, r: Mapping[str, Any]) -> None:
    store._early_stops[run_id] = (r["step"], r["reason"])


def _insert_tag(store: MemoryStore, run_id: int, r: Mapping[str, Any]) -> None:
    store._tags.setdefault(run_id, set()).add(r["tag"])


def _insert_beat(store: MemoryStore, run_id: int, r: Mapping[str, Any]) -> None:
    beat: datetime = r["beat_at"]
    store._beats[run_id] = (r["host"], r["pid"], naive_utc(beat))


_INSERT: dict[str, Callable[[MemoryStore, int, Mapping[str, Any]], None]] = {
    "metrics": _insert_metric,
    "networks": _insert_network,
    "costs": _insert_cost,
    "early_stops": _insert_early_stop,
    "tags": _insert_tag,
    "heartbeats": _insert_beat,
}
