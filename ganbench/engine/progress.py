"""Training progress: a rich bar on a terminal, plain log lines otherwise. Output never
ends a run: a closed stdout (`ganbench run ... | head`) silences it instead."""

import os
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from ganbench.engine.events import LossesLogged, Observer, ScoresLogged


class StepsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:.1f} steps/s" if task.speed else "-- steps/s")


def silence_stdout() -> None:
    """Point stdout at /dev/null, so neither later lines nor the exit's flush fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


class SteadyConsole(Console):
    """rich's Console, except that a closed stdout silences it instead of exiting."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        silence_stdout()


def _losses(losses: Mapping[str, float]) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in losses.items())


class LiveBars:
    """A rich Progress shown while the display is entered, when there is one (a terminal)."""

    bar: Progress | None = None

    def __enter__(self) -> Self:
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar:
            self.bar.stop()


class TrainingProgress(LiveBars, Observer):
    """`advance()` every step; an observer of the run's losses and scores."""

    def __init__(
        self, label: str, total: int, done: int = 0, console: Console | None = None
    ) -> None:
        self.console = console or SteadyConsole()
        self.label, self.total, self.done = label, total, done
        self.bar = None
        self.latest: dict[str, float] = {}
        if self.console.is_terminal:
            self.bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=20),
                MofNCompleteColumn(),
                StepsPerSecond(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[losses]}"),
                console=self.console,
            )
            self.task = self.bar.add_task(label, total=total, completed=done, losses="")

    def advance(self) -> None:
        self.done += 1
        if self.bar:
            self.bar.advance(self.task)

    def show(self, values: Mapping[str, float], steps_per_s: float | None = None) -> None:
        """Latest losses (with the training speed) or scores (without)."""
        self.latest.update(values)
        if self.bar:
            self.bar.update(self.task, losses=_losses(self.latest))
            return
        line = f"{self.label}  step {self.done}/{self.total}  {_losses(values)}"
        if steps_per_s:
            line += (
                f"  {steps_per_s:.1f} steps/s  eta {(self.total - self.done) / steps_per_s:.0f}s"
            )
        self.console.print(line, highlight=False, markup=False, soft_wrap=True)

    def on_losses(self, event: LossesLogged) -> None:
        self.show(event.losses, event.steps_per_s)

    def on_scores(self, event: ScoresLogged) -> None:
        self.show({score.name: score.value for score in event.scores})


class StudyProgress(LiveBars):
    """One display for runs training in other processes (`--workers N`): a bar per run on a
    terminal, plain lines otherwise. Fed with what the workers' runs tell."""

    def __init__(self, labels: Iterable[str], say: Callable[[str], object]) -> None:
        self.console, self.labels, self.say = SteadyConsole(), list(labels), say
        self.runs: dict[int, str] = {}
        self.tasks: dict[int, TaskID] = {}
        self.bar = None
        if self.console.is_terminal:
            self.bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=20),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[losses]}"),
                console=self.console,
            )

    def _line(self, text: str) -> None:
        if self.bar:
            self.console.print(text, highlight=False, markup=False, soft_wrap=True)
        else:
            self.say(text)

    def started(self, index: int, run_id: int, label: str, first_step: int, target: int) -> None:
        self.runs[index] = f"run {run_id} {label}"
        if self.bar:
            self.tasks[index] = self.bar.add_task(
                self.runs[index], total=target, completed=first_step, losses=""
            )
        else:
            self._line(f"{self.runs[index]}: started at step {first_step} of {target}")

    def values(
        self, index: int, step: int, values: Mapping[str, float], steps_per_s: float | None
    ) -> None:
        if self.bar:
            self.bar.update(self.tasks[index], completed=step, losses=_losses(values))
            return
        speed = f"  {steps_per_s:.1f} steps/s" if steps_per_s else ""
        self._line(
            f"{self.runs.get(index, self.labels[index])}  step {step}  {_losses(values)}{speed}"
        )

    def ended(self, index: int, run_id: int, status: str) -> None:
        self._line(f"run {run_id}: {status}")

    def error(self, index: int, message: str) -> None:
        self._line(f"{self.runs.get(index, self.labels[index])}: {message}")

    def note(self, text: str) -> None:
        self._line(text)
