"""Networks as an ordered set of named stages, so a plugin can replace one stage."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn


class Staged(nn.Module):
    """Runs its stages in order. A stage with `conditional = True` also gets `cond`
    (labels, or the noise for conditional batch norm); the others get only the tensor."""

    def __init__(self, stages: Mapping[str, nn.Module], config: Any = None) -> None:
        super().__init__()
        self.stages = nn.ModuleDict(stages)
        self.config = config  # the dataclass the network was built from, for modifiers to read

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        for stage in self.stages.values():
            x = stage(x, cond) if getattr(stage, "conditional", False) else stage(x)
        return x

    def replace(self, name: str, stage: nn.Module) -> None:
        """Swap the stage called `name` for another, keeping its place in the order."""
        if name not in self.stages:
            raise KeyError(f"no stage '{name}'; stages are {', '.join(self.stages)}")
        self.stages[name] = stage

    def insert(self, before: str, name: str, stage: nn.Module) -> None:
        """Put a new stage called `name` just before the stage called `before`."""
        if before not in self.stages:
            raise KeyError(f"no stage '{before}'; stages are {', '.join(self.stages)}")
        stages = list(self.stages.items())
        at = [n for n, _ in stages].index(before)
        self.stages = nn.ModuleDict(dict(stages[:at] + [(name, stage)] + stages[at:]))


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters (PyTorch's count; Keras also counts BN running statistics)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@contextmanager
def eval_mode(*nets: nn.Module) -> Iterator[None]:
    """Eval mode without gradients (BN uses its running statistics, so the batch neither
    changes them nor the images), each network's own mode put back afterwards."""
    modes = [net.training for net in nets]
    for net in nets:
        net.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for net, mode in zip(nets, modes):
            net.train(mode)
