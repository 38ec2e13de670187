"""--executor ray and --executor slurm: a sweep's runs as Ray tasks sharing a GPU in quarters,
or as a submitit job array (its local executor standing in for Slurm), each recorded as the
same runs trained one after another record them; Ctrl-C on a Ray study stops every run,
checkpointed and ended interrupted; a missing extra or a bad combination is one line."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch
from click.testing import CliRunner
from conftest import TINY, query, query_when_made, run_dir

from ganbench.cli import cli
from ganbench.executors.ray_tasks import CPUS_PER_RUN

SWEEP = [*TINY, "g_lr=choice(1e-4,2e-4)", "--seeds", "2", "--device", "cpu"]
STUDY = [*SWEEP, "--steps", "20"]  # two arms x two seeds: four runs


def recorded(db):
    """{(label, seed): (status, steps done, every metric row)}: what a run leaves in the store."""
    runs = query(db, "select id, label, seed, status, steps_done from runs")
    rows = query(db, "select run_id, step, name, value from metrics order by run_id, step, name")
    return {
        (label, seed): (status, steps, [row[1:] for row in rows if row[0] == run_id])
        for run_id, label, seed, status, steps in runs
    }


def pids(db):
    return {pid for (pid,) in query(db, "select pid from runs")}


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """serial(threads): the study trained here, one run after another, on that many torch
    threads (a float32 sum split over other threads differs in its last bits): what an
    executor whose runs use as many must record, bit for bit."""
    made = {}

    def recorded_on(threads):
        if threads not in made:
            made[threads] = _train_serially(tmp_path_factory.mktemp("serial"), threads)
        return made[threads]

    return recorded_on


def _train_serially(folder, threads):
    db, before = f"sqlite:///{folder / 'serial.db'}", torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        result = CliRunner().invoke(cli, ["run", *STUDY, "--db", db], env={"GANBENCH_OFFLINE": "1"})
    finally:
        torch.set_num_threads(before)
    assert result.exit_code == 0, result.output
    return recorded(db)


@pytest.fixture(scope="module")
def ray_cluster():
    """One local Ray for the module (it takes seconds to start): four CPUs, one fake GPU."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=4, num_gpus=1, include_dashboard=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def test_a_study_on_ray_records_what_a_serial_run_records(invoke, db, ray_cluster, serial):
    result = invoke("run", *STUDY, "--executor", "ray", "--gpus-per-run", "0.25")
    assert result.exit_code == 0, result.output
    assert "sweep: 2 arm(s) x 2 seed(s), as Ray tasks" in result.output
    assert recorded(db) == serial(CPUS_PER_RUN)
    assert {status for status, _, _ in serial(CPUS_PER_RUN).values()} == {"completed"} and len(
        recorded(db)
    ) == 4
    assert os.getpid() not in pids(db)  # trained in Ray's workers


def test_a_study_as_submitit_jobs_records_what_a_serial_run_records(
    invoke, db, serial, workdir, monkeypatch
):
    pytest.importorskip("submitit")
    monkeypatch.setenv(
        "GANBENCH_SUBMITIT_CLUSTER", "local"
    )  # processes here stand in for Slurm's nodes
    result = invoke(
        "run", *STUDY, "--executor", "slurm", "--time-min", "5", "--slurm-folder", "jobs"
    )
    assert result.exit_code == 0, result.output
    assert recorded(db) == serial(
        torch.get_num_threads()
    )  # a job's torch takes every core it is given
    assert os.getpid() not in pids(db) and len(pids(db)) == 4  # a job, a process, per run
    assert (
        len(list((workdir / "jobs").glob("study-*/*_log.out"))) == 4
    )  # submitit's logs, under --slurm-folder


def _wait_for(db, sql, expected, deadline_s=120):
    deadline = time.time() + deadline_s
    while time.time() < deadline:
        if query_when_made(db, sql) == expected:
            return True
        time.sleep(0.5)
    return False


def test_ctrl_c_on_ray_ends_every_run_interrupted_four_sharing_one_gpu(db, workdir, ray_cluster):
    args = [
        sys.executable,
        "-m",
        "ganbench",
        "run",
        *SWEEP,
        "--steps",
        "1000000",
        "--executor",
        "ray",
        "--address",
        ray_cluster,
        "--gpus-per-run",
        "0.25",
        "--db",
        db,
    ]
    driver = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "GANBENCH_OFFLINE": "1"},
    )
    try:  # a quarter of the one GPU each: all four train at once
        training = _wait_for(
            db, "select count(*) from runs where status = 'running' and steps_done >= 2", [(4,)]
        )
        driver.send_signal(signal.SIGINT)  # what a terminal's Ctrl-C sends
        output, _ = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert training, output
    assert driver.returncode == 130, output
    rows = query(db, "select id, status, steps_done from runs")
    assert len(rows) == 4 and all(
        status == "interrupted" and steps > 0 for _, status, steps in rows
    ), rows
    assert all((run_dir(db, run_id) / "last.pt").exists() for run_id, _, _ in rows)
    assert "stopping: every run checkpoints at its next step and ends interrupted" in output


