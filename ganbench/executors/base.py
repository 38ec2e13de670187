"""Where a study's runs train. A `Unit` is one arm with one seed; `run_unit` trains it in the
calling process and records it as any run is recorded. An `Executor` trains a list of units:
`InProcess` one after another (the default), `Processes` N at a time on this machine, and
`ray_tasks.RayExecutor` and `slurm_jobs.SlurmExecutor` as a Ray cluster's tasks or Slurm
jobs. All but the first train `Elsewhere`: each unit tells its run's events to one progress
display here through `messages.Message`s, and a stop request is forwarded to every unit.
Executors are plugins: `ganbench run --executor NAME` builds the one registered as NAME."""

import ctypes
import importlib
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from multiprocessing.context import SpawnContext, SpawnProcess
from multiprocessing.queues import Queue
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from ganbench.config.spec import RunSpec
from ganbench.engine.events import LossesLogged, Observer, RunStarted, ScoresLogged
from ganbench.errors import GanbenchError
from ganbench.executors.messages import Ended, Failed, Message, Started, Values
from ganbench.stopping import STOP

if TYPE_CHECKING:
    from rich.console import Console

    from ganbench.engine.progress import StudyProgress
    from ganbench.store.base import RunStore
    from ganbench.store.sql import Store

Say = Callable[[str], None]  # one line for the user: `ganbench run` prints it
Key = tuple[str, str | None, str, int]  # label, study, config hash, seed: whose run it is
Tries = list[tuple[int, str]]  # (run id, status as it stands) of one unit's runs, by id
PR_SET_PDEATHSIG = 1  # Linux's prctl option: a signal for when the parent dies
WATCH_S = 1.0  # where the kernel cannot send it, how often a worker looks for its parent


@dataclass(frozen=True)
class Unit:
    """One run to train: one arm's spec with one seed, resolved once where the command ran,
    and where to record it. It travels as it is to a worker, a Ray task or a Slurm job."""

    spec: RunSpec
    db: str  # the database's URL: a unit trained elsewhere opens it there
    device: str = "auto"
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int:
        return self.spec.seed


def run_unit(
    unit: Unit,
    console: "Console | None" = None,
    store: "Store | None" = None,
    observers: Sequence[Observer] = (),
) -> tuple[int, str]:
    """Train one unit here; (run id, status). `store`: the unit's database, already open (a
    process keeps one Store per database: SQLite's locks are the process's); `observers`: more
    observers of the run's events (a worker's messages to its driver)."""
    from ganbench.engine.launch import start_spec

    store = store or _store(unit.db)
    return start_spec(store, unit.spec, unit.device, console, unit.extras, observers)


def _store(url: str) -> "Store":
    from ganbench.store.sql import Store

    return Store(url)


def say_unfinished(store: "RunStore", units: Sequence[Unit], say: Say) -> None:
    """A study or sweep run again: one line naming its units that have no finished run, so
    none that a killed command dropped (never started, or its run interrupted or lost) goes
    unsaid. Nothing for a single run or for a study's first command."""
    left = unfinished(store, units) if len(units) > 1 else []
    if left:
        say(
            f"not finished before: {', '.join(left)}; every run here trains anew "
            "(`ganbench run --resume ID` continues one instead)"
        )


def unfinished(store: "RunStore", units: Sequence[Unit]) -> list[str]:
    """'LABEL seed N (never started)' or '(run ID interrupted)' for each unit without a
    finished run, when any of the units has a run recorded (the study ran before); else none."""
    tries = _tries(store)
    if not any(_key(unit.spec) in tries for unit in units):
        return []
    standings = [_standing(unit, tries.get(_key(unit.spec), [])) for unit in units]
    return [standing for standing in standings if standing]


