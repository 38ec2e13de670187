"""Training progress: a rich bar on a terminal, plain log lines otherwise. Output never
ends a run: a closed stdout (`ganbench run ... | head`) silences it instead."""

import os
import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from ganbench.api.hookspecs import hookimpl


class StepsPerSecond(ProgressColumn):
    def render(self, task):
        return Text(f"{task.speed:.1f} steps/s" if task.speed else "-- steps/s")


def silence_stdout():
    """Point stdout at /dev/null, so neither later lines nor the exit's flush fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


class SteadyConsole(Console):
    """rich's Console, except that a closed stdout silences it instead of exiting."""

    def on_broken_pipe(self):
        self.quiet = True
        silence_stdout()


def _losses(losses):
    return "  ".join(f"{k} {v:.4g}" for k, v in losses.items())


class LiveBars:
    """A rich Progress shown while the display is entered, when there is one (a terminal)."""

    bar = None

    def __enter__(self):
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()


class TrainingProgress(LiveBars):
    """`advance()` every step; an observer of the run's losses and scores."""

    def __init__(self, label, total, done=0, console=None):
        self.console = console or SteadyConsole()
        self.label, self.total, self.done = label, total, done
        self.bar, self.latest = None, {}
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

    def advance(self):
        self.done += 1
        if self.bar:
            self.bar.advance(self.task)

    def show(self, values, steps_per_s=None):
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

    @hookimpl
    def on_losses(self, losses, steps_per_s):
        self.show(losses, steps_per_s)

    @hookimpl
    def on_scores(self, scores):
        self.show({score.name: score.value for score in scores})


class StudyProgress(LiveBars):
    """One display for runs training in other processes (`--workers N`): a bar per run on a
    terminal, plain lines otherwise. Fed with what the workers' runs tell."""

    def __init__(self, labels, say):
        self.console, self.labels, self.say = SteadyConsole(), list(labels), say
        self.runs, self.bar, self.tasks = {}, None, {}
        if self.console.is_terminal:
            self.bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=20),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[losses]}"),
                console=self.console,
            )

    def _line(self, text):
        if self.bar:
            self.console.print(text, highlight=False, markup=False, soft_wrap=True)
        else:
            self.say(text)

    def started(self, index, run_id, label, first_step, target):
        self.runs[index] = f"run {run_id} {label}"
        if self.bar:
            self.tasks[index] = self.bar.add_task(
                self.runs[index], total=target, completed=first_step, losses=""
            )
        else:
            self._line(f"{self.runs[index]}: started at step {first_step} of {target}")

    def values(self, index, step, values, steps_per_s):
        if self.bar:
            self.bar.update(self.tasks[index], completed=step, losses=_losses(values))
            return
        speed = f"  {steps_per_s:.1f} steps/s" if steps_per_s else ""
        self._line(
            f"{self.runs.get(index, self.labels[index])}  step {step}  {_losses(values)}{speed}"
        )

    def ended(self, index, run_id, status):
        self._line(f"run {run_id}: {status}")

    def error(self, index, message):
        self._line(f"{self.runs.get(index, self.labels[index])}: {message}")

    def note(self, text):
        self._line(text)
