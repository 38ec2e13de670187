"""PostgreSQL's URLs and outages (issue 23, items 9 and 14): each form of URL a user types
opens the database or says in one line what works; a run rides out a server restart within
GANBENCH_DB_PATIENCE and past it stops with one line that says how to go on; a reader waits
for the schema a writer is making."""

import os
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest
from conftest import TINY, throwaway_postgres, wait_for
from packaging.requirements import Requirement
from sqlalchemy import create_engine, make_url, text

import ganbench.store.environ as environ
import ganbench.store.schema as schema
from ganbench import GanbenchError
from ganbench.store.sql import Store, _immediate

STEPS = 60  # the run is still training when the server goes, after its first rows
LOGGED = [(step, name) for step in range(2, STEPS + 1, 2) for name in ("d_loss", "g_loss")]


@pytest.fixture
def database(postgres_server):
    """A database of the test's own on the shared server, as (server, name)."""
    name = postgres_server.create_database()
    yield postgres_server, name
    postgres_server.drop_database(name)


@pytest.fixture
def own_server(workdir):
    """A server of the test's own, which it may stop and start, and a database on it."""
    with throwaway_postgres() as server:
        yield server, server.url(server.create_database(), "postgresql")


def _refusal(url):
    with pytest.raises(GanbenchError) as error:
        Store(url)
    assert "\n" not in str(error.value)
    return str(error.value)


def test_every_postgresql_url_form_opens_the_same_database(database):
    server, name = database
    stores = [Store(server.url(name, s)) for s in ("postgresql", "postgresql+psycopg")]
    stores.append(Store(server.url(name, "postgresql+psycopg2")))
    run = stores[0].create_run(
        label="a", plugins="dcgan", config={}, config_hash="h", seed=0, target_steps=1
    )
    assert {s.identity for s in stores} == {stores[0].identity}
    assert [[r["id"] for r in s.runs()] for s in stores] == [[run]] * 3


def test_the_postgres_extra_installs_the_driver_plain_urls_take():
    pyproject = Path(__file__).parents[1] / "pyproject.toml"
    extras = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    names = {extra: {Requirement(r).name for r in listed} for extra, listed in extras.items()}
    assert make_url("postgresql://me@host/results").get_dialect().driver in names["postgres"]
    assert {"psycopg", "psycopg2-binary"} <= names["test"]  # the tests use both drivers' URLs


def test_a_plain_url_takes_psycopg2_where_psycopg_is_missing(database, monkeypatch):
    server, name = database
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    assert Store(server.url(name, "postgresql")).runs() == []


def test_postgres_url_is_refused_with_the_form_that_works():
    message = _refusal("postgres://me:s3cret@127.0.0.1:1/results")
    assert message.endswith("give --db postgresql://me:***@127.0.0.1:1/results")
    assert "s3cret" not in message


def test_a_missing_driver_names_what_installs_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    plain = _refusal("postgresql://me@127.0.0.1:1/results")
    assert plain.endswith("its driver psycopg is not installed (pip install 'ganbench[postgres]')")
    old = _refusal("postgresql+psycopg2://me@127.0.0.1:1/results")
    assert "its driver psycopg2 is not installed (pip install psycopg2-binary, or " in old
    assert old.endswith(
        "write postgresql:// for the driver pip install 'ganbench[postgres]' gives)"
    )


def test_a_bad_db_patience_is_one_line_naming_it(monkeypatch):
    monkeypatch.setenv("GANBENCH_DB_PATIENCE", "-1")
    with pytest.raises(GanbenchError, match="^GANBENCH_DB_PATIENCE=-1: give a number of sec"):
        environ.check_all()
    monkeypatch.setenv("GANBENCH_DB_PATIENCE", "0")
    assert environ.number(environ.DB_PATIENCE) == 0


def test_a_reader_waits_for_the_schema_a_writer_is_making(database):
    server, name = database
    url, opened = server.url(name), []
    reader = threading.Thread(target=lambda: opened.append(Store(url, create=False, write=False)))
    engine = create_engine(url)
    with engine.begin() as writer:  # a writer's first open: the schema, not yet committed
        _immediate(writer)
        schema.upgrade(writer, name)
        reader.start()
        assert wait_for(lambda: _waiting(server) or not reader.is_alive(), 60)
        assert reader.is_alive()  # waiting for the writer, not refused
    reader.join(timeout=60)
    engine.dispose()
    assert "runs" in opened[0].tables and opened[0].runs() == []


def _waiting(server):
    """Whether a connection waits for an advisory lock (ganbench's) on the server."""
    query = "select count(*) from pg_locks where locktype = 'advisory' and not granted"
    engine = create_engine(server.url("postgres"))
    with engine.connect() as c:
        found = c.scalar(text(query))
    engine.dispose()
    return found > 0


def _start(url, workdir, patience, *args):
    """`ganbench run ARGS` (a new run by default) in a process of its own; its stderr goes to
    a file the test reads as it goes."""
    err = workdir / f"stderr-{len(list(workdir.glob('stderr-*')))}.txt"
    command = [sys.executable, "-m", "ganbench", "run", *(args or (*TINY, f"--steps={STEPS}"))]
    command += ["--device", "cpu", "--db", url]
    env = {**os.environ, "GANBENCH_DB_PATIENCE": str(patience)}
    with open(err, "w") as stream:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stream, env=env)
    return child, err


def _logged(url):
    """The (step, name) of every metric row recorded, in the order written; [] before the
    run has made the database."""
    try:
        return [(step, name) for _, step, name, _, _ in Store(url, write=False).metrics()]
    except GanbenchError:
        return []


def _outage(server, url, child, until):
    """Stop the server as a crash would once the run has logged, and start it again once
    `until(stderr)` holds or the run has ended."""
    assert wait_for(lambda: _logged(url) or child.poll() is not None, 120)
    assert child.poll() is None, "the run ended before the outage"
    server.stop("immediate")
    try:
        return wait_for(lambda: until() or child.poll() is not None, 120)
    finally:
        server.serve()


def test_a_run_rides_out_a_server_restart_and_records_every_row_once(own_server, workdir):
    server, url = own_server
    child, err = _start(url, workdir, 120)
    _outage(server, url, child, lambda: "cannot be reached" in err.read_text())
    assert child.wait(timeout=300) == 0, err.read_text()
    [row] = Store(url, write=False).runs()
    assert (row["status"], row["steps_done"]) == ("completed", STEPS)
    assert sorted(_logged(url)) == sorted(LOGGED) and "Traceback" not in err.read_text()
    assert "for up to 120 s (GANBENCH_DB_PATIENCE)" in err.read_text()


def test_an_outage_past_the_patience_stops_the_run_in_one_line_naming_resume(own_server, workdir):
    server, url = own_server
    child, err = _start(url, workdir, 1)
    _outage(server, url, child, lambda: False)
    assert child.wait(timeout=120) != 0
    said = err.read_text()
    [line] = [line for line in said.splitlines() if line.startswith("Error")]
    assert "could not be reached for 1 s" in line and "ganbench run --resume ID" in line
    assert "Traceback" not in said and "OperationalError" not in line
    kept = _logged(url)
    assert 2 <= len(kept) < len(LOGGED) and len(set(kept)) == len(kept)
    [row] = Store(url, write=False).runs()
    resumed, err = _start(url, workdir, 120, "--resume", str(row["id"]))
    assert resumed.wait(timeout=300) == 0, err.read_text()
    assert sorted(_logged(url)) == sorted(LOGGED)
