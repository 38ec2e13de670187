"""The fair's residual generator tail (report 003, experiment 1-3a group 3).

Replaces the generator's last stage ('to_rgb'): upsample x2 keeping the channels, one residual
unit [3x3 convT w -> 1x1 conv 4w -> 3x3 convT w] with a 1x1 projection on the skip when the
channel counts differ, then a 1x1 conv to the image channels and tanh (no BN at the output).
`tail_skip=false` is group 2 of the same experiment: the same layers without the skip.
"""
import torch
from torch import nn

from ganbench import GanbenchError, Option, Staged, hookimpl
from ganbench.options import positive

from .blocks import conv_bn_relu


def _odd(value):
    return None if value % 2 == 1 else "must be odd, so the stride-1 layers keep the size"


class ResidualTail(nn.Module):
    def __init__(self, cin, cout, width, expand, kernel, skip):
        super().__init__()
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.body = nn.Sequential(
            *conv_bn_relu(cin, width, kernel, transposed=True),
            *conv_bn_relu(width, expand, 1),
            nn.ConvTranspose2d(expand, width, kernel, 1, (kernel - 1) // 2), nn.BatchNorm2d(width))
        self.shortcut = None
        if skip:
            self.shortcut = nn.Conv2d(cin, width, 1) if cin != width else nn.Identity()
        self.to_rgb = nn.Conv2d(width, cout, 1)
        self.in_channels, self.out_channels = cin, cout

    def forward(self, x):
        x = self.upsample(x)
        h = self.body(x)
        if self.shortcut is not None:
            h = h + self.shortcut(x)
        return torch.tanh(self.to_rgb(torch.relu(h)))


def apply(net, cfg):
    if not isinstance(net, Staged) or "to_rgb" not in net.stages:
        raise GanbenchError("resnet_tail replaces a generator's 'to_rgb' stage, and this "
                            "generator has none; use it with a staged generator such as dcgan")
    old = net.stages["to_rgb"]
    net.replace("to_rgb", ResidualTail(old.in_channels, old.out_channels, cfg.tail_channels,
                                       cfg.tail_expand, cfg.tail_kernel, cfg.tail_skip))


@hookimpl
def register_modifiers(register):
    register("resnet_tail", apply, target="generator",
             help="residual tail at the output resolution (fair 1-3a group 3)", options={
                 "tail_channels": Option(int, 32, "channels of the residual unit", check=positive),
                 "tail_expand": Option(int, 128, "channels of its 1x1 conv", check=positive),
                 "tail_kernel": Option(int, 3, "kernel of its transposed convs", check=_odd),
                 "tail_skip": Option(bool, True, "keep the skip connection (false: group 2)"),
             })
