"""The database's schema version, which Alembic keeps in its `alembic_version` table.

Opening a database to write brings it to HEAD in the transaction that holds its write lock: a
new database is made by the migrations in ganbench/migrations/versions, and so is one from the
releases before versions (it has no alembic_version; the first migration adds only the tables
it lacks). A newer or unknown version, or another program's tables, is refused before
anything is written. Reading needs no upgrade: readers check for tables an older database
lacks.

To change the schema: add a migration whose down_revision is HEAD, change the models in
store.py to match, and set HEAD to its revision. tests/test_schema.py checks that the
migrations make exactly the models' schema.
"""

import functools
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from ganbench.errors import GanbenchError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

HEAD = "0003"
# The columns every ganbench `runs` table has had: a database with them is ganbench's own.
OWN_RUN_COLUMNS = {"label", "config", "config_hash", "seed", "status", "target_steps", "steps_done"}


def version(connection: Connection) -> str | None:
    """The database's revision, or None where Alembic has not versioned it."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("select version_num from alembic_version")).scalar()


def check_own(connection: Connection, shown: str) -> None:
    """Refuse another program's database, read through SQLAlchemy."""
    tables = set(inspect(connection).get_table_names())
    refuse_foreign(tables, _columns(connection, "runs") if "runs" in tables else set(), shown)


def refuse_foreign(
    tables: set[str], run_columns: set[str], shown: str, kind: str = "database"
) -> None:
    """Refuse a database that has tables but no ganbench `runs` among them (`run_columns`:
    the columns of its `runs`, if any), before anything is written to it."""
    if not tables or OWN_RUN_COLUMNS <= run_columns:
        return
    listed = ", ".join(sorted(tables)[:5])
    raise GanbenchError(
        f"{shown} is another program's {kind} (tables {listed}); ganbench left it as it is: "
        f"give --db a database of its own"
    )


def _columns(connection: Connection, table: str) -> set[str]:
    return {column["name"] for column in inspect(connection).get_columns(table)}


def check_version(found: str | None, shown: str) -> None:
    """Refuse a revision these migrations do not know: a newer ganbench's, or not ganbench's."""
    if found in (None, HEAD) or found in _revisions():  # HEAD needs no look at the migrations
        return
    raise GanbenchError(
        f"{shown} has schema version {found}, which this ganbench does not know (it knows up to "
        f"{HEAD}): a newer ganbench wrote it; upgrade ganbench (pip install -U ganbench)"
    )


@functools.cache
def _revisions() -> set[str]:
    return {script.revision for script in _scripts().walk_revisions()}


def _scripts() -> "ScriptDirectory":
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def _config(connection: Connection | None = None) -> "Config":
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "ganbench.store:migrations")
    config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection, shown: str) -> None:
    """Bring the database to HEAD in the connection's transaction (which holds its write lock)."""
    found = version(connection)
    if found == HEAD:
        return
    check_own(connection, shown)
    check_version(found, shown)
    migrate(connection, "head")


def migrate(connection: Connection, target: str) -> None:
    from alembic import command

    command.upgrade(_config(connection), target)
