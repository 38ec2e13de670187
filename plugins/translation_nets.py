"""Image-to-image networks for unpaired translation: CycleGAN's ResNet generator and 70x70
PatchGAN (Zhu et al. 2017), and the pix2pix U-Net (Isola et al. 2017) that report 002's
CycleGAN uses as its generator. Sizes, norms and biases follow the reference code,
junyanz/pytorch-CycleGAN-and-pix2pix (networks.py).

resnet_generator: reflection pad 3, 7x7 conv to ngf, two stride-2 3x3 convs to 4 ngf,
n_blocks residual blocks, two transposed convs back, 7x7 conv to the image, tanh; instance
norm without affine, so every conv keeps its bias. 9 blocks, RGB: 11,378,179 parameters
(the reference prints 11.378 M); 6 blocks: 7,837,699.

patch_discriminator: 4x4 convs, stride 2 with ndf * min(2^n, 8) channels, then two stride-1
convs, the last to one channel; instance norm on all but the first and last; LeakyReLU 0.2.
It returns the (N, 1, h, w) map of patch logits, res / 2^n_layers - 2 on a side (30x30 at
256); the losses average it. ndf 64, 3 layers, RGB: 2,764,737 parameters (2.765 M).

unet_generator: log2(res) stride-2 4x4 convs down to 1x1 (ngf, 2, 4, then 8 ngf), each level's
input concatenated with what comes back up; batch norm on all but the outermost level and the
innermost down conv. As in pix2pix with batch norm, only the outermost up conv has a bias.
unet_256, RGB, ngf 64: 54,413,955 parameters (the reference prints 54.414 M).

No hooks here: the builders take the run's cfg and return a ganbench.Staged.
"""

import math
from dataclasses import dataclass

import torch
from torch import nn

from ganbench import GanbenchError, Staged


def at_least(name, value, low):
    if value < low:
        raise GanbenchError(f"{name} must be {low} or more, got {name}={value}")


def _power_of_two(res, low, net):
    if res < low or res & (res - 1):
        raise GanbenchError(f"{net} needs res to be a power of two of {low} or more, got res={res}")


# ResNet generator (CycleGAN)


@dataclass(frozen=True)
class ResnetConfig:
    channels: int
    res: int
    ngf: int
    n_blocks: int


def reflect_conv(cin, cout, kernel, stride=1, bias=True):
    """Reflection padding instead of zeros: the reference's choice against border artifacts."""
    return [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(cin, cout, kernel, stride, bias=bias)]


def in_relu(width):
    """Instance norm without affine (the reference's default), then ReLU."""
    return [nn.InstanceNorm2d(width), nn.ReLU(inplace=True)]


class ResnetBlock(nn.Module):
    """x + [pad, 3x3 conv, IN, ReLU, pad, 3x3 conv, IN](x), with no activation after the sum.
    CycleGAN's convs keep their biases; U-GAT-IT's drop them (bias=False)."""

    def __init__(self, width, bias=True):
        super().__init__()
        self.body = nn.Sequential(
            *reflect_conv(width, width, 3, bias=bias),
            *in_relu(width),
            *reflect_conv(width, width, 3, bias=bias),
            nn.InstanceNorm2d(width),
        )

    def forward(self, x):
        return x + self.body(x)


def _resnet_config(cfg):
    for name, low in (("channels", 1), ("ngf", 1), ("n_blocks", 1)):
        at_least(name, getattr(cfg, name), low)
    # Two halvings must come back to res exactly, and reflection padding needs 2x2 at 4 ngf.
    if cfg.res < 8 or cfg.res % 4:
        raise GanbenchError(
            f"resnet generator needs res to be a multiple of 4 and 8 or more, got res={cfg.res}"
        )
    return ResnetConfig(cfg.channels, cfg.res, cfg.ngf, cfg.n_blocks)


def resnet_generator(cfg):
    c = _resnet_config(cfg)
    w = [c.ngf, c.ngf * 2, c.ngf * 4]  # channels at res, res/2 and res/4
    stages = {"stem": nn.Sequential(*reflect_conv(c.channels, w[0], 7), *in_relu(w[0]))}
    for i in (1, 2):
        stages[f"down{i}"] = nn.Sequential(nn.Conv2d(w[i - 1], w[i], 3, 2, 1), *in_relu(w[i]))
    for i in range(1, c.n_blocks + 1):
        stages[f"block{i}"] = ResnetBlock(w[2])
    for i in (1, 2):
        up = nn.ConvTranspose2d(w[3 - i], w[2 - i], 3, 2, 1, output_padding=1)
        stages[f"up{i}"] = nn.Sequential(up, *in_relu(w[2 - i]))
    stages["to_image"] = nn.Sequential(*reflect_conv(w[0], c.channels, 7), nn.Tanh())
    return Staged(stages, c)


# PatchGAN discriminator (CycleGAN, pix2pix)


