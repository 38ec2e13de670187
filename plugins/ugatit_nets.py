"""U-GAT-IT's networks (Kim et al. 2020) in the form photo2cartoon (minivision-ai) published,
which report 001 trains: facts from its models/networks.py, not its code.

Generator: 7x7 stem; two hourglass blocks; two stride-2 3x3 downs to 4 ch; `n_res` encoder
residual blocks; CAM attention (below); a gamma/beta MLP on the attended features (`light`:
on their global average, else on all of them flattened); `n_res` decoder residual blocks
normalised by soft AdaLIN; two nearest x2 ups with LIN; two hourglass blocks, the last
giving the image without its residual; 7x7 conv and tanh. `soft_adalin=false` gives the
original U-GAT-IT's decoder (AdaLIN with one gamma/beta for every block); `hourglass=false`
the original's stem and tail (no hourglass blocks, 7x7 conv from ch to the image).

Norms (x: N, C, H, W; variances unbiased, as U-GAT-IT computes them):
  IN(x) normalises each channel of each image, LN(x) each image over all channels;
  LIN(x) = (rho*IN(x) + (1-rho)*LN(x)) * gamma + beta, all three learned per channel;
  AdaLIN(x, gamma, beta) is the same with gamma and beta given per image;
  soft AdaLIN mixes those from the content features c (the matching encoder block's global
  average) and the style features s: gamma = (1 - w_gamma)*S_gamma(s) + w_gamma*C_gamma(c),
  beta likewise, each w learned per channel. rho starts at 0.9 (AdaLIN) and 0 (LIN), w at 0.
  The scheme clips every rho and w to [0, 1] after each generator step: modules holding them
  are `Mixing` and say which they are.

CAM (class activation map attention): logits from the global average and the global max
pool of the features through one-output linear layers; each layer's weights re-weight the
feature maps channel by channel, the two re-weighted copies are concatenated and joined by
a 1x1 conv and activation. The heat map is the joined features summed over channels.

Discriminator: reflection padding and spectral norm on every layer; 4x4 convs, stride 2
doubling from ch (n_layers - 2 of them), one stride-1 doubling, CAM (bias-free logits,
LeakyReLU 0.2), a stride-1 4x4 conv to one channel: a map of logits. U-GAT-IT has a global
(n_layers 7) and a local (5) one per domain. photo2cartoon re-weights D's features by the
raw weights behind the spectral norm; here the normalised ones, the weights its logits use.

Parameters at ch 32, light, 256x256, 4 blocks, RGB: 3,831,079 per generator (the count of
photo2cartoon's generator; report 001 prints torchsummary's 3,770,375, which leaves out
what no layer executes and parameters not named weight or bias). Each hourglass conv block
builds a 1x1 projection for its skip that only differing widths use, so never here; it is
kept, as photo2cartoon keeps it, so the counts agree. Discriminators at ch 32: 13,294,048
(global), 826,080 (local).
"""

from dataclasses import dataclass
from itertools import repeat
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganbench import GanbenchError

from .translation_nets import ResnetBlock, at_least, in_relu, reflect_conv

EPS = 1e-5
HOURGLASS_LEVELS = 4  # each hourglass block halves the side four times


class Translation(NamedTuple):
    """What a U-GAT-IT generator returns."""

    image: torch.Tensor  # in [-1, 1]
    cam_logit: torch.Tensor  # (N, 2): the average- and max-pool CAM logits
    heatmap: torch.Tensor  # (N, 1, res/4, res/4): where the attention looked


class Verdict(NamedTuple):
    """What a U-GAT-IT discriminator returns."""

    logits: torch.Tensor  # (N, 1, h, w): a map of patch logits
    cam_logit: torch.Tensor  # (N, 2)
    heatmap: torch.Tensor


# Norms


def lin_mix(x, rho):
    """rho * IN(x) + (1 - rho) * LN(x)."""
    instance = (x - x.mean((2, 3), keepdim=True)) / torch.sqrt(x.var((2, 3), keepdim=True) + EPS)
    layer = (x - x.mean((1, 2, 3), keepdim=True)) / torch.sqrt(x.var((1, 2, 3), keepdim=True) + EPS)
    return rho * instance + (1 - rho) * layer


class Mixing(nn.Module):
    """A module whose mixing weights must stay in [0, 1] (see clip_mixing)."""

    def mixing_weights(self):
        raise NotImplementedError


