"""Runs on other hosts: a run killed on one node is `lost` once its heartbeat is stale, and
`--resume` on another finishes it bit for bit, its checkpoint found in the shared --runs-dir."""

import os
import signal
import subprocess
import sys

import pytest
from conftest import TINY_MODEL, query, query_when_made, wait_for

from ganbench.errors import GanbenchError
from ganbench.store.liveness import Heart
from ganbench.store.memory import MemoryStore
from ganbench.store.sql import Store

# The worker believes it is on another node: its runs record that host, so this host can only
# tell whether it lives by its heartbeat.
ON_NODE_B = (
    "import socket, sys; socket.gethostname = lambda: 'node-b'; "
    "from ganbench.cli import main; sys.argv[0] = 'ganbench'; main()"
)


def _status(invoke, status):
    return invoke("runs", "list", "--status", status).output


def test_a_run_killed_on_another_host_is_lost_when_its_beat_is_stale_and_resumes_here(
    invoke, db, workdir, monkeypatch
):
    shared = workdir / "shared-runs"
    monkeypatch.setenv("GANBENCH_RUNS_DIR", str(shared))
    monkeypatch.setenv("GANBENCH_LOST_AFTER_S", "8")  # room for a loaded machine to look in time
    steps, settings = 600, [*TINY_MODEL, "log_every=10", "ckpt_every=15"]
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            ON_NODE_B,
            "run",
            *settings,
            "--steps",
            str(steps),
            "--device",
            "cpu",
            "--db",
            db,
        ],
        env={**os.environ, "GANBENCH_HEARTBEAT_S": "0.2"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        started = wait_for(
            lambda: (
                child.poll() is not None
                or (
                    list(shared.glob("*/1/last.pt"))
                    and (query_when_made(db, "select steps_done from runs") or [(0,)])[0][0] >= 40
                )
            )
        )
        assert started and child.poll() is None, child.stderr.read() if child.poll() else "too slow"
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert query(db, "select status, host from runs") == [("running", "node-b")]
    assert "node-b" in _status(
        invoke, "running"
    )  # its last beat is fresh: this host cannot tell yet
    assert wait_for(lambda: "node-b" in _status(invoke, "lost"), timeout=30)

    result = invoke("run", "--resume", "1")
    assert result.exit_code == 0, result.output
    assert query(db, "select status, steps_done from runs") == [("completed", steps)]
    assert (
        invoke("run", *settings, "--steps", str(steps)).exit_code == 0
    )  # the same run, never killed
    metrics = "select step, name, value from metrics where run_id = ? order by step, name"
    assert query(db, metrics, 1) == query(db, metrics, 2)  # every logged value, bit for bit
    assert not (workdir / "results" / "runs").exists()  # every run folder went to the shared one


def test_runs_dir_puts_run_folders_where_it_says_for_every_command(
    invoke, db, workdir, monkeypatch
):
    monkeypatch.setenv(
        "GANBENCH_RUNS_DIR", ""
    )  # restored after the test: --runs-dir sets it for workers
    shared = workdir / "elsewhere"
    assert invoke("run", *TINY_MODEL, "--steps", "2", "--runs-dir", str(shared)).exit_code == 0
    assert (
        len(list(shared.glob("*/1/last.pt"))) == 1 and not (workdir / "results" / "runs").exists()
    )
    shown = invoke("runs", "show", "1", "--runs-dir", str(shared)).output
    assert str(shared) in shown


def test_a_bad_heartbeat_setting_is_one_line(invoke, db, monkeypatch):
    monkeypatch.setenv("GANBENCH_HEARTBEAT_S", "often")
    result = invoke("run", *TINY_MODEL, "--steps", "2")
    assert (
        result.exit_code != 0
        and "GANBENCH_HEARTBEAT_S=often: give a number of seconds above 0" in result.output
    )
    assert "Traceback" not in result.output and not os.path.exists(
        db.removeprefix("sqlite:///")
    )  # nothing recorded
    monkeypatch.setenv("GANBENCH_HEARTBEAT_S", "1")
    assert invoke("run", *TINY_MODEL, "--steps", "2").exit_code == 0
    monkeypatch.setenv("GANBENCH_LOST_AFTER_S", "0")
    result = invoke("runs", "list", "--status", "lost")
    assert result.exit_code != 0 and "GANBENCH_LOST_AFTER_S=0" in result.output


NEVER = ("inf", "1e300", "abc", "-1", "nan", "0")
BAD = {  # a lock patience of 0 is good: a locked write fails at once
    "GANBENCH_HEARTBEAT_S": NEVER,
    "GANBENCH_LOST_AFTER_S": NEVER,
    "GANBENCH_LOCK_PATIENCE": tuple(bad for bad in NEVER if bad != "0"),
    "GANBENCH_BUSY_TIMEOUT_MS": (*NEVER, "1.5"),
}


def test_every_bad_number_setting_is_one_line_naming_it_before_anything_runs(
    invoke, db, monkeypatch
):
    Store(db)  # a database to list, so a good setting lists it
    for name, values in BAD.items():
        for bad in values:
            monkeypatch.setenv(name, bad)
            result = invoke("runs", "list")
            assert result.exit_code == 2 and f"{name}={bad}: give " in result.output, result.output
            assert result.output.count("\n") == 1 and "Traceback" not in result.output
        monkeypatch.delenv(name)
    assert invoke("runs", "list").exit_code == 0


def test_a_heartbeat_that_would_never_beat_is_refused_before_the_run(invoke, db, monkeypatch):
    monkeypatch.setenv("GANBENCH_HEARTBEAT_S", "1e300")  # its thread died on Event.wait(1e300)
    with pytest.raises(GanbenchError, match="GANBENCH_HEARTBEAT_S=1e300: give a number of sec"):
        Heart(MemoryStore(), 1)
    result = invoke("run", *TINY_MODEL, "--steps", "2")
    assert result.exit_code == 2 and not os.path.exists(db.removeprefix("sqlite:///"))
