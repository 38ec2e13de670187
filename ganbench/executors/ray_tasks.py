"""`--executor ray`: each unit a Ray task, placed by the GPUs (fractions share one) and CPU it
asks for. Runs' events come back through a Ray queue to the driver's display; a stop request
cancels the tasks: Ray interrupts a running task as SIGINT would, which the run takes as a
stop request, so it checkpoints and ends interrupted, and a task not yet started never does."""

import os
import signal
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from ganbench.errors import GanbenchError
from ganbench.executors.base import (
    Channel,
    Elsewhere,
    Say,
    Sender,
    Unit,
    extra,
    train_reporting,
)
from ganbench.executors.messages import Failed
from ganbench.stopping import STOP

CPUS_PER_RUN = 1  # a run keeps its batches on the device: one core feeds it


def _task(unit: Unit, index: int, messages: Sender, cwd: str) -> None:
    """A Ray task: the unit trains in the driver's working directory, so its relative paths
    (database, data, caches) mean the same on every node of a shared file system."""
    import torch

    torch.set_num_threads(CPUS_PER_RUN)
    try:
        os.chdir(cwd)
    except OSError as e:
        why = f"{socket.gethostname()} cannot enter {cwd} ({e.strerror})"
        messages.put(
            Failed(
                index, f"{why}: every node needs the study's folder, on shared storage"
            ).to_dict()
        )
        return
    train_reporting(unit, index, Cancellable(messages))


class Cancellable:
    """The driver's queue as a task puts to it. A cancel that lands while a put waits on the
    queue's actor arrives as TaskCancelledError instead of SIGINT: the same stop request."""

    def __init__(self, messages: Sender) -> None:
        self.messages = messages

    def put(self, message: dict[str, Any], /) -> None:
        from ray.exceptions import TaskCancelledError

        try:
            self.messages.put(message)
        except TaskCancelledError:
            STOP.requested = True  # the run checkpoints at its next step and ends interrupted


def _ganbench_environment() -> dict[str, str]:
    """The driver's GANBENCH_* settings (registry, offline, database patience), for the tasks."""
    return {k: v for k, v in os.environ.items() if k.startswith("GANBENCH_")}


class RayExecutor(Elsewhere):
    """Every unit submitted at once as a Ray task; Ray starts each when its resources are free."""

    summary = ", as Ray tasks"
    running: dict[int, Any]  # index -> the task's ObjectRef

    def __init__(self, address: str | None = None, gpus_per_run: float | None = None) -> None:
        extra("ray", "ray", "Ray")  # a missing extra is said before anything is planned
        self.address, self.gpus = address, gpus_per_run

    @contextmanager
    def opened(self, units: Sequence[Unit], say: Say) -> Iterator[None]:
        import ray

        ours = not ray.is_initialized()  # a Ray already started in this process is used as it is
        if ours:
            self._connect(ray)
        try:
            _check_store(ray, units)
            gpus = self._gpus(ray, units)
            _check_fits(ray, gpus, ours, say)
            with self._queue() as self.messages:
                self.task = ray.remote(_task).options(
                    num_cpus=CPUS_PER_RUN,
                    num_gpus=gpus,
                    max_retries=0,  # a retried unit would record a second run
                    runtime_env={"env_vars": _ganbench_environment()},
                )
                yield
        finally:
            if ours:
                ray.shutdown()

    def _connect(self, ray: ModuleType) -> None:
        before = signal.getsignal(signal.SIGTERM)
        try:
            ray.init(address=self.address)  # None: a new local Ray on this machine's cores and GPUs
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise GanbenchError(
                f"cannot start or reach Ray at {self.address or 'this machine'}: {e}"
            ) from None
        if before is not None and threading.current_thread() is threading.main_thread():
            signal.signal(
                signal.SIGTERM, before
            )  # ray.init takes SIGTERM to exit; a scheduler's stays a stop request

    @staticmethod
    @contextmanager
    def _queue() -> Iterator[Channel]:
        from ray.util.queue import Queue

        messages = Queue(actor_options={"num_cpus": 0})  # holds no core a run could use
        try:
            yield messages
        finally:
            messages.shutdown()

    def _gpus(self, ray: ModuleType, units: Sequence[Unit]) -> float:
        """--gpus-per-run, else one GPU per run where the cluster has GPUs and the runs may use them."""
        if self.gpus is not None:
            return self.gpus
        return 1 if units[0].device != "cpu" and ray.cluster_resources().get("GPU", 0) else 0

    def start(self) -> None:
        cwd = os.getcwd()
        while self.pending:
            index, unit = self.pending.pop(0)
            self.running[index] = self.task.remote(unit, index, self.messages, cwd)

    def gone(self) -> dict[int, str]:
        import ray

        refs = list(self.running.values())
        done, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        return {index: _why(ray, ref) for index, ref in self.running.items() if ref in done}

    def signal(self) -> None:
        import ray

        for ref in self.running.values():
            ray.cancel(
                ref
            )  # not force: a KeyboardInterrupt in the task, which the run takes as a stop request


def _check_store(ray: ModuleType, units: Sequence[Unit]) -> None:
    """SQLite's locks do not hold across hosts: a cluster of several nodes needs a shared server."""
    nodes = sum(1 for node in ray.nodes() if node["Alive"])
    if nodes > 1 and units[0].db.startswith("sqlite"):
        raise GanbenchError(
            f"--executor ray on {nodes} nodes with a SQLite --db: one file written from several hosts "
            f"would be damaged; give --db a PostgreSQL URL, or give each node a database of its own "
            f"and `ganbench merge` them"
        )


def _check_fits(ray: ModuleType, gpus: float, ours: bool, say: Say) -> None:
    """A run that asks for more GPUs than the cluster has would wait for ever: on a Ray started
    here that is an error; a cluster elsewhere may add nodes, so it is said and waited for."""
    has = ray.cluster_resources().get("GPU", 0)
    if gpus <= has:
        return
    line = f"--gpus-per-run {gpus:g}: the Ray cluster has {has:g} GPU(s)"
    if ours:
        raise GanbenchError(
            f"{line}; give --gpus-per-run 0 to train on its CPUs, or --address of a cluster with GPUs"
        )
    say(f"{line} now; the runs wait until it has more")


def _why(ray: ModuleType, ref: Any) -> str:
    """What ended a task that said nothing: its worker died, or Ray could not run it."""
    try:
        ray.get(ref)
    except Exception as e:  # noqa: BLE001 - any of Ray's errors is said in one line
        return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
    return "its Ray task ended without a word"