@torch.no_grad()
def clip_mixing(net):
    """Clip every rho and soft-AdaLIN weight in `net` to [0, 1], as U-GAT-IT does after each
    generator step (its RhoClipper, and photo2cartoon's WClipper)."""
    for module in net.modules():
        if isinstance(module, Mixing):
            for weight in module.mixing_weights():
                weight.clamp_(0, 1)


def _per_channel(width, value):
    return nn.Parameter(torch.full((1, width, 1, 1), float(value)))


class LIN(Mixing):
    def __init__(self, width):
        super().__init__()
        self.rho, self.gamma, self.beta = (
            _per_channel(width, 0),
            _per_channel(width, 1),
            _per_channel(width, 0),
        )

    def forward(self, x):
        return lin_mix(x, self.rho) * self.gamma + self.beta

    def mixing_weights(self):
        return [self.rho]


class AdaLIN(Mixing):
    def __init__(self, width):
        super().__init__()
        self.rho = _per_channel(width, 0.9)

    def forward(self, x, gamma, beta):
        return lin_mix(x, self.rho) * gamma[:, :, None, None] + beta[:, :, None, None]

    def mixing_weights(self):
        return [self.rho]


def _mlp(width):
    return nn.Sequential(nn.Linear(width, width), nn.ReLU(inplace=True), nn.Linear(width, width))


class SoftAdaLIN(Mixing):
    def __init__(self, width):
        super().__init__()
        self.norm = AdaLIN(width)
        self.w_gamma, self.w_beta = (
            nn.Parameter(torch.zeros(1, width)),
            nn.Parameter(torch.zeros(1, width)),
        )
        self.content_gamma, self.content_beta = _mlp(width), _mlp(width)
        self.style_gamma, self.style_beta = nn.Linear(width, width), nn.Linear(width, width)

    def forward(self, x, content, style):
        gamma = torch.lerp(self.style_gamma(style), self.content_gamma(content), self.w_gamma)
        beta = torch.lerp(self.style_beta(style), self.content_beta(content), self.w_beta)
        return self.norm(x, gamma, beta)

    def mixing_weights(self):
        return [self.w_gamma, self.w_beta]


class AdaptiveBlock(nn.Module):
    """x + [pad, 3x3 conv, norm, ReLU, pad, 3x3 conv, norm](x), the norms soft AdaLIN (given
    content and style features) or AdaLIN (given gamma and beta)."""

    def __init__(self, width, soft):
        super().__init__()
        norm = SoftAdaLIN if soft else AdaLIN
        self.conv1, self.norm1 = (
            nn.Sequential(*reflect_conv(width, width, 3, bias=False)),
            norm(width),
        )
        self.conv2, self.norm2 = (
            nn.Sequential(*reflect_conv(width, width, 3, bias=False)),
            norm(width),
        )

    def forward(self, x, *given):
        out = F.relu(self.norm1(self.conv1(x), *given))
        return x + self.norm2(self.conv2(out), *given)


# CAM attention


class CAM(nn.Module):
    def __init__(self, width, activation, bias, wrap=lambda layer: layer):
        super().__init__()
        self.avg_fc, self.max_fc = (
            wrap(nn.Linear(width, 1, bias=bias)),
            wrap(nn.Linear(width, 1, bias=bias)),
        )
        self.join, self.activation = nn.Conv2d(2 * width, width, 1), activation

    def forward(self, x):
        """(attended features, CAM logits (N, 2), heat map (N, 1, H, W))."""
        logits, weighted = [], []
        for fc, pooled in ((self.avg_fc, x.mean((2, 3))), (self.max_fc, x.amax((2, 3)))):
            weight = fc.weight  # read once: a spectral norm recomputes it on every read
            logits.append(F.linear(pooled, weight, fc.bias))
            weighted.append(x * weight[0, :, None, None])
        x = self.activation(self.join(torch.cat(weighted, 1)))
        return x, torch.cat(logits, 1), x.sum(1, keepdim=True)


# Hourglass (photo2cartoon)


