"""`--executor slurm`: the units as one submitit job array, a job per unit. Jobs on other nodes
cannot reach a queue of the driver's, so each appends its run's events to a file of its own
in the study's submitit folder (shared storage, as submitit's own files are), which the
driver reads into its display. A stop request cancels the jobs: Slurm's SIGTERM (and the
SIGUSR2 submitit asks for before the time limit) is the run's stop request, so it
checkpoints and ends interrupted. GANBENCH_SUBMITIT_CLUSTER=local runs the jobs as
processes of this machine (submitit's local executor), with no Slurm."""

import json
import os
import queue
import signal
import tempfile
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ganbench.errors import GanbenchError
from ganbench.executors.base import Elsewhere, Say, Sender, Unit, _store, extra, train_reporting
from ganbench.stopping import STOP

TIMEOUT_SIGNAL = signal.SIGUSR2  # what submitit has Slurm send 90 s before a job's time limit


class Mailbox:
    """A queue's `put` and `get` through files in a shared folder, one per unit: a job on any
    node appends its messages to its own, a JSON line each; the driver reads the whole lines
    it has not read yet."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.read_upto: dict[Path, int] = {}  # each file's bytes read into `unread`
        self.unread: deque[dict[str, Any]] = deque()

    def put(self, message: dict[str, Any], /) -> None:
        with open(self.folder / f"{message['index']}.jsonl", "a") as f:
            f.write(json.dumps(message) + "\n")

    def get(self, *, timeout: float | None = None) -> dict[str, Any]:
        if not self.unread:
            self._collect()
        if not self.unread and timeout:
            time.sleep(timeout)
            self._collect()
        if not self.unread:
            raise queue.Empty
        return self.unread.popleft()

    def _collect(self) -> None:
        for path in sorted(self.folder.glob("*.jsonl")):
            with open(path, "rb") as f:
                f.seek(self.read_upto.get(path, 0))
                text = f.read()
            whole = text[: text.rfind(b"\n") + 1]  # a line being written waits for the next look
            self.read_upto[path] = self.read_upto.get(path, 0) + len(whole)
            self.unread.extend(json.loads(line) for line in whole.decode().splitlines())


def _job(unit: Unit, index: int, messages: Sender) -> None:
    """A Slurm job: the time limit's early warning is a stop request too, so a run that would
    be killed at its limit checkpoints and ends interrupted, to be resumed."""
    previous = signal.signal(TIMEOUT_SIGNAL, STOP.handle)
    try:
        train_reporting(unit, index, messages)
    finally:
        signal.signal(TIMEOUT_SIGNAL, previous)


class SlurmExecutor(Elsewhere):
    """Every unit submitted at once, as a job array; Slurm starts each job when it can."""

    summary = ", as Slurm jobs"
    messages: "Mailbox"
    running: dict[int, Any]  # index -> the submitit Job

    def __init__(
        self,
        time_min: int | None = None,
        partition: str | None = None,
        gpus_per_task: int | None = None,
        slurm_folder: str | None = None,
    ) -> None:
        extra("submitit", "slurm", "submitit")  # a missing extra is said before anything is planned
        if time_min is None:  # submitit's own default would end every job after 5 minutes
            raise GanbenchError(
                "--executor slurm needs --time-min MINUTES, each job's time limit (a run that reaches "
                "it checkpoints, ends interrupted and resumes with --resume)"
            )
        self.time_min, self.partition = time_min, partition
        self.gpus_per_task, self.slurm_folder = gpus_per_task, slurm_folder

    def run(self, units: Sequence[Unit], say: Say) -> list[str]:
        self.cluster = (
            os.environ.get("GANBENCH_SUBMITIT_CLUSTER") or "slurm"
        )  # local: jobs as processes here, for tests
        if self.cluster == "slurm" and units and units[0].db.startswith("sqlite"):
            raise GanbenchError(
                "--executor slurm with a SQLite --db: SQLite's locks do not hold across a cluster's "
                "nodes, so one file written from several would be damaged; give --db a PostgreSQL "
                "URL, or run each node's share with a database of its own and `ganbench merge` them"
            )
        return super().run(units, say)

    @contextmanager
    def opened(self, units: Sequence[Unit], say: Say) -> Iterator[None]:
        import submitit

        folder = self._folder(units)
        say(f"submitit's job files and logs: {folder}")
        cluster = self.cluster
        try:
            self.submitter = submitit.AutoExecutor(folder=folder, cluster=cluster)
        except (ValueError, RuntimeError) as e:  # an unknown cluster kind, or no Slurm here
            raise GanbenchError(f"cannot submit jobs to {cluster}: {e}") from None
        self.submitter.update_parameters(
            name="ganbench",
            timeout_min=self.time_min,
            gpus_per_node=self._gpus(units),
            slurm_partition=self.partition,
        )
        self.messages = Mailbox(folder / "events")
        self.messages.folder.mkdir()
        yield

    def _folder(self, units: Sequence[Unit]) -> Path:
        """A new folder for this study's jobs, under --slurm-folder or the database's results folder."""
        root = Path(self.slurm_folder or _store(units[0].db).results_dir / "slurm").absolute()
        root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="study-", dir=root))

    def _gpus(self, units: Sequence[Unit]) -> int:
        """--gpus-per-task, else one for a run that may use a GPU."""
        if self.gpus_per_task is not None:
            return self.gpus_per_task
        return 0 if units[0].device == "cpu" else 1

    def start(self) -> None:
        if not self.pending:
            return
        indexes, units = zip(*self.pending)
        self.pending.clear()
        try:
            jobs = self.submitter.map_array(_job, units, indexes, [self.messages] * len(units))
        except Exception as e:  # noqa: BLE001 - sbatch's refusal (or its absence) is said in one line
            raise GanbenchError(
                f"submitting the jobs failed: {type(e).__name__}: {str(e).strip()}"
            ) from None
        self.running.update(zip(indexes, jobs))

    def gone(self) -> dict[int, str]:
        return {index: _why(job) for index, job in self.running.items() if job.done()}

    def signal(self) -> None:
        for job in self.running.values():
            job.cancel(check=False)  # Slurm: SIGTERM to the job; its run takes it as a stop request


def _why(job: Any) -> str:
    """What ended a job that said nothing: the last line of its error, and where its log is."""
    error = job.exception()
    last = str(error).strip().splitlines()[-1] if error and str(error).strip() else "no error"
    return f"job {job.job_id} ended ({last}); its log: {job.paths.stderr}"
