"""Commands that only read the store or list components start without torch; the benchmark
benchmarks/startup.py measures how long each takes."""

import os
import subprocess
import sys

import pytest
from conftest import TINY

PROBE = (
    "import sys; from ganbench.cli import cli\n"
    "try:\n    cli(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
    "print('exit', code, 'torch', 'torch' in sys.modules)"
)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["plugins"],
        ["report"],
        ["runs", "list"],
        ["runs", "show", "1"],
        ["run", "--help"],
    ],
)
def test_a_command_that_does_not_train_starts_without_torch(invoke, db, args):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    env = {**os.environ, "GANBENCH_DB": db}
    found = subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True
    )
    assert found.stdout.strip().splitlines()[-1] == "exit 0 torch False", found.stderr


def test_training_still_builds_the_lazily_registered_components(invoke, db):
    result = invoke("run", *TINY, "plugins=resnet_tail,hinge,adamw", "--steps", "2")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "args, code",
    [
        (["run", "plugins=dcgna", "--dry-run"], 2),
        (["run", "glr=1"], 2),
        (["run", "study=fair-1-2b", "res=33"], 2),
        (["run", "trackers=tensorbord", "--steps", "2"], 2),
        (["run", "plugins=dcgan,resnet_tail", "--cfg"], 0),
    ],
)
def test_a_run_s_config_is_resolved_and_checked_before_torch_is_imported(workdir, args, code):
    found = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True)
    assert found.stdout.strip().splitlines()[-1] == f"exit {code} torch False", found.stderr
    assert len(found.stderr.strip().splitlines()) == (code != 0), found.stderr
    assert not (workdir / "results").exists()  # nor was a database opened
