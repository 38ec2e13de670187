"""A run's life as a stream of events (hookspecs: on_run_started ... on_run_ended) and the
observers the core registers for one run: the store, the progress display, the run's trackers."""

import importlib.util
import os
import socket
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ganbench.api.hookspecs import hookimpl
from ganbench.config.spec import names_in
from ganbench.errors import GanbenchError
from ganbench.plugins.manager import pm
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
    config: object  # ganbench.config.spec.RunConfig
    dir: Path
    first_step: int = 0
    target_steps: int = 0
    environment: dict = field(default_factory=dict)
    protocols: dict = field(
        default_factory=dict
    )  # the metrics' protocol fingerprints {id: details}

    @property
    def trackers(self):
        return names_in(self.config.options.get("trackers", ""))


def check_trackers(text, registry):
    """The trackers `trackers=` names, each installed with the package it needs."""
    found = [registry.get("tracker", name) for name in names_in(text)]
    for tracker in found:
        needs = tracker.meta.get("needs")
        if needs and importlib.util.find_spec(needs) is None:
            extra = tracker.meta.get("extra", needs)
            raise GanbenchError(
                f"tracker '{tracker.name}' needs the Python package '{needs}', which is not "
                f"installed; pip install 'ganbench[{extra}]' (or, for a new run, drop it from "
                f"trackers=)"
            )
    return found


@contextmanager
def observing(*observers):
    """Observers registered with the plugin manager for the length of one run."""
    for observer in observers:
        pm.register(observer)
    try:
        yield
    finally:
        for observer in observers:
            pm.unregister(observer)


class StoreRecorder:
    """The store as an observer: everything a run records. Its hooks are pluggy wrappers, so
    each event is recorded before any other observer sees it, tryfirst or not."""

    def __init__(self, store):
        self.store = store

    @hookimpl(wrapper=True)
    def on_run_started(self, run):
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
        return (yield)

    @hookimpl(wrapper=True)
    def on_losses(self, run, step, losses, train_s):
        self.store.add_metrics(run.id, [(step, name, value) for name, value in losses.items()])
        self.store.update_run(run.id, steps_done=step, train_s=train_s)
        return (yield)

    @hookimpl(wrapper=True)
    def on_scores(self, run, step, scores, eval_s):
        self.store.add_metrics(run.id, [(step, *score) for score in scores])
        self.store.update_run(run.id, eval_s=eval_s)
        return (yield)

    @hookimpl(wrapper=True)
    def on_run_ended(self, run, status, steps_done, error, train_s, eval_s, stop, cost):
        measured = (cost.peak_mem_mb, cost.energy_j) if cost.measured() else None
        with STOP.held():  # the final status is written whatever stops the process meanwhile
            self.store.finish_run(
                run.id,
                stop,
                measured,
                status=status,
                error=error,
                steps_done=steps_done,
                train_s=train_s,
                eval_s=eval_s,
                ended_at=now(),
            )
        return (yield)
