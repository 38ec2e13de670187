"""The SRResNet-style generator and discriminator of report 004 (the MakeGirlsMoe design,
after Jin et al. 2017 and Ledig et al. 2017).

G: noise (and conditions, when the scheme is conditional) -> dense to 64 channels at res/8
-> BN, ReLU -> `sr_blocks` residual blocks [3x3 conv, BN, ReLU, 3x3 conv, BN] -> BN, ReLU,
plus a skip over them -> three [3x3 conv to 256, pixel shuffle x2, BN, ReLU] -> 9x9 conv to
the image channels, tanh. D: stride-2 4x4 convs from 32 channels, doubling to at most 1024,
each followed by `sr_d_blocks` residual blocks with LeakyReLU and no BN, down to 2x2, then
a dense layer to one logit (`acgan_heads` swaps it for report 004's two class heads).
"""

import torch
from torch import nn

from ganbench import GanbenchError, Staged


class Residual(nn.Module):
    """x + [3x3 conv, norm, mid, 3x3 conv, norm](x), then `after` (identity in G, as SRResNet)."""

    def __init__(self, channels, bn, mid, after):
        super().__init__()
        norm = nn.BatchNorm2d if bn else (lambda c: nn.Identity())
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1),
            norm(channels),
            mid(),
            nn.Conv2d(channels, channels, 3, 1, 1),
            norm(channels),
        )
        self.act = after()

    def forward(self, x):
        return self.act(x + self.body(x))


class SkipOver(nn.Module):
    """The residual trunk with one long skip from its input to its output, as SRResNet has."""

    def __init__(self, channels, blocks):
        super().__init__()
        relu = lambda: nn.ReLU(inplace=True)  # noqa: E731
        self.blocks = nn.Sequential(
            *[Residual(channels, True, relu, nn.Identity) for _ in range(blocks)]
        )
        self.out = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True))

    def forward(self, x):
        return x + self.out(self.blocks(x))


class Concat(nn.Module):
    conditional = True

    def forward(self, z, cond):
        return z if cond is None else torch.cat([z, cond], 1)


def _check(res):
    if res < 16:
        raise GanbenchError(f"srresnet needs res of 16 or more, got res={res}")


def generator(cfg):
    _check(cfg.res)
    side, c = cfg.res // 8, cfg.sr_channels
    stages = {
        "condition": Concat(),
        "project": nn.Sequential(
            nn.Linear(cfg.z_dim + cfg.cond_dim, c * side * side),
            nn.Unflatten(1, (c, side, side)),
            nn.BatchNorm2d(c),
            nn.ReLU(inplace=True),
        ),
        "trunk": SkipOver(c, cfg.sr_blocks),
    }
    for i in range(3):
        stages[f"up{side << (i + 1)}"] = nn.Sequential(
            nn.Conv2d(c, c * 4, 3, 1, 1),
            nn.PixelShuffle(2),
            nn.BatchNorm2d(c),
            nn.ReLU(inplace=True),
        )
    stages["to_rgb"] = nn.Sequential(nn.Conv2d(c, cfg.channels, 9, 1, 4), nn.Tanh())
    return Staged(stages)


def discriminator(cfg):
    _check(cfg.res)
    leaky = lambda: nn.LeakyReLU(0.2, inplace=True)  # noqa: E731
    stages, cin, side, width = {}, cfg.channels, cfg.res, 32
    while side > 2:
        side //= 2
        blocks = [Residual(width, False, leaky, leaky) for _ in range(cfg.sr_d_blocks)]
        stages[f"down{side}"] = nn.Sequential(nn.Conv2d(cin, width, 4, 2, 1), leaky(), *blocks)
        cin, width = width, min(width * 2, 1024)
    stages["head"] = nn.Sequential(nn.Flatten(), nn.Linear(cin * 4, 1), nn.Flatten(0))
    return Staged(stages)
