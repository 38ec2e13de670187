"""Schema versions: Alembic migrations make the models' schema, bring a database made by the
release before versions up to date in place, and a newer or foreign database is refused
untouched."""

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from ganbench.errors import GanbenchError
from ganbench.store import schema
from ganbench.store.sql import Base, Store

UNVERSIONED = (
    Path(__file__).parent / "data" / "schema-unversioned.sql"
)  # `sqlite3 .dump` of 0.1.0's database


def differences(url):
    """What Alembic's autogenerate would change to make the database match the models."""
    with create_engine(url).connect() as c:
        return compare_metadata(MigrationContext.configure(c), Base.metadata)


def loaded(sql, path):
    with sqlite3.connect(path) as c:
        c.executescript(sql)
    return f"sqlite:///{path}"


def test_head_is_the_newest_migration():
    assert schema._scripts().get_current_head() == schema.HEAD


def test_a_new_database_is_the_models_schema_at_head(store_url):
    store = Store(store_url)
    assert store.schema_version == schema.HEAD
    assert differences(store_url) == []


def test_a_database_from_the_release_before_versions_is_upgraded_in_place(workdir, invoke):
    url = loaded(UNVERSIONED.read_text(), workdir / "old.db")
    before = invoke("report", "--format", "csv", "--db", url)
    store = Store(url)
    assert store.schema_version == schema.HEAD
    assert differences(url) == []
    assert "run_origins" in store.tables
    assert [row["id"] for row in store.runs()] == [1] and len(store.metrics(1)) == 6
    assert store.tags() == {1: ["baseline"]}
    after = invoke("report", "--format", "csv", "--db", url)
    assert before.exit_code == after.exit_code == 0 and before.output == after.output


def test_an_older_database_missing_tables_gains_them(workdir):
    sql = UNVERSIONED.read_text()
    kept = [
        statement
        for statement in sql.split(";\n")
        if "networks" not in statement and "costs" not in statement
    ]
    url = loaded(";\n".join(kept), workdir / "older.db")
    assert "networks" not in Store(url, write=False).tables
    assert {"networks", "costs"} <= Store(url).tables
    assert differences(url) == []


@pytest.fixture
def postgres_url(postgres_server):
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


def test_an_unversioned_postgres_database_from_0_1_0_is_upgraded(postgres_url):
    with create_engine(postgres_url).begin() as c:
        schema.migrate(c, "0001")
        c.execute(text("drop table alembic_version"))  # as 0.1.0 left it, with its narrower types:
        c.execute(
            text(
                "alter table runs alter column seed type integer, alter column label type varchar(200)"
            )
        )
        c.execute(text("alter table networks alter column params type integer"))
        c.execute(
            text(
                "insert into runs (id, label, plugins, config, config_hash, seed, status, target_steps, "
                "steps_done, train_s, eval_s) values (7, 'old', '', '{}', 'h', 0, 'completed', 4, 4, 1, 0)"
            )
        )
    assert differences(postgres_url) != []  # the narrower types show
    store = Store(postgres_url)
    assert store.schema_version == schema.HEAD and differences(postgres_url) == []
    assert [row["label"] for row in store.runs()] == ["old"]
    store.update_run(7, seed=2**32 - 1, label="x" * 300)  # what 0.1.0's types refused
    assert [(row["seed"], len(row["label"])) for row in Store(postgres_url).runs()] == [
        (2**32 - 1, 300)
    ]


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_a_newer_database_is_refused_untouched(workdir, invoke):
    url = loaded(
        UNVERSIONED.read_text() + "create table alembic_version (version_num varchar(32));"
        "insert into alembic_version values ('9999');",
        workdir / "newer.db",
    )
    digest = sha256(workdir / "newer.db")
    for write in (True, False):
        with pytest.raises(GanbenchError, match="schema version 9999.*upgrade ganbench"):
            Store(url, write=write)
    result = invoke("report", "--db", url)
    assert (
        result.exit_code != 0
        and "schema version 9999" in result.output
        and "Traceback" not in result.output
    )
    assert sha256(workdir / "newer.db") == digest


def test_a_foreign_postgres_database_is_refused_untouched(postgres_url):
    with create_engine(postgres_url).begin() as c:
        c.execute(text("create table customers (id integer primary key, name text)"))
    with pytest.raises(GanbenchError, match="another program's database .*customers"):
        Store(postgres_url)
    with create_engine(postgres_url).connect() as c:
        tables = (
            c.execute(text("select tablename from pg_tables where schemaname = 'public'"))
            .scalars()
            .all()
        )
    assert tables == ["customers"]


def layout_and_rows(path, tables):
    """Of each table: its rows, its indexes (name, unique, columns) and its foreign keys."""
    with closing(sqlite3.connect(path)) as c:
        return {
            table: (
                sorted(map(repr, c.execute(f"select * from {table}"))),
                sorted(
                    (name, unique, [col[2] for col in c.execute(f"pragma index_info('{name}')")])
                    for _, name, unique, *_ in c.execute(f"pragma index_list('{table}')")
                ),
                sorted(c.execute(f"pragma foreign_key_list('{table}')")),
            )
            for table in tables
        }


def test_an_upgraded_database_keeps_every_row_index_and_key_and_never_reuses_an_id(workdir):
    url = loaded(UNVERSIONED.read_text(), workdir / "old.db")
    with closing(sqlite3.connect(workdir / "old.db")) as c:
        tables = [row[0] for row in c.execute("select name from sqlite_master where type='table'")]
    before = layout_and_rows(workdir / "old.db", tables)
    store = Store(url)  # upgrades it to HEAD: `runs` is made again, with AUTOINCREMENT
    assert layout_and_rows(workdir / "old.db", tables) == before
    with closing(sqlite3.connect(workdir / "old.db")) as c:
        assert c.execute("pragma foreign_key_check").fetchall() == []
        assert c.execute("pragma integrity_check").fetchall() == [("ok",)]
    fields = dict(label="x", plugins="", config={}, config_hash="h", seed=0, target_steps=1)
    newest = store.create_run(**fields)
    store.delete_runs([newest])
    assert newest == 2 and Store(url).create_run(**fields) == 3
