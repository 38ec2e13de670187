"""The catalog's losses and training tweaks, each against a value worked out by hand."""

import math
from types import SimpleNamespace

import pytest
import torch
from conftest import query, run_dir
from torch import nn

from ganbench import Batch, Parts
from ganbench.api.data import rotated
from ganbench_plugins import dcgan000, spectral_norm, trunc_init
from ganbench_plugins.alternating import Alternating
from ganbench_plugins.losses import Hinge, LeastSquares, Minimax, WassersteinGP

REAL, FAKE = torch.tensor([2.0, 0.5]), torch.tensor([-1.0, 0.0])


def sp(x):
    return math.log1p(math.exp(x))


@pytest.mark.parametrize(
    "loss, d, g",
    [
        (Minimax(), (sp(-2) + sp(-0.5)) / 2 + (sp(-1) + sp(0)) / 2, -(sp(-1) + sp(0)) / 2),
        (
            LeastSquares(),
            0.5 * (((2 - 1) ** 2 + (0.5 - 1) ** 2) / 2 + (1 + 0) / 2),
            0.5 * ((-2) ** 2 + 1) / 2,
        ),
        (Hinge(), (0 + 0.5) / 2 + (0 + 1) / 2, (1 + 0) / 2),
        (WassersteinGP(10, 5), (-1 + 0) / 2 - (2 + 0.5) / 2, (1 + 0) / 2),
    ],
)
def test_losses_against_values_computed_by_hand(loss, d, g):
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(d)
    assert loss.g_loss(FAKE).item() == pytest.approx(g)


def test_gradient_penalty_of_a_linear_critic():
    # D(x) = sum(w * x): its gradient is w everywhere, so the penalty is lambda (|w| - 1)^2.
    w = torch.full((1, 1, 2, 2), 1.5)
    critic = lambda x: (x * w).flatten(1).sum(1)  # noqa: E731
    real, fake = torch.randn(8, 1, 2, 2), torch.randn(8, 1, 2, 2)
    assert WassersteinGP(10, 1).penalty(critic, real, fake).item() == pytest.approx(
        10 * (3.0 - 1) ** 2
    )


class Counting(torch.optim.SGD):
    steps = 0

    def step(self, closure=None):
        Counting.steps += 1
        return super().step(closure)


def test_critic_steps_take_that_many_d_steps_and_batches_per_g_step():
    g, d = (
        nn.Sequential(nn.Linear(2, 4), nn.Unflatten(1, (1, 2, 2))),
        nn.Sequential(nn.Flatten(), nn.Linear(4, 1), nn.Flatten(0)),
    )
    draws = []
    parts = Parts(
        {"g": g, "d": d},
        {"g": torch.optim.SGD(g.parameters(), 0.1), "d": Counting(d.parameters(), 0.1)},
        WassersteinGP(10, 3),
        torch.Generator().manual_seed(0),
        2,
        draw=lambda: draws.append(1) or Batch(torch.randn(4, 1, 2, 2)),
    )
    losses = Alternating().step(parts, Batch(torch.randn(4, 1, 2, 2)))
    assert Counting.steps == 3 and len(draws) == 2
    assert set(losses) == {"d_loss", "g_loss"}
    assert all(p.requires_grad for p in d.parameters())  # D unfrozen after G's step


def test_spectral_norm_bounds_each_layer_of_d():
    d = nn.Sequential(nn.Conv2d(1, 8, 3), nn.Flatten(), nn.Linear(8 * 4 * 4, 1))
    with torch.no_grad():
        for p in d.parameters():
            p.mul_(20)
    spectral_norm.apply(d, None)
    d.train()
    for _ in range(30):  # power iterations run in training forward passes
        d(torch.randn(2, 1, 6, 6))
    for layer in (d[0], d[2]):
        sigma = torch.linalg.matrix_norm(layer.weight.flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=0.05)


def test_truncated_normal_init_stays_within_two_deviations():
    net = nn.Sequential(nn.Conv2d(3, 64, 5), nn.BatchNorm2d(64), nn.Linear(64, 512))
    trunc_init.initialise(net)
    w = torch.cat([net[0].weight.flatten(), net[2].weight.flatten()])
    assert w.abs().max() <= 0.04 and w.std().item() == pytest.approx(0.02 * 0.88, rel=0.1)
    assert net[1].weight.mean().item() == pytest.approx(1.0, abs=0.01) and (net[0].bias == 0).all()


def test_rotation_turns_images_on_the_device():
    image = torch.zeros(1, 1, 9, 9)
    image[..., 4, :] = 1.0  # a horizontal bar
    turned = rotated(image.expand(64, -1, -1, -1), 90, torch.Generator().manual_seed(0))
    assert not torch.allclose(turned, image.expand(64, -1, -1, -1))
    assert turned[..., 4, 4].min() > 0.9  # the centre stays on the bar whatever the angle


def test_g_ema_is_scored_and_checkpointed(invoke, db, workdir):
    result = invoke(
        "run",
        "res=16",
        "batch=4",
        "filters=0.0625",
        "g_ema=0.5",
        "metrics=mnist_fd",
        "eval_real=50",
        "eval_fake=50",
        "--steps",
        "4",
        "log_every=2",
        "ckpt_every=2",
    )
    assert result.exit_code == 0, result.output
    state = torch.load(run_dir(db, 1) / "last.pt")
    averaged = state["ema"]["g"]["module.stages.project.0.weight"]
    assert not torch.equal(averaged, state["nets"]["g"]["stages.project.0.weight"])
    assert state["ema"]["g"]["n_averaged"].item() == 4
    best = torch.load(run_dir(db, 1) / "best.pt")
    assert best["step"] == 4 and torch.equal(
        best["nets"]["g"]["stages.project.0.weight"], averaged
    )  # G's average


