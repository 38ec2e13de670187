"""`ganbench runs`: list with filters, show a whole record, tag runs for `report --tag`, and
delete runs with everything recorded of them and their files, only after a confirmation."""

import json
import subprocess
import sys

import pandas as pd
from conftest import TINY, TINY_MODEL, query, query_when_made, run_dir, wait_for

RUN = ["run", *TINY, "--steps", "2"]


def _two_runs(invoke):
    assert invoke(*RUN, "--seeds", "2").exit_code == 0


def test_list_shows_each_run_and_filters_by_status_and_tag(invoke, db):
    _two_runs(invoke)
    assert invoke("runs", "tag", "2", "keep").exit_code == 0
    listed = invoke("runs", "list").output
    assert "2 run(s)" in listed and "2/2" in listed and "completed" in listed
    tagged = invoke("runs", "list", "--tag", "keep").output
    assert "1 run(s)" in tagged and "keep" in tagged
    assert "0 run(s)" in invoke("runs", "list", "--status", "failed").output


def test_show_prints_the_resolved_config_and_versions(invoke, db):
    _two_runs(invoke)
    record = json.loads(invoke("runs", "show", "1").output)
    assert record["id"] == 1 and record["status"] == "completed" and record["seed"] == 0
    assert record["config"]["options"]["res"] == 16 and record["torch_version"]
    assert record["files"].endswith("/1") and record["tags"] == [] and record["early_stop"] is None


def test_report_tag_keeps_only_the_tagged_runs(invoke, db):
    _two_runs(invoke)
    assert invoke(*RUN, "g_lr=0.001").exit_code == 0
    assert invoke("runs", "tag", "3", "fast").exit_code == 0
    rows = json.loads(invoke("report", "--format", "json", "--tag", "fast").output)
    assert [row["run_ids"] for row in rows] == ["3"]
    assert invoke("runs", "tag", "3", "fast", "--remove").exit_code == 0
    result = invoke("report", "--tag", "fast")
    assert result.exit_code == 2 and "no run is tagged 'fast'" in result.output


def test_delete_asks_first_then_removes_records_and_files(invoke, db):
    _two_runs(invoke)
    folder = run_dir(db, 1)
    assert (folder / "last.pt").exists()
    refused = invoke("runs", "delete", "1", input="n\n")
    assert refused.exit_code == 1 and query(db, "select count(*) from runs") == [(2,)]
    result = invoke("runs", "delete", "1", input="y\n")
    assert result.exit_code == 0 and "deleted run 1" in result.output
    assert query(db, "select id from runs") == [(2,)]
    for table in ("metrics", "networks", "heartbeats", "early_stops", "tags"):
        assert query(db, f"select count(*) from {table} where run_id = 1") == [(0,)]
    assert query(db, "select count(*) from metrics where run_id = 2")[0][0] > 0
    assert not folder.exists() and (run_dir(db, 2) / "last.pt").exists()


def test_delete_refuses_unknown_ids_and_running_runs_and_changes_nothing(invoke, db):
    _two_runs(invoke)
    unknown = invoke("runs", "delete", "1", "7", "--yes")
    assert (
        unknown.exit_code == 2
        and "no run 7" in unknown.output
        and "ganbench runs list" in unknown.output
    )
    query(
        db,
        "update runs set status = 'running', pid = 1, host = (select host from runs where id = 2) where id = 2",
    )
    busy = invoke("runs", "delete", "2", "--yes")  # pid 1 is alive on this host
    assert busy.exit_code == 2 and "still running" in busy.output
    assert query(db, "select count(*) from runs") == [(2,)]


def test_a_tag_with_a_comma_is_refused(invoke, db):
    _two_runs(invoke)
    result = invoke("runs", "tag", "1", "a,b")
    assert (
        result.exit_code == 2
        and "without commas" in result.output
        and "Traceback" not in result.output
    )


def test_version_names_the_installed_ganbench(invoke):
    from ganbench import __version__

    result = invoke("--version")
    assert result.exit_code == 0 and result.output.strip() == f"ganbench, version {__version__}"


def test_report_leaves_unfinished_runs_out_of_a_group_unless_asked(invoke, db):
    from ganbench.store.sql import Store

    assert invoke(*RUN, "--seeds", "3").exit_code == 0
    Store(db).update_run(2, status="failed", error="boom")
    Store(db).update_run(3, status="interrupted")
    rows = json.loads(invoke("report", "--format", "json").output.split("\nnot shown")[0])
    assert [(row["runs"], row["status"], row["run_ids"]) for row in rows] == [(1, "completed", "1")]
    table = invoke("report").output
    assert "not shown: 1 failed, 1 interrupted run(s); --status all shows every run" in table
    everything = json.loads(invoke("report", "--format", "json", "--status", "all").output)
    assert (
        everything[0]["runs"] == 3
        and everything[0]["status"] == "1 completed, 1 failed, 1 interrupted"
    )
    failed = json.loads(
        invoke("report", "--format", "json", "--status", "failed").output.split("\nnot shown")[0]
    )
    assert failed[0]["run_ids"] == "2"
    Store(db).update_run(1, status="failed")
    nothing = invoke("report")
    assert nothing.exit_code == 2
    assert (
        "no completed or diverged run to report (2 failed, 1 interrupted); --status failed"
        in nothing.output
    )


def _training(db):
    """A run training in a process of its own, long enough to outlast the test."""
    command = [sys.executable, "-m", "ganbench", "run", *TINY_MODEL, "log_every=2"]
    options = ["ckpt_every=100000", "sample_every=100000", "--steps", "100000", "--db", db]
    return subprocess.Popen(command + options, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _trains_or_ended(db, child):
    """True once the child's run trains, or once the child ended (the test then fails)."""
    running = [("running", child.pid)]
    return (
        child.poll() is not None or query_when_made(db, "select status, pid from runs") == running
    )


def test_readers_take_a_row_without_owner_beside_a_run_that_trains(invoke, db):
    from ganbench import load_runs

    child = _training(db)
    try:
        assert wait_for(lambda: _trains_or_ended(db, child))
        assert child.poll() is None, child.stderr.read().decode()
        # a row another process wrote queued and has not claimed (or died before it could)
        unset = {"id", "status", "pid", "host", "started_at"}
        columns = ", ".join(c[1] for c in query(db, "pragma table_info(runs)") if c[1] not in unset)
        query(db, f"insert into runs ({columns}, status) select {columns}, 'queued' from runs")
        assert query(db, "select pid, host from runs where id = 2") == [(None, None)]
        for args in (["report", "--status", "all"], ["runs", "list"]):
            result = invoke(*args)
            assert result.exit_code == 0 and "Error" not in result.output, result.output
            assert "NaT" not in result.output and "nan" not in result.output
        runs = load_runs(db)
        assert runs.loc[0, "status"] == "running" and runs.loc[0, "pid"] == child.pid
        assert pd.isna(runs.loc[1, "pid"]) and str(runs["pid"].dtype) == "Int64"
    finally:
        child.kill()
        child.wait()
