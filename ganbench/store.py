"""The results store: runs and their per-step metrics, through SQLAlchemy.

SQLite (the default) runs in WAL mode with a busy timeout and BEGIN IMMEDIATE writes, so
several runs can write one file at once. NaN is stored as the text 'NaN' on SQLite, which
would otherwise turn it into NULL; inf is a REAL there already.
"""
import math
import os
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import (JSON, DateTime, Float, ForeignKey, Integer, String, Text, create_engine,
                        delete, event, insert, select, update)
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator, UserDefinedType

from .errors import GanbenchError

DEFAULT_DB = "sqlite:///results/ganbench.db"
STATUSES = ("queued", "running", "completed", "failed", "diverged", "interrupted")
SQLITE_MAGIC = b"SQLite format 3\x00"


def now():
    return datetime.now(timezone.utc)


class _SqliteReal(UserDefinedType):
    """REAL without SQLAlchemy's float conversion, which would turn 'NaN' back into a NULL."""

    cache_ok = True

    def get_col_spec(self):
        return "REAL"


class FaithfulFloat(TypeDecorator):
    """A float column that keeps NaN on SQLite."""

    impl = Float
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return _SqliteReal() if dialect.name == "sqlite" else dialect.type_descriptor(Float())

    def process_bind_param(self, value, dialect):
        if value is not None and dialect.name == "sqlite" and math.isnan(value):
            return "NaN"
        return value

    def process_result_value(self, value, dialect):
        return None if value is None else float(value)


class Base(DeclarativeBase):
    pass