def _cfg():
    return SimpleNamespace(res=64, z_dim=100, channels=3, feature_dim=64, d_norm="batch")


def test_report_000_networks_have_its_layers():
    g, d = dcgan000.generator(_cfg()), dcgan000.discriminator(_cfg())
    assert (
        isinstance(g.stages["project"][1], nn.BatchNorm1d) and g.stages["project"][0].bias is None
    )
    assert [type(m).__name__ for m in g.modules()].count("ConvTranspose2d") == 4
    assert g(torch.randn(2, 100)).shape == (2, 3, 64, 64) and d(
        torch.randn(2, 3, 64, 64)
    ).shape == (2,)
    wgan = dcgan000.discriminator(SimpleNamespace(**{**vars(_cfg()), "d_norm": "instance"}))
    kinds = {type(m).__name__ for m in wgan.modules()}
    assert "InstanceNorm2d" in kinds and "BatchNorm2d" not in kinds


SMALL_DCGAN = "filters=0.0625"


@pytest.mark.parametrize(
    "extra",
    [
        ["plugins=dcgan,minimax", SMALL_DCGAN],
        ["plugins=dcgan,lsgan", SMALL_DCGAN],
        ["plugins=dcgan,hinge", SMALL_DCGAN],
        ["plugins=dcgan,wgan_gp", "critic_steps=2", SMALL_DCGAN],
        ["plugins=dcgan,spectral_norm", SMALL_DCGAN],
        ["plugins=dcgan,g_trunc_init,d_trunc_init", SMALL_DCGAN],
        ["plugins=dcgan,adamw", SMALL_DCGAN],
        ["real_label=0.9", SMALL_DCGAN],
        ["rotate=15", "flip=true", SMALL_DCGAN],
        ["g_ema=0.99", SMALL_DCGAN],
        ["plugins=dcgan000", "feature_dim=8"],
        ["plugins=dcgan000,wgan_gp", "feature_dim=8", "d_norm=instance", "critic_steps=2"],
    ],
)
def test_each_catalog_component_trains_three_steps_with_finite_losses(invoke, db, extra):
    result = invoke("run", "res=16", "batch=4", "metrics=", "log_every=1", *extra, "--steps", "3")
    assert result.exit_code == 0, result.output
    losses = query(db, "select value from metrics where name in ('d_loss', 'g_loss')")
    assert len(losses) == 6 and all(math.isfinite(v) for (v,) in losses)


def test_cbn_makes_every_generator_norm_depend_on_the_noise():
    from ganbench_plugins import cbn, dcgan, resnet_tail

    cfg = SimpleNamespace(
        res=16,
        z_dim=100,
        channels=3,
        filters=0.125,
        g_filters=None,
        g_kernel=3,
        tail_widths="8",
        tail_expand=4,
        tail_kernel=3,
        tail_skip=True,
        cbn_hidden=100,
    )
    g = dcgan.generator(cfg)
    resnet_tail.apply(g, cfg)
    cbn.apply(g, cfg)
    kinds = [type(m).__name__ for m in g.modules()]
    assert "NoiseBatchNorm" in kinds and all(
        not m.affine for m in g.modules() if isinstance(m, nn.BatchNorm2d)
    )
    layer = next(m for m in g.modules() if isinstance(m, cbn.NoiseBatchNorm))
    z = torch.randn(4, 100)
    g(z).sum().backward()
    assert layer.gamma[0].weight.grad.abs().sum() > 0 and layer.beta[2].weight.grad.abs().sum() > 0
    assert torch.equal(layer.z, z)  # the pre-hook handed this forward pass's noise to the layer


def test_cbn_trains(invoke, db):
    result = invoke(
        "run",
        "plugins=dcgan,resnet_tail,cbn",
        "res=16",
        "batch=4",
        "filters=0.0625",
        "tail_widths=4",
        "metrics=",
        "log_every=1",
        "--steps",
        "3",
    )
    assert result.exit_code == 0, result.output
    assert all(math.isfinite(v) for (v,) in query(db, "select value from metrics"))


def test_srresnet_networks_have_their_shapes_and_layers():
    from ganbench_plugins import srresnet

    cfg = SimpleNamespace(
        res=32, z_dim=100, channels=3, cond_dim=0, sr_channels=16, sr_blocks=3, sr_d_blocks=1
    )
    g, d = srresnet.generator(cfg), srresnet.discriminator(cfg)
    assert g(torch.randn(2, 100)).shape == (2, 3, 32, 32) and d(
        torch.randn(2, 3, 32, 32)
    ).shape == (2,)
    assert sum(isinstance(m, nn.PixelShuffle) for m in g.modules()) == 3
    assert sum(isinstance(m, srresnet.Residual) for m in g.modules()) == 3
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())


@pytest.mark.parametrize(
    "extra",
    [
        ["plugins=srresnet", "sr_channels=8", "sr_blocks=2", "sr_d_blocks=1"],
        [
            "plugins=srresnet,conditional,acgan,acgan_heads",
            "sr_channels=8",
            "sr_blocks=1",
            "sr_d_blocks=1",
            "acgan_lambda=5",
            "noise=normal004",
            "flip=true",
            "rotate=5",
        ],
    ],
)
def test_srresnet_trains_as_report_004_did(invoke, db, extra):
    result = invoke("run", "res=16", "batch=4", "metrics=", "log_every=1", *extra, "--steps", "3")
    assert result.exit_code == 0, result.output
    assert all(math.isfinite(v) for (v,) in query(db, "select value from metrics"))
