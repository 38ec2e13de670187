"""Report 002's initialisation: conv and dense weights from TruncatedNormal(0, 0.02) (cut at two
standard deviations, as TensorFlow does), biases zero, BatchNorm's gamma from N(1, 0.02)."""

import torch
from torch import nn

STD = 0.02


@torch.no_grad()
def initialise(net, cfg=None):
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.trunc_normal_(module.weight, 0.0, STD, -2 * STD, 2 * STD)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d) and module.affine:
            nn.init.normal_(module.weight, 1.0, STD)
            nn.init.zeros_(module.bias)
