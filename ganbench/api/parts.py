"""What a training scheme works with: its named networks and their optimizers, the loss,
the run's RNG and the noise."""

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from ganbench.api.data import Batch
from ganbench.api.loss import Loss


@dataclass
class Parts:
    """Networks and optimizers by the names the scheme declared (`g`, `d`; `g_ab`, `d_a`, ...).
    A network is also an attribute: `parts.g` is `parts.nets["g"]`."""

    nets: dict[str, nn.Module]
    opts: dict[str, torch.optim.Optimizer]
    loss: Loss
    rng: torch.Generator  # the run's device RNG: noise, batches, pools; saved in checkpoints
    z_dim: int = 0
    distribution: str = "normal"
    step: int = 0  # steps completed before the current one; schedules read it
    draw: Callable[[], Batch] | None = None  # another batch, for schemes that take several a step
    # name -> moving average (torch's AveragedModel), if asked for
    ema: dict[str, AveragedModel] = field(default_factory=dict)

    def __getattr__(self, name: str) -> nn.Module:
        nets = self.__dict__.get("nets") or {}
        if name in nets:
            return nets[name]
        raise AttributeError(
            f"Parts has no network or attribute '{name}'; networks: {', '.join(nets)}"
        )

    def for_evaluation(self, name: str) -> nn.Module:
        """The network that makes images to score and draw: its moving average when there is one."""
        return self.ema[name].module if name in self.ema else self.nets[name]

    def noise(self, n: int) -> torch.Tensor:
        return sample_noise(self.distribution, n, self.z_dim, self.rng)


def sample_noise(distribution: str, n: int, z_dim: int, rng: torch.Generator) -> torch.Tensor:
    """z for the generator: 'normal', 'uniform' on [0, 1), or 'normal004', N(0, e^(-1/pi))
    read as a variance, as report 004 wrote it."""
    shape, device = (n, z_dim), rng.device
    if distribution == "uniform":
        return torch.rand(shape, device=device, generator=rng)
    z = torch.randn(shape, device=device, generator=rng)
    return z * math.sqrt(math.exp(-1 / math.pi)) if distribution == "normal004" else z