@dataclass(frozen=True)
class PatchConfig:
    channels: int
    res: int
    ndf: int
    n_layers: int

    def width(self, n):
        """Channels after the n-th conv (0 is the first): doubling, capped at 8 ndf."""
        return self.ndf * min(2**n, 8)

    def out_side(self):
        """Each stride-2 conv halves the side, each stride-1 4x4 conv with padding 1 takes one."""
        return self.res // 2**self.n_layers - 2


def _patch_config(cfg):
    for name in ("channels", "ndf", "n_layers"):
        at_least(name, getattr(cfg, name), 1)
    c = PatchConfig(cfg.channels, cfg.res, cfg.ndf, cfg.n_layers)
    if c.out_side() < 1:
        raise GanbenchError(
            f"patch discriminator with n_layers={c.n_layers} needs res of at least "
            f"{3 * 2**c.n_layers}, got res={c.res}; lower n_layers or raise res"
        )
    return c


def _conv_in_lrelu(cin, cout, stride):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 4, stride, 1), nn.InstanceNorm2d(cout), nn.LeakyReLU(0.2, inplace=True)
    )


def patch_discriminator(cfg):
    c = _patch_config(cfg)
    stages = {
        "from_image": nn.Sequential(
            nn.Conv2d(c.channels, c.ndf, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)
        )
    }
    for n in range(1, c.n_layers):
        stages[f"down{n}"] = _conv_in_lrelu(c.width(n - 1), c.width(n), 2)
    stages["widen"] = _conv_in_lrelu(c.width(c.n_layers - 1), c.width(c.n_layers), 1)
    stages["head"] = nn.Conv2d(c.width(c.n_layers), 1, 4, 1, 1)
    return Staged(stages, c)


# U-Net generator (pix2pix; report 002's CycleGAN generator)


@dataclass(frozen=True)
class UNetConfig:
    channels: int
    res: int
    ngf: int
    dropout: float

    @property
    def depth(self):
        """One level per halving, down to 1x1 at the bottleneck."""
        return int(math.log2(self.res))

    def width(self, level):
        """Channels a level's down conv makes (0 is the outermost): ngf, 2, 4, then 8 ngf."""
        return self.ngf * min(2**level, 8)

    def outer(self, level):
        """Channels coming into a level (and going back out of its up conv)."""
        return self.width(level - 1) if level else self.channels

    def drops(self, level):
        """pix2pix's use_dropout: the 8 ngf -> 8 ngf levels, but not the innermost."""
        return self.dropout > 0 and 4 <= level < self.depth - 1


class UNetLevel(nn.Module):
    """down, the levels inside, up; all but the outermost pass on [input, up path] concatenated,
    so every level's features, the bottleneck's included, skip to the decoder."""

    def __init__(self, down, inner, up, outermost):
        super().__init__()
        self.down, self.inner, self.up = down, inner, up
        self.outermost = outermost

    def forward(self, x):
        y = self.up(self.inner(self.down(x)))
        return y if self.outermost else torch.cat([x, y], 1)


def _unet_config(cfg):
    at_least("channels", cfg.channels, 1)
    at_least("ngf", cfg.ngf, 1)
    _power_of_two(cfg.res, 4, "unet generator")
    if not 0 <= cfg.unet_dropout < 1:
        raise GanbenchError(f"unet_dropout must be in [0, 1), got unet_dropout={cfg.unet_dropout}")
    return UNetConfig(cfg.channels, cfg.res, cfg.ngf, cfg.unet_dropout)


def _unet_down(c, level):
    # pix2pix ties conv biases to the norm type, not to whether a norm follows: with batch norm
    # no down conv has one. The outermost sees the image as is; the 1x1 bottleneck has no norm.
    conv = nn.Conv2d(c.outer(level), c.width(level), 4, 2, 1, bias=False)
    if level == 0:
        return conv
    norm = [nn.BatchNorm2d(c.width(level))] if level < c.depth - 1 else []
    return nn.Sequential(nn.LeakyReLU(0.2), conv, *norm)


def _unet_up(c, level):
    # Below the bottleneck nothing is concatenated, so the innermost up conv takes width channels.
    cin = c.width(level) * (1 if level == c.depth - 1 else 2)
    if level == 0:
        return nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(cin, c.channels, 4, 2, 1), nn.Tanh())
    drop = [nn.Dropout(c.dropout)] if c.drops(level) else []
    return nn.Sequential(
        nn.ReLU(),
        nn.ConvTranspose2d(cin, c.outer(level), 4, 2, 1, bias=False),
        nn.BatchNorm2d(c.outer(level)),
        *drop,
    )


def unet_generator(cfg):
    c = _unet_config(cfg)
    level = nn.Identity()
    for i in reversed(range(c.depth)):  # built from the bottleneck out
        level = UNetLevel(_unet_down(c, i), level, _unet_up(c, i), outermost=i == 0)
    return Staged({"unet": level}, c)
