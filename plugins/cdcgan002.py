"""The conditional DCGAN of report 002 (anime faces from hair and eye colour tags, Keras).

G: concat(noise, condition) -> dense 8192 -> 4x4x512, BN, ReLU -> transposed convs 256, 128,
64 (5x5, stride 2, BN, ReLU) -> transposed conv to the image channels, tanh. D: convs 64,
128, 256, 512 (5x5, stride 2, LeakyReLU, no BN: "BN in G only"), the condition tiled to
4x4 and concatenated, a 1x1 conv 512, a dense layer to one logit. At 64x64 with a 23-d
condition: D 4,589,185 and G 5,325,699 parameters (Keras' count), as the report gives.
"""

import torch
from torch import nn

from ganbench import GanbenchError, Staged

from .blocks import Up


class WithCondition(nn.Module):
    """Concatenates the condition to a vector (G's input) or, tiled, to a feature map (D)."""

    conditional = True

    def forward(self, x, cond):
        if cond is None:
            raise GanbenchError(
                "this network is conditional: use scheme 'conditional' and a data set with labels"
            )
        if x.dim() == 2:
            return torch.cat([x, cond], dim=1)
        return torch.cat([x, cond[:, :, None, None].expand(-1, -1, *x.shape[-2:])], dim=1)


def _needs_labels(cfg):
    if not cfg.cond_dim:
        raise GanbenchError(
            "cdcgan002 is conditional: use it with scheme 'conditional' "
            "(plugins=cdcgan002,conditional) and a data set with labels or tags"
        )
    if cfg.res < 8:
        raise GanbenchError(f"cdcgan002 needs res of 8 or more, got res={cfg.res}")


def generator(cfg):
    _needs_labels(cfg)
    widths = [512 >> i for i in range(cfg.res.bit_length() - 3)]  # 512, 256, 128, 64 at 64x64
    stages = {
        "condition": WithCondition(),
        "project": nn.Sequential(
            nn.Linear(cfg.z_dim + cfg.cond_dim, 512 * 16),
            nn.Unflatten(1, (512, 4, 4)),
            nn.BatchNorm2d(512),
            nn.ReLU(inplace=True),
        ),
    }
    for cin, cout in zip(widths, widths[1:]):
        stages[f"up{cout}"] = Up(cin, cout, 5)
    stages["to_rgb"] = Up(widths[-1], cfg.channels, 5, bn=False, act="tanh")
    return Staged(stages)


def discriminator(cfg):
    _needs_labels(cfg)
    n = cfg.res.bit_length() - 3  # stride-2 convs down to 4x4
    widths = [cfg.channels] + [64 << min(i, 3) for i in range(n)]
    stages = {
        f"down{cfg.res >> (i + 1)}": nn.Sequential(
            nn.Conv2d(widths[i], widths[i + 1], 5, 2, 2), nn.LeakyReLU(0.2, inplace=True)
        )
        for i in range(n)
    }
    stages["condition"] = WithCondition()
    stages["head"] = nn.Sequential(
        nn.Conv2d(widths[-1] + cfg.cond_dim, 512, 1),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Flatten(),
        nn.Linear(512 * 16, 1),
        nn.Flatten(0),
    )
    return Staged(stages)
