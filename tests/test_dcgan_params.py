"""Parameter counts against the science fair's tables (report 003; 1 萬 = 10,000).

The fair used Keras, whose counts include BatchNorm's running mean and variance; ganbench
records PyTorch's trainable count. Both must be within 1% of the published figure."""

from types import SimpleNamespace

import pytest

from ganbench import count_parameters
from ganbench_plugins import dcgan, resnet_tail


def keras_count(net):
    running = sum(
        b.numel() for n, b in net.named_buffers() if n.endswith(("running_mean", "running_var"))
    )
    return count_parameters(net) + running


def _cfg(res, filters, kernel, **extra):
    return SimpleNamespace(
        res=res,
        z_dim=100,
        channels=3,
        filters=filters,
        g_filters=None,
        d_filters=None,
        g_kernel=kernel,
        d_kernel=kernel,
        tail_widths="32",
        tail_expand=4,
        tail_kernel=3,
        d_min_width=0,
        stem_channels=32,
        stem_kernel=3,
        **extra,
    )


def generator(res=64, filters=1.0, kernel=5, tail=None):
    cfg = _cfg(res, filters, kernel, tail_skip=bool(tail == "skip"))
    net = dcgan.generator(cfg)
    if tail:
        resnet_tail.apply(net, cfg)
    return net


def discriminator(res=64, filters=1.0, kernel=5):
    return dcgan.discriminator(_cfg(res, filters, kernel))


@pytest.mark.parametrize(
    "net, wan",
    [
        (lambda: generator(), 1886.0),  # 1-1: DCGAN, 5x5, ratio 1
        (lambda: discriminator(), 431.8),
        (lambda: generator(filters=0.5), 513.0),  # 1-2a: G ratio 1/2
        (lambda: generator(filters=0.25), 149.0),  # 1-2a: G ratio 1/4
        (lambda: discriminator(filters=0.5), 108.4),  # 1-2a: D ratio 1/2
        (lambda: generator(filters=0.5, kernel=4), 358.0),  # 1-2b kernels
        (lambda: generator(filters=0.5, kernel=3), 237.4),
        (lambda: generator(filters=0.5, kernel=2), 151.3),
        (lambda: discriminator(kernel=4), 276.8),
        (lambda: discriminator(kernel=3), 157.0),
        (lambda: generator(filters=0.5, kernel=3, tail="skip"), 243.5),  # 1-3a group 3
        (lambda: generator(filters=0.5, kernel=3, tail="noskip"), 243.3),  # 1-3a group 2
        (lambda: generator(res=128), 1906.1),  # 2-1a grow 1-1
        (lambda: discriminator(res=128), 436.7),
    ],
)
def test_parameter_counts_match_the_fair_within_one_percent(net, wan):
    built = net()
    want = wan * 10_000
    assert keras_count(built) == pytest.approx(want, rel=0.01)
    assert count_parameters(built) == pytest.approx(want, rel=0.01)


@pytest.mark.parametrize("res", [16, 32, 64, 128])
@pytest.mark.parametrize("kernel", [2, 3, 4, 5])
def test_every_resolution_and_kernel_gives_the_right_shapes(res, kernel):
    import torch

    g, d = generator(res, 0.0625, kernel), discriminator(res, 0.0625, kernel)
    images = g(torch.randn(2, 100))
    assert images.shape == (2, 3, res, res)
    assert images.abs().max() <= 1
    assert d(images).shape == (2,)


def test_g_filters_overrides_filters_for_the_generator_only():
    cfg = _cfg(64, 1.0, 5, tail_skip=True)
    cfg.g_filters = 0.5
    assert count_parameters(dcgan.generator(cfg)) == count_parameters(generator(filters=0.5))
    assert count_parameters(dcgan.discriminator(cfg)) == count_parameters(discriminator())
