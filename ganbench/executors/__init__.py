"""Where a study's runs train: here, in worker processes, as Ray tasks or Slurm jobs.
`executor(...)` chooses one from the command line's options; the cluster executors' modules
are imported only when chosen."""

from dataclasses import dataclass, field, fields

from ganbench.errors import GanbenchError
from ganbench.executors.base import InProcess, Processes


def _of(kind):
    return field(default=None, metadata={"executor": kind})


@dataclass(frozen=True)
class Placement:
    """A cluster executor's options as the command line gives them; None: not given."""

    address: str | None = _of("ray")  # the cluster's; None: a local one
    gpus_per_run: float | None = _of("ray")  # fractions share a GPU
    partition: str | None = _of("slurm")
    time_min: int | None = _of("slurm")  # each job's time limit
    gpus_per_task: int | None = _of("slurm")
    slurm_folder: str | None = _of("slurm")  # submitit's job files and logs

    def check(self, kind):
        """Every option given belongs to the executor chosen."""
        for option in fields(self):
            owner = option.metadata["executor"]
            if getattr(self, option.name) is not None and owner != kind:
                raise GanbenchError(
                    f"--{option.name.replace('_', '-')} goes with --executor {owner}"
                )


def executor(workers=1, kind="local", placement=None):
    """local: InProcess for one worker, Processes for several; ray and slurm: a cluster's."""
    placement = placement or Placement()
    placement.check(kind)
    if workers < 1:
        raise GanbenchError(f"--workers {workers}: give 1 or more")
    if kind == "local":
        return InProcess() if workers == 1 else Processes(workers)
    if workers > 1:
        raise GanbenchError(
            f"--workers goes with --executor local; {kind} places each run by what it asks for"
        )
    if kind == "ray":
        from ganbench.executors.ray_tasks import RayExecutor

        return RayExecutor(placement)
    if kind == "slurm":
        from ganbench.executors.slurm_jobs import SlurmExecutor

        return SlurmExecutor(placement)
    raise GanbenchError(f"--executor {kind}: give local, ray or slurm")
