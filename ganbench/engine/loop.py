"""The training loop: fixed steps from a checkpoint (or step 0) to the run's target, and at
the log, evaluation, sample and checkpoint steps the work they call for. What happens is told
as events on the run's own bus (ganbench.engine.events): the store records them, the progress
display and the run's trackers observe them."""

import math
import time
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch

from ganbench.api import schedule
from ganbench.engine import checkpoint, costs, early_stop, events, fast_path
from ganbench.engine.build import Experiment
from ganbench.engine.progress import TrainingProgress
from ganbench.engine.samples import Sampler
from ganbench.errors import GanbenchError
from ganbench.plugins.manager import registry
from ganbench.stopping import STOP
from ganbench.store.base import RunStatus, RunStore
from ganbench.store.liveness import Heart
from ganbench.store.sql import now

State = dict[str, Any]  # a checkpoint's contents (ganbench.engine.checkpoint.capture)


class Diverged(Exception):
    """A recorded loss was NaN or infinite."""


class Interrupted(KeyboardInterrupt):
    """A stop request taken at a step boundary: the state is whole and is checkpointed."""


def train(
    store: RunStore,
    run_id: int,
    exp: Experiment,
    progress: TrainingProgress,
    state: State | None = None,
    observers: list[events.Observer] | tuple[events.Observer, ...] = (),
) -> str:
    """Train from `state` (a checkpoint, or None for step 0) to the config's target steps.
    The store records the run through its event bus; the progress display, `observers` (a
    worker's messages to its driver) and the run's trackers observe it."""
    bus = events.EventBus(events.StoreRecorder(store), [progress, *observers])
    run = _training(store, bus, run_id, exp, state)
    status, error = RunStatus.COMPLETED, None
    try:
        bus.attach(run.trackers())
        with STOP.deferred(), Heart(store, run_id), progress:
            _loop(run, progress)
    except Diverged as e:
        status, error = RunStatus.DIVERGED, str(e)
    except Interrupted:
        # the status first: if the checkpoint fails, the run still ends interrupted
        status, error = RunStatus.INTERRUPTED, run.resumes_from()
        error = run.save_on_interrupt()
    except KeyboardInterrupt:
        # a second request, or one raised inside a step: the state is not whole
        status, error = RunStatus.INTERRUPTED, run.resumes_from()
    except BaseException as e:
        status, error = RunStatus.FAILED, _failure(e)
        raise
    finally:
        run.finish(status.value, error)
    return status.value


def _loop(run: "Training", progress: TrainingProgress) -> None:
    """The steps, and at the log, evaluation, sample and checkpoint steps their work."""
    o = run.options
    run.start()
    while run.step < o["steps"] and not run.rule_fired():
        if STOP.requested:
            raise Interrupted
        run.train_step()
        progress.advance()
        last = run.step == o["steps"]
        if run.step % o["log_every"] == 0 or last:
            run.log()
        if run.exp.evaluator and (run.step % o["eval_every"] == 0 or last):
            run.evaluate()
        if run.rule_fired() and not last:  # the stop rule makes this the last step
            last = True
            run.wrap_up()
        if o["sample_every"] and (run.step % o["sample_every"] == 0 or last):
            run.sample()
        if run.step % o["ckpt_every"] == 0 or last:
            run.save()


def _failure(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}\n" + "".join(traceback.format_exception(error))


def _training(
    store: RunStore, bus: events.EventBus, run_id: int, exp: Experiment, state: State | None
) -> "Training":
    """The run's Training; a failure to make one (before any observer is there) is recorded."""
    try:
        return Training(store, bus, run_id, exp, state)
    except BaseException as e:
        error = f"{type(e).__name__}: {e}"
        store.update_run(run_id, status=RunStatus.FAILED.value, error=error, ended_at=now())
        raise


def _read_losses(window: list[dict[str, torch.Tensor]]) -> dict[str, float]:
    """Mean of each loss over the window: one device-to-host copy for the lot."""
    names = list(window[0])
    means = torch.stack([torch.stack([w[n].float() for n in names]) for w in window]).mean(0)
    return dict(zip(names, means.tolist(), strict=True))


