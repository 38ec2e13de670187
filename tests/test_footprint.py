"""A run's memory, estimated on the meta device before anything real is built: close to what
a real step takes, cheap, free of real allocations, and a run that cannot fit is refused in
one line. The runs that test the fault run in a child process whose data is limited, so that
the fault, if it came back, fails the test instead of exhausting the machine."""

import json
import os
import resource
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import TINY, query, wait_for

from ganbench.config.defaults import default_components
from ganbench.config.spec import resolve
from ganbench.config.studies import as_overrides, plan
from ganbench.engine.footprint import check_fits, estimate, size
from ganbench.errors import GanbenchError
from ganbench.plugins.manager import registry

LIMIT = 4 * 2**30  # a child's data: torch's import takes about 1 GB of it
CPU = torch.device("cpu")

# One real step of DCGAN at 64 px, 128 images a batch, 1/8 of its channels: about 100 MB.
# Resident memory is measured from just before the build to the step's end; a step at batch=1
# first loads the kernels and libraries, and glibc gives every freed block of 64 KB or more
# back at once (MALLOC_MMAP_THRESHOLD_), so resident memory follows the live tensors.
MEASURED = """
import json, resource, sys, torch
from ganbench.config.defaults import default_components
from ganbench.config.spec import resolve
from ganbench.engine.build import build
from ganbench.engine.footprint import estimate
from ganbench.plugins.manager import registry

def resident():
    return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize()

def step(batch):
    config = resolve(["res=64", "filters=0.125", "metrics=", f"batch={batch}"], reg, defaults)
    exp = build(config, reg, torch.device("cpu"), 0, sys.argv[1], stand_in=True)
    exp.scheme.step(exp.parts, exp.parts.draw())
    return config

torch.set_num_threads(1)
reg, defaults = registry(), default_components()
def high_water():
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024

step(1)
before = resident()
with open("/proc/self/clear_refs", "w") as f:  # the peak so far (the data's decoding) goes
    f.write("5")
config = step(128)
peak = high_water()
print(json.dumps({"estimate": estimate(config, reg).total, "measured": peak - before}))
"""


def _limit_data() -> None:
    resource.setrlimit(resource.RLIMIT_DATA, (LIMIT, LIMIT))


def _clean_environment() -> dict[str, str]:
    """The child's environment without what earlier tests in this process left in it (in the
    full suite the measured step's resident memory was 2.5 times what it is alone)."""
    kept = ("PATH", "HOME", "LANG", "TMPDIR", "TORCH_HOME", "GANBENCH_OFFLINE")
    return {key: os.environ[key] for key in kept if key in os.environ}


def _child(args: list[str], cwd, env: dict[str, str]) -> tuple[int, str, int]:
    """(exit code, output, peak resident bytes) of `python ARGS` under the data limit."""
    out = cwd / "child.txt"
    with out.open("w") as f:
        child = subprocess.Popen(
            [sys.executable, *args],
            cwd=cwd,
            env={**_clean_environment(), **env},
            stdout=f,
            stderr=subprocess.STDOUT,
            preexec_fn=_limit_data,
        )
        ended = []

        def reaped() -> bool:  # the child's own resource usage comes with its exit status
            ended.append(os.wait4(child.pid, os.WNOHANG))
            return ended[-1][0] == child.pid

        if not wait_for(reaped, timeout=300):
            os.kill(child.pid, signal.SIGKILL)
            pytest.fail(f"python {' '.join(args)} did not end within its deadline")
    _, status, usage = ended[-1]
    return os.waitstatus_to_exitcode(status), out.read_text(), usage.ru_maxrss * 1024


def test_the_estimate_is_close_to_a_real_steps_peak(workdir):
    code, output, _ = _child(
        ["-c", MEASURED, str(workdir / "cache")], workdir, {"MALLOC_MMAP_THRESHOLD_": "65536"}
    )
    assert code == 0, output
    found = json.loads(output.strip().splitlines()[-1])
    assert found["measured"] > 50 * 10**6, found  # large enough to stand out of the noise
    assert 0.5 <= found["estimate"] / found["measured"] <= 3, found


def test_a_dry_run_at_4096_pixels_counts_without_allocating_gigabytes(workdir, db):
    started = time.monotonic()
    code, output, peak = _child(
        ["-m", "ganbench", "run", "plugins=cyclegan,digit_styles", "res=4096", "--dry-run"],
        workdir,
        {"GANBENCH_DB": db},
    )
    assert code == 0, output
    assert output.count("11,365,633") == 2 and output.count("2,762,689") == 2
    memory = next(line for line in output.splitlines() if "11,365,633" in line).split()[-2:]
    assert memory[1] == "GB" and float(memory[0].replace(",", "")) > 1000  # terabytes: shown
    assert peak < 2 * 2**30, f"the dry run's peak resident memory was {size(peak)}"
    assert time.monotonic() - started < 300


def test_a_million_blocks_are_refused_in_one_line_and_nothing_is_recorded(workdir, db):
    args = ["plugins=cyclegan,digit_styles", "n_blocks=1000000", "metrics=", "--steps", "1"]
    code, output, _ = _child(
        ["-m", "ganbench", "run", *args, "--device", "cpu"], workdir, {"GANBENCH_DB": db}
    )
    assert code == 2 and len(output.strip().splitlines()) == 1, output
    assert "the run needs more than" in output and "lower ngf=64, n_blocks=1000000" in output
    assert "cpu has" in output and "GB free" in output
    recorded = (workdir / "results" / "test.db").exists() and query(db, "select count(*) from runs")
    assert recorded in (False, [(0,)])


def test_check_fits_refuses_what_the_free_memory_given_cannot_hold():
    reg = registry()
    config = resolve(TINY, reg, default_components())
    need = estimate(config, reg)
    assert need is not None and need.complete and set(need.parameters) == {"g", "d"}
    check_fits(config, reg, CPU, free=need.total)  # exactly enough: no refusal
    with pytest.raises(GanbenchError) as refused:
        check_fits(config, reg, CPU, free=need.total - 1)
    line = str(refused.value)
    assert "\n" not in line and f"the run needs at least {size(need.total)} of memory" in line
    assert f"cpu has {size(need.total - 1)} free" in line
    assert "res=16" in line and "batch=4" in line and "filters=0.0625" in line


def test_networks_outgrowing_the_memory_given_are_refused_before_they_are_built():
    reg = registry()
    config = resolve(
        ["plugins=cyclegan,digit_styles", "n_blocks=1000000"], reg, default_components()
    )
    started = time.process_time()
    with pytest.raises(GanbenchError, match="needs more than .* lower ngf=64, n_blocks=1000000"):
        check_fits(config, reg, CPU, free=10**9)
    assert time.process_time() - started < 10  # stopped after a few dozen blocks of a million


def test_the_estimate_of_the_demo_is_cheap_and_allocates_nothing():
    reg = registry()
    config = resolve(as_overrides(plan(["study=demo"])[0].overrides), reg, default_components())
    estimate(config, reg)  # the first call loads what the meta device's kernels import
    started, before = time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    need = estimate(config, reg)
    assert time.process_time() - started < 1
    big = resolve(["plugins=cyclegan,digit_styles", "res=4096"], reg, default_components())
    huge = estimate(big, reg)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    assert need is not None and huge is not None and huge.total > 1000 * 10**9
    assert grown < 200 * 10**6, f"estimates of {size(huge.total)} grew the process {size(grown)}"
