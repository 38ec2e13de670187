"""What a training scheme works with: the networks, their optimizers, the loss and the noise."""
from dataclasses import dataclass
from typing import Any

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

    def noise(self, n):
        device = self.generator.device
        return torch.randn(n, self.z_dim, device=device, generator=self.generator)
