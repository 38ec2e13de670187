"""Two runs writing one SQLite database at the same time both succeed."""

import subprocess
import sys

from conftest import TINY_MODEL, query


def test_two_concurrent_runs_on_one_database(db, workdir):
    # log_every=1: a write per step from each process, to make the writers collide often
    command = [
        sys.executable,
        "-m",
        "ganbench",
        "run",
        *TINY_MODEL,
        "log_every=1",
        "ckpt_every=1000",
        "--steps",
        "60",
        "--device",
        "cpu",
        "--db",
        db,
    ]
    children = [
        subprocess.Popen(
            command + ["--seed", str(seed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    outputs = [child.communicate(timeout=300) for child in children]
    assert [child.returncode for child in children] == [0, 0], outputs
    assert query(db, "select status, steps_done from runs order by id") == [("completed", 60)] * 2
    counts = query(db, "select run_id, count(*) from metrics group by run_id order by run_id")
    assert counts == [(1, 120), (2, 120)]
