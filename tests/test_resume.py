"""Checkpoints and --resume: after Ctrl-C or a hard kill, a run continues to its target."""

import json
import os
import signal
import subprocess
import sys

import torch
from conftest import TINY, TINY_MODEL, interrupting, query, run_dir, wait_for

from ganbench import GanbenchError, hookimpl
from ganbench.store.sql import Store
from ganbench_plugins.alternating import Alternating


class InterruptOnce(interrupting(Alternating)):
    @staticmethod
    @hookimpl
    def register_schemes(register):
        register("interrupt_once", lambda cfg: InterruptOnce())


def _checkpoint(db, run_id):
    return torch.load(run_dir(db, run_id) / "last.pt")


def _whole_and_interrupted(invoke, register_plugin):
    """Run 1 trains 6 steps; run 2, the same, is interrupted at its fifth step."""
    register_plugin(InterruptOnce, name="interrupt_once")
    args = ["plugins=interrupt_once", *TINY, "--steps", "6", "--seed", "1"]
    assert invoke("run", *args).exit_code == 0
    InterruptOnce.arm(5)
    assert invoke("run", *args).exit_code == 130


def test_resumed_run_ends_exactly_where_an_uninterrupted_one_does(
    invoke, db, workdir, register_plugin
):
    _whole_and_interrupted(invoke, register_plugin)
    assert query(db, "select status, steps_done from runs where id = 2") == [("interrupted", 4)]

    resumed = invoke("run", "--resume", "2")
    assert resumed.exit_code == 0, resumed.output
    assert query(db, "select status, steps_done from runs where id = 2") == [("completed", 6)]
    whole, split = _checkpoint(db, 1), _checkpoint(db, 2)
    for net in ("g", "d"):
        for key, tensor in whole["nets"][net].items():
            assert torch.equal(tensor, split["nets"][net][key]), (net, key)
    metrics = "select step, name, value from metrics where run_id = ? order by step, name"
    assert query(db, metrics, 1) == query(db, metrics, 2)


def test_a_checkpoint_from_before_schemes_named_their_networks_still_resumes(
    invoke, db, workdir, register_plugin
):
    _whole_and_interrupted(invoke, register_plugin)
    path = run_dir(db, 2) / "last.pt"
    state = torch.load(path)
    # the keys every checkpoint had before (checkpoints carry a version since)
    new_keys = ("nets", "opts", "ema", "scheme", "version")
    old = {k: v for k, v in state.items() if k not in new_keys}
    old.update(
        g=state["nets"]["g"],
        d=state["nets"]["d"],
        g_opt=state["opts"]["g"],
        d_opt=state["opts"]["d"],
        g_ema=None,
    )
    torch.save(old, path)  # the keys every checkpoint had before
    assert invoke("run", "--resume", "2").exit_code == 0
    whole, split = _checkpoint(db, 1), _checkpoint(db, 2)
    for net in ("g", "d"):
        assert all(torch.equal(t, split["nets"][net][k]) for k, t in whole["nets"][net].items())


def test_a_completed_run_cannot_be_resumed_without_a_larger_target(invoke):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    result = invoke("run", "--resume", "1")
    assert (
        result.exit_code == 2
        and "already completed" in result.output
        and "--steps N extends it" in result.output
    )
    smaller = invoke("run", "--resume", "1", "--steps", "2")
    assert (
        smaller.exit_code == 2
        and "has a target of 2 steps; --steps 2 must be larger" in smaller.output
    )


def test_an_extended_run_ends_exactly_as_a_run_trained_that_long(invoke, db):
    assert invoke("run", *TINY, "--steps", "6").exit_code == 0
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    extended = invoke("run", "--resume", "2", "--steps", "6")
    assert extended.exit_code == 0, extended.output
    assert query(db, "select status, steps_done, target_steps from runs where id = 2") == [
        ("completed", 6, 6)
    ]
    assert (
        len({h for (h,) in query(db, "select config_hash from runs")}) == 1
    )  # now in the 6-step group
    whole, longer = _checkpoint(db, 1), _checkpoint(db, 2)
    for net in ("g", "d"):
        assert all(torch.equal(t, longer["nets"][net][k]) for k, t in whole["nets"][net].items())
    metrics = "select step, name, value from metrics where run_id = ? order by step, name"
    assert query(db, metrics, 1) == query(db, metrics, 2)
    assert (
        json.loads(query(db, "select config from runs where id = 2")[0][0])["options"]["steps"] == 6
    )


def test_a_run_still_alive_is_not_resumed_twice(invoke, db):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        Store(db).update_run(1, status="running", pid=sleeper.pid)
        result = invoke("run", "--resume", "1")
        assert result.exit_code == 2 and f"still running (pid {sleeper.pid})" in result.output
    finally:
        sleeper.kill()
        sleeper.wait()


def _checkpointed(db, run_id):
    try:
        return (run_dir(db, run_id) / "last.pt").exists()
    except GanbenchError:  # the database is not made yet
        return False


def test_resume_after_a_hard_kill(invoke, db, workdir):
    steps, settings = (
        600,
        [*TINY_MODEL, "log_every=10", "ckpt_every=15"],
    )  # checkpoints off the log steps
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ganbench",
            "run",
            *settings,
            "--steps",
            str(steps),
            "--device",
            "cpu",
            "--db",
            db,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        started = wait_for(
            lambda: (
                child.poll() is not None
                or (_checkpointed(db, 1) and query(db, "select steps_done from runs")[0][0] >= 40)
            )
        )
        assert started and child.poll() is None, child.stderr.read() if child.poll() else "too slow"
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait()
    ((status, done),) = query(db, "select status, steps_done from runs")
    assert status == "running" and done < steps  # killed: nothing had the chance to say otherwise
    assert (
        "lost" in invoke("report", "--format", "csv", "--status", "lost").output
    )  # but its process is gone

    result = invoke("run", "--resume", "1")
    assert result.exit_code == 0, result.output
    assert query(db, "select status, steps_done from runs") == [("completed", steps)]
    logged = query(
        db, "select step from metrics where run_id = 1 and name = 'd_loss' order by step"
    )
    assert [s for (s,) in logged] == list(range(10, steps + 1, 10))  # no gap, no duplicate
    assert (
        invoke("run", *settings, "--steps", str(steps)).exit_code == 0
    )  # the same run, never killed
    metrics = "select step, name, value from metrics where run_id = ? order by step, name"
    assert query(db, metrics, 1) == query(db, metrics, 2)  # every logged value, bit for bit
