"""A run written by two processes: the one that lost its claim stops at once and records
nothing more (issue 22, item 1). The original is stopped with SIGSTOP past the lost-after
time, a resume on this host claims the run, and the original is continued."""

import os
import signal
import subprocess
import sys

import pytest
from conftest import TINY_MODEL, query, query_when_made, wait_for

from ganbench.store.base import ClaimLost, this_process
from ganbench.store.memory import MemoryStore
from ganbench.store.sql import Store

ON_NODE_B = (
    "import socket, sys; socket.gethostname = lambda: 'node-b'; "
    "from ganbench.cli import main; sys.argv[0] = 'ganbench'; main()"
)
STEPS, SETTINGS = 200, [*TINY_MODEL, "log_every=5", "ckpt_every=10"]


def _ganbench(db, *args, node_b=False):
    head = ["-c", ON_NODE_B] if node_b else ["-m", "ganbench"]
    return subprocess.Popen(
        [sys.executable, *head, *args, "--device", "cpu", "--db", db],
        env={**os.environ, "GANBENCH_HEARTBEAT_S": "0.2", "GANBENCH_LOST_AFTER_S": "3"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _steps_done(db):
    return (query_when_made(db, "select steps_done from runs") or [(0,)])[0][0]


def _checkpointed(db, workdir):
    return _steps_done(db) >= 10 and any(workdir.glob("results/runs/*/1/last.pt"))


def test_a_process_that_lost_its_claim_stops_and_records_nothing_more(db, workdir, monkeypatch):
    monkeypatch.setenv("GANBENCH_LOST_AFTER_S", "3")  # this process judges the run lost too
    monkeypatch.delenv("GANBENCH_RUNS_DIR", raising=False)
    original = _ganbench(db, "run", *SETTINGS, "--steps", str(STEPS), node_b=True)
    resumed = None
    try:
        assert wait_for(lambda: original.poll() is not None or _checkpointed(db, workdir))
        assert original.poll() is None, original.stderr.read()
        os.kill(original.pid, signal.SIGSTOP)
        stopped_at = _steps_done(db)
        store = Store(db, create=False, write=False)
        assert wait_for(lambda: store.statuses() == {1: "lost"}, timeout=60)
        resumed = _ganbench(db, "run", "--resume", "1")
        assert wait_for(
            lambda: (
                resumed.poll() is not None or query(db, "select host from runs")[0][0] != "node-b"
            )
        )
        assert resumed.poll() is None or resumed.returncode == 0, resumed.stderr.read()
        os.kill(original.pid, signal.SIGCONT)
        _, error = original.communicate(timeout=120)
        assert original.returncode != 0
        assert "run 1 is now claimed by" in error and "records nothing more" in error
        assert "Traceback" not in error
        _, resume_error = resumed.communicate(timeout=600)
        assert resumed.returncode == 0, resume_error
    finally:
        for child in (original, resumed):
            if child is not None and child.poll() is None:
                os.kill(child.pid, signal.SIGCONT)
                child.kill()
                child.wait()
    assert stopped_at < STEPS
    assert query(db, "select status, steps_done, host from runs") == [
        ("completed", STEPS, this_process()[0])
    ]
    pairs = query(db, "select step, name, count(*) from metrics group by step, name")
    assert len(pairs) == 2 * STEPS // 5 and {n for *_, n in pairs} == {1}  # each logged once


def test_every_write_of_a_held_run_is_fenced_by_its_claim(tmp_path):
    store = MemoryStore(tmp_path)
    host, pid = this_process()
    run_id = store.create_run(
        label="a", plugins="", config={}, config_hash="h", seed=0, target_steps=4, host=host,
        pid=pid, status="running",
    )  # fmt: skip
    store.hold(run_id)
    store.add_metrics(run_id, [(1, "g_loss", 0.5)])
    row = store.get_run(run_id)
    assert store.claim(run_id, row, host="node-b", pid=7)  # another process takes it over
    writes = [
        lambda: store.add_metrics(run_id, [(2, "g_loss", 0.4)]),
        lambda: store.update_run(run_id, steps_done=2),
        lambda: store.drop_metrics_after(run_id, 0),
        lambda: store.finish_run(run_id, status="completed"),
        lambda: store.beat(run_id, host, pid),
        lambda: store.check_claim(run_id),
    ]
    for write in writes:
        with pytest.raises(ClaimLost, match="run 1 is now claimed by node-b pid 7"):
            write()
    assert [m[1:3] for m in store.metrics(run_id)] == [(1, "g_loss")]
    assert store.get_run(run_id)["status"] == "running" and store.heartbeats() == {}
