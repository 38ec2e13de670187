"""Learning-rate schedules for every optimizer of a run: constant, or linear decay to 0 from
a step, either after a linear warm-up. torch's LambdaLR applies them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from torch.optim.lr_scheduler import LambdaLR

from ganbench.api.settings import Settings

if TYPE_CHECKING:
    from ganbench.api.parts import Parts


@dataclass(frozen=True)
class Schedule:
    """The rate at step s is the base rate times factor(s)."""

    steps: int
    decay_from: int | None = None  # None: no decay
    warmup: int = 0

    def factor(self, step: int) -> float:
        warm = min(1.0, (step + 1) / self.warmup) if self.warmup else 1.0
        if self.decay_from is None:
            return warm
        return warm * (1.0 - max(0, step - self.decay_from) / max(1, self.steps - self.decay_from))


class Scheduling(Protocol):
    """What `attach` reads of a scheme (`ganbench.api.scheme.Scheme`, which imports this module)."""

    networks: dict[str, str]

    def schedule(self, cfg: Settings) -> Schedule: ...


def from_options(cfg: Settings) -> Schedule:
    """The core options' schedule: `schedule=linear` decays from step `decay_from`."""
    return Schedule(cfg.steps, cfg.decay_from if cfg.schedule == "linear" else None, cfg.warmup)


def attach(parts: Parts, scheme: Scheduling, cfg: Settings, step: int) -> list[LambdaLR]:
    """A LambdaLR per optimizer, set for `step` (a resume's, or 0), whatever rate the
    optimizer's saved state had: the base rates are the config's. None for constant rates,
    so the training step does no work for them."""
    schedule, base = scheme.schedule(cfg), {"generator": cfg.g_lr, "discriminator": cfg.d_lr}
    if schedule.decay_from is None and not schedule.warmup:
        return []
    schedulers = []
    for name, kind in scheme.networks.items():
        for group in parts.opts[name].param_groups:
            group["initial_lr"] = base[kind]
        schedulers.append(LambdaLR(parts.opts[name], schedule.factor, last_epoch=step - 1))
    return schedulers