def test_a_ray_task_killed_mid_run_is_failed_and_its_run_shows_lost(invoke, db, ray_cluster):
    def kill_the_worker():  # as the out-of-memory killer or a lost node would
        if _wait_for(
            db, "select count(*) from runs where status = 'running' and steps_done >= 2", [(1,)]
        ):
            os.kill(query(db, "select pid from runs")[0][0], signal.SIGKILL)

    killer = threading.Thread(target=kill_the_worker)
    killer.start()
    # long enough to be killed, short enough to end by itself should the killer give up
    result = invoke("run", *TINY, "--steps", "20000", "--device", "cpu", "--executor", "ray")
    killer.join()
    assert result.exit_code == 1, result.output  # failed
    assert "WorkerCrashedError" in result.output
    listed = invoke("runs", "list", "--status", "lost")
    assert "1 run(s)" in listed.output, (
        listed.output
    )  # not running: its process is gone, and it can be resumed


@pytest.mark.parametrize(
    "kind, module, line",
    [
        ("ray", "ray", "--executor ray needs Ray: pip install 'ganbench[ray]'"),
        ("slurm", "submitit", "--executor slurm needs submitit: pip install 'ganbench[slurm]'"),
    ],
)
def test_a_missing_extra_is_one_line(invoke, db, monkeypatch, kind, module, line):
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed: its import fails
    result = (
        invoke("run", *STUDY, "--executor", kind, "--time-min", "5")
        if kind == "slurm"
        else invoke("run", *STUDY, "--executor", kind)
    )
    assert result.exit_code == 2
    assert result.output.strip() == f"Error: {line}"
    assert not os.path.exists(db.removeprefix("sqlite:///"))  # nothing planned, nothing recorded


def test_a_cluster_that_cannot_take_jobs_is_one_line(invoke, db, monkeypatch):
    pytest.importorskip("submitit")
    monkeypatch.setenv(
        "GANBENCH_SUBMITIT_CLUSTER", "nowhere"
    )  # as a machine without Slurm's commands
    result = invoke("run", *STUDY, "--executor", "slurm", "--time-min", "5")
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[-1].startswith("Error: cannot submit jobs to nowhere: ")
    assert query(db, "select count(*) from runs") == [(0,)]


@pytest.mark.parametrize(
    "options, line",
    [
        (["--address", "127.0.0.1:6379"], "--address goes with --executor ray"),
        (["--executor", "ray", "--partition", "gpu"], "--partition goes with --executor slurm"),
        (
            ["--executor", "slurm", "--gpus-per-run", "0.5", "--time-min", "5"],
            "--gpus-per-run goes with --executor ray",
        ),
        (["--executor", "ray", "--workers", "2"], "--workers goes with --executor local"),
        (["--executor", "slurm"], "--executor slurm needs --time-min MINUTES"),
        (["--executor", "ray", "--resume", "1"], "--resume keeps the run's recorded config"),
    ],
)
def test_bad_combinations_are_one_line(invoke, options, line):
    result = invoke("run", *(TINY if "--resume" not in options else []), *options)
    assert result.exit_code == 2, result.output
    assert (
        result.output.startswith(f"Error: {line}") and len(result.output.strip().splitlines()) == 1
    )


def test_slurm_refuses_a_sqlite_database_its_nodes_would_share(invoke, db, monkeypatch):
    pytest.importorskip("submitit")
    monkeypatch.delenv("GANBENCH_SUBMITIT_CLUSTER", raising=False)  # a real Slurm
    result = invoke("run", *STUDY, "--executor", "slurm", "--time-min", "5")
    assert (
        result.exit_code == 2
        and "SQLite's locks do not hold across a cluster's nodes" in result.output
    )
    assert not os.path.exists(db.removeprefix("sqlite:///"))


def test_a_cancel_that_lands_in_a_queue_put_is_a_stop_request(monkeypatch):
    from ray.exceptions import TaskCancelledError

    from ganbench.executors.messages import Values
    from ganbench.executors.ray_tasks import Cancellable
    from ganbench.stopping import STOP

    class Cancelled:
        def put(self, message):
            raise TaskCancelledError()

    monkeypatch.setattr(STOP, "requested", False)
    Cancellable(Cancelled()).put(Values(0, 2, {}).to_dict())
    assert STOP.requested
