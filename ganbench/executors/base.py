"""Where a study's runs train. A `Unit` is one arm with one seed; `run_unit` trains it in the
calling process and records it as any run is recorded. An `Executor` runs a list of units:
`InProcess` one after another (the default), `Processes` N at a time on this machine, and
`executors_ray.RayExecutor` and `executors_slurm.SlurmExecutor` as a Ray cluster's tasks or
Slurm jobs. All but the first train `Elsewhere`: each unit tells its run's events through
messages to one progress display here, and a stop request is forwarded to every unit.
`ganbench.executors.executor(...)` chooses one from the command line's options."""

import importlib
import multiprocessing
import os
import queue
import signal
from contextlib import contextmanager
from dataclasses import dataclass, field

from ganbench.api.hookspecs import hookimpl
from ganbench.engine.events import observing
from ganbench.errors import GanbenchError
from ganbench.stopping import STOP


@dataclass(frozen=True)
class Unit:
    """One run to train: what `ganbench run` would start for one arm and one seed."""

    overrides: tuple
    seed: int
    db: str
    steps: int | None = None
    name: str | None = None
    study: str | None = None
    device: str = "auto"
    extras: dict = field(default_factory=dict)


def run_unit(unit, console=None, store=None):
    """Train one unit here; (run id, status). `store`: the unit's database, already open (a
    process keeps one Store per database: SQLite's locks are the process's)."""
    from ganbench.engine.launch import start_run

    return start_run(
        store or _store(unit.db),
        list(unit.overrides),
        unit.steps,
        unit.seed,
        unit.name,
        unit.device,
        console=console,
        extras=unit.extras,
        study=unit.study,
    )


def _store(url):
    from ganbench.store.sql import Store

    return Store(url)


class Executor:
    """Trains a list of units; `run` returns the statuses of the runs that started, in the
    units' order."""

    summary = ""  # how the study's first line says its runs train, e.g. ", 2 at a time"

    def run(self, units, say):
        raise NotImplementedError


class InProcess(Executor):
    """Each unit in turn in this process, until a stop request ends the command."""

    def run(self, units, say):
        statuses, store = [], _store(units[0].db) if units else None
        for unit in units:
            run_id, status = run_unit(unit, store=store)
            say(f"run {run_id}: {status}")
            statuses.append(status)
            if STOP.requested:
                break
        return statuses


class Forwarder:
    """Where a unit trains elsewhere: the run's events, as messages to the driver's display."""

    def __init__(self, messages, index):
        self.messages, self.index = messages, index

    @hookimpl
    def on_run_started(self, run):
        self.messages.put(
            ("started", self.index, run.id, run.label, run.first_step, run.target_steps)
        )

    @hookimpl
    def on_losses(self, step, losses, steps_per_s):
        self.messages.put(("values", self.index, step, losses, steps_per_s))

    @hookimpl
    def on_scores(self, step, scores):
        self.messages.put(("values", self.index, step, {s.name: s.value for s in scores}, None))


def train_reporting(unit, index, messages):
    """Train a unit where an executor placed it, its events and its end sent to `messages`
    (anything with a queue's `put`). A stop request (SIGINT, SIGTERM) ends the run
    interrupted at its next step."""
    from rich.console import Console

    from ganbench.plugins.manager import load_plugins

    load_plugins()
    try:
        with STOP.installed(), observing(Forwarder(messages, index)):
            run_id, status = run_unit(unit, console=Console(quiet=True))
    except GanbenchError as e:
        messages.put(("error", index, str(e)))
    except (
        KeyboardInterrupt
    ):  # a recorded run takes a stop request itself: this one had no record yet
        messages.put(("error", index, "stopped before its run was recorded"))
    except BaseException as e:  # noqa: BLE001 - the run has recorded its failure; the driver says so
        messages.put(("error", index, f"{type(e).__name__}: {e}"))
    else:
        messages.put(("ended", index, run_id, status))


