"""Runs that survive faults and never lie (the durability issue, items 1-15): whose checkpoint
is whose, nothing deleted before a restore works, one resumer at a time, logged values equal
after a resume, full disks, lost runs, stops at every phase, closed output, locks, arms
checked first, other programs' databases, read-only archives, labels as text, named
checkpoint errors and ranges."""

import errno
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import torch
from conftest import TINY, TINY_MODEL, SignalAt, interrupting, query, run_dir, sign

from ganbench import hookimpl
from ganbench.engine import launch
from ganbench.stopping import STOP
from ganbench.store.sql import Store
from ganbench_plugins.alternating import Alternating


class InterruptAt(interrupting(Alternating)):
    @staticmethod
    @hookimpl
    def register_schemes(register):
        register("interrupt_at", lambda cfg: InterruptAt())


def _interrupted_pair(invoke, register_plugin, base=TINY):
    """Run 1 trains 8 steps; run 2, the same, is stopped (raised inside its 6th step)."""
    register_plugin(InterruptAt, name="interrupt_at")
    args = ["plugins=interrupt_at", *base, "--steps", "8", "--seed", "1"]
    first = invoke("run", *args)
    assert first.exit_code == 0, first.output
    InterruptAt.arm(6)
    assert invoke("run", *args).exit_code == 130


METRICS = "select step, name, value from metrics where run_id = ? order by step, name"


# 1. Checkpoints belong to one run of one database


def test_two_databases_in_one_folder_keep_their_own_run_folders(workdir):
    first, second = (
        Store(f"sqlite:///{workdir / 'results' / name}") for name in ("ganbench.db", "demo.db")
    )
    assert (
        first.run_dir(1) != second.run_dir(1)
        and first.run_dir(1).parent.parent == second.run_dir(1).parent.parent
    )


def test_a_checkpoint_of_another_database_is_refused_and_nothing_changes(
    invoke, db, workdir, register_plugin
):
    _interrupted_pair(invoke, register_plugin)
    other = f"sqlite:///{workdir / 'results' / 'other.db'}"
    assert invoke("run", *TINY, "--steps", "4", "--seed", "1", db_url=other).exit_code == 0
    stranger = run_dir(other, 1) / "last.pt"
    mine = run_dir(db, 2) / "last.pt"
    mine.write_bytes(stranger.read_bytes())  # what two databases sharing runs/1/ did
    before = query(db, METRICS, 2)
    result = invoke("run", "--resume", "2")
    assert (
        result.exit_code == 2
        and "belongs to another database" in result.output
        and str(mine) in result.output
    )
    assert query(db, METRICS, 2) == before and query(
        db, "select status from runs where id = 2"
    ) == [("interrupted",)]


# 2. A failed resume deletes nothing


def test_a_checkpoint_of_another_config_deletes_no_metric(invoke, db, register_plugin):
    _interrupted_pair(invoke, register_plugin)
    assert (
        invoke("run", "plugins=interrupt_at", *TINY, "g_filters=0.125", "--steps", "8").exit_code
        == 0
    )
    (run_dir(db, 2) / "last.pt").write_bytes((run_dir(db, 3) / "last.pt").read_bytes())
    before = query(db, METRICS, 2)
    result = invoke("run", "--resume", "2")
    assert result.exit_code == 2 and "belongs to another run" in result.output
    assert query(db, METRICS, 2) == before


def test_an_unverifiable_checkpoint_that_does_not_fit_changes_nothing(invoke, db, register_plugin):
    _interrupted_pair(invoke, register_plugin)
    assert (
        invoke("run", "plugins=interrupt_at", *TINY, "g_filters=0.125", "--steps", "8").exit_code
        == 0
    )
    state = torch.load(run_dir(db, 3) / "last.pt")
    state.pop("identity")  # as checkpoints written before identities
    torch.save(state, run_dir(db, 2) / "last.pt")
    before = query(db, METRICS, 2)
    result = invoke("run", "--resume", "2")
    assert result.exit_code == 2 and "does not fit this run's networks" in result.output
    assert query(db, METRICS, 2) == before


# 3. Claiming a run is atomic


def test_of_two_processes_claiming_one_run_exactly_one_wins(invoke, db):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    Store(db).update_run(1, status="interrupted")
    seen = [Store(db).get_run(1), Store(db).get_run(1)]  # both read the run before either claims
    won = [Store(db).claim(1, row, status="running", pid=os.getpid()) for row in seen]
    assert won == [True, False]


def test_a_resume_that_loses_the_claim_stops_before_training(invoke, db, monkeypatch):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    Store(db).update_run(1, status="interrupted", steps_done=2)
    monkeypatch.setattr(Store, "claim", lambda self, *a, **k: False)
    result = invoke("run", "--resume", "1")
    assert result.exit_code == 2 and "was just taken by another process" in result.output


