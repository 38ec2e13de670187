"""Where a study's runs train. A `Unit` is one arm with one seed; `run_unit` trains it in the
calling process and records it as any run is recorded. An executor runs a list of units:
`InProcess` one after another (the default), `Processes` N at a time, each in a process of
its own, with one progress display for the lot. A cluster's executor (Ray, Slurm) takes the
same units and calls the same `run_unit` where it places them."""
import multiprocessing
import os
import queue
import signal
from dataclasses import dataclass, field
from typing import Optional

from .errors import GanbenchError
from .hookspecs import hookimpl
from .stopping import STOP


@dataclass(frozen=True)
class Unit:
    """One run to train: what `ganbench run` would start for one arm and one seed."""

    overrides: tuple
    seed: int
    db: str
    steps: Optional[int] = None
    name: Optional[str] = None
    study: Optional[str] = None
    device: str = "auto"
    extras: dict = field(default_factory=dict)


def run_unit(unit, console=None, store=None):
    """Train one unit here; (run id, status). `store`: the unit's database, already open (a
    process keeps one Store per database: SQLite's locks are the process's)."""
    from .launch import start_run

    return start_run(store or _store(unit.db), list(unit.overrides), unit.steps, unit.seed, unit.name,
                     unit.device, console=console, extras=unit.extras, study=unit.study)


def _store(url):
    from .store import Store

    return Store(url)


class InProcess:
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
    """In a worker: the run's events, as messages to the parent's display."""

    def __init__(self, messages, index):
        self.messages, self.index = messages, index

    @hookimpl
    def on_run_started(self, run):
        self.messages.put(("started", self.index, run.id, run.label, run.first_step, run.target_steps))

    @hookimpl
    def on_losses(self, step, losses, steps_per_s):
        self.messages.put(("values", self.index, step, losses, steps_per_s))

    @hookimpl
    def on_scores(self, step, scores):
        self.messages.put(("values", self.index, step, {s.name: s.value for s in scores}, None))


def _worker(unit, index, messages, threads):
    """A worker process: its own process group, so a terminal's Ctrl-C reaches the parent
    alone, which forwards one stop request to every worker. The CPU's cores are shared out."""
    os.setpgrp()
    import torch
    from rich.console import Console

    torch.set_num_threads(threads)

    from .plugins import pm, load_plugins

    load_plugins()
    pm.register(Forwarder(messages, index))
    try:
        with STOP.installed():
            run_id, status = run_unit(unit, console=Console(quiet=True))
    except GanbenchError as e:
        messages.put(("error", index, str(e)))
        return
    except BaseException as e:  # noqa: BLE001 - the run has recorded its failure; the parent says so
        messages.put(("error", index, f"{type(e).__name__}: {e}"))
        return
    messages.put(("ended", index, run_id, status))


class Processes:
    """`workers` units at a time, each in a spawned process of its own."""

    def __init__(self, workers):
        self.workers = workers

    def run(self, units, say):
        from .progress import StudyProgress

        _store(units[0].db).engine.dispose()  # a database that cannot be written stops here, before any worker
        context = multiprocessing.get_context("spawn")  # no fork after torch has started threads
        messages, pending, running, results = context.Queue(), list(enumerate(units)), {}, {}
        with STOP.deferred(), StudyProgress([_unit_label(u) for u in units], say) as display:
            try:  # a stop request only marks STOP.requested: the loop takes it within half a second
                self._loop(context, messages, pending, running, results, display)
            except KeyboardInterrupt:
                self._stop(pending, running, messages, results, display)
        return [results[i] for i in sorted(results)]

    def _loop(self, context, messages, pending, running, results, display):
        while pending or running:
            while pending and len(running) < self.workers and not STOP.requested:
                index, unit = pending.pop(0)
                threads = max(1, (os.cpu_count() or 1) // self.workers)
                running[index] = context.Process(target=_worker, args=(unit, index, messages, threads))
                running[index].start()
            if STOP.requested:
                raise KeyboardInterrupt
            self._receive(messages, running, results, display)

    def _receive(self, messages, running, results, display, timeout=0.5):
        try:
            message = messages.get(timeout=timeout)
        except queue.Empty:
            for index, process in list(running.items()):
                if not process.is_alive():  # died without a word (killed): its run shows lost
                    running.pop(index)
                    results.setdefault(index, "failed")
                    display.error(index, f"worker exited with code {process.exitcode}")
            return
        kind, index, *rest = message
        if kind in ("ended", "error"):
            running.pop(index).join()
            results[index] = rest[1] if kind == "ended" else "failed"
        getattr(display, kind)(index, *rest)

    def _stop(self, pending, running, messages, results, display):
        """One stop request to each worker, which checkpoints at its next step and ends its
        run interrupted; pending units never start. A second Ctrl-C forwards a second request."""
        pending.clear()
        display.note("stopping: every run checkpoints at its next step and ends interrupted")
        self._signal(running)
        while running:
            try:
                self._receive(messages, running, results, display)
            except KeyboardInterrupt:
                self._signal(running)

    @staticmethod
    def _signal(running):
        for process in running.values():
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)


def _unit_label(unit):
    return f"{unit.name or ' '.join(unit.overrides) or 'defaults'} seed {unit.seed}"


def executor(workers):
    """InProcess for one worker, Processes for several."""
    if workers < 1:
        raise GanbenchError(f"--workers {workers}: give 1 or more")
    return InProcess() if workers == 1 else Processes(workers)
