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
