"""ACGAN heads for a staged discriminator (report 004): its 'head' stage is replaced by two
separate 3-layer fully connected heads on the shared features, one for realness and one for
the condition's classes or tags (a shared head made both worse in that report)."""

import torch
from torch import nn

from ganbench import GanbenchError, Staged
from ganbench.api.network import eval_mode


def _mlp(cin, hidden, cout):
    return nn.Sequential(
        nn.Linear(cin, hidden),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Linear(hidden, hidden),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Linear(hidden, cout),
    )


class TwoHeads(nn.Module):
    def __init__(self, features, hidden, classes):
        super().__init__()
        self.realness, self.classes = _mlp(features, hidden, 1), _mlp(features, hidden, classes)

    def forward(self, x):
        x = x.flatten(1)
        return self.realness(x).squeeze(1), self.classes(x)


def _features(net, cfg):
    """How many features reach the 'head' stage: one image through the stages before it."""
    x, cond = torch.zeros(1, cfg.channels, cfg.res, cfg.res), torch.zeros(1, cfg.cond_dim)
    with eval_mode(net):
        for name, stage in net.stages.items():
            if name == "head":
                break
            x = stage(x, cond) if getattr(stage, "conditional", False) else stage(x)
    return x[0].numel()


def apply(net, cfg):
    if not cfg.cond_dim:
        raise GanbenchError(
            "acgan_heads classifies the data's labels: use it with scheme "
            "'conditional' and a data set with labels or tags"
        )
    if not isinstance(net, Staged) or "head" not in net.stages:
        raise GanbenchError(
            "acgan_heads replaces a discriminator's 'head' stage; use it with dcgan"
        )
    net.replace("head", TwoHeads(_features(net, cfg), cfg.acgan_hidden, cfg.cond_dim))
