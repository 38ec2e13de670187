"""The stop rule, as report 001 wished ("stop when the loss stops changing"): a run ends early
when the recorded value `stop_on` (a loss, or a score such as fid_ab) has not beaten its best
by more than `stop_tolerance` for `stop_patience` steps. Losses count as better lower, scores
as their metric says. The run ends `completed`, with the step and the reason recorded.

The rule reads only values the store holds (losses at log steps, scores at evaluations), so a
resumed run replays them and stops where the uninterrupted run would have."""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ganbench.errors import GanbenchError
from ganbench.store.base import MetricRow


@dataclass
class Plateau:
    name: str
    patience: int
    tolerance: float
    way: str = "min"  # "min" or "max"
    scores: tuple[str, ...] = ()  # the scores the run records; anything else must be a loss
    best: float | None = None
    best_step: int = 0
    reason: str | None = None
    at: int | None = None  # the step the rule ended the run at

    @property
    def fired(self) -> bool:
        return self.reason is not None

    def see(self, step: int, value: float) -> bool:
        """Take one recorded value of `name`; True once the run should end. A NaN or infinite
        value never improves (a collapsed run's NaN FID ends it), nor starts the count."""
        if self.fired or (self.best is None and not math.isfinite(value)):
            return self.fired
        if self.best is None or (math.isfinite(value) and self._margin(value) > self.tolerance):
            self.best, self.best_step = value, step
        elif step - self.best_step >= self.patience:
            self.at = step
            self.reason = (
                f"{self.name} did not beat its best ({self.best:.6g} at step {self.best_step:,}) by more "
                f"than {self.tolerance:g} in {step - self.best_step:,} steps (stop_patience "
                f"{self.patience:,})"
            )
        return self.fired

    def _margin(self, value: float) -> float:
        assert self.best is not None  # only asked once there is a best
        return value - self.best if self.way == "max" else self.best - value

    def check(self, losses: Mapping[str, object]) -> None:
        """After the first step, which names the losses: refuse a name the run never records."""
        if self.name not in self.scores and self.name not in losses:
            raise GanbenchError(
                f"stop_on={self.name} is neither a loss this run records ({', '.join(losses)}) "
                f"nor one of its scores ({', '.join(self.scores) or 'none'}); choose one of those"
            )

    def watch(self, step: int, values: Mapping[str, float]) -> None:
        """Take a step's recorded losses or scores."""
        if self.name in values:
            self.see(step, values[self.name])


def plateau(options: Mapping[str, Any], directions: Mapping[str, str]) -> Plateau | None:
    """The run's rule from its options and its scores' directions, or None when stop_on is empty."""
    name = options.get("stop_on", "")
    if not name:
        return None
    return Plateau(
        name,
        options["stop_patience"],
        options["stop_tolerance"],
        directions.get(name, "min"),
        tuple(directions),
    )


def replay(rule: Plateau, metrics: Iterable[MetricRow]) -> Plateau:
    """Feed the rule the values a run recorded before a resume: the store's metric rows,
    (run id, step, name, value, protocol)."""
    seen = sorted(
        (step, value)
        for _, step, name, value, _ in metrics
        if name == rule.name and value is not None
    )
    for step, value in seen:
        rule.see(step, value)
    return rule
