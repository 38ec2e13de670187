"""Convolution blocks shared by the built-in networks."""

from torch import nn


def _padding(kernel):
    return (kernel - 1) // 2


class Up(nn.Sequential):
    """Transposed conv that doubles the side for any kernel size, then BN and an activation."""

    def __init__(self, cin, cout, kernel, bn=True, act="relu"):
        p = _padding(kernel)
        layers = [nn.ConvTranspose2d(cin, cout, kernel, 2, p, output_padding=2 + 2 * p - kernel)]
        layers += [nn.BatchNorm2d(cout)] if bn else []
        layers += [nn.ReLU(inplace=True) if act == "relu" else nn.Tanh()]
        super().__init__(*layers)
        self.in_channels, self.out_channels = cin, cout


class Down(nn.Sequential):
    """Stride-2 conv that halves the side for any kernel size, then BN and LeakyReLU(0.2)."""

    def __init__(self, cin, cout, kernel, bn=True):
        layers = [nn.Conv2d(cin, cout, kernel, 2, _padding(kernel))]
        layers += [nn.BatchNorm2d(cout)] if bn else []
        layers += [nn.LeakyReLU(0.2, inplace=True)]
        super().__init__(*layers)
        self.in_channels, self.out_channels, self.kernel = cin, cout, kernel


def conv_bn_relu(cin, cout, kernel, transposed=False):
    """A size-preserving (odd kernel) conv or transposed conv, BN and ReLU."""
    conv = nn.ConvTranspose2d if transposed else nn.Conv2d
    return [
        conv(cin, cout, kernel, 1, _padding(kernel)),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    ]
