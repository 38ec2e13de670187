"""A run killed while it starts, before it trained a step, is `lost` like any other, and can
be resumed and deleted (issue 23, item 12)."""

import subprocess
import sys
import time

from conftest import TINY, query, query_when_made

from ganbench.store.memory import MemoryStore
from ganbench.store.sql import Store


def test_a_run_killed_as_its_row_is_written_is_lost_and_can_be_restarted_and_deleted(
    db, workdir, invoke
):
    child = subprocess.Popen(
        [sys.executable, "-m", "ganbench", "run", *TINY, "--steps", "50", "--device", "cpu"]
        + ["--db", db],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not query_when_made(db, "select id from runs"):
        time.sleep(0.001)  # the start-up window lasts milliseconds
    child.kill()
    child.wait()
    (status,) = query(db, "select status from runs")[0]
    assert status in ("queued", "running")  # killed before it could say anything else
    assert Store(db, create=False, write=False).statuses() == {1: "lost"}
    restarted = invoke("run", "--resume", "1", "--restart")
    assert restarted.exit_code == 0, restarted.output
    assert query(db, "select status, steps_done from runs") == [("completed", 50)]
    assert invoke("runs", "delete", "1", "--yes").exit_code == 0
    assert query(db, "select count(*) from runs") == [(0,)]


def test_a_queued_row_that_names_no_process_is_lost(tmp_path):
    store = MemoryStore(tmp_path)
    run_id = store.create_run(
        label="a", plugins="", config={}, config_hash="h", seed=0, target_steps=4, status="queued"
    )
    assert store.statuses() == {run_id: "lost"}