def _tries(store: "RunStore") -> dict[Key, Tries]:
    """Every recorded run with its status as it stands, under its unit's key."""
    rows = store.runs()
    statuses = store.statuses(rows)
    tries: dict[Key, Tries] = {}
    for row in rows:
        key = (row["label"], row["study"], row["config_hash"], row["seed"])
        tries.setdefault(key, []).append((row["id"], statuses[row["id"]]))
    return tries


def _key(spec: RunSpec) -> Key:
    return (spec.label, spec.study, spec.hash, spec.seed)


def _standing(unit: Unit, tries: Tries) -> str | None:
    """How a unit stands: None once a run of it finished, else its last run's status."""
    from ganbench.store.base import FINISHED

    if any(status in FINISHED for _, status in tries):
        return None
    if not tries:
        return f"{_unit_label(unit)} (never started)"
    run_id, status = tries[-1]
    return f"{_unit_label(unit)} (run {run_id} {status})"


class Executor(ABC):
    """What every executor implements, a third party's too (say, one that trains each unit as
    a Kubernetes job). A plugin registers it with `register_executors`:
    `register(NAME, build, options={...}, help=...)`; `ganbench run --executor NAME` then
    offers each declared `ganbench.Option` as a flag (`gpus_per_run`: `--gpus-per-run`) and
    calls `build(settings)` with {option name: value}, the defaults filled in.

    `run` trains every unit, each through `run_unit` in the process that trains it, which
    records the run (a unit's `db` is the URL of the database to record it in, so a process
    elsewhere opens it there). Events seen elsewhere come back as `messages.Message`s; the
    `Elsewhere` subclass does that, and the stop requests, for an executor that starts,
    watches and cancels processes of its own. A stop request (`ganbench.stopping.STOP`,
    Ctrl-C) ends the command: units not yet started never start, and a unit training ends
    its run interrupted at its next step."""

    summary: str = ""  # how the study's first line says its runs train, e.g. ", 2 at a time"

    @abstractmethod
    def run(self, units: Sequence[Unit], say: Say) -> list[str]:
        """Train `units`; the statuses of the runs that started, in the units' order."""


class InProcess(Executor):
    """Each unit in turn in this process, until a stop request ends the command."""

    def run(self, units: Sequence[Unit], say: Say) -> list[str]:
        statuses: list[str] = []
        store = _store(units[0].db) if units else None
        if store is not None:
            say_unfinished(store, units, say)
        for unit in units:
            run_id, status = run_unit(unit, store=store)
            say(f"run {run_id}: {status}")
            statuses.append(status)
            if STOP.requested:
                break
        return statuses


def on_this_machine(workers: int = 1) -> Executor:
    """`--executor local`: one unit after another here, or `workers` processes at a time."""
    return InProcess() if workers == 1 else Processes(workers)


class Sender(Protocol):
    """A unit's end of the way to the driver: a queue's put, of `Message.to_dict()`s."""

    def put(self, message: dict[str, Any], /) -> None: ...


class Channel(Sender, Protocol):
    """The whole way: the driver's end gets what units put, or raises `queue.Empty` once
    `timeout` seconds pass without any."""

    def get(self, *, timeout: float | None = None) -> dict[str, Any]: ...


class Forwarder(Observer):
    """Where a unit trains elsewhere: an observer on its run's event bus that sends the run's
    progress as messages to the driver's display."""

    def __init__(self, messages: Sender, index: int) -> None:
        self.messages, self.index = messages, index

    def on_run_started(self, event: RunStarted) -> None:
        run = event.run
        started = Started(self.index, run.id, run.label, run.first_step, run.target_steps)
        self.messages.put(started.to_dict())

    def on_losses(self, event: LossesLogged) -> None:
        values = Values(self.index, event.step, event.losses, event.steps_per_s)
        self.messages.put(values.to_dict())

    def on_scores(self, event: ScoresLogged) -> None:
        scores = {score.name: score.value for score in event.scores}
        self.messages.put(Values(self.index, event.step, scores).to_dict())


