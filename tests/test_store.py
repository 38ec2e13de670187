import hashlib
import math
import sqlite3
import subprocess
import sys

import pytest
from conftest import TINY, query, run_dir, wait_for

from ganbench import GanbenchError
from ganbench.results.report import group_table, load_frames
from ganbench.store.memory import MemoryStore
from ganbench.store.sql import Store


def test_nan_and_inf_come_back_as_they_went_in(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    store.add_metrics(
        1, [(1, "a", math.nan), (2, "a", math.inf), (3, "a", -math.inf), (4, "a", 0.25)]
    )
    values = [value for _, _, _, value, _ in store.metrics(1)]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf, 0.25]


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    with store.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10000


def test_a_file_that_is_not_a_database_is_refused_and_left_untouched(tmp_path, invoke):
    notes = tmp_path / "notes.db"
    notes.write_text("my precious notes\n")
    with pytest.raises(GanbenchError, match="is not a SQLite database"):
        Store(f"sqlite:///{notes}")
    result = invoke("run", "res=16", db_url=f"sqlite:///{notes}")
    assert result.exit_code == 2 and "is not a SQLite database" in result.output
    assert invoke("report", db_url=f"sqlite:///{notes}").exit_code == 2
    assert notes.read_text() == "my precious notes\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("notes")) == ["notes.db"]


def test_an_unwritable_database_path_gets_a_clear_error(tmp_path, invoke):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    result = invoke("run", "res=16", db_url=f"sqlite:///{blocker / 'sub' / 'g.db'}")
    assert result.exit_code == 2
    assert (
        "cannot create the folder for database" in result.output
        and "Traceback" not in result.output
    )


def test_a_directory_is_not_a_database(tmp_path):
    with pytest.raises(GanbenchError, match="is a directory"):
        Store(f"sqlite:///{tmp_path}")


def test_a_bad_url_is_one_clear_error():
    with pytest.raises(GanbenchError, match="cannot open database nosuchdb://x"):
        Store("nosuchdb://x")


def test_existing_runs_survive_a_second_store_on_the_same_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'keep.db'}"
    first = Store(url)
    run_id = first.create_run(
        label="x", plugins="", config={}, config_hash="h", seed=0, target_steps=1
    )
    assert Store(url).get_run(run_id)["label"] == "x"


def test_a_database_from_before_the_networks_table_gains_it_and_still_reports(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Store(url)
    store.create_run(
        label="old",
        plugins="dcgan",
        config={},
        config_hash="h",
        seed=0,
        target_steps=1,
        g_params=100,
        d_params=50,
        status="completed",
        steps_done=1,
    )
    with sqlite3.connect(tmp_path / "old.db") as c:
        c.execute(
            "drop table networks"
        )  # as every database made before it, which had no schema version
        c.execute("drop table alembic_version")
        c.execute("drop table run_origins")
    reopened = Store(url)
    assert reopened.networks() == []
    run = reopened.create_run(
        {"g": ("generator", 7), "d": ("discriminator", 3)},
        label="new",
        plugins="dcgan",
        config={},
        config_hash="k",
        seed=0,
        target_steps=1,
        status="completed",
        steps_done=1,
    )
    table = group_table(*load_frames(reopened))
    assert table[["group", "g_params", "d_params"]].values.tolist() == [
        ["old", 100, 50],
        ["new", 7, 3],
    ]
    assert sorted(reopened.networks()) == [
        (run, "d", "discriminator", 3),
        (run, "g", "generator", 7),
    ]


def test_a_process_keeps_one_engine_per_database(tmp_path):
    """SQLite's locks are the process's: a second engine's connections, closed by the garbage
    collector, would drop locks the first holds (two concurrent runs then corrupted the file)."""
    url = f"sqlite:///{tmp_path / 'one.db'}"
    assert Store(url).engine is Store(url).engine
    assert Store(url).engine is not Store(f"sqlite:///{tmp_path / 'two.db'}").engine


# Run ids are never used again (issue 22, item 5)


def _new_run(store):
    return store.create_run(
        label="x", plugins="", config={}, config_hash="h", seed=0, target_steps=1
    )


def test_a_deleted_runs_id_is_never_given_to_a_new_run(reopen):
    store = reopen()
    first, newest = _new_run(store), _new_run(store)
    store.delete_runs([newest])  # the newest: SQLite without AUTOINCREMENT gave its id again
    later = _new_run(reopen())  # opened anew, as the next command would
    assert later > newest and [row["id"] for row in reopen().runs()] == [first, later]


def test_a_new_run_never_starts_in_a_folder_that_holds_files(workdir):
    store = MemoryStore(workdir / "results")
    left = store.run_dir(1) / "samples" / "step-40.png"  # what a run deleted long ago left
    left.parent.mkdir(parents=True)
    left.write_bytes(b"someone else's samples")
    run = _new_run(store)
    assert run == 1 and not store.run_dir(run).exists()
    (kept,) = store.run_dir(run).parent.glob(f"{run}.orphan-*")  # kept for a person to look at
    assert (kept / "samples" / "step-40.png").read_bytes() == b"someone else's samples"


# In a child process: `ganbench runs delete ...` that stops for good (until killed) where
# it reaches the second of its two steps, removing the run folders and removing the rows,
# whichever order it takes them in; it says which step it stopped before in the file argv[1].
DELETE_STOPPING_HALFWAY = """
import shutil, sys, time
from pathlib import Path
from ganbench.store.sql import SqlStore
from ganbench.cli import main

said, reached = Path(sys.argv[1]), set()

def stopping_at_the_second(step, work):
    def stopping(*args, **kwargs):
        reached.add(step)
        if len(reached) == 2:
            said.write_text(step)
            time.sleep(600)
        return work(*args, **kwargs)
    return stopping

shutil.rmtree = stopping_at_the_second("folders", shutil.rmtree)
SqlStore.delete_runs = stopping_at_the_second("rows", SqlStore.delete_runs)
sys.argv = ["ganbench", *sys.argv[2:]]
main()
"""


def _files(folder):
    """{path in the folder: sha256 of its bytes}."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_a_delete_killed_halfway_leaves_nothing_a_new_run_takes_for_its_own(invoke, db, workdir):
    assert invoke("run", *TINY, "sample_every=2", "--steps", "4").exit_code == 0
    deleted = _files(run_dir(db, 1))
    assert any(name.startswith("samples/step-") for name in deleted)
    said = workdir / "stopped-before"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            DELETE_STOPPING_HALFWAY,
            str(said),
            "runs",
            "delete",
            "1",
            "--yes",
            "--db",
            db,
        ],
        stderr=subprocess.PIPE,
    )
    try:
        halfway = wait_for(lambda: said.exists() or child.poll() is not None, timeout=60)
        assert halfway and said.exists(), (
            child.stderr.read() if child.poll() is not None else "too slow"
        )
    finally:
        child.kill()  # SIGKILL: no cleanup, as a power cut or the OOM killer
        child.wait()
    result = invoke("run", *TINY, "--steps", "2", "--seed", "1")
    assert result.exit_code == 0, result.output
    new = max(row["id"] for row in Store(db, write=False).runs())
    images = {n: d for n, d in _files(run_dir(db, new)).items() if n.endswith(".png")}
    inherited = {name for name, digest in images.items() if deleted.get(name) == digest}
    assert new != 1 and not inherited  # the deleted run's sample grids, which its page shows
    assert invoke("runs", "delete", "1", "--yes").exit_code == 0  # deleting again finishes it
    assert [row[0] for row in query(db, "select id from runs")] == [new]
    assert not run_dir(db, 1).exists()