class Training:
    """One run's state between steps and what happens at log, evaluation, sample and
    checkpoint steps; `train` above is the loop."""

    def __init__(
        self,
        store: RunStore,
        bus: events.EventBus,
        run_id: int,
        exp: Experiment,
        state: State | None = None,
    ) -> None:
        self.store, self.bus, self.run_id, self.exp = store, bus, run_id, exp
        self.options = exp.config.options
        self.step, self.clock, self.since = 0, Clock(), state
        self.window: list[dict[str, torch.Tensor]] = []
        if state:  # already restored into exp's parts and scheme
            self.step = state["step"]
            self.window = checkpoint.window(state, exp.device)  # losses not yet logged then
            self.clock = Clock(state["train_s"], state["eval_s"])
        self.saved, self.first = self.step, self.step
        self.path = store.run_dir(run_id) / "last.pt"
        self.sampler = Sampler(self.path.parent)
        directions = exp.evaluator.directions() if exp.evaluator else {}
        self.best = Best(directions, self.sampler.recorded_best())
        self.rule = early_stop.plateau(self.options, directions)
        # a database always has an identity once opened to write
        self.identity = checkpoint.identity(str(store.identity), run_id, exp.config)
        self.schedulers = schedule.attach(exp.parts, exp.scheme, exp.config.settings(), self.step)
        earlier = store.costs().get(run_id)  # a resume adds to what its earlier stretches cost
        self.meter = costs.Meter(exp.device)
        self.cost_before = costs.Cost(*earlier) if earlier else None
        self.info = self._info()

    def _info(self) -> events.RunInfo:
        row, exp = self.store.get_run(self.run_id), self.exp
        protocols = exp.evaluator.protocol_details() if exp.evaluator else {}
        uid = f"{self.store.identity}/{self.run_id}"
        return events.RunInfo(
            self.run_id, uid, row["label"], row["study"], row["seed"], exp.config,
            self.path.parent, self.step, self.options["steps"], row["environment"] or {}, protocols,
        )  # fmt: skip

    def trackers(self) -> list[object]:
        """An observer for each tracker the config names, built for this run."""
        chosen = events.check_trackers(self.options.get("trackers", ""), registry())
        return [tracker.build(self.info) for tracker in chosen]

    def start(self) -> None:
        """Metrics past the checkpoint are dropped as the run starts (a restart keeps none)."""
        self.bus.emit(events.RunStarted(self.info))
        if self.rule:  # a resume replays what the rule saw, and stops where the whole run would
            early_stop.replay(self.rule, self.store.metrics(self.run_id))

    def train_step(self) -> None:
        parts = self.exp.parts
        batch = self.exp.data.sample(self.options["batch"], parts.rng)
        parts.step = self.step
        with fast_path.autocast(self.options, self.exp.device):
            self.window.append(self.exp.scheme.step(parts, batch))
        if self.step == self.first:  # the first step names the losses
            self.check_losses(self.window[-1])
        for name, average in parts.ema.items():
            average.update_parameters(parts.nets[name])
        for scheduler in self.schedulers:
            scheduler.step()
        self.step += 1

    def check_losses(self, losses: Mapping[str, object]) -> None:
        """What the stop rule names is there, and the scheme returns what it declared (the
        declaration refused stop_on= names before the run was recorded)."""
        if self.rule:
            self.rule.check(losses)
        name = self.exp.config.components["scheme"]
        declared = registry().get("scheme", name).losses
        if declared is not None and set(declared) != set(losses):
            raise GanbenchError(
                f"scheme '{name}' is registered with losses={declared} but its step returned "
                f"{tuple(losses)}; its plugin should register the names its step returns"
            )

    def log(self) -> None:
        """The window's mean losses, to every observer (recorded even when not finite)."""
        losses, self.window = _read_losses(self.window) if self.window else {}, []
        speed = (self.step - self.first) / self.clock.train_s(since=self.since)
        train_s = self.clock.train_s()
        self.bus.emit(events.LossesLogged(self.info, self.step, losses, train_s, speed))
        if not all(math.isfinite(v) for v in losses.values()):
            raise Diverged(f"non-finite loss at step {self.step}: {losses}")
        if self.rule:
            self.rule.watch(self.step, losses)

    def rule_fired(self) -> bool:
        return self.rule is not None and self.rule.fired

    def wrap_up(self) -> None:
        """What the last step records that this one has not: unlogged losses and the scores."""
        if self.window:
            self.log()
        if self.exp.evaluator and self.step % self.options["eval_every"]:
            self.evaluate()

    def check_finite(self) -> None:
        """Losses not yet logged are checked before weights are scored or saved."""
        losses = _read_losses(self.window) if self.window else {}
        if not all(math.isfinite(v) for v in losses.values()):
            raise Diverged(f"non-finite loss by step {self.step}: {losses}")

    def evaluate(self) -> None:
        self.check_finite()
        exp = self.exp
        assert exp.evaluator is not None  # the loop evaluates only runs with metrics
        with self.clock.evaluating():
            scores = [events.Score(*row) for row in exp.evaluator.evaluate(exp.parts, self.step)]
        self.bus.emit(events.ScoresLogged(self.info, self.step, scores, self.clock.eval_s))
        best = self.best.improved(scores)
        if best is not None:
            with self.clock.paused():
                self.store.check_claim(self.run_id)
                panels, weights = exp.scheme.best_panels(exp.parts), best_weights(exp)
                self.sampler.best(panels, weights, self.step, *best)
        if self.rule:
            self.rule.watch(self.step, {score.name: score.value for score in scores})

    def sample(self) -> None:
        with self.clock.paused():
            panel = self.exp.scheme.panel(self.exp.parts)
            if panel is not None:
                self.store.check_claim(self.run_id)  # the folder is another process's once taken
                path = self.sampler.grid(panel, self.step)
                self.bus.emit(events.SamplesWritten(self.info, self.step, panel, path))

    def save(self) -> None:
        self.check_finite()
        exp = self.exp
        with self.clock.paused():
            state = checkpoint.capture(
                exp.parts, exp.scheme, self.step, self.clock, self.window, self.identity
            )
            self.store.check_claim(self.run_id)  # never over the checkpoint of a run taken over
            checkpoint.save(self.path, state)
            # before observers: one that raises still leaves the run resumable from here
            self.saved = self.step
            self.bus.emit(events.CheckpointWritten(self.info, self.step, self.path))

    def resumes_from(self) -> str:
        return f"interrupted at step {self.step}; resumes from step {self.saved}"

    def save_on_interrupt(self) -> str:
        """A checkpoint at the interrupted step, so a resume loses nothing; the error text."""
        if self.step > self.saved:
            self.save()
        return f"interrupted at step {self.step}"

    def finish(self, status: str, error: str | None) -> None:
        """The final status, whatever stops the process meanwhile; steps_done is where a
        resume starts."""
        done = self.step if status in (RunStatus.COMPLETED, RunStatus.DIVERGED) else self.saved
        stop = self._early_stop() if status == RunStatus.COMPLETED else None
        cost = self.meter.read().plus(self.cost_before)
        clock = self.clock
        ended = events.RunEnded(
            self.info, status, done, error, clock.train_s(), clock.eval_s, stop, cost
        )
        self.bus.emit(ended)

    def _early_stop(self) -> tuple[int, str] | None:
        """(step, reason) when the stop rule ended the run before its target; firing at the
        last step stops nothing."""
        rule = self.rule
        if rule is None or rule.at is None or rule.reason is None:
            return None
        return (rule.at, rule.reason) if rule.at < self.options["steps"] else None


