"""CycleGAN's ResNet generator and PatchGAN, and the pix2pix U-Net: parameter counts against
the reference (junyanz/pytorch-CycleGAN-and-pix2pix), shapes, skips, and a training step on
tiny configs. The full-size networks are only counted, never run, to keep this fast."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from ganbench import GanbenchError, count_parameters
from ganbench_plugins.translation_nets import patch_discriminator, resnet_generator, unet_generator


def _cfg(**changes):
    """The tiny config; a test changes only what it is about."""
    base = dict(channels=3, res=32, ngf=8, n_blocks=2, ndf=8, n_layers=3, unet_dropout=0.0)
    return SimpleNamespace(**{**base, **changes})


def _first_conv(net):
    return next(m for m in net.modules() if isinstance(m, nn.Conv2d))


@pytest.mark.parametrize(
    "n_blocks, res, expected",
    [
        (9, 256, 11_378_179),  # resnet_9blocks: the reference prints 11.378 M
        (6, 128, 7_837_699),  # resnet_6blocks: three blocks of 2 x (9 * 256^2 + 256) fewer
    ],
)
def test_resnet_generator_parameter_count(n_blocks, res, expected):
    net = resnet_generator(_cfg(res=res, ngf=64, n_blocks=n_blocks))
    assert count_parameters(net) == expected


def test_resnet_generator_stages_are_named():
    net = resnet_generator(_cfg(n_blocks=3))
    assert list(net.stages) == [
        "stem",
        "down1",
        "down2",
        "block1",
        "block2",
        "block3",
        "up1",
        "up2",
        "to_image",
    ]


def test_patch_discriminator_parameter_count():
    net = patch_discriminator(_cfg(res=256, ndf=64))
    assert count_parameters(net) == 2_764_737  # the reference prints 2.765 M
    assert list(net.stages) == ["from_image", "down1", "down2", "widen", "head"]


@pytest.mark.parametrize("res, side", [(256, 30), (32, 2)])
def test_patch_discriminator_keeps_the_map(res, side):
    # The map's side does not depend on ndf, so a narrow D checks the 256 case quickly.
    out = patch_discriminator(_cfg(res=res))(torch.randn(2, 3, res, res))
    assert out.shape == (2, 1, side, side)


def test_patch_discriminator_refuses_a_res_too_small_for_its_layers():
    with pytest.raises(GanbenchError, match="res of at least 24.*res=16"):
        patch_discriminator(_cfg(res=16))
    assert patch_discriminator(_cfg(res=24))(torch.randn(2, 3, 24, 24)).shape == (2, 1, 1, 1)


def test_unet_256_parameter_count_by_formula():
    k = 4 * 4
    down = k * (3 * 64 + 64 * 128 + 128 * 256 + 256 * 512 + 4 * 512 * 512)  # no biases
    down_bn = 2 * (128 + 256 + 4 * 512)  # levels 2-7; not the outermost nor the bottleneck
    up = k * (512 * 512 + 3 * 1024 * 512 + 1024 * 256 + 512 * 128 + 256 * 64 + 128 * 3) + 3
    up_bn = 2 * (4 * 512 + 256 + 128 + 64)  # every up conv but the outermost
    expected = down + down_bn + up + up_bn
    assert expected == 54_413_955  # 54.414 M, as the reference prints
    assert count_parameters(unet_generator(_cfg(res=256, ngf=64))) == expected


@pytest.mark.parametrize("res", [32, 64])
def test_unet_keeps_the_image_shape(res):
    net = unet_generator(_cfg(res=res, channels=1)).eval()
    assert net(torch.randn(2, 1, res, res)).shape == (2, 1, res, res)


def test_unet_outermost_up_conv_gets_the_skip():
    net = unet_generator(_cfg()).eval()
    outer = net.stages["unet"]
    seen = {}
    outer.down.register_forward_hook(lambda m, i, o: seen.update(down=o.clone()))
    outer.up.register_forward_pre_hook(lambda m, i: seen.update(up=i[0].clone()))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        y = net(x)
        nudged = net(x + 0.1 * torch.randn_like(x))
    assert seen["up"].shape == (2, 16, 16, 16)  # [skip, up path], ngf channels each
    assert torch.equal(seen["up"][:, :8], seen["down"])
    assert not torch.allclose(y, nudged)


@pytest.mark.parametrize("res, levels", [(256, 3), (64, 1), (32, 0)])
def test_unet_dropout_on_the_inner_8ngf_levels(res, levels):
    net = unet_generator(_cfg(res=res, ngf=1, unet_dropout=0.5))
    assert sum(isinstance(m, nn.Dropout) for m in net.modules()) == levels
    plain = unet_generator(_cfg(res=res, ngf=1))
    assert not any(isinstance(m, nn.Dropout) for m in plain.modules())


@pytest.mark.parametrize(
    "build, change, message",
    [
        (resnet_generator, dict(res=30), "multiple of 4"),
        (resnet_generator, dict(n_blocks=0), "n_blocks must be 1 or more"),
        (unet_generator, dict(res=48), "power of two"),
        (unet_generator, dict(unet_dropout=1.0), r"unet_dropout must be in \[0, 1\)"),
        (patch_discriminator, dict(n_layers=0), "n_layers must be 1 or more"),
    ],
)
def test_bad_options_say_what_is_wrong(build, change, message):
    with pytest.raises(GanbenchError, match=message):
        build(_cfg(**change))


@pytest.mark.parametrize("build", [resnet_generator, unet_generator, patch_discriminator])
def test_a_training_step_reaches_the_first_conv(build):
    net = build(_cfg(unet_dropout=0.5))
    out = net(torch.randn(2, 3, 32, 32))
    out.mean().backward()
    assert _first_conv(net).weight.grad.abs().sum() > 0
    if build is not patch_discriminator:
        assert out.shape == (2, 3, 32, 32)
        assert out.abs().max() <= 1
