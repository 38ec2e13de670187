"""The results store: runs and their per-step metrics, through SQLAlchemy.

SQLite (the default) runs in WAL mode with a busy timeout and BEGIN IMMEDIATE writes, so
several runs can write one file at once. NaN is stored as the text 'NaN' on SQLite, which
would otherwise turn it into NULL; inf is a REAL there already.

PostgreSQL (a store several machines share) gives the same answers: strings of any length and
64-bit counts as SQLite keeps them, times read back in naive UTC as SQLite gives them, and the
transactions that read before they write take a lock that does what BEGIN IMMEDIATE does.
"""

import functools
import importlib
import importlib.util
import math
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    func,
    insert,
    inspect,
    make_url,
    select,
    update,
)
from sqlalchemy.engine import Connection, Dialect, Engine, RowMapping
from sqlalchemy.exc import DatabaseError, DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

import ganbench.store.environ as environ
import ganbench.store.schema as schema
import ganbench.store.sqlite as sqlite
from ganbench.config.defaults import DEFAULT_DB
from ganbench.errors import GanbenchError, GanbenchWarning
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
from ganbench.store.folders import RunFolders, results_dir


def now() -> datetime:
    return datetime.now(UTC)


def _text(length: int) -> TypeEngine[str]:
    """VARCHAR(length) as before on SQLite, which never checks the length; TEXT on PostgreSQL,
    which would refuse a longer label or host that SQLite keeps."""
    return String(length).with_variant(Text(), "postgresql")


