"""A stride-1 convolution at the discriminator's input (report 003, experiment 1-3b group 2).

Adds a stage 'stem' (conv, `stem_channels` channels, `stem_kernel`, stride 1, no BN,
LeakyReLU) before 'from_rgb', which then reads the stem's channels and gains BN, as the
fair's 1-3b and 2-1a group 3 discriminators have.
"""

from torch import nn

from ganbench import GanbenchError, Staged

from .blocks import Down


def apply(net, cfg):
    first = net.stages["from_rgb"] if isinstance(net, Staged) and "from_rgb" in net.stages else None
    if not isinstance(first, Down):
        raise GanbenchError(
            "d_stem goes before a discriminator's 'from_rgb' conv stage; use it with dcgan"
        )
    k = (
        cfg.stem_kernel
    )  # 'same' padding as Keras does it: the extra pixel of an even kernel at the end
    stem = nn.Sequential(
        nn.ZeroPad2d(((k - 1) // 2, k // 2, (k - 1) // 2, k // 2)),
        nn.Conv2d(first.in_channels, cfg.stem_channels, k, 1),
        nn.LeakyReLU(0.2, inplace=True),
    )
    net.replace("from_rgb", Down(cfg.stem_channels, first.out_channels, first.kernel, bn=True))
    net.insert("from_rgb", "stem", stem)
