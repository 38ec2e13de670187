"""What a training scheme works with: the networks, their optimizers, the loss and the noise."""
import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch
from torch import nn


@dataclass
class Parts:
    g: nn.Module
    d: nn.Module
    g_opt: torch.optim.Optimizer
    d_opt: torch.optim.Optimizer
    loss: Any
    z_dim: int
    generator: torch.Generator  # the run's device RNG: noise and batches, saved in checkpoints
    distribution: str = "normal"
    step: int = 0  # steps completed before the current one; schedules read it
    draw: Optional[Callable[[], Any]] = None  # another batch, for schemes that take several a step
    g_ema: Optional[nn.Module] = None  # a moving average of G (torch's AveragedModel), if asked for

    def g_for_evaluation(self):
        return self.g_ema.module if self.g_ema is not None else self.g

    def noise(self, n):
        return sample_noise(self.distribution, n, self.z_dim, self.generator)


def sample_noise(distribution, n, z_dim, generator):
    """z for the generator: 'normal', 'uniform' on [0, 1), or 'normal004', N(0, e^(-1/pi))
    read as a variance, as report 004 wrote it."""
    shape, device = (n, z_dim), generator.device
    if distribution == "uniform":
        return torch.rand(shape, device=device, generator=generator)
    z = torch.randn(shape, device=device, generator=generator)
    return z * math.sqrt(math.exp(-1 / math.pi)) if distribution == "normal004" else z