def train_reporting(unit: Unit, index: int, messages: Sender) -> None:
    """Train a unit where an executor placed it, its events and its end sent to `messages`.
    A stop request (SIGINT, SIGTERM) ends the run interrupted at its next step."""
    messages.put(_trained(unit, index, messages).to_dict())


def _trained(unit: Unit, index: int, messages: Sender) -> Message:
    """The unit trained with its events forwarded; the message that says how it ended."""
    from rich.console import Console

    from ganbench.plugins.manager import load_plugins

    load_plugins()
    try:
        with STOP.installed():
            forwarder = Forwarder(messages, index)
            run_id, status = run_unit(unit, console=Console(quiet=True), observers=[forwarder])
    except GanbenchError as e:
        return Failed(index, str(e))
    except KeyboardInterrupt:  # a recorded run takes a stop request itself: this one had none
        return Failed(index, "stopped before its run was recorded")
    except BaseException as e:  # noqa: BLE001 - the run has recorded its failure; the driver says so
        return Failed(index, f"{type(e).__name__}: {e}")
    return Ended(index, run_id, status)


class Elsewhere(Executor):
    """Units that train in other processes, each telling its events and its end through
    `messages` (a `Channel`) to one display here. A subclass opens what it needs (`opened`),
    starts pending units (`start`), names those that ended without a word (`gone`) and
    forwards a stop request to the running ones (`signal`)."""

    poll_s = 0.5  # a stop request is taken within this
    messages: Channel
    pending: list[tuple[int, Unit]]  # (index, unit) not started yet
    running: dict[int, Any]  # index -> the subclass's handle on the unit's process
    results: dict[int, str]  # index -> the status of a run that started
    begun: set[int]  # the units whose run has started
    stopping: bool
    display: "StudyProgress"

    def run(self, units: Sequence[Unit], say: Say) -> list[str]:
        from ganbench.engine.progress import StudyProgress

        # a database that cannot be written stops here, before any unit
        store = _store(units[0].db)
        say_unfinished(store, units, say)
        store.engine.dispose()
        self.pending, self.running, self.results = list(enumerate(units)), {}, {}
        self.begun, self.stopping = set(), False
        with (
            STOP.deferred(),
            self.opened(units, say),
            StudyProgress([_unit_label(u) for u in units], say) as display,
        ):
            self.display = display
            try:  # a stop request only marks STOP.requested: the loop takes it within poll_s
                self._loop()
            except KeyboardInterrupt:
                self._stop()
        return [self.results[i] for i in sorted(self.results)]

    @abstractmethod
    def opened(self, units: Sequence[Unit], say: Say) -> AbstractContextManager[None]:
        """A context manager: `messages`, and whatever else `start` needs, for the study's length."""

    @abstractmethod
    def start(self) -> None:
        """Move what may start now from `pending` into `running`, {index: handle}."""

    @abstractmethod
    def gone(self) -> dict[int, str]:
        """{index: why} for the running units whose process has ended, with a word or without."""

    @abstractmethod
    def signal(self) -> None:
        """One stop request to every running unit."""

    def release(self, handle: Any) -> None:
        """What a unit's end frees (a process to join)."""

    def _loop(self) -> None:
        while self.pending or self.running:
            if not STOP.requested:
                self.start()
            if STOP.requested:
                raise KeyboardInterrupt
            self._receive()

    def _receive(self) -> None:
        try:
            self._take(Message.from_dict(self.messages.get(timeout=self.poll_s)))
        except queue.Empty:
            self._bury(self.gone())

    def _take(self, message: Message) -> None:
        if isinstance(message, Started):
            self.begun.add(message.index)
        if isinstance(message, Ended | Failed):
            self._end(message.index, message.status if isinstance(message, Ended) else "failed")
        message.show(self.display)

    def _end(self, index: int, status: str) -> bool:
        """Whether the unit counts: one that a stop request ended before its run began never started."""
        self.release(self.running.pop(index))
        if index in self.begun or not self.stopping:
            self.results[index] = status
        return index in self.results

    def _bury(self, gone: dict[int, str]) -> None:
        """Units whose process ended: what they sent before it did is read first, so only
        those that died without a word (killed; their runs show lost) are failed here."""
        if gone:
            self._drain()
        for index, why in gone.items():
            if index in self.running and self._end(index, "failed"):
                self.display.error(index, why)

    def _drain(self) -> None:
        while True:
            try:
                self._take(Message.from_dict(self.messages.get(timeout=0)))
            except queue.Empty:
                return

    def _stop(self) -> None:
        """One stop request to each running unit, which checkpoints at its next step and ends
        its run interrupted; pending units never start. A second Ctrl-C forwards a second request."""
        self.pending.clear()
        self.stopping = True
        self.display.note("stopping: every run checkpoints at its next step and ends interrupted")
        self.signal()
        while self.running:
            try:
                self._receive()
            except KeyboardInterrupt:
                self.signal()


