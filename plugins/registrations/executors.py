"""Registers the built-in executors, local, ray and slurm (ganbench.executors), with the
options each takes; a third party's executor registers the same way. The help is what
`ganbench run --help` shows for each option's flag, after the executor's name."""

import os
from typing import TYPE_CHECKING

from ganbench import Option, hookimpl
from ganbench.api.lazy import implemented_in
from ganbench.api.options import non_negative, positive

base = implemented_in("ganbench.executors.base")
ray_tasks = implemented_in("ganbench.executors.ray_tasks")
slurm_jobs = implemented_in("ganbench.executors.slurm_jobs")

if TYPE_CHECKING:  # the contracts import torch; a registration stays free of it
    from ganbench.api.contracts import RegisterExecutor


def _folder(value: str) -> str | None:
    return f"'{value}' is a file; give a folder" if os.path.isfile(value) else None


LOCAL = {
    "workers": Option(
        int, 1, "runs of a study or sweep trained at once, each in a process of its own", positive
    ),
}
RAY = {
    "address": Option(str, None, "the cluster's address (default: start a local Ray)"),
    "gpus_per_run": Option(
        float,
        None,
        "GPUs per run, e.g. 0.25 puts four on one (default: 1 where the cluster has GPUs, 0 "
        "with --device cpu)",
        non_negative,
    ),
}
SLURM = {
    "partition": Option(str, None, "the partition"),
    "time_min": Option(int, None, "each job's time limit in minutes (needed)", positive),
    "gpus_per_task": Option(
        int, None, "GPUs per job (default: 1, 0 with --device cpu)", non_negative
    ),
    "slurm_folder": Option(
        str,
        None,
        "where submitit keeps job files and logs, on shared storage (default: results/slurm)",
        _folder,
    ),
}


@hookimpl
def register_executors(register: "RegisterExecutor") -> None:
    register(
        "local",
        lambda settings: base().on_this_machine(**settings),
        help="this machine: one run after another, or --workers at a time",
        options=LOCAL,
        misplaced_note="{chosen} places each run by what it asks for",
    )
    register(
        "ray",
        lambda settings: ray_tasks().RayExecutor(**settings),
        help="each run a Ray task, placed by the GPUs and CPU it asks for",
        options=RAY,
    )
    register(
        "slurm",
        lambda settings: slurm_jobs().SlurmExecutor(**settings),
        help="the runs as a Slurm job array (submitit), a job per run",
        options=SLURM,
    )
