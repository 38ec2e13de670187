"""Start-up time of each `ganbench` command, next to `python -c "import torch"` measured in the
same run, and whether the command imported torch at all.

    python benchmarks/startup.py [--repeat 5]

Each command runs as a fresh process (the median of --repeat runs) against a small store that
the benchmark makes first with one tiny run, in a temporary folder.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

BIN = Path(sys.executable).parent
COMMANDS = [["--help"], ["--version"], ["plugins"], ["runs", "list"], ["report"], ["run", "--help"]]
# Runs the command in-process, then says on stderr whether torch was imported along the way.
PROBE = (
    "import sys; from ganbench.cli import cli\n"
    "try:\n    cli(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
    "sys.stderr.write(f\"\\ntorch imported: {'torch' in sys.modules}\\n\")"
)


def seconds(argv, repeat, env):
    """Median wall time of `argv` run as a fresh process."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def imports_torch(args, env):
    found = subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True
    )
    return found.stderr.strip().endswith("True")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "GANBENCH_DB": f"sqlite:///{folder}/bench.db", "GANBENCH_OFFLINE": "1"}
        subprocess.run(
            [
                BIN / "ganbench",
                "run",
                "res=16",
                "batch=4",
                "filters=0.0625",
                "metrics=",
                "--steps",
                "2",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        reference = seconds([sys.executable, "-c", "import torch"], repeat, env)
        table = Table(title=f"start-up, median of {repeat} fresh processes ({os.cpu_count()} CPUs)")
        for column in ("command", "seconds", "import torch (same run)", "imports torch"):
            table.add_column(column, justify="left" if column == "command" else "right")
        for args in COMMANDS:
            took = seconds([BIN / "ganbench", *args], repeat, env)
            table.add_row(
                f"ganbench {' '.join(args)}",
                f"{took:.2f}",
                f"{reference:.2f}",
                "yes" if imports_torch(args, env) else "no",
            )
    Console().print(table)


if __name__ == "__main__":
    main()
