"""DCGAN (Radford et al. 2016) as the science fair's baseline (report 003).

G: noise -> 4x4 (dense, no bias, BN, ReLU) -> a transposed conv per doubling, halving the
channels (1024 at 4x4 for ratio 1) -> RGB with tanh, no BN. D mirrors it: 64 channels after
the first conv at 64x64 input, doubling per halving, BN except on the first conv, LeakyReLU,
then a dense layer to one logit (the sigmoid lives in the loss). With 5x5 kernels, ratio 1,
64x64 and 100-d noise: G 18.86M and D 4.318M parameters, as in the fair's table.
"""

from dataclasses import dataclass

from torch import nn

from ganbench import GanbenchError, Staged

from .blocks import Down, Up


@dataclass(frozen=True)
class DCGANConfig:
    res: int
    z_dim: int
    channels: int
    filters: float
    kernel: int
    min_width: int = 0

    def width(self, side, at_4x4):
        """Channels at a feature map of `side` pixels: halved per doubling, scaled by filters,
        never below min_width (the fair's 128x128 D keeps 64 channels above 32x32)."""
        return max(1, self.min_width, round(at_4x4 * 4 / side * self.filters))

    def sides(self):
        """Feature-map sides from 8 up to res, the ones each up/down stage produces."""
        side, out = 8, []
        while side <= self.res:
            out.append(side)
            side *= 2
        return out


def _config(cfg, own_filters, kernel, min_width=0):
    filters = own_filters if own_filters is not None else cfg.filters
    if cfg.res < 8:
        raise GanbenchError(f"dcgan needs res of 8 or more, got res={cfg.res}")
    return DCGANConfig(cfg.res, cfg.z_dim, cfg.channels, filters, kernel, min_width)


def generator(cfg):
    c = _config(cfg, cfg.g_filters, cfg.g_kernel)
    w4 = c.width(4, 1024)
    stages = {
        "project": nn.Sequential(
            nn.Linear(c.z_dim, w4 * 16, bias=False),
            nn.Unflatten(1, (w4, 4, 4)),
            nn.BatchNorm2d(w4),
            nn.ReLU(inplace=True),
        )
    }
    for side in c.sides()[:-1]:
        stages[f"up{side}"] = Up(c.width(side // 2, 1024), c.width(side, 1024), c.kernel)
    stages["to_rgb"] = Up(c.width(c.res // 2, 1024), c.channels, c.kernel, bn=False, act="tanh")
    return Staged(stages, c)


def discriminator(cfg):
    c = _config(cfg, cfg.d_filters, cfg.d_kernel, cfg.d_min_width)
    # 64 channels at 32x32 for a 64x64 input: width at 4x4 is 512 whatever the resolution.
    sides = c.sides()[::-1]
    stages = {"from_rgb": Down(c.channels, c.width(c.res // 2, 512), c.kernel, bn=False)}
    for side in sides[1:]:
        stages[f"down{side // 2}"] = Down(c.width(side, 512), c.width(side // 2, 512), c.kernel)
    stages["head"] = nn.Sequential(nn.Flatten(), nn.Linear(c.width(4, 512) * 16, 1), nn.Flatten(0))
    return Staged(stages, c)