class Elsewhere(Executor):
    """Units that train in other processes, each telling its events and its end through
    `messages` (a queue's `get`) to one display here. A subclass opens what it needs
    (`opened`), starts pending units (`start`), names those that ended without a word
    (`gone`) and forwards a stop request to the running ones (`signal`)."""

    poll_s = 0.5  # a stop request is taken within this

    def run(self, units, say):
        from ganbench.engine.progress import StudyProgress

        _store(
            units[0].db
        ).engine.dispose()  # a database that cannot be written stops here, before any unit
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

    def opened(self, units, say):
        """A context manager: `messages`, and whatever else `start` needs, for the study's length."""
        raise NotImplementedError

    def start(self):
        """Move what may start now from `pending` into `running`, {index: handle}."""
        raise NotImplementedError

    def gone(self):
        """{index: why} for the running units whose process has ended, with a word or without."""
        raise NotImplementedError

    def signal(self):
        """One stop request to every running unit."""
        raise NotImplementedError

    def _loop(self):
        while self.pending or self.running:
            if not STOP.requested:
                self.start()
            if STOP.requested:
                raise KeyboardInterrupt
            self._receive()

    def _receive(self):
        try:
            self._take(self.messages.get(timeout=self.poll_s))
        except queue.Empty:
            self._bury(self.gone())

    def _take(self, message):
        kind, index, *rest = message
        if kind == "started":
            self.begun.add(index)
        if kind in ("ended", "error"):
            self._end(index, rest[1] if kind == "ended" else "failed")
        getattr(self.display, kind)(index, *rest)

    def _end(self, index, status):
        """Whether the unit counts: one that a stop request ended before its run began never started."""
        self.release(self.running.pop(index))
        if index in self.begun or not self.stopping:
            self.results[index] = status
        return index in self.results

    def release(self, handle):
        """What a unit's end frees (a process to join)."""

    def _bury(self, gone):
        """Units whose process ended: what they sent before it did is read first, so only
        those that died without a word (killed; their runs show lost) are failed here."""
        if gone:
            self._drain()
        for index, why in gone.items():
            if index in self.running and self._end(index, "failed"):
                self.display.error(index, why)

    def _drain(self):
        while True:
            try:
                self._take(self.messages.get(timeout=0))
            except queue.Empty:
                return

    def _stop(self):
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


def _worker(unit, index, messages, threads):
    """A worker process: its own process group, so a terminal's Ctrl-C reaches the parent
    alone, which forwards one stop request to every worker. The CPU's cores are shared out."""
    os.setpgrp()
    import torch

    torch.set_num_threads(threads)
    train_reporting(unit, index, messages)


class Processes(Elsewhere):
    """`workers` units at a time, each in a spawned process of its own."""

    def __init__(self, workers):
        self.workers = workers
        self.summary = f", {workers} at a time"

    @contextmanager
    def opened(self, units, say):
        self.context = multiprocessing.get_context(
            "spawn"
        )  # no fork after torch has started threads
        self.messages = self.context.Queue()
        yield

    def start(self):
        while self.pending and len(self.running) < self.workers:
            index, unit = self.pending.pop(0)
            threads = max(1, (os.cpu_count() or 1) // self.workers)
            self.running[index] = self.context.Process(
                target=_worker, args=(unit, index, self.messages, threads)
            )
            self.running[index].start()

    def gone(self):
        return {
            index: f"worker exited with code {process.exitcode}"
            for index, process in self.running.items()
            if not process.is_alive()
        }

    def release(self, handle):
        handle.join()

    def signal(self):
        for process in self.running.values():
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)


def _unit_label(unit):
    return f"{unit.name or ' '.join(unit.overrides) or 'defaults'} seed {unit.seed}"


def extra(module, kind, package):
    """The optional package an executor needs, or one line that says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise GanbenchError(
            f"--executor {kind} needs {package}: pip install 'ganbench[{kind}]'"
        ) from None
