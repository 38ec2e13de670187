"""--workers N: a study's runs train N at a time, each in a process of its own, each recorded
as any run is; Ctrl-C stops them all, each checkpointed and ended interrupted."""

import os
import signal
import subprocess
import sys
import time

from conftest import TINY, query, query_when_made, run_dir

SWEEP = [*TINY, "g_lr=choice(1e-4,2e-4)"]


def test_two_workers_train_a_sweeps_runs_at_once_and_record_each(invoke, db):
    result = invoke("run", *SWEEP, "--seeds", "2", "--steps", "60", "--workers", "2")
    assert result.exit_code == 0, result.output
    assert "sweep: 2 arm(s) x 2 seed(s), 2 at a time" in result.output
    rows = query(
        db,
        "select label, seed, status, steps_done, pid, started_at, ended_at from runs order by id",
    )
    assert sorted((label, seed) for label, seed, *_ in rows) == [
        ("g_lr=1e-4", 0),
        ("g_lr=1e-4", 1),
        ("g_lr=2e-4", 0),
        ("g_lr=2e-4", 1),
    ]
    assert {(status, steps) for _, _, status, steps, *_ in rows} == {("completed", 60)}
    assert (
        os.getpid() not in {pid for *_, pid, _, _ in rows}
        and len({pid for *_, pid, _, _ in rows}) == 4
    )
    (_, _, _, _, _, start_a, end_a), (_, _, _, _, _, start_b, end_b) = rows[:2]
    assert start_a < end_b and start_b < end_a  # the first two trained at the same time
    assert all((run_dir(db, i) / "last.pt").exists() for i in range(1, 5))
    assert query(db, "select count(*) from metrics where name = 'g_loss'") == [(4 * 30,)]


def test_ctrl_c_stops_every_worker_and_each_run_ends_interrupted(db, workdir):
    args = [
        sys.executable,
        "-m",
        "ganbench",
        "run",
        *SWEEP,
        "--seeds",
        "2",
        "--steps",
        "1000000",
        "--workers",
        "2",
        "--db",
        db,
    ]
    parent = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "GANBENCH_OFFLINE": "1"},
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if query_when_made(
                db, "select count(*) from runs where status = 'running' and steps_done >= 2"
            ) == [(2,)]:
                break
            time.sleep(0.5)
        parent.send_signal(
            signal.SIGINT
        )  # what a terminal's Ctrl-C sends: the workers are in groups of their own
        output, _ = parent.communicate(timeout=120)
    finally:
        if parent.poll() is None:
            parent.kill()
    assert parent.returncode == 130, output
    rows = query(db, "select id, status, steps_done from runs")
    assert len(rows) == 2  # the other two never started
    assert all(status == "interrupted" and steps > 0 for _, status, steps in rows), rows
    assert all((run_dir(db, run_id) / "last.pt").exists() for run_id, _, _ in rows)
    assert "stopping: every run checkpoints at its next step and ends interrupted" in output


def test_workers_do_not_go_with_resume(invoke, db):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    result = invoke("run", "--resume", "1", "--workers", "2")
    assert result.exit_code == 2 and "--workers" in result.output
