"""The results store on each backend: SQLite, PostgreSQL (a throwaway server, see
conftest.postgres_server) and Python dicts (MemoryStore). The same calls must give the same
answers on each; what goes through the command line or other processes is SQL's alone."""

import json
import math
import multiprocessing
import socket
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from ganbench import GanbenchError
from ganbench.cli import cli
from ganbench.store import MemoryStore, RunStatus, RunStore, open_store
from ganbench.store.base import ACTIVE, FINISHED, STATUSES, alive
from ganbench.store.folders import RunFolders
from ganbench.store.merge import merge_one
from ganbench.store.sql import SqlStore, Store, now

WRITERS, ROWS = 8, 50


def _run(store, networks=None, **fields):
    record = dict(
        label="arm",
        plugins="dcgan",
        config={"options": {"res": 16}},
        config_hash="h",
        seed=0,
        target_steps=10,
    )
    return store.create_run(networks, **(record | fields))


def _invoke(url, *args):
    return CliRunner().invoke(cli, list(args), env={"GANBENCH_DB": url})


def test_a_run_and_its_networks_come_back_as_they_went_in(reopen):
    store = reopen()
    label, params, seed = (
        "x" * 300,
        3 * 2**31,
        2**32 - 1,
    )  # longer than VARCHAR(200), wider than 32 bits
    started = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    run = _run(
        store,
        {"G": ("generator", params), "D": ("discriminator", 5)},
        label=label,
        seed=seed,
        g_params=params,
        started_at=started,
        environment={"python": "3.12", "cuda": None},
    )
    other = _run(store)
    row = store.get_run(run)
    assert (row["label"], row["seed"], row["g_params"], row["status"]) == (
        label,
        seed,
        params,
        "queued",
    )
    assert row["config"] == {"options": {"res": 16}} and row["environment"] == {
        "python": "3.12",
        "cuda": None,
    }
    assert (
        row["started_at"] == started.replace(tzinfo=None) and row["steps_done"] == 0
    )  # naive UTC, as on SQLite
    assert sorted(store.networks()) == [
        (run, "D", "discriminator", 5),
        (run, "G", "generator", params),
    ]
    assert [r["id"] for r in store.runs()] == [run, other] and other > run


def test_an_update_is_kept_and_of_two_claims_exactly_one_wins(reopen):
    store = reopen()
    run = _run(store)
    store.update_run(run, status="interrupted", host="h1", pid=11, steps_done=4)
    seen = store.get_run(run)
    assert (seen["status"], seen["host"], seen["pid"], seen["steps_done"]) == (
        "interrupted",
        "h1",
        11,
        4,
    )
    start, won = threading.Barrier(2), []

    def claim(pid):
        start.wait(timeout=30)
        won.append((store.claim(run, seen, status="running", host="h2", pid=pid), pid))

    threads = [threading.Thread(target=claim, args=(pid,)) for pid in (21, 22)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(w for w, _ in won) == [False, True]
    winner = next(pid for w, pid in won if w)
    assert (store.get_run(run)["status"], store.get_run(run)["pid"]) == ("running", winner)
    assert not store.claim(run, seen, status="running", host="h3", pid=31)


def test_heartbeats_keep_the_latest_beat_of_each_run(reopen):
    store = reopen()
    first, second = _run(store), _run(store)
    before = datetime.now(UTC) - timedelta(seconds=1)
    store.beat(first, "h1", 1)
    store.beat(first, "h2", 2)
    store.beat(second, "h3", 3)
    beats = store.heartbeats()
    assert {run: beat[:2] for run, beat in beats.items()} == {first: ("h2", 2), second: ("h3", 3)}
    assert beats[first][2].tzinfo is None  # UTC, as SQLite gives it
    when = beats[first][2].replace(tzinfo=UTC)
    assert before <= when <= datetime.now(UTC) + timedelta(seconds=1)
    row = dict(store.get_run(first), host="elsewhere", pid=2)
    assert alive(row, beats[first]) and not alive(row, beats[first], when + timedelta(hours=1))


def test_metrics_in_order_and_dropped_past_a_step(reopen):
    store = reopen()
    store.add_protocols({"p1": {"extractor": "test"}})
    run, other = _run(store), _run(store)
    store.add_metrics(
        run, [(step, "g_loss", step / 10) for step in (1, 2, 3, 4)] + [(4, "fid", 55.5, "p1")]
    )
    store.add_metrics(other, [(1, "g_loss", 0.5)])
    store.add_metrics(run, [])
    store.finish_run(run, stop=(4, "plateau"), status="completed")
    losses = [(run, s, "g_loss", s / 10, None) for s in (1, 2, 3, 4)]
    assert store.metrics(run) == losses + [(run, 4, "fid", 55.5, "p1")]
    store.drop_metrics_after(run, 2)
    assert store.metrics() == losses[:2] + [(other, 1, "g_loss", 0.5, None)]
    assert store.early_stops() == {}


def test_nan_and_inf_come_back_exactly(reopen):
    store = reopen()
    run = _run(store)
    store.add_metrics(
        run,
        [
            (1, "a", math.nan),
            (2, "a", math.inf),
            (3, "a", -math.inf),
            (4, "a", 0.1),
            (5, "a", None),
        ],
    )
    values = [value for *_, value, _ in store.metrics(run)]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf, 0.1, None]
    assert reopen(create=False, write=False).metrics(run)[1:3] == store.metrics(run)[1:3]