# INTEGER is 64 bits on SQLite but 32 on PostgreSQL: seeds reach 2**32 - 1, parameter counts more
_BIG = Integer().with_variant(BigInteger(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """A time with its zone, read back as SQLite gives it: naive, in UTC (PostgreSQL would give
    it in the session's zone). A naive time written is taken to be UTC already."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        return None if value is None else naive_utc(value)


def naive_utc(value: datetime) -> datetime:
    """A time as every store gives it back: in UTC, without its zone (a naive one is UTC)."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


class _SqliteReal(UserDefinedType[float]):
    """REAL without SQLAlchemy's float conversion, which would turn 'NaN' back into a NULL."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "REAL"


class FaithfulFloat(TypeDecorator[float]):
    """A float column that keeps NaN on SQLite."""

    impl = Float
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return _SqliteReal() if dialect.name == "sqlite" else dialect.type_descriptor(Float())

    def process_bind_param(self, value: float | None, dialect: Dialect) -> Any:
        if value is not None and dialect.name == "sqlite" and math.isnan(value):
            return "NaN"
        return value

    def process_result_value(self, value: Any | None, dialect: Dialect) -> float | None:
        return None if value is None else float(value)


class Base(DeclarativeBase):
    pass


class Run(Base):
    __tablename__ = "runs"
    # AUTOINCREMENT: SQLite would give a new run the id of the newest deleted one (migration 0003)
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(_text(200))
    study: Mapped[str | None] = mapped_column(_text(100), nullable=True, index=True)
    plugins: Mapped[str] = mapped_column(_text(500))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    config_hash: Mapped[str] = mapped_column(_text(64), index=True)
    seed: Mapped[int] = mapped_column(_BIG)
    status: Mapped[str] = mapped_column(_text(20), default="queued")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    target_steps: Mapped[int] = mapped_column(Integer)
    steps_done: Mapped[int] = mapped_column(Integer, default=0)
    g_params: Mapped[int | None] = mapped_column(_BIG, nullable=True)
    d_params: Mapped[int | None] = mapped_column(_BIG, nullable=True)
    train_s: Mapped[float] = mapped_column(Float, default=0.0)
    eval_s: Mapped[float] = mapped_column(Float, default=0.0)
    device: Mapped[str | None] = mapped_column(_text(50), nullable=True)
    gpu: Mapped[str | None] = mapped_column(_text(200), nullable=True)
    torch_version: Mapped[str | None] = mapped_column(_text(50), nullable=True)
    cuda_version: Mapped[str | None] = mapped_column(_text(50), nullable=True)
    ganbench_version: Mapped[str | None] = mapped_column(_text(50), nullable=True)
    git_sha: Mapped[str | None] = mapped_column(_text(64), nullable=True)
    plugin_versions: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    score_directions: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    environment: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    host: Mapped[str | None] = mapped_column(_text(200), nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Metric(Base):
    __tablename__ = "metrics"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(_text(100))
    value: Mapped[float | None] = mapped_column(FaithfulFloat, nullable=True)
    protocol: Mapped[str | None] = mapped_column(ForeignKey("protocols.id"), nullable=True)


class Network(Base):
    """A run's network by the name its scheme gave it, with its trainable parameter count.
    A table of its own, so databases made before it gain it without changing `runs`."""

    __tablename__ = "networks"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    name: Mapped[str] = mapped_column(_text(100), primary_key=True)
    kind: Mapped[str] = mapped_column(_text(50))
    params: Mapped[int] = mapped_column(_BIG)


class RunCost(Base):
    """What a run cost on its GPU: peak memory and energy (a table of its own, so older
    databases gain it without a migration)."""

    __tablename__ = "costs"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    peak_mem_mb: Mapped[float | None] = mapped_column(Float, nullable=True)
    energy_j: Mapped[float | None] = mapped_column(Float, nullable=True)


class EarlyStop(Base):
    """Why and where the stop rule ended a run (its status stays `completed`)."""

    __tablename__ = "early_stops"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    step: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)


class Tag(Base):
    """A label a person gave a run (`ganbench runs tag`), to pick runs out for a report."""

    __tablename__ = "tags"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(_text(100), primary_key=True)


class Protocol(Base):
    """How a score was made: extractor, weights hash, image counts, reference split, resize."""

    __tablename__ = "protocols"
    id: Mapped[str] = mapped_column(_text(32), primary_key=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class Meta(Base):
    """The database's own facts: its identity (checkpoints carry it) and where older runs keep
    their files."""

    __tablename__ = "ganbench_meta"
    key: Mapped[str] = mapped_column(_text(50), primary_key=True)
    value: Mapped[str] = mapped_column(_text(200))


class Heartbeat(Base):
    """When a running run last said it was alive, and from which host and process."""

    __tablename__ = "heartbeats"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    host: Mapped[str] = mapped_column(_text(200))
    pid: Mapped[int] = mapped_column(Integer)
    beat_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RunOrigin(Base):
    """Where a run `ganbench merge` copied came from: its database's identity and its id there."""

    __tablename__ = "run_origins"
    __table_args__ = (UniqueConstraint("source", "source_run", name="uq_run_origins_source"),)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    source: Mapped[str] = mapped_column(_text(64))
    source_run: Mapped[int] = mapped_column(Integer)


# What is recorded of a run besides its `runs` row, by table: what a merge copies and a delete removes
RECORDS: dict[str, Any] = {
    table.__tablename__: table for table in (Metric, Network, RunCost, EarlyStop, Tag, Heartbeat)
}


def _add_missing_protocols(connection: Connection, protocols: Mapping[str, Any]) -> None:
    known = set(connection.scalars(select(Protocol.id).where(Protocol.id.in_(list(protocols)))))
    new = [{"id": k, "details": v} for k, v in protocols.items() if k not in known]
    if new:
        connection.execute(insert(Protocol), new)


def _without_ids(row: RowMapping) -> dict[str, Any]:
    """A record without the ids this database gave it: another database gives its own."""
    return {k: v for k, v in row.items() if k not in ("id", "run_id")}


def _run_row(connection: Connection, run_id: int) -> RowMapping | None:
    """A run's `runs` row as a mapping, or None."""
    return connection.execute(select(Run.__table__).where(Run.id == run_id)).mappings().first()


def _same_run(
    connection: Connection, here: RowMapping, row: Mapping[str, Any], records: Records
) -> bool:
    """Whether the run here (its `runs` row) already holds `row`, as many records of each
    kind, and its tags."""
    if any(here[k] != v for k, v in row.items()):
        return False
    counts = {
        name: _count(connection, RECORDS[name], here["id"]) for name in records if name != "tags"
    }
    return all(counts[name] == len(records[name]) for name in counts) and {
        t["tag"] for t in records.get("tags", [])
    } <= _tags(connection, here["id"])


def _count(connection: Connection, table: Any, run_id: int) -> int:
    return int(
        connection.scalar(select(func.count()).select_from(table).where(table.run_id == run_id))
        or 0
    )


def _tags(connection: Connection, run_id: int) -> set[str]:
    return set(connection.scalars(select(Tag.tag).where(Tag.run_id == run_id)))


def _adopted(connection: Connection, origin: Origin, row: Mapping[str, Any]) -> RowMapping | None:
    """The `runs` row of the run here a merge made of `origin` before, if it is still that run
    at the source; else the old copy stays, no longer tied to the origin, and None."""
    found = connection.scalar(
        select(RunOrigin.run_id).where(
            RunOrigin.source == origin[0], RunOrigin.source_run == origin[1]
        )
    )
    if found is None:
        return None
    here = _run_row(connection, found)
    if here is not None and all(here[k] == row.get(k) for k in SAME_RUN):
        return here
    connection.execute(delete(RunOrigin).where(RunOrigin.run_id == found))
    return None


def _copy_run(
    connection: Connection, origin: Origin, row: Mapping[str, Any], records: Records
) -> int:
    inserted = connection.execute(insert(Run).values(**row)).inserted_primary_key
    run_id = int(inserted[0]) if inserted is not None else 0
    connection.execute(
        insert(RunOrigin).values(run_id=run_id, source=origin[0], source_run=origin[1])
    )
    _insert_records(connection, run_id, records)
    return run_id


def _replace_run(
    connection: Connection, run_id: int, row: Mapping[str, Any], records: Records
) -> None:
    """The source's row and records in place of the old copy's; tags given here are kept."""
    connection.execute(update(Run).where(Run.id == run_id).values(**row))
    for name, table in RECORDS.items():
        if name != "tags":
            connection.execute(delete(table).where(table.run_id == run_id))
    kept = _tags(connection, run_id)
    _insert_records(
        connection,
        run_id,
        {**records, "tags": [t for t in records.get("tags", []) if t["tag"] not in kept]},
    )


def _insert_records(connection: Connection, run_id: int, records: Records) -> None:
    for name, rows in records.items():
        if rows:
            connection.execute(insert(RECORDS[name]), [{**r, "run_id": run_id} for r in rows])


# PostgreSQL's deadlock and serialization failures: the transaction was undone, and doing it again is right
RETRYABLE = {"40001", "40P01"}
# A server that cannot be reached: PostgreSQL's connection_exception class (08), its shutdowns
# (admin, crash) and "cannot connect now" (it is starting up or stopping)
UNREACHABLE = ("08", "57P01", "57P02", "57P03")


def _code(error: DBAPIError) -> str | None:
    """The SQLSTATE the server answered with (psycopg's `sqlstate`, psycopg2's `pgcode`)."""
    orig = error.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def _locked(error: OperationalError) -> bool:
    return "locked" in str(error.orig).lower() or _code(error) in RETRYABLE


def _unreachable(error: DBAPIError) -> bool:
    """Whether a server's database could not be reached: a connection it dropped, one it
    refused (a failed connect has no SQLSTATE: no server answered), or it is starting or
    stopping. Not for SQLite, which has no server and whose errors carry no SQLSTATE."""
    code = _code(error)
    if error.connection_invalidated or (code is not None and code.startswith(UNREACHABLE)):
        return True
    return code is None and isinstance(error, OperationalError)


def _check_room(url: str, error: OperationalError) -> None:
    """A write refused for a full disk (SQLite's SQLITE_FULL, PostgreSQL's disk_full, 53100)
    is one line naming the database: the transaction was undone, so nothing recorded is lost."""
    if "disk is full" in str(error.orig) or _code(error) == "53100":
        raise GanbenchError(
            f"database {_shown(url)} cannot be written: the disk is full; free space on its "
            f"disk and run the command again (a run resumes with ganbench run --resume ID)"
        ) from None


IMMEDIATE_LOCK = 0x6761_6E62  # "ganb": the advisory lock key ganbench takes in a database


def _immediate(connection: Connection) -> None:
    """On PostgreSQL, what BEGIN IMMEDIATE does on SQLite for a transaction that reads before
    it writes (is the table there? the protocol? the tag?): two such transactions take turns,
    so neither inserts what the other just did. SQLite has it from its BEGIN already."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(IMMEDIATE_LOCK)))


def _await_schema(connection: Connection) -> None:
    """On PostgreSQL, a database without a runs table may be one a writer is making: it holds
    the lock `_immediate` takes until its tables are committed, so a reader that waits for
    that lock sees them (a database no writer is making is read as it is)."""
    if connection.dialect.name == "postgresql" and not inspect(connection).has_table("runs"):
        connection.execute(select(func.pg_advisory_xact_lock_shared(IMMEDIATE_LOCK)))


def _upsert_beat(connection: Connection, run_id: int, values: dict[str, Any]) -> None:
    """One statement on SQLite and PostgreSQL (INSERT ... ON CONFLICT), so a beat takes no
    lock that a merge or a database being opened holds; elsewhere an update, else an insert."""
    name = connection.dialect.name
    if name not in ("sqlite", "postgresql"):
        if (
            connection.execute(
                update(Heartbeat).where(Heartbeat.run_id == run_id).values(**values)
            ).rowcount
            == 0
        ):
            connection.execute(insert(Heartbeat).values(run_id=run_id, **values))
        return
    dialect_insert = importlib.import_module(f"sqlalchemy.dialects.{name}").insert
    statement = dialect_insert(Heartbeat).values(run_id=run_id, **values)
    connection.execute(statement.on_conflict_do_update(index_elements=["run_id"], set_=values))


def _one_line(error: object) -> str:
    """A driver's message on one line (PostgreSQL's add DETAIL and HINT lines)."""
    return " ".join(str(error).split())


def _shown(url: str) -> str:
    """A URL fit for a message: its password, if any, hidden."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - a malformed URL is shown as given
        return url
    return parsed.render_as_string(hide_password=True) if parsed.password else url


# PostgreSQL's drivers, plain postgresql:// URLs' first (SQLAlchemy 2.1's choice), and what
# installs each
DRIVERS = {"psycopg": "'ganbench[postgres]'", "psycopg2": "psycopg2-binary"}


def _engine_url(url: str) -> str:
    """The URL an engine opens: a plain postgresql:// with the PostgreSQL driver installed
    here (SQLAlchemy 2.0 would take psycopg2 for it, and 2.1 psycopg 3, installed or not)."""
    if url.startswith("postgres://"):
        fixed = _shown("postgresql://" + url.removeprefix("postgres://"))
        raise GanbenchError(
            f"cannot open database {_shown(url)}: SQLAlchemy names PostgreSQL postgresql://, "
            f"not postgres://; give --db {fixed}"
        )
    installed = [name for name in DRIVERS if importlib.util.find_spec(name)]
    if url.startswith("postgresql://") and installed:
        return f"postgresql+{installed[0]}://" + url.removeprefix("postgresql://")
    return url


def _no_driver(url: str, module: str | None) -> str:
    """What to install for a database whose driver is missing, in one line."""
    name = (module or "").split(".")[0]
    fix = f"pip install {DRIVERS.get(name, name)}"
    if name == "psycopg2":
        fix += f", or write postgresql:// for the driver pip install {DRIVERS['psycopg']} gives"
    return f"cannot open database {_shown(url)}: its driver {name} is not installed ({fix})"


P = ParamSpec("P")
R = TypeVar("R")


def writes(
    method: Callable[Concatenate["SqlStore", P], R],
) -> Callable[Concatenate["SqlStore", P], R]:
    """Retry a write, with backoff, that a locked database or a lost server stopped: one still
    locked past the busy timeout for up to the store's `patience` seconds (a reader or another
    program's lock never loses a run), a server gone for up to its `outage_patience` (a
    restart never ends a run). The write is retried in place before the next one starts, so
    what a run records stays in order."""

    @functools.wraps(method)
    def retried(self: "SqlStore", *args: P.args, **kwargs: P.kwargs) -> R:
        delay, waited = 0.05, 0.0
        while True:
            try:
                done = method(self, *args, **kwargs)
            except DBAPIError as e:
                if not self._bearable(e, waited):
                    raise
                time.sleep(delay)
                waited, delay = waited + delay, min(2 * delay, 5.0)
            else:
                self.outage_since = None
                return done

    return retried


@functools.cache
def _shared_engine(url: str, busy_ms: int | None) -> Engine:
    """One engine per database and process. SQLite's file locks belong to the process: a
    second engine's connections, closed whenever the garbage collector gets to them, would
    drop the locks the first still holds, and another process writing then corrupts the file."""
    engine = create_engine(url, **_pool(url))
    if busy_ms is not None and engine.dialect.name == "sqlite":
        sqlite.tune(engine, busy_ms)
    return engine


def _pool(url: str) -> dict[str, Any]:
    """A server's connections are few (max_connections is 100 by default) and each worker
    process keeps its own engine: two kept open each (a run's thread and its heartbeat's) lets
    32 workers share one server. pre_ping replaces a connection the server dropped meanwhile."""
    if url.startswith("sqlite"):
        return {}
    return {"pool_size": 2, "max_overflow": 2, "pool_pre_ping": True}


class SqlStore(RunStore):
    """Reads and writes runs and metrics in one database given by a SQLAlchemy URL.
    `create`: a missing SQLite file may be made; `write`: tables and identity are set up
    (reports pass False, so they need no write access and take no write lock)."""

    def __init__(self, url: str = DEFAULT_DB, create: bool = True, write: bool = True) -> None:
        self.url, self.sqlite_path, self.read_only = url, sqlite.file_of(url), False
        self.patience = environ.number(environ.LOCK_PATIENCE)
        self.outage_patience = environ.number(environ.DB_PATIENCE)
        # when writes began to find the server gone; opened: from then on that is an outage
        self.outage_since: float | None = None
        self.opened = False
        if self.sqlite_path:
            sqlite.check_file(self.sqlite_path, create)
            sqlite.check_own(self.sqlite_path)
            self.read_only = not sqlite.writable(self.sqlite_path)
            if self.read_only and write:
                raise GanbenchError(
                    f"database {self.sqlite_path} is not writable; give --db a writable path"
                )
        try:
            self._open(write)
        except (DatabaseError, OperationalError) as e:
            raise GanbenchError(
                f"cannot use database {_shown(url)}: {_one_line(e.orig)}; check --db"
            ) from None
        except GanbenchError:
            raise
        except ModuleNotFoundError as e:  # a database whose driver is not installed
            raise GanbenchError(_no_driver(url, e.name)) from None
        except Exception as e:  # a malformed URL
            raise GanbenchError(
                f"cannot open database {_shown(url)}: {_one_line(e)}; check --db"
            ) from None
        if "runs" not in self.tables:
            raise GanbenchError(
                f"no ganbench runs in {_shown(url)} (it has no runs table); give --db the database your runs wrote to"
            )
        self.folders = self._folders()

    def _open(self, write: bool) -> None:
        self.engine = self._engine()
        if write:
            self._prepare()
        with self._reading() as c:
            _await_schema(c)
            self.tables = set(inspect(c).get_table_names())
            self.schema_version = schema.version(c)
        schema.check_version(
            self.schema_version, _shown(self.url)
        )  # a reader too refuses a newer schema
        self.meta = self._meta()  # written only by _prepare, above
        self.identity = self.meta.get("database_id")
        self.opened = True  # a server that could not be reached before now is a wrong --db

    def _engine(self) -> Engine:
        if self.read_only and self.sqlite_path:
            return _shared_engine(sqlite.read_only_url(self.sqlite_path), None)
        return _shared_engine(_engine_url(self.url), int(environ.number(environ.BUSY_TIMEOUT)))

    def _bearable(self, error: DBAPIError, waited: float) -> bool:
        """Whether a failed write may be tried again (`waited`: seconds it slept on a lock);
        a full disk, or an outage past its patience, is one line."""
        if isinstance(error, OperationalError):
            _check_room(self.url, error)
            if _locked(error):
                return waited < self.patience
        return self._outage(error)

    def _outage(self, error: DBAPIError) -> bool:
        """Whether `error` is part of an outage of this store's server still within its
        patience; the first write to meet one says so, and one past it says how to go on."""
        if not self.opened or self.engine.dialect.name == "sqlite" or not _unreachable(error):
            return False
        why = _one_line(error.orig)
        if self.outage_since is None:
            self._outage_began(why)
        if time.monotonic() - (self.outage_since or 0.0) < self.outage_patience:
            return True
        raise GanbenchError(
            f"database {_shown(self.url)} could not be reached for {self.outage_patience:g} s "
            f"({why}); what was recorded is kept: once it is back, continue a run with "
            f"ganbench run --resume ID (GANBENCH_DB_PATIENCE waits longer)"
        ) from None

    def _outage_began(self, why: str) -> None:
        self.outage_since = time.monotonic()
        warnings.warn(
            f"database {_shown(self.url)} cannot be reached since {now():%H:%M:%S} UTC ({why}); "
            f"writes wait for it, in order, for up to {self.outage_patience:g} s "
            f"(GANBENCH_DB_PATIENCE)",
            GanbenchWarning,
            stacklevel=5,  # the write that waits
        )

    def _folders(self) -> RunFolders:
        """runs/<database>-<identity>/<id>: every database in a folder has its own run folders.
        Runs recorded before databases had an identity keep runs/<id>."""
        name = (
            self.sqlite_path.stem
            if self.sqlite_path
            else (self.engine.url.database or self.engine.dialect.name)
        )
        legacy = int(self.meta.get("legacy_runs_upto", 0))
        return RunFolders(results_dir(self.sqlite_path), name, self.identity, legacy)

    @writes
    def _prepare(self) -> None:
        """Tables and identity in one transaction (BEGIN IMMEDIATE on SQLite): processes that
        open a new database together create each table once."""
        with self.engine.begin() as c:
            _immediate(c)
            schema.upgrade(c, _shown(self.url))
            if c.scalar(select(Meta.value).where(Meta.key == "database_id")) is None:
                newest = (
                    c.scalar(select(func.max(Run.id))) or 0
                )  # runs from before identities keep their folders
                c.execute(
                    insert(Meta),
                    [
                        {"key": "database_id", "value": uuid.uuid4().hex},
                        {"key": "legacy_runs_upto", "value": str(newest)},
                    ],
                )

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        with self.engine.connect() as c:
            yield c.execution_options(**{sqlite.READ: True})

    def _read(self, query: Any) -> list[Any]:  # a select of one table; its rows
        """A query's rows; none from a table the database lacks. A database made before
        that table existed and opened only to read (never upgraded: a reader writes
        nothing) is the one that lacks it, and this is the one place that says so."""
        table = query.get_final_froms()[0]
        if getattr(table, "name", None) not in self.tables:
            return []
        with self._reading() as c:
            return list(c.execute(query))

    def _meta(self) -> dict[str, str]:
        return {row.key: row.value for row in self._read(select(Meta))}

    @writes
    def create_run(
        self, networks: Mapping[str, tuple[str, int]] | None = None, **fields: Any
    ) -> int:
        with Session(self.engine) as s, s.begin():
            run = Run(**fields)
            s.add(run)
            s.flush()
            s.add_all(
                [
                    Network(run_id=run.id, name=n, kind=k, params=p)
                    for n, (k, p) in (networks or {}).items()
                ]
            )
            run_id = run.id
        self.folders.set_aside(run_id)  # an id given before 0003 may have left files there
        return run_id

    def networks(self) -> list[NetworkRow]:
        query = select(Network.run_id, Network.name, Network.kind, Network.params)
        return [(row[0], row[1], row[2], row[3]) for row in self._read(query)]

    def _fence(self, c: Connection, run_id: int) -> None:
        """For a held run, first in the write's transaction: a no-op update of its row where
        this process is still its claimant, which takes the row's lock (the database's, on
        SQLite) until the write commits, so a claim by another process comes before or after."""
        if run_id not in self.held:
            return
        host, pid = this_process()
        mine = [Run.id == run_id, Run.host == host, Run.pid == pid]
        if c.execute(update(Run).where(*mine).values(pid=pid)).rowcount != 1:
            found = c.execute(select(Run.host, Run.pid).where(Run.id == run_id)).first()
            raise ClaimLost(run_id, (found[0], found[1]) if found else None)

    @writes
    def check_claim(self, run_id: int) -> None:
        with self.engine.begin() as c:
            self._fence(c, run_id)

    @writes
    def update_run(self, run_id: int, **fields: Any) -> None:
        with self.engine.begin() as c:
            self._fence(c, run_id)
            c.execute(update(Run).where(Run.id == run_id).values(**fields))

    @writes
    def claim(self, run_id: int, seen: Mapping[str, Any], **fields: Any) -> bool:
        same = [
            Run.id == run_id,
            Run.status == seen["status"],
            func.coalesce(Run.host, "") == (seen["host"] or ""),
            func.coalesce(Run.pid, -1) == (seen["pid"] or -1),
        ]
        with self.engine.begin() as c:
            return c.execute(update(Run).where(*same).values(**fields)).rowcount == 1

    @writes
    def beat(self, run_id: int, host: str, pid: int) -> None:
        with self.engine.begin() as c:
            self._fence(c, run_id)
            _upsert_beat(c, run_id, {"host": host, "pid": pid, "beat_at": now()})

    def heartbeats(self) -> dict[int, Beat]:
        rows = self._read(select(Heartbeat))
        return {row.run_id: (row.host, row.pid, row.beat_at) for row in rows}

    def get_run(self, run_id: int) -> RunRow:
        with self._reading() as c:
            row = _run_row(c, run_id)
        if row is None:
            raise GanbenchError(
                f"no run {run_id} in {_shown(self.url)}; `ganbench runs list` shows the runs"
            )
        return dict(row)

    @writes
    def add_metrics(self, run_id: int, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self.engine.begin() as c:
                self._fence(c, run_id)
                c.execute(
                    insert(Metric),
                    [
                        {
                            "run_id": run_id,
                            "step": row[0],
                            "name": row[1],
                            "value": row[2],
                            "protocol": row[3] if len(row) > 3 else None,
                        }
                        for row in rows
                    ],
                )

    @writes
    def add_protocols(self, protocols: Mapping[str, Any]) -> None:
        with self.engine.begin() as c:
            _immediate(c)
            _add_missing_protocols(c, protocols)

    def protocols(self) -> dict[str, Any]:
        with self._reading() as c:
            return {row.id: row.details for row in c.execute(select(Protocol))}

    @writes
    def drop_metrics_after(self, run_id: int, step: int) -> None:
        with self.engine.begin() as c:
            self._fence(c, run_id)
            c.execute(delete(Metric).where(Metric.run_id == run_id, Metric.step > step))
            c.execute(delete(EarlyStop).where(EarlyStop.run_id == run_id, EarlyStop.step > step))

    @writes
    def finish_run(
        self,
        run_id: int,
        stop: tuple[int, str] | None = None,
        cost: tuple[float | None, float | None] | None = None,
        **fields: Any,
    ) -> None:
        with self.engine.begin() as c:
            self._fence(c, run_id)
            if stop is not None:
                c.execute(delete(EarlyStop).where(EarlyStop.run_id == run_id))
                c.execute(insert(EarlyStop).values(run_id=run_id, step=stop[0], reason=stop[1]))
            if cost is not None:
                c.execute(delete(RunCost).where(RunCost.run_id == run_id))
                c.execute(
                    insert(RunCost).values(run_id=run_id, peak_mem_mb=cost[0], energy_j=cost[1])
                )
            c.execute(update(Run).where(Run.id == run_id).values(**fields))

    @writes
    def tag(self, run_ids: Sequence[int], tag: str, remove: bool = False) -> None:
        with self.engine.begin() as c:
            _immediate(c)
            c.execute(delete(Tag).where(Tag.run_id.in_(run_ids), Tag.tag == tag))
            if not remove:
                c.execute(insert(Tag), [{"run_id": i, "tag": tag} for i in run_ids])

    def tags(self) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        for row in self._read(select(Tag).order_by(Tag.tag)):
            found.setdefault(row.run_id, []).append(row.tag)
        return found

    @writes
    def delete_runs(self, run_ids: Sequence[int]) -> None:
        with self.engine.begin() as c:
            for table in (*RECORDS.values(), RunOrigin):  # a writer's store has every table
                c.execute(delete(table).where(table.run_id.in_(run_ids)))
            c.execute(delete(Run).where(Run.id.in_(run_ids)))

    def records(self, run_id: int) -> Records:
        """The tables this database has (an older one lacks some)."""
        with self._reading() as c:
            return {
                name: [
                    _without_ids(row)
                    for row in c.execute(
                        select(table.__table__)
                        .where(table.run_id == run_id)
                        .order_by(*table.__table__.primary_key)
                    ).mappings()
                ]
                for name, table in RECORDS.items()
                if name in self.tables
            }

    def origins(self) -> dict[int, Origin]:
        rows = self._read(select(RunOrigin))
        return {row.run_id: (row.source, row.source_run) for row in rows}

    @writes
    def adopt(
        self, origin: Origin, row: Mapping[str, Any], records: Records, protocols: Mapping[str, Any]
    ) -> tuple[int, str]:
        with self.engine.begin() as c:
            _immediate(c)
            _add_missing_protocols(c, protocols)
            here = _adopted(c, origin, row)
            if here is None:
                return _copy_run(c, origin, row, records), "copied"
            if _same_run(c, here, row, records):
                return here["id"], "unchanged"
            _replace_run(c, here["id"], row, records)
            return here["id"], "updated"

    def costs(self) -> dict[int, tuple[float | None, float | None]]:
        rows = self._read(select(RunCost))
        return {row.run_id: (row.peak_mem_mb, row.energy_j) for row in rows}

    def early_stops(self) -> dict[int, tuple[int, str]]:
        rows = self._read(select(EarlyStop))
        return {row.run_id: (row.step, row.reason) for row in rows}

    def runs(self) -> list[RunRow]:
        with self._reading() as c:
            return [
                dict(row) for row in c.execute(select(Run.__table__).order_by(Run.id)).mappings()
            ]

    def metrics(self, run_id: int | None = None) -> list[MetricRow]:
        query = select(
            Metric.run_id, Metric.step, Metric.name, Metric.value, Metric.protocol
        ).order_by(Metric.id)
        if run_id is not None:
            query = query.where(Metric.run_id == run_id)
        with self._reading() as c:
            return [(row[0], row[1], row[2], row[3], row[4]) for row in c.execute(query)]


Store = SqlStore  # the name callers import