def _worker(
    unit: Unit, index: int, messages: "Queue[dict[str, Any]]", threads: int, parent: int
) -> None:
    """A worker process: its own process group, so a terminal's Ctrl-C reaches the parent
    alone, which forwards one stop request to every worker; and a stop request of its own
    when the parent (pid `parent`) dies, so a kill -9 leaves no orphan training on. The
    CPU's cores are shared out."""
    os.setpgrp()
    stop_with(parent)
    import torch

    torch.set_num_threads(threads)
    train_reporting(unit, index, messages)
    if os.getppid() != parent:  # no one reads the queue any more: exit without flushing it
        messages.cancel_join_thread()


def stop_with(parent: int) -> None:
    """SIGTERM to this process when `parent` dies: the stop request a scheduler sends, so a
    run training here checkpoints at its next step and ends interrupted. Linux's kernel sends
    it at once; elsewhere a thread looks every WATCH_S seconds."""
    if not _death_signal(signal.SIGTERM):
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    elif os.getppid() != parent:  # it died before the kernel was asked
        os.kill(os.getpid(), signal.SIGTERM)


def _death_signal(signum: int) -> bool:
    """Whether the kernel now sends `signum` when this process's parent dies."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # no C library to ask
        return False
    return bool(prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0)


def _watch(parent: int) -> None:
    """An orphan is taken in by another process: its parent's pid changes."""
    while os.getppid() == parent:
        time.sleep(WATCH_S)
    os.kill(os.getpid(), signal.SIGTERM)


class Processes(Elsewhere):
    """`workers` units at a time, each in a spawned process of its own."""

    running: dict[int, SpawnProcess]
    messages: "Queue[dict[str, Any]]"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.summary = f", {workers} at a time"

    @contextmanager
    def opened(self, units: Sequence[Unit], say: Say) -> Iterator[None]:
        # spawn, not fork: no fork after torch has started threads
        self.context: SpawnContext = multiprocessing.get_context("spawn")
        self.messages = self.context.Queue()
        yield

    def start(self) -> None:
        while self.pending and len(self.running) < self.workers:
            index, unit = self.pending.pop(0)
            threads = max(1, (os.cpu_count() or 1) // self.workers)
            self.running[index] = self.context.Process(
                target=_worker, args=(unit, index, self.messages, threads, os.getpid())
            )
            self.running[index].start()

    def gone(self) -> dict[int, str]:
        return {
            index: f"worker exited with code {process.exitcode}"
            for index, process in self.running.items()
            if not process.is_alive()
        }

    def release(self, handle: SpawnProcess) -> None:
        handle.join()

    def signal(self) -> None:
        for process in self.running.values():
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)


def _unit_label(unit: Unit) -> str:
    return f"{unit.spec.name or unit.spec.label} seed {unit.seed}"


def extra(module: str, kind: str, package: str) -> ModuleType:
    """The optional package an executor needs, or one line that says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise GanbenchError(
            f"--executor {kind} needs {package}: pip install 'ganbench[{kind}]'"
        ) from None
