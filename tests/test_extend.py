"""Extending a completed run (`--resume ID --steps N`) is one change in the store: its
checkpoint names the target it was written towards, so it stays the run's own at any target,
and a kill -9 at any moment leaves the run completed as it was, or extended and resumable
(issue 22, item 2)."""

import os
import subprocess
import sys

from conftest import TINY, query, wait_for

from ganbench.config.spec import RunSpec
from ganbench.engine.launch import extended
from ganbench.store.sql import Store

EACH_STEP_ONCE = (
    "select count(*) from (select step, name from metrics group by step, name having count(*) > 1)"
)


def _dead_pid():
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


def test_a_run_extended_in_the_store_resumes_from_its_checkpoint_of_the_old_target(db, invoke):
    """What a kill -9 right after the extension was recorded leaves: the run's row at the new
    target, claimed by a process that is gone, and the checkpoint of the old target."""
    assert invoke("run", *TINY, "--steps", "6").exit_code == 0
    store = Store(db)
    row = store.get_run(1)
    longer = extended(RunSpec.recorded(row).config, 10)
    changes = dict(config=longer.to_dict(), config_hash=longer.hash(), target_steps=10)
    assert store.claim(1, row, status="running", pid=_dead_pid(), **changes)
    assert "lost" in invoke("runs", "list", "--status", "lost").output
    resumed = invoke("run", "--resume", "1")
    assert resumed.exit_code == 0, resumed.output
    assert query(db, "select status, steps_done, target_steps from runs") == [("completed", 10, 10)]
    assert query(db, EACH_STEP_ONCE) == [(0,)]


def test_an_extension_killed_as_it_is_recorded_leaves_a_run_that_resumes(db, workdir, invoke):
    assert invoke("run", *TINY, "--steps", "6").exit_code == 0
    child = subprocess.Popen(
        [sys.executable, "-m", "ganbench", "run", "--resume", "1", "--steps", "40"]
        + ["--device", "cpu", "--db", db],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        recorded = wait_for(
            lambda: (
                child.poll() is not None or query(db, "select target_steps from runs") == [(40,)]
            ),
            every=0.001,  # the moment a kill must hit lasts milliseconds
        )
        assert recorded and child.poll() is None, child.stderr.read()
    finally:
        child.kill()
        child.wait()
    assert query(db, "select status, target_steps from runs") == [("running", 40)]
    resumed = invoke("run", "--resume", "1")
    assert resumed.exit_code == 0, resumed.output
    assert "another config" not in resumed.output
    assert query(db, "select status, steps_done from runs") == [("completed", 40)]
    assert query(db, EACH_STEP_ONCE) == [(0,)]
    assert os.path.exists(workdir / "results")