# 4. Logged values after a resume equal the uninterrupted run's


def test_a_resume_off_the_log_boundary_logs_what_an_uninterrupted_run_does(
    invoke, db, register_plugin
):
    _interrupted_pair(
        invoke, register_plugin, [*TINY_MODEL, "log_every=2", "ckpt_every=3"]
    )  # checkpoint 3, logs 2, 4, ...
    assert query(db, "select steps_done from runs where id = 2") == [(3,)]
    assert invoke("run", "--resume", "2").exit_code == 0
    assert query(db, METRICS, 1) == query(db, METRICS, 2)


# 5. A full disk: tests/test_disk_full.py fills a real one (a mounted tmpfs)


# 6. Runs that are not alive are lost, and every stop Python sees ends in a final status


def test_a_run_whose_process_is_gone_is_lost_and_resumable(invoke, db):
    assert invoke("run", *TINY, "--steps", "4").exit_code == 0
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    Store(db).update_run(1, status="running", pid=gone.pid, steps_done=2)
    assert "lost" in invoke("report", "--format", "csv", "--status", "lost").output.splitlines()[1]
    result = invoke("run", "--resume", "1")
    assert result.exit_code == 0 and query(db, "select status, steps_done from runs") == [
        ("completed", 4)
    ]


def test_a_run_on_another_host_is_lost_once_its_heartbeat_is_stale(invoke, db):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    store = Store(db)
    store.update_run(1, status="running", host="elsewhere", pid=1)
    store.beat(1, "elsewhere", 1)
    assert (
        invoke("report", "--format", "csv", "--status", "all")
        .output.splitlines()[1]
        .count("running")
        == 1
    )
    with store.engine.begin() as c:
        c.exec_driver_sql(
            "update heartbeats set beat_at = ?", (datetime.now(UTC) - timedelta(minutes=5),)
        )
    assert "lost" in invoke("report", "--format", "csv", "--status", "all").output.splitlines()[1]


def test_a_run_alive_on_another_host_is_not_resumed(invoke, db):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    store = Store(db)
    store.update_run(1, status="running", host="elsewhere", pid=1)
    store.beat(1, "elsewhere", 1)  # a fresh heartbeat
    result = invoke("run", "--resume", "1")
    assert result.exit_code == 2 and "still running (pid 1) on elsewhere" in result.output


def test_a_running_run_beats(invoke, db, monkeypatch, register_plugin):
    monkeypatch.setattr("ganbench.store.liveness.BEAT_S", 0.01)
    register_plugin(SignalAt, name="signal_at")
    sign(None)
    assert invoke("run", "plugins=signal_at", *TINY, "--steps", "30").exit_code == 0
    ((host, pid, when),) = Store(db).heartbeats().values()
    assert pid == os.getpid() and host


def test_a_second_ctrl_c_still_ends_in_a_final_status(invoke, db, register_plugin):
    register_plugin(SignalAt, name="signal_at")
    sign(3, times=2)  # the second arrives while the first waits for the step boundary
    result = invoke("run", "plugins=signal_at", *TINY, "--steps", "10")
    assert result.exit_code == 130
    ((status, done),) = query(db, "select status, steps_done from runs")
    assert status == "interrupted" and done == 2  # the checkpoint at 2: step 3 was cut short


def test_a_stop_while_the_final_status_is_written_waits(db):
    STOP.requested = False
    with STOP.installed(), STOP.held():
        os.kill(os.getpid(), signal.SIGINT)  # would raise KeyboardInterrupt anywhere else
        assert STOP.requested


def test_sigterm_in_the_start_up_window_ends_interrupted_not_queued(invoke, db, monkeypatch):
    real = launch.TrainingProgress

    def progress_then_sigterm(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # after the run is recorded, before training
        return real(*args, **kwargs)

    monkeypatch.setattr(launch, "TrainingProgress", progress_then_sigterm)
    result = invoke("run", *TINY, "--steps", "4")
    assert result.exit_code == 130
    assert query(db, "select status, steps_done from runs") == [("interrupted", 0)]


# 7. A stop ends the whole command


def test_ctrl_c_in_a_sweep_stops_every_arm(invoke, db, register_plugin):
    register_plugin(SignalAt, name="signal_at")
    sign(3)
    result = invoke(
        "run", "plugins=signal_at", *TINY, "g_lr=choice(1e-4,2e-4,3e-4)", "--steps", "6"
    )
    assert result.exit_code == 130
    assert query(db, "select status from runs") == [("interrupted",)]  # the next arms never started


def test_ctrl_c_while_building_exits_130_and_records_nothing(invoke, db, register_plugin):
    class SlowData:
        @staticmethod
        @hookimpl
        def register_datasets(register):
            def build(cfg):
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)  # interrupted here

            register("slow_data", build, channels=1)

    register_plugin(SlowData, name="slow_data")
    started = time.monotonic()
    result = invoke("run", "plugins=slow_data", *TINY, "--steps", "4")
    assert (
        result.exit_code == 130
        and "Aborted" not in result.output
        and time.monotonic() - started < 5
    )
    assert query(db, "select count(*) from runs") == [(0,)]