class ConvBlock(nn.Module):
    """Three IN-ReLU-3x3 convs to width/2, /4 and /4, concatenated, plus the input."""

    def __init__(self, width):
        super().__init__()
        widths = [width, width // 2, width // 4, width // 4]
        self.convs = nn.ModuleList(
            nn.Sequential(
                nn.InstanceNorm2d(a), nn.ReLU(inplace=True), *reflect_conv(a, b, 3, bias=False)
            )
            for a, b in zip(widths, widths[1:])
        )
        # photo2cartoon's skip projection, built for differing widths, which never occur here:
        # kept so that parameter counts match its generator's (57,344 of 3,831,079 at ch 32).
        self.unused_projection = nn.Sequential(
            nn.InstanceNorm2d(width), nn.ReLU(), nn.Conv2d(width, width, 1, bias=False)
        )

    def forward(self, x):
        outs = [x]
        for conv in self.convs:
            outs.append(conv(outs[-1]))
        return x + torch.cat(outs[1:], 1)


class HourglassBlock(nn.Module):
    """A U of ConvBlocks: at each of four levels a skip branch and an average-pooled branch
    down; back up by nearest x2 upsampling, adding each level's skip."""

    def __init__(self, width):
        super().__init__()
        self.skips = nn.ModuleList(ConvBlock(width) for _ in range(HOURGLASS_LEVELS))
        self.downs = nn.ModuleList(ConvBlock(width) for _ in range(HOURGLASS_LEVELS))
        self.center = ConvBlock(width)
        self.ups = nn.ModuleList(ConvBlock(width) for _ in range(HOURGLASS_LEVELS))

    def forward(self, x):
        skips = []
        for skip, down in zip(self.skips, self.downs):
            skips.append(skip(x))
            x = down(F.avg_pool2d(x, 2))
        x = self.center(x)
        for up, skip in zip(self.ups, reversed(skips)):
            x = F.interpolate(up(x), scale_factor=2.0, mode="nearest") + skip
        return x


class Hourglass(nn.Module):
    """Hourglass block, ConvBlock, 1x1 conv, IN, ReLU; a 1x1 conv to an image. With the
    residual: x + 1x1(features) + 1x1(image); without it, the image."""

    def __init__(self, width, channels, residual=True):
        super().__init__()
        self.body = nn.Sequential(
            HourglassBlock(width),
            ConvBlock(width),
            nn.Conv2d(width, width, 1, bias=False),
            *in_relu(width),
        )
        self.to_image = nn.Conv2d(width, channels, 1)
        self.residual = residual
        if residual:
            self.features, self.from_image = (
                nn.Conv2d(width, width, 1),
                nn.Conv2d(channels, width, 1),
            )

    def forward(self, x):
        features = self.body(x)
        image = self.to_image(features)
        return x + self.features(features) + self.from_image(image) if self.residual else image


# Generator


@dataclass(frozen=True)
class GeneratorConfig:
    channels: int
    res: int
    ch: int
    n_res: int
    light: bool
    soft_adalin: bool
    hourglass: bool

    @property
    def width(self):
        return 4 * self.ch  # channels at res/4, where the residual blocks and CAM work


def _down(cin, cout):
    return nn.Sequential(*reflect_conv(cin, cout, 3, stride=2, bias=False), *in_relu(cout))


def _up(cin, cout):
    return nn.Sequential(
        nn.Upsample(scale_factor=2.0, mode="nearest"),
        *reflect_conv(cin, cout, 3, bias=False),
        LIN(cout),
        nn.ReLU(inplace=True),
    )


class UgatitGenerator(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config, w = c, c.width
        self.stem = nn.Sequential(*reflect_conv(c.channels, c.ch, 7, bias=False), *in_relu(c.ch))
        hourglass = c.hourglass
        self.hourglass_in = nn.Sequential(
            *(Hourglass(c.ch, c.channels) for _ in range(2 * hourglass))
        )
        self.down = nn.Sequential(_down(c.ch, 2 * c.ch), _down(2 * c.ch, w))
        self.encoder = nn.ModuleList(ResnetBlock(w, bias=False) for _ in range(c.n_res))
        self.cam = CAM(w, nn.ReLU(inplace=True), bias=True)
        style_in = w if c.light else w * (c.res // 4) ** 2
        self.style = nn.Sequential(
            nn.Linear(style_in, w), nn.ReLU(inplace=True), nn.Linear(w, w), nn.ReLU(inplace=True)
        )
        if not c.soft_adalin:  # the original's one gamma and beta for every decoder block
            self.gamma, self.beta = nn.Linear(w, w, bias=False), nn.Linear(w, w, bias=False)
        self.decoder = nn.ModuleList(AdaptiveBlock(w, c.soft_adalin) for _ in range(c.n_res))
        self.up = nn.Sequential(_up(w, 2 * c.ch), _up(2 * c.ch, c.ch))
        tail = (
            [Hourglass(c.ch, c.channels), Hourglass(c.ch, c.channels, residual=False)]
            if hourglass
            else []
        )
        self.hourglass_out = nn.Sequential(*tail)
        self.to_image = nn.Sequential(
            *reflect_conv(c.channels if hourglass else c.ch, c.channels, 7, bias=False), nn.Tanh()
        )

    def forward(self, x):
        x = self.down(self.hourglass_in(self.stem(x)))
        contents = []
        for block in self.encoder:
            x = block(x)
            contents.append(x.mean((2, 3)))
        x, cam_logit, heatmap = self.cam(x)
        style = self.style(x.mean((2, 3)) if self.config.light else x.flatten(1))
        for block, given in zip(self.decoder, self._norm_inputs(contents, style)):
            x = block(x, *given)
        return Translation(self.to_image(self.hourglass_out(self.up(x))), cam_logit, heatmap)

    def _norm_inputs(self, contents, style):
        """Per decoder block: (content, style) for soft AdaLIN, the first block taking the last
        encoder block's content; (gamma, beta) for AdaLIN."""
        if self.config.soft_adalin:
            return zip(reversed(contents), repeat(style))
        return repeat((self.gamma(style), self.beta(style)))


def generator_config(cfg):
    c = GeneratorConfig(
        cfg.channels, cfg.res, cfg.ch, cfg.n_res, cfg.light, cfg.soft_adalin, cfg.hourglass
    )
    at_least("ch", c.ch, 4)
    at_least("n_res", c.n_res, 1)
    if c.hourglass and c.ch % 4:
        raise GanbenchError(
            f"the ugatit generator's hourglass blocks split ch into halves and quarters: "
            f"ch must be a multiple of 4, got ch={c.ch}"
        )
    # Hourglass blocks halve the side four times and pad each level by reflection (2x2 at least).
    low, step = (32, 16) if c.hourglass else (8, 4)
    if c.res < low or c.res % step:
        raise GanbenchError(
            f"the ugatit generator needs res to be a multiple of {step} and {low} or more "
            f"({'with' if c.hourglass else 'without'} hourglass blocks), got res={c.res}"
        )
    return c


def ugatit_generator(cfg):
    return UgatitGenerator(generator_config(cfg))


# Discriminator


@dataclass(frozen=True)
class DiscriminatorConfig:
    channels: int
    res: int
    ch: int
    n_layers: int

    def side(self):
        """The logit map's side: n_layers - 2 halvings, then two 4x4 stride-1 convs."""
        return self.res // 2 ** (self.n_layers - 2) - 2


def _sn_conv(cin, cout, stride, bias=True):
    return [nn.ReflectionPad2d(1), spectral_norm(nn.Conv2d(cin, cout, 4, stride, bias=bias))]


class UgatitDiscriminator(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        widths = [c.channels] + [c.ch * 2**i for i in range(c.n_layers - 1)]
        strides = [2] * (c.n_layers - 2) + [1]
        self.body = nn.Sequential(
            *(
                layer
                for a, b, s in zip(widths, widths[1:], strides)
                for layer in (*_sn_conv(a, b, s), nn.LeakyReLU(0.2, inplace=True))
            )
        )
        self.cam = CAM(widths[-1], nn.LeakyReLU(0.2, inplace=True), bias=False, wrap=spectral_norm)
        self.head = nn.Sequential(*_sn_conv(widths[-1], 1, 1, bias=False))

    def forward(self, x):
        x, cam_logit, heatmap = self.cam(self.body(x))
        return Verdict(self.head(x), cam_logit, heatmap)


def discriminator_config(cfg, option):
    c = DiscriminatorConfig(cfg.channels, cfg.res, cfg.ch, getattr(cfg, option))
    at_least("ch", c.ch, 1)
    at_least(option, c.n_layers, 3)
    if c.side() < 1:
        most = max(n for n in range(3, 12) if n == 3 or c.res // 2 ** (n - 2) >= 3)
        raise GanbenchError(
            f"{option}={c.n_layers} needs res of at least {3 * 2 ** (c.n_layers - 2)}, got "
            f"res={c.res}; at this res a ugatit discriminator takes at most {most} layers"
        )
    return c


def ugatit_discriminator(cfg):
    """The global discriminator, or the local one where the ugatit scheme, which builds both,
    says `scope` is local."""
    scope = vars(cfg).get("scope", "global")
    return UgatitDiscriminator(discriminator_config(cfg, f"{scope}_layers"))
