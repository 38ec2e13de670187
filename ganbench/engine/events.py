"""A run's life as one stream of typed events, which the engine owns and hands the run: an
`EventBus` per run, told each event as it happens (RunStarted, then LossesLogged,
ScoresLogged, SamplesWritten and CheckpointWritten, then RunEnded whatever the outcome).

Who observes: the store's recorder first (so every event is recorded before anyone else
sees it), then the run's own observers (its progress display), then the trackers the run
names (`trackers=`). A plugin observes runs by registering a tracker (`register_trackers`);
each is built for, and attached to, the bus of a run that names it alone, so no installed
plugin sees a run that did not ask for it."""

import importlib.util
import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import pluggy

from ganbench.api import hookspecs
from ganbench.config.spec import RunConfig, names_in
from ganbench.errors import GanbenchError
from ganbench.plugins.registry import Component, Registry
from ganbench.stopping import STOP
from ganbench.store.sql import now


class Score(NamedTuple):
    name: str
    value: float
    protocol: str | None = None


@dataclass
class RunInfo:
    """What an observer knows of the run it observes."""

    id: int
    uid: str  # the database's identity and the run id: unique across databases
    label: str
    study: str | None
    seed: int
    config: RunConfig
    dir: Path
    first_step: int = 0
    target_steps: int = 0
    environment: dict[str, Any] = field(default_factory=dict)
    # the metrics' protocol fingerprints {id: details}
    protocols: dict[str, Any] = field(default_factory=dict)

    @property
    def trackers(self) -> list[str]:
        return names_in(self.config.options.get("trackers", ""))


def check_trackers(text: str, registry: Registry) -> list[Component]:
    """The trackers `trackers=` names, each installed with the package it needs and able to
    start (its `check`): found before the run is recorded."""
    found = [registry.get("tracker", name) for name in names_in(text)]
    for tracker in found:
        _check_installed(tracker)
        if tracker.check is not None:
            tracker.check()
    return found


def _check_installed(tracker: Component) -> None:
    needs = tracker.needs
    if needs and importlib.util.find_spec(needs) is None:
        raise GanbenchError(
            f"tracker '{tracker.name}' needs the Python package '{needs}', which is not "
            f"installed; pip install 'ganbench[{tracker.extra or needs}]' (or, for a new run, "
            f"drop it from trackers=)"
        )


@dataclass(frozen=True)
class Event:
    """One thing that happened in a run; `hook` is the event hook it is told to plugins as,
    with the event's fields as the hook's arguments."""

    hook: ClassVar[str]
    run: RunInfo

    def arguments(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class RunStarted(Event):
    """The run starts (or resumes) training at `run.first_step`."""

    hook: ClassVar[str] = "on_run_started"


@dataclass(frozen=True)
class LossesLogged(Event):
    """The mean of each loss since the last log step; `train_s` the training time so far."""

    hook: ClassVar[str] = "on_losses"
    step: int
    losses: dict[str, float]
    train_s: float
    steps_per_s: float


@dataclass(frozen=True)
class ScoresLogged(Event):
    """The metrics' scores at `step`; `eval_s` the evaluation time so far."""

    hook: ClassVar[str] = "on_scores"
    step: int
    scores: list[Score]
    eval_s: float


@dataclass(frozen=True)
class SamplesWritten(Event):
    """A sample panel, written as the PNG at `path`."""

    hook: ClassVar[str] = "on_samples"
    step: int
    panel: Any  # ganbench.api.scheme.Panel
    path: Path


@dataclass(frozen=True)
class CheckpointWritten(Event):
    """The whole training state was written to `path`."""

    hook: ClassVar[str] = "on_checkpoint"
    step: int
    path: Path


@dataclass(frozen=True)
class RunEnded(Event):
    """The run ended with `status`; `steps_done` is where a resume starts; `stop` (step,
    reason) when the stop rule ended it early; `cost` what it cost (ganbench.engine.costs)."""

    hook: ClassVar[str] = "on_run_ended"
    status: str
    steps_done: int
    error: str | None
    train_s: float
    eval_s: float
    stop: tuple[int, str] | None
    cost: Any


class Observer:
    """An observer of one run's events: a method per event, each doing nothing unless a
    subclass overrides it (Lightning's Callback is the model)."""

    def notify(self, event: Event) -> None:
        getattr(self, event.hook)(event)

    def on_run_started(self, event: RunStarted) -> None:
        pass

    def on_losses(self, event: LossesLogged) -> None:
        pass

    def on_scores(self, event: ScoresLogged) -> None:
        pass

    def on_samples(self, event: SamplesWritten) -> None:
        pass

    def on_checkpoint(self, event: CheckpointWritten) -> None:
        pass

    def on_run_ended(self, event: RunEnded) -> None:
        pass


class EventBus:
    """One run's stream of events. The recorder (the store) is told first, then the run's
    observers in order, then its trackers (objects with `@hookimpl` event hooks, attached to
    this bus alone). An observer that raises stops the telling, and the run ends failed."""

    def __init__(self, recorder: Observer, observers: Sequence[Observer] = ()) -> None:
        self.observers = [recorder, *observers]
        self.trackers = pluggy.PluginManager("ganbench")
        self.trackers.add_hookspecs(hookspecs)

    def attach(self, trackers: Iterable[object]) -> None:
        for tracker in trackers:
            self.trackers.register(tracker)

    def emit(self, event: Event) -> None:
        for observer in self.observers:
            observer.notify(event)
        arguments = event.arguments()
        getattr(self.trackers.hook, event.hook)(**arguments)


class StoreRecorder(Observer):
    """The store as an observer: everything a run records."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def on_run_started(self, event: RunStarted) -> None:
        run = event.run
        self.store.drop_metrics_after(run.id, run.first_step)  # a resume writes them again
        if run.protocols:
            self.store.add_protocols(run.protocols)
        self.store.update_run(
            run.id,
            status="running",
            started_at=now(),
            ended_at=None,
            error=None,
            steps_done=run.first_step,
            host=socket.gethostname(),
            pid=os.getpid(),
        )

    def on_losses(self, event: LossesLogged) -> None:
        rows = [(event.step, name, value) for name, value in event.losses.items()]
        self.store.add_metrics(event.run.id, rows)
        self.store.update_run(event.run.id, steps_done=event.step, train_s=event.train_s)

    def on_scores(self, event: ScoresLogged) -> None:
        self.store.add_metrics(event.run.id, [(event.step, *score) for score in event.scores])
        self.store.update_run(event.run.id, eval_s=event.eval_s)

    def on_run_ended(self, event: RunEnded) -> None:
        cost = event.cost
        measured = (cost.peak_mem_mb, cost.energy_j) if cost.measured() else None
        with STOP.held():  # the final status is written whatever stops the process meanwhile
            self.store.finish_run(
                event.run.id,
                event.stop,
                measured,
                status=event.status,
                error=event.error,
                steps_done=event.steps_done,
                train_s=event.train_s,
                eval_s=event.eval_s,
                ended_at=now(),
            )