# 8. An interrupt saves a checkpoint; a resume without one says so


def test_an_interrupt_checkpoints_its_step_and_the_resume_is_exact(invoke, db, register_plugin):
    register_plugin(SignalAt, name="signal_at")
    args = [
        "plugins=signal_at",
        *TINY_MODEL,
        "log_every=2",
        "ckpt_every=100",
        "--steps",
        "8",
        "--seed",
        "4",
    ]
    sign(None)
    assert invoke("run", *args).exit_code == 0
    sign(5)
    assert invoke("run", *args).exit_code == 130
    assert query(db, "select status, steps_done from runs where id = 2") == [("interrupted", 5)]
    assert torch.load(run_dir(db, 2) / "last.pt")["step"] == 5
    sign(None)
    assert invoke("run", "--resume", "2").exit_code == 0
    assert query(db, METRICS, 1) == query(db, METRICS, 2)


def test_a_resume_without_a_checkpoint_asks_for_restart(invoke, db, register_plugin):
    _interrupted_pair(invoke, register_plugin)
    (run_dir(db, 2) / "last.pt").unlink()
    result = invoke("run", "--resume", "2")
    assert (
        result.exit_code == 2
        and "has no checkpoint" in result.output
        and "--restart" in result.output
    )
    assert query(db, "select count(*) from metrics where run_id = 2") != [(0,)]  # nothing deleted
    assert invoke("run", "--resume", "2", "--restart").exit_code == 0
    assert query(db, METRICS, 1) == query(db, METRICS, 2)


# 9. Output never ends a run


def test_a_closed_stdout_does_not_end_the_run(db, workdir):
    command = [
        sys.executable,
        "-m",
        "ganbench",
        "run",
        *TINY_MODEL,
        "log_every=1",
        "--steps",
        "20",
        "--device",
        "cpu",
        "--db",
        db,
    ]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.readline()
    child.stdout.close()  # `| head -1`
    assert child.wait(timeout=120) == 0, child.stderr.read()
    assert query(db, "select status, steps_done from runs") == [("completed", 20)]


# 10. A lock held past the busy timeout


def test_a_write_waits_out_a_lock_held_past_the_busy_timeout(workdir, monkeypatch):
    monkeypatch.setenv("GANBENCH_BUSY_TIMEOUT_MS", "50")
    monkeypatch.setenv("GANBENCH_LOCK_PATIENCE", "30")  # the test fails rather than hangs
    path = workdir / "locked.db"
    store = Store(f"sqlite:///{path}")
    run = store.create_run(
        label="x", plugins="", config={}, config_hash="h", seed=0, target_steps=1
    )
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    threading.Timer(0.5, holder.rollback).start()
    store.add_metrics(run, [(1, "d_loss", 0.5)])
    assert store.metrics(run) == [(run, 1, "d_loss", 0.5, None)]


# 11. Every arm is checked before the first trains


@pytest.mark.parametrize(
    "sweep, message",
    [
        ("g_lr=choice(2e-4,abc)", "g_lr=abc: expected a finite number"),
        ("g_kernel=choice(3,1)", "g_kernel=1: must be between 2 and 9"),
        ("plugins=choice(dcgan,dcgna)", "unknown plugin 'dcgna'"),
    ],
)
def test_a_bad_later_arm_stops_before_the_first_trains(invoke, db, sweep, message):
    result = invoke("run", *TINY, sweep, "--steps", "2")
    assert result.exit_code == 2 and message in result.output
    assert not os.path.exists(db.removeprefix("sqlite:///"))


# 12. Other programs' databases, and databases that are not there


def test_another_program_s_sqlite_database_is_left_untouched(invoke, workdir):
    path = workdir / "theirs.db"
    with sqlite3.connect(path) as c:
        c.execute("create table runs (id integer primary key, name text)")
        c.execute("insert into runs (name) values ('theirs')")
    c.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    for args in (["run", *TINY, "--steps", "2"], ["report"]):
        result = invoke(*args, db_url=f"sqlite:///{path}")
        assert result.exit_code == 2 and "another program's SQLite database" in result.output
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in workdir.iterdir() if p.name.startswith("theirs")) == ["theirs.db"]