def test_protocols_are_recorded_once_even_by_writers_at_once(reopen):
    store = reopen()
    details = {"extractor": "inception", "n_fake": 10000, "resize": [299, 299]}
    start, failed = threading.Barrier(4), []

    def add():
        start.wait(timeout=30)
        try:
            store.add_protocols({"p1": details, "p2": {"extractor": "other"}})
        except Exception as e:  # noqa: BLE001 - the assertion below names it
            failed.append(e)

    threads = [threading.Thread(target=add) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    store.add_protocols({"p1": {"changed": True}, "p3": {}})
    assert failed == [] and store.protocols() == {
        "p1": details,
        "p2": {"extractor": "other"},
        "p3": {},
    }


def test_tags_are_given_and_taken_away(reopen):
    store = reopen()
    first, second = _run(store), _run(store)
    store.tag([first, second], "keep")
    store.tag([first], "best")
    store.tag([first], "keep")  # twice is once
    assert store.tags() == {first: ["best", "keep"], second: ["keep"]}
    store.tag([first, second], "keep", remove=True)
    assert store.tags() == {first: ["best"]}


def test_finish_run_records_its_cost_and_early_stop_once(reopen):
    store = reopen()
    run, plain = _run(store), _run(store)
    store.finish_run(run, stop=(3, "no gain"), cost=(1.5, 2.0), status="completed", steps_done=3)
    store.finish_run(
        run,
        stop=(5, "fid plateau"),
        cost=(12.5, None),
        status="completed",
        steps_done=5,
        ended_at=now(),
    )
    store.finish_run(plain, status="failed", error="boom")
    assert store.costs() == {run: (12.5, None)} and store.early_stops() == {run: (5, "fid plateau")}
    row = store.get_run(run)
    assert (row["status"], row["steps_done"], row["ended_at"] is not None) == ("completed", 5, True)
    assert (store.get_run(plain)["status"], store.get_run(plain)["error"]) == ("failed", "boom")


def test_delete_runs_removes_everything_of_them_only(reopen):
    store = reopen()
    gone, kept = (_run(store, {"G": ("generator", 1)}) for _ in range(2))
    for run in (gone, kept):
        store.add_metrics(run, [(1, "g_loss", 1.0)])
        store.beat(run, "h", 1)
        store.tag([run], "t")
        store.finish_run(run, stop=(1, "r"), cost=(1.0, 1.0), status="completed")
    store.delete_runs([gone])
    assert [r["id"] for r in store.runs()] == [kept] and {r for r, *_ in store.metrics()} == {kept}
    recorded = (store.heartbeats(), store.tags(), store.costs(), store.early_stops())
    assert [set(found) for found in recorded] == [{kept}] * 4
    assert [n[0] for n in store.networks()] == [kept]


def test_a_report_shows_the_recorded_runs(store_url):
    store = Store(store_url)
    store.add_protocols({"p1": {"extractor": "test"}})
    for seed, (label, fid) in enumerate((("base", 50.0), ("base", 52.0), ("new", 30.0))):
        run = _run(
            store,
            label=label,
            config_hash=label,
            seed=seed,
            status="completed",
            steps_done=10,
            train_s=5.0,
            score_directions={"fid": "min"},
        )
        store.add_metrics(run, [(10, "fid", fid, "p1"), (10, "g_loss", math.nan)])
    result = _invoke(store_url, "report", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {row["group"]: row for row in json.loads(result.output)}
    assert (rows["base"]["runs"], rows["base"]["run_ids"], rows["new"]["run_ids"]) == (
        2,
        "1,2",
        "3",
    )
    assert (rows["base"]["min_fid"], rows["new"]["min_fid"]) == (51.0, 30.0)
    listed = CliRunner().invoke(cli, ["runs", "list", "--db", store_url])
    assert listed.exit_code == 0 and "3 run(s)" in listed.output


def test_a_tiny_training_run_records_everything(store_url):
    from conftest import TINY

    result = _invoke(
        store_url, "run", *TINY, "--steps", "4", "--seed", "7", "--device", "cpu", "--db", store_url
    )
    assert result.exit_code == 0, result.output
    store = Store(store_url, create=False, write=False)
    [row] = store.runs()
    assert (row["status"], row["steps_done"], row["seed"], row["host"]) == (
        "completed",
        4,
        7,
        socket.gethostname(),
    )
    assert row["g_params"] > 0 and {n for _, n, _, _ in store.networks()} == {"g", "d"}
    assert sorted({(step, name) for _, step, name, _, _ in store.metrics()}) == [
        (step, name) for step in (2, 4) for name in ("d_loss", "g_loss")
    ]
    assert (store.run_dir(row["id"]) / "last.pt").exists()
    shown = _invoke(store_url, "runs", "show", str(row["id"]))
    assert shown.exit_code == 0 and json.loads(shown.output)["status"] == "completed"


def _write(url, writer, start):
    """One of several processes writing at once: a run, its rows one transaction each, a beat."""
    store = Store(url)
    start.wait(timeout=120)
    run = _run(store, label=f"writer{writer}", seed=writer)
    for step in range(ROWS):
        store.add_metrics(run, [(step, "g_loss", writer + step / ROWS)])
        store.update_run(run, steps_done=step + 1)
    store.beat(run, socket.gethostname(), writer)


def test_writers_in_many_processes_lose_nothing(store_url):
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WRITERS)
    writers = [context.Process(target=_write, args=(store_url, i, start)) for i in range(WRITERS)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=300)
    assert [writer.exitcode for writer in writers] == [0] * WRITERS
    store = Store(store_url, create=False, write=False)
    runs = {row["label"]: row for row in store.runs()}
    assert sorted(runs) == sorted(f"writer{i}" for i in range(WRITERS))
    assert {row["steps_done"] for row in runs.values()} == {ROWS} and len(
        store.heartbeats()
    ) == WRITERS
    for i in range(WRITERS):
        rows = store.metrics(runs[f"writer{i}"]["id"])
        assert [(step, value) for _, step, _, value, _ in rows] == [
            (s, i + s / ROWS) for s in range(ROWS)
        ]


def test_an_unreachable_server_is_one_line_without_its_password():
    pytest.importorskip("psycopg2")
    with pytest.raises(GanbenchError) as error:
        Store("postgresql+psycopg2://me:s3cret@127.0.0.1:1/results")  # nothing listens on port 1
    message = str(error.value)
    assert message.startswith(
        "cannot use database postgresql+psycopg2://me:***@127.0.0.1:1/results: "
    )
    assert "\n" not in message and "s3cret" not in message and message.endswith("; check --db")


# What every store does alike: statuses, liveness, JSON columns, identity, merging


def _dead_pid():
    """The id of a process of this host that has ended."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


def test_a_status_is_its_stored_string():
    assert [RunStatus(s) for s in STATUSES] == list(RunStatus) and len(STATUSES) == 7
    assert "completed" == RunStatus.COMPLETED and f"{RunStatus.LOST}" == "lost"
    assert json.dumps(RunStatus.DIVERGED) == '"diverged"'
    assert set(FINISHED) == {"completed", "diverged"} and set(ACTIVE) == {"queued", "running"}


def test_a_status_written_as_a_member_is_read_back_as_its_value(reopen):
    store = reopen()
    run = _run(store, status=RunStatus.RUNNING)
    store.update_run(run, status=RunStatus.FAILED)
    assert [type(r["status"]) for r in store.runs()] == [str] and store.runs()[0][
        "status"
    ] == "failed"


def test_a_run_whose_process_is_gone_is_lost_as_it_stands(reopen):
    store, here, gone = reopen(), socket.gethostname(), _dead_pid()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = _run(store, status="running", host=here, pid=gone)
        queued = _run(store, status="queued", host=here, pid=gone)
        live = _run(store, status="running", host=here, pid=sleeper.pid)
        finished = {s: _run(store, status=s, host=here, pid=gone) for s in ("completed", "failed")}
        standing = store.statuses()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert (standing[dead], standing[queued], standing[live]) == ("lost", "lost", "running")
    assert {standing[run] for run in finished.values()} == {"completed", "failed"}
    assert all(type(status) is RunStatus for status in standing.values())
    assert store.runs()[0]["status"] == "running"  # lost is worked out, never stored
    assert {row["id"]: store.status_of(row) for row in store.runs()} == store.statuses()


def test_a_run_on_another_host_is_lost_once_its_beat_is_stale(reopen):
    store = reopen()
    run = _run(store, status="running", host="elsewhere", pid=5)
    finished = _run(store, status="completed", host="elsewhere", pid=6)
    assert store.statuses()[run] == "running"  # no beat: this host cannot tell
    store.beat(run, "elsewhere", 5)
    store.beat(finished, "elsewhere", 6)
    beat_at = store.heartbeats()[run][2].replace(tzinfo=UTC)
    row = store.get_run(run)
    assert store.status_of(row) == "running" and store.statuses()[run] == "running"
    later = beat_at + timedelta(minutes=2)
    assert store.status_of(row, later) == RunStatus.LOST
    assert store.statuses(now=later) == {run: "lost", finished: "completed"}


def test_json_columns_come_back_as_json_gives_them_and_rows_are_copies(reopen):
    store = reopen()
    environment = {"sizes": (1, 2), "nested": {"a": [1]}}
    run = _run(store, environment=environment)
    environment["nested"]["a"].append(2)  # the caller's dict is not the store's
    row = store.get_run(run)
    assert row["environment"] == {"sizes": [1, 2], "nested": {"a": [1]}}
    row["environment"]["nested"]["a"].append(3)
    row["config"]["options"]["res"] = 64
    assert store.get_run(run)["environment"]["nested"] == {"a": [1]}
    assert store.runs()[0]["config"] == {"options": {"res": 16}}


def test_a_store_has_one_identity_and_run_folders_of_its_own(reopen):
    store = reopen()
    assert len(store.identity) == 32 and int(store.identity, 16) >= 0
    assert reopen(create=False, write=False).identity == store.identity
    run = _run(store)
    folder = store.run_dir(run)
    assert folder.parent.name.endswith(f"-{store.identity[:8]}") and folder.name == str(run)
    assert isinstance(store, RunStore)


def test_a_merge_copies_a_run_once_updates_it_and_keeps_the_tags_given_here(reopen, workdir):
    source, target = Store(f"sqlite:///{workdir / 'source.db'}"), reopen()
    source.add_protocols({"p1": {"extractor": "test"}})
    run = _run(source, {"G": ("generator", 7)}, status="completed", started_at=now())
    source.add_metrics(run, [(1, "fid", 3.5, "p1"), (1, "g_loss", math.nan)])
    source.finish_run(run, stop=(1, "plateau"), cost=(1.0, None), status="completed")
    source.tag([run], "theirs")
    assert merge_one(source, target) == {"copied": 1, "without files": 1}
    [copied] = target.runs()
    target.tag([copied["id"]], "mine")
    assert merge_one(source, target) == {"unchanged": 1, "without files": 1}
    source.add_metrics(run, [(2, "g_loss", 0.5)])
    assert merge_one(source, target) == {"updated": 1, "without files": 1}
    assert [r["id"] for r in target.runs()] == [copied["id"]]
    assert target.origins() == {copied["id"]: (source.identity, run)}
    assert target.tags() == {copied["id"]: ["mine", "theirs"]}
    theirs, ours = source.records(run), target.records(copied["id"])
    assert math.isnan(ours["metrics"][1]["value"]) and theirs["metrics"][2] == ours["metrics"][2]
    assert target.protocols() == {"p1": {"extractor": "test"}}
    assert target.early_stops() == {copied["id"]: (1, "plateau")}


# The SQL store's run folders, as they always were


def test_sql_run_folders_keep_their_layout_and_older_runs_their_folders(workdir, monkeypatch):
    url = f"sqlite:///{workdir / 'results' / 'test.db'}"
    store = Store(url)
    old = [_run(store) for _ in range(2)]
    with closing(sqlite3.connect(workdir / "results" / "test.db")) as c, c:
        c.execute("delete from ganbench_meta")  # as a database made before identities
    assert Store(url, create=False, write=False).run_dir(old[1]) == workdir / "results/runs/2"
    store = Store(url)  # a writer gives it an identity; its older runs keep runs/<id>
    new = _run(store)
    root = workdir / "results" / "runs"
    assert [store.run_dir(i) for i in old] == [root / "1", root / "2"]
    assert store.run_dir(new) == root / f"test-{store.identity[:8]}" / str(new)
    assert store.results_dir == workdir / "results"
    monkeypatch.setenv("GANBENCH_RUNS_DIR", str(workdir / "shared"))  # --runs-dir, once open
    assert store.run_dir(1) == workdir / "shared" / "1"


def test_run_folders_decide_in_one_place(tmp_path, monkeypatch):
    monkeypatch.delenv("GANBENCH_RUNS_DIR", raising=False)
    folders = RunFolders(tmp_path, "db", "0123456789abcdef", legacy_upto=3)
    assert (folders.run_dir(3), folders.run_dir(4)) == (
        tmp_path / "runs" / "3",
        tmp_path / "runs" / "db-01234567" / "4",
    )
    assert RunFolders(tmp_path, "db", None).run_dir(9) == tmp_path / "runs" / "9"
    monkeypatch.setenv("GANBENCH_RUNS_DIR", str(tmp_path / "elsewhere"))
    assert folders.run_dir(4) == tmp_path / "elsewhere" / "db-01234567" / "4"


# The memory store's own


def test_memory_ids_only_grow_even_after_a_delete(tmp_path):
    store = MemoryStore(tmp_path)
    first, second = _run(store), _run(store)
    store.delete_runs([second])
    assert _run(store) == second + 1 and [r["id"] for r in store.runs()] == [first, second + 1]


def test_open_store_gives_a_new_memory_store_or_the_database(workdir):
    one, two = open_store("memory://"), open_store("memory://")
    assert isinstance(one, MemoryStore) and one.identity != two.identity and one.runs() == []
    assert one.results_dir.is_dir() and one.run_dir(1).is_relative_to(one.results_dir)
    sql = open_store(f"sqlite:///{workdir / 'results' / 'test.db'}")
    assert isinstance(sql, SqlStore) and Store is SqlStore
    with pytest.raises(GanbenchError, match="no database at"):
        open_store(f"sqlite:///{workdir / 'missing.db'}", create=False)


def test_memory_refuses_what_the_database_would(tmp_path):
    store = MemoryStore(tmp_path)
    with pytest.raises(TypeError, match="no column colour"):
        _run(store, colour="red")
    with pytest.raises(TypeError, match="label"):
        store.create_run(plugins="dcgan", config={}, config_hash="h", seed=0, target_steps=1)
    with pytest.raises(GanbenchError, match="no run 9 in memory://"):
        store.get_run(9)


def test_a_tiny_run_trains_resumes_and_beats_on_a_memory_store(workdir):
    from conftest import TINY

    from ganbench.config.defaults import default_components
    from ganbench.config.spec import resolve_spec
    from ganbench.engine.launch import resume_run, start_spec
    from ganbench.plugins.manager import registry

    store = MemoryStore(workdir / "results")
    spec = resolve_spec(TINY, registry(), default_components(), steps=2, seed=7)
    run, status = start_spec(store, spec, device="cpu")
    assert status == "completed" and (store.run_dir(run) / "last.pt").is_file()
    assert resume_run(store, run, device="cpu", steps=4) == "completed"
    [row] = store.runs()
    assert (row["status"], row["steps_done"], row["target_steps"], row["seed"]) == (
        "completed",
        4,
        4,
        7,
    )
    assert {n for _, n, _, _ in store.networks()} == {"g", "d"} and run in store.heartbeats()
    assert sorted({(step, name) for _, step, name, _, _ in store.metrics()}) == [
        (step, name) for step in (2, 4) for name in ("d_loss", "g_loss")
    ]
