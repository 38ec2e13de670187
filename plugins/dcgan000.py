"""The DCGAN of report 000 (anime faces, PyTorch course project), and its WGAN-GP critic.

G: Linear(z -> 8f*4*4, no bias) + BatchNorm1d + ReLU, then transposed convs (5x5, stride 2,
padding 2, output padding 1) halving the channels with BN and ReLU, the last to the image
channels with tanh. D: Conv(4x4, stride 2, padding 1) + LeakyReLU(0.2), conv-norm-LeakyReLU
blocks doubling the channels, and a last Conv(4x4, stride 1) to one value at 4x4. Report 000
put a sigmoid there; here it lives in the loss. `d_norm=instance` is its WGAN-GP variant
(InstanceNorm, for use with loss wgan_gp); `d_norm=none` drops normalisation.
"""

from torch import nn

from ganbench import GanbenchError, Staged

NORMS = {"batch": nn.BatchNorm2d, "instance": nn.InstanceNorm2d, "none": lambda c: nn.Identity()}


def _doublings(res):
    if res < 8:
        raise GanbenchError(f"dcgan000 needs res of 8 or more, got res={res}")
    return res.bit_length() - 3  # 4x4 -> res


def generator(cfg):
    f, n = cfg.feature_dim, _doublings(cfg.res)
    width = [f * 2 ** (n - 1 - i) for i in range(n)]  # 8f ... f for 64x64
    stages = {
        "project": nn.Sequential(
            nn.Linear(cfg.z_dim, width[0] * 16, bias=False),
            nn.BatchNorm1d(width[0] * 16),
            nn.ReLU(inplace=True),
            nn.Unflatten(1, (width[0], 4, 4)),
        )
    }
    for i in range(n - 1):
        stages[f"up{8 << i}"] = nn.Sequential(
            nn.ConvTranspose2d(width[i], width[i + 1], 5, 2, 2, output_padding=1),
            nn.BatchNorm2d(width[i + 1]),
            nn.ReLU(inplace=True),
        )
    stages["to_rgb"] = nn.Sequential(
        nn.ConvTranspose2d(width[-1], cfg.channels, 5, 2, 2, output_padding=1), nn.Tanh()
    )
    return Staged(stages)


def discriminator(cfg):
    f, n = cfg.feature_dim, _doublings(cfg.res)
    norm = NORMS[cfg.d_norm]
    stages = {
        "from_rgb": nn.Sequential(
            nn.Conv2d(cfg.channels, f, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)
        )
    }
    for i in range(n - 1):
        cin, cout = f * 2**i, f * 2 ** (i + 1)
        stages[f"down{cfg.res >> (i + 2)}"] = nn.Sequential(
            nn.Conv2d(cin, cout, 4, 2, 1), norm(cout), nn.LeakyReLU(0.2, inplace=True)
        )
    stages["head"] = nn.Sequential(nn.Conv2d(f * 2 ** (n - 1), 1, 4, 1, 0), nn.Flatten(0))
    return Staged(stages)
