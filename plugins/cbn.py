"""Conditional batch norm driven by the noise (report 003, experiment 1-3c).

Every BatchNorm2d of the generator becomes a BatchNorm without its own scale and shift,
whose gamma and beta are computed from the generator's input noise z, each by a small MLP
Dense(z_dim -> cbn_hidden) + ReLU + Dense(cbn_hidden -> channels); gamma is 1 + that output,
so a new layer starts as plain BN. The report gives no layer-by-layer design; this one is
the one its parameter counts imply (1-3c 283.3 萬, 2-1a 317.3 萬, 2-2 351.3 萬, all within
0.1%: 20,200 per layer plus 200 per channel, the skip projection's BN included).
"""

from torch import nn

from ganbench import GanbenchError


class NoiseBatchNorm(nn.Module):
    def __init__(self, channels, z_dim, hidden):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gamma = nn.Sequential(
            nn.Linear(z_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels)
        )
        self.beta = nn.Sequential(
            nn.Linear(z_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels)
        )
        self.z = None  # set by the generator's forward pre-hook, once per forward pass

    def forward(self, x):
        gamma = 1 + self.gamma(self.z)[:, :, None, None]
        return self.norm(x) * gamma + self.beta(self.z)[:, :, None, None]


def _swap_batch_norms(net, z_dim, hidden):
    swapped = []
    for module in list(net.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.BatchNorm2d):
                replacement = NoiseBatchNorm(child.num_features, z_dim, hidden)
                setattr(module, name, replacement)
                swapped.append(replacement)
    return swapped


def apply(net, cfg):
    layers = _swap_batch_norms(net, cfg.z_dim, cfg.cbn_hidden)
    if not layers:
        raise GanbenchError("cbn replaces the generator's BatchNorm2d layers, and it has none")

    def hand_noise_to_layers(module, args):
        for layer in layers:
            layer.z = args[0]

    net.register_forward_pre_hook(hand_noise_to_layers)
