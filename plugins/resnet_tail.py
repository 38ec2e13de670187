"""The fair's residual generator tail (report 003, experiments 1-3a group 3 and 2-1a group 3).

Replaces the generator's last up-sampling stages, one per entry of `tail_widths`: each new
stage upsamples x2 (nearest, keeping the channels) and runs one residual unit
[3x3 convT w -> 1x1 conv (tail_expand x w) -> 3x3 convT w], with a 1x1 projection on the
skip when the channel counts differ. A final 1x1 conv maps to the image channels, tanh, no
BN. `tail_widths=32` is 1-3a's tail at 64x64; `tail_widths=64,32` is 2-1a's at 128x128.
`tail_skip=false` is 1-3a group 2: the same layers without the skip.
"""

import torch
from torch import nn

from ganbench import GanbenchError, Staged

from .blocks import conv_bn_relu


class ResidualUp(nn.Module):
    """Upsample x2, then one residual unit."""

    def __init__(self, cin, width, expand, kernel, skip):
        super().__init__()
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.body = nn.Sequential(
            *conv_bn_relu(cin, width, kernel, transposed=True),
            *conv_bn_relu(width, expand, 1),
            nn.ConvTranspose2d(expand, width, kernel, 1, (kernel - 1) // 2),
            nn.BatchNorm2d(width),
        )
        self.shortcut = None
        if skip:
            # as every conv of the fair's G, the projection is followed by BN
            self.shortcut = (
                nn.Sequential(nn.Conv2d(cin, width, 1), nn.BatchNorm2d(width))
                if cin != width
                else nn.Identity()
            )
        self.in_channels, self.out_channels = cin, width

    def forward(self, x):
        x = self.upsample(x)
        h = self.body(x)
        if self.shortcut is not None:
            h = h + self.shortcut(x)
        return torch.relu(h)


class ToImage(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1)
        self.in_channels, self.out_channels = cin, cout

    def forward(self, x):
        return torch.tanh(self.conv(x))


def apply(net, cfg):
    widths = [int(w) for w in cfg.tail_widths.split(",")]
    names = list(net.stages) if isinstance(net, Staged) else []
    if "to_rgb" not in names or len(names) < len(widths) + 1:
        raise GanbenchError(
            "resnet_tail replaces a generator's last up-sampling stages ending in "
            "'to_rgb', and this generator has none (or too few); use it with dcgan"
        )
    replaced = names[-len(widths) :]
    cin, cout = net.stages[replaced[0]].in_channels, net.stages["to_rgb"].out_channels
    side = cfg.res >> (len(widths) - 1)
    for name in replaced:
        del net.stages[name]
    for width in widths:
        net.stages[f"res{side}"] = ResidualUp(
            cin, width, cfg.tail_expand * width, cfg.tail_kernel, cfg.tail_skip
        )
        cin, side = width, side * 2
    net.stages["to_rgb"] = ToImage(cin, cout)
