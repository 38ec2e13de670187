"""SQLite specifics of the store: a file is checked before anything opens it (not SQLite,
another program's database, missing, not writable), writes take BEGIN IMMEDIATE while reads
take no write lock, and a file that cannot be written is read as it is (archived results)."""

import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from ganbench.errors import GanbenchError
from ganbench.store.schema import check_version, refuse_foreign

MAGIC = b"SQLite format 3\x00"
READ = "ganbench_read"  # execution option: a read transaction takes no write lock


def file_of(url: str) -> Path | None:
    """The database file of a sqlite:/// URL, or None for other databases and memory."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url[len(prefix) :] in ("", ":memory:"):
        return None
    return Path(url[len(prefix) :])


def check_file(path: Path, create: bool) -> None:
    """Refuse, with a clear message and without touching it, a path that is no SQLite
    database; a missing one is created only when `create`."""
    if path.is_dir():
        raise GanbenchError(f"database {path} is a directory; give --db a file path")
    if not path.exists():
        if not create:
            raise GanbenchError(f"no database at {path}; give --db the file your runs wrote to")
        _make_folder(path)
    elif path.stat().st_size > 0 and _head(path) != MAGIC:
        raise GanbenchError(
            f"{path} is not a SQLite database; give --db another path (the file was left as it is)"
        )
    if create and not writable(path):
        raise GanbenchError(f"database {path} is not writable; give --db a writable path")


# Files this process found to be SQLite databases. Their header is read once: on POSIX,
# closing any descriptor of a file drops every lock this process holds on it, SQLite's
# included, so reading it again while a connection here is open lets another process
# delete the WAL under that connection (which then reads a "malformed" database).
_known: set[Path] = set()


def _head(path: Path) -> bytes:
    if path.resolve() in _known:
        return MAGIC
    with open(path, "rb") as f:
        head = f.read(16)
    if head == MAGIC:
        _known.add(path.resolve())
    return head


def _make_folder(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GanbenchError(
            f"cannot create the folder for database {path} ({e.strerror}); give --db a writable path"
        ) from None


def writable(path: Path) -> bool:
    """The file and its folder (SQLite writes its journal beside it) can be written."""
    return os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def check_own(path: Path) -> None:
    """Refuse another program's SQLite database, or a newer ganbench's, before anything opens
    it to write (opening it would already turn on WAL, which changes the file)."""
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        _, tables, columns, version = _read(path)
    except sqlite3.DatabaseError as e:
        raise GanbenchError(f"cannot read database {path} ({e}); check --db") from None
    refuse_foreign(tables, columns, str(path), kind="SQLite database")
    check_version(version, str(path))


def _read(path: Path) -> tuple[str, set[str], set[str], str | None]:
    """(mode, table names, columns of `runs`, schema version): read-only, or immutable (no lock files beside
    it) when even that cannot open it, as in a folder it cannot write to."""
    try:
        return ("mode=ro", *_schema(path, "mode=ro"))
    except sqlite3.OperationalError:
        return ("mode=ro&immutable=1", *_schema(path, "mode=ro&immutable=1"))


def _schema(path: Path, mode: str) -> tuple[set[str], set[str], str | None]:
    """(table names, columns of `runs`, schema version or None), read without writing."""
    with closing(sqlite3.connect(f"file:{quote(str(path.resolve()))}?{mode}", uri=True)) as c:
        tables = {
            row[0] for row in c.execute("select name from sqlite_master where type = 'table'")
        }
        columns = {row[1] for row in c.execute("pragma table_info(runs)")}
        version = (
            c.execute("select version_num from alembic_version").fetchone()
            if "alembic_version" in tables
            else None
        )
        return tables, columns, version and version[0]


def read_only_url(path: Path) -> str:
    """A URL that reads the file without writing to it, in the mode `_read` could open it."""
    return f"sqlite:///file:{quote(str(path.resolve()))}?{_read(path)[0]}&uri=true"


def tune(engine: Engine, busy_ms: int) -> None:
    """WAL, so readers and writers do not block each other; a busy timeout; BEGIN IMMEDIATE
    for writes, so two writers queue instead of failing on a lock upgrade."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None  # transaction control is ours, not the driver's
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(
            "BEGIN" if connection.get_execution_options().get(READ) else "BEGIN IMMEDIATE"
        )
