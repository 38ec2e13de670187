"""Spectral normalisation of every conv and linear layer of D (Miyato et al. 2018)."""

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def apply(net, cfg):
    for name, module in list(net.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, LAYERS):
                setattr(module, child_name, spectral_norm(child))