def test_report_and_resume_of_a_missing_database_make_none(invoke, workdir):
    for args in (["report"], ["run", "--resume", "1"]):
        result = invoke(*args, db_url=f"sqlite:///{workdir / 'nowhere' / 'x.db'}")
        assert result.exit_code == 2 and "no database at" in result.output
    assert not (workdir / "nowhere").exists()


# 13. Reads need no write access and no write lock


def test_a_report_reads_while_a_writer_holds_the_lock(invoke, db, monkeypatch):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    monkeypatch.setenv("GANBENCH_BUSY_TIMEOUT_MS", "50")
    monkeypatch.setenv("GANBENCH_LOCK_PATIENCE", "0")
    writer = sqlite3.connect(db.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a run writing
    try:
        result = invoke("report", "--format", "csv")
        assert result.exit_code == 0 and "completed" in result.output
    finally:
        writer.rollback()


def test_a_read_only_database_is_reported(invoke, db, monkeypatch):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    path = db.removeprefix("sqlite:///")
    monkeypatch.setattr(
        "ganbench.store.sqlite.writable", lambda p: False
    )  # root ignores file modes
    result = invoke("report", "--format", "csv")
    assert result.exit_code == 0 and "completed" in result.output
    result = invoke("run", *TINY, "--steps", "2")
    assert result.exit_code == 2 and "not writable" in result.output
    assert not os.path.exists(path + "-journal")


# 14. Labels are text everywhere


def test_labels_are_text_in_every_table(invoke):
    label = "filters [/2] [link=https://example.com]x\x1b[31mred | a\nb"
    assert invoke("run", *TINY, "--steps", "2", "--name", label).exit_code == 0
    table = invoke("report")
    assert table.exit_code == 0 and "\x1b" not in table.output and "filters [/2]" in table.output
    markdown = invoke("report", "--format", "md").output.splitlines()
    row = next(line for line in markdown if "filters" in line)
    assert "\\x1b[31mred \\| a\\nb" in row and row.count(" | ") == markdown[0].count(" | ")


# 15. Checkpoint errors are named; values are range-checked; NaN is never saved or scored


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda path: path.write_bytes(path.read_bytes()[:100]), "is damaged or not a checkpoint"),
        (lambda path: path.write_bytes(b"garbage"), "is damaged or not a checkpoint"),
    ],
)
def test_a_damaged_checkpoint_is_named(invoke, db, register_plugin, damage, message):
    _interrupted_pair(invoke, register_plugin)
    path = run_dir(db, 2) / "last.pt"
    damage(path)
    result = invoke("run", "--resume", "2")
    assert result.exit_code == 2 and message in result.output and str(path) in result.output


def test_an_unreadable_checkpoint_is_named(invoke, db, register_plugin, monkeypatch):
    _interrupted_pair(invoke, register_plugin)

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr("ganbench.engine.checkpoint.torch.load", denied)
    result = invoke("run", "--resume", "2")
    assert (
        result.exit_code == 2
        and "permission denied" in result.output
        and "last.pt" in result.output
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["g_lr=inf"], "g_lr=inf: expected a finite number"),
        (["d_lr=nan"], "d_lr=nan: expected a finite number"),
        (["--seed", str(2**70)], "is not in the range"),
        (["res=1048576"], "res=1048576: must be a power of two from 8 to 4096"),
        (["filters=100000"], "filters=100000: must be between"),
        (["batch=100000000"], "batch=100000000: must be between 1 and 65,536"),
    ],
)
def test_out_of_range_values_stop_before_building(invoke, args, message):
    result = invoke("run", "metrics=", *args, "--steps", "2")
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_nan_weights_are_neither_checkpointed_nor_scored(invoke, db, register_plugin):
    from test_statuses import Trouble

    register_plugin(Trouble(at=3, error=None))  # NaN losses from step 3
    args = [
        "plugins=nan_loss",
        "res=16",
        "batch=4",
        "filters=0.0625",
        "log_every=10",
        "ckpt_every=3",
        "metrics=mnist_fd",
        "eval_real=20",
        "eval_fake=20",
        "eval_every=3",
        "--steps",
        "10",
    ]
    result = invoke("run", *args)
    assert result.exit_code == 3
    ((status, error),) = query(db, "select status, error from runs")
    assert status == "diverged" and "non-finite loss by step 3" in error
    assert not (run_dir(db, 1) / "last.pt").exists() and query(
        db, "select count(*) from metrics where name = 'mnist_fd'"
    ) == [(0,)]