def best_weights(exp: Experiment) -> dict[str, Mapping[str, Any]]:
    """The generators' weights (their moving averages where kept) at a new best score."""
    return {name: exp.parts.for_evaluation(name).state_dict() for name in exp.scheme.generators()}


class Best:
    """The best value so far of the run's first reported score (FID when it is recorded)."""

    def __init__(
        self, directions: Mapping[str, str], recorded: tuple[str, float] | None = None
    ) -> None:
        first: tuple[str | None, str | None] = next(iter(directions.items()), (None, None))
        self.score, self.way = first
        self.current = recorded  # (score, value) written before a resume

    def improved(self, scores: list[events.Score]) -> tuple[str, float] | None:
        """The new best (score, value) when these scores beat the best so far, else None."""
        value = next((v for name, v, _ in scores if name == self.score), None)
        if self.score is None or value is None or not math.isfinite(value):
            return None
        now = self.current
        if now is None or (value < now[1] if self.way == "min" else value > now[1]):
            self.current = (self.score, value)
            return self.current
        return None


class Clock:
    """Wall time split into training and evaluation; checkpoint writes count as neither."""

    def __init__(self, train_s: float = 0.0, eval_s: float = 0.0) -> None:
        self.origin = time.perf_counter() - train_s
        self.eval_s = eval_s

    def train_s(self, since: State | None = None) -> float:
        spent = time.perf_counter() - self.origin
        return max(spent - (since["train_s"] if since else 0.0), 1e-9)

    @contextmanager
    def paused(self) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.origin += time.perf_counter() - began

    @contextmanager
    def evaluating(self) -> Iterator[None]:
        began = time.perf_counter()
        with self.paused():
            yield
        self.eval_s += time.perf_counter() - began