class Run(Base):
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    study: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    plugins: Mapped[str] = mapped_column(String(500))
    config: Mapped[dict] = mapped_column(JSON)
    config_hash: Mapped[str] = mapped_column(String(64), index=True)
    seed: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    target_steps: Mapped[int] = mapped_column(Integer)
    steps_done: Mapped[int] = mapped_column(Integer, default=0)
    g_params: Mapped[int | None] = mapped_column(Integer, nullable=True)
    d_params: Mapped[int | None] = mapped_column(Integer, nullable=True)
    train_s: Mapped[float] = mapped_column(Float, default=0.0)
    eval_s: Mapped[float] = mapped_column(Float, default=0.0)
    device: Mapped[str | None] = mapped_column(String(50), nullable=True)
    gpu: Mapped[str | None] = mapped_column(String(200), nullable=True)
    torch_version: Mapped[str | None] = mapped_column(String(50), nullable=True)
    cuda_version: Mapped[str | None] = mapped_column(String(50), nullable=True)
    ganbench_version: Mapped[str | None] = mapped_column(String(50), nullable=True)
    git_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    plugin_versions: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    score_directions: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    environment: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    host: Mapped[str | None] = mapped_column(String(200), nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Metric(Base):
    __tablename__ = "metrics"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    value: Mapped[float | None] = mapped_column(FaithfulFloat, nullable=True)
    protocol: Mapped[str | None] = mapped_column(ForeignKey("protocols.id"), nullable=True)


class Network(Base):
    """A run's network by the name its scheme gave it, with its trainable parameter count.
    A table of its own, so databases made before it gain it without changing `runs`."""

    __tablename__ = "networks"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    params: Mapped[int] = mapped_column(Integer)


class Protocol(Base):
    """How a score was made: extractor, weights hash, image counts, reference split, resize."""

    __tablename__ = "protocols"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    details: Mapped[dict] = mapped_column(JSON)


def _sqlite_file(url):
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url[len(prefix):] in ("", ":memory:"):
        return None
    return Path(url[len(prefix):])


def check_sqlite_file(path):
    """Refuse, with a clear message and without touching it, a file that is not SQLite."""
    if path.is_dir():
        raise GanbenchError(f"database {path} is a directory; give --db a file path")
    if path.exists() and path.stat().st_size > 0:
        with open(path, "rb") as f:
            if f.read(16) != SQLITE_MAGIC:
                raise GanbenchError(f"{path} is not a SQLite database; give --db another path "
                                    f"(the file was left as it is)")
    if not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise GanbenchError(f"cannot create the folder for database {path} ({e.strerror}); "
                                f"give --db a writable path") from None
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        raise GanbenchError(f"database {path} is not writable; give --db a writable path")


def _tune_sqlite(engine):
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _):
        # Take transaction control from the driver so writes can BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Store:
    """Reads and writes runs and metrics in one database given by a SQLAlchemy URL."""

    def __init__(self, url=DEFAULT_DB):
        self.url = url
        self.sqlite_path = _sqlite_file(url)
        if self.sqlite_path:
            check_sqlite_file(self.sqlite_path)
        try:
            self.engine = create_engine(url)
            if self.engine.dialect.name == "sqlite":
                _tune_sqlite(self.engine)
            with self.engine.begin() as c:  # one transaction (BEGIN IMMEDIATE on SQLite): writers starting together
                Base.metadata.create_all(c)  # check and create tables one at a time
        except (DatabaseError, OperationalError) as e:
            raise GanbenchError(f"cannot use database {url}: {e.orig}; check --db") from None
        except Exception as e:  # a malformed URL or a missing driver
            raise GanbenchError(f"cannot open database {url}: {e}; check --db") from None

    @property
    def results_dir(self):
        """Where checkpoints go: beside a SQLite file, else ./results."""
        return self.sqlite_path.parent if self.sqlite_path else Path("results")

    def create_run(self, networks=None, **fields):
        """A new run and, in the same transaction, its networks {name: (kind, parameters)}."""
        with Session(self.engine) as s, s.begin():
            run = Run(**fields)
            s.add(run)
            s.flush()
            s.add_all([Network(run_id=run.id, name=n, kind=k, params=p) for n, (k, p) in (networks or {}).items()])
            return run.id

    def networks(self):
        """[(run id, network name, kind, parameters)] for every run that recorded them."""
        with self.engine.connect() as c:
            return [tuple(row) for row in c.execute(select(Network.run_id, Network.name, Network.kind, Network.params))]

    def update_run(self, run_id, **fields):
        with self.engine.begin() as c:
            c.execute(update(Run).where(Run.id == run_id).values(**fields))

    def get_run(self, run_id):
        with Session(self.engine) as s:
            run = s.get(Run, run_id)
            if run is None:
                raise GanbenchError(f"no run {run_id} in {self.url}; `ganbench report` lists runs")
            return {c.name: getattr(run, c.name) for c in Run.__table__.columns}

    def add_metrics(self, run_id, rows):
        """Write (step, name, value) or (step, name, value, protocol) rows in one transaction."""
        if rows:
            with self.engine.begin() as c:
                c.execute(insert(Metric), [
                    {"run_id": run_id, "step": row[0], "name": row[1], "value": row[2],
                     "protocol": row[3] if len(row) > 3 else None} for row in rows])

    def add_protocols(self, protocols):
        """Record {id: details} for the fingerprints not recorded yet."""
        with self.engine.begin() as c:
            known = set(c.scalars(select(Protocol.id).where(Protocol.id.in_(list(protocols)))))
            new = [{"id": k, "details": v} for k, v in protocols.items() if k not in known]
            if new:
                c.execute(insert(Protocol), new)

    def protocols(self):
        with self.engine.connect() as c:
            return {row.id: row.details for row in c.execute(select(Protocol))}

    def drop_metrics_after(self, run_id, step):
        """Forget metrics past a checkpoint, before a resumed run writes them again."""
        with self.engine.begin() as c:
            c.execute(delete(Metric).where(Metric.run_id == run_id, Metric.step > step))

    def runs(self):
        with Session(self.engine) as s:
            rows = s.scalars(select(Run).order_by(Run.id)).all()
            return [{c.name: getattr(r, c.name) for c in Run.__table__.columns} for r in rows]

    def metrics(self, run_id=None):
        query = select(Metric.run_id, Metric.step, Metric.name, Metric.value,
                       Metric.protocol).order_by(Metric.id)
        if run_id is not None:
            query = query.where(Metric.run_id == run_id)
        with self.engine.connect() as c:
            return [tuple(row) for row in c.execute(query)]
