"""Conditions from the data set to G and D: report 002's conditional DCGAN with its
matching-aware loss, ACGAN heads, tags from a CSV, and torchvision's labelled sets."""

import math
import struct
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import query
from PIL import Image
from torch import nn

from ganbench import Batch, GanbenchError, Parts, count_parameters
from ganbench_plugins import acgan, cdcgan002, folder, torchvision_sets
from ganbench_plugins.conditional import Conditional
from ganbench_plugins.conditional_losses import ACGAN, MatchingAware
from ganbench_plugins.losses import WassersteinGP


def keras_count(net):
    running = sum(
        b.numel() for n, b in net.named_buffers() if n.endswith(("running_mean", "running_var"))
    )
    return count_parameters(net) + running


def _cfg(**extra):
    return SimpleNamespace(**{"res": 64, "z_dim": 100, "cond_dim": 23, "channels": 3, **extra})


def test_report_002_parameter_counts_exactly():
    g, d = cdcgan002.generator(_cfg()), cdcgan002.discriminator(_cfg())
    assert keras_count(g) == 5_325_699 and keras_count(d) == 4_589_185
    assert count_parameters(d) == 4_589_185  # no BN in D: PyTorch counts the same


def test_the_same_noise_under_two_conditions_makes_two_images_and_d_sees_the_condition():
    torch.manual_seed(0)
    g, d = (
        cdcgan002.generator(_cfg(res=16, cond_dim=4)).eval(),
        cdcgan002.discriminator(_cfg(res=16, cond_dim=4)),
    )
    z = torch.randn(1, 100).expand(2, -1)
    cond = torch.eye(4)[:2]
    images = g(z, cond)
    assert (images[0] - images[1]).abs().max() > 1e-3
    same = images[:1].expand(2, -1, -1, -1)
    logits = d(same, cond)
    assert (logits[0] - logits[1]).abs() > 1e-6


def test_an_unconditional_call_of_a_conditional_network_says_what_to_do():
    with pytest.raises(GanbenchError, match="use scheme 'conditional'"):
        cdcgan002.generator(_cfg(res=16))(torch.randn(2, 100))


def test_matching_aware_loss_by_hand():
    loss = MatchingAware()
    real, fake, real_wrong, wrong_image = (
        torch.tensor([2.0]),
        torch.tensor([-1.0]),
        torch.tensor([0.5]),
        torch.tensor([1.0]),
    )
    sp = lambda x: math.log1p(math.exp(x))  # noqa: E731
    four = loss.d_loss(real, fake) + loss.mismatch_loss(real_wrong, wrong_image)
    assert four.item() == pytest.approx(sp(-2) + sp(-1) + sp(0.5) + sp(1))
    assert loss.g_loss(fake).item() == pytest.approx(-sp(-1))


def test_acgan_class_loss_by_hand():
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    one_hot, tags = torch.tensor([[1.0, 0, 0]]), torch.tensor([[1.0, 1, 0]])
    ce = -math.log(math.exp(2) / (math.exp(2) + 1 + math.exp(-1)))
    assert ACGAN(5).aux_loss(logits, one_hot).item() == pytest.approx(5 * ce)
    bce = (math.log1p(math.exp(-2)) + math.log(2) + math.log1p(math.exp(-1))) / 3
    assert ACGAN(1).aux_loss(logits, tags).item() == pytest.approx(bce)


def test_acgan_heads_are_two_separate_three_layer_heads():
    from ganbench_plugins import dcgan

    cfg = SimpleNamespace(
        res=16,
        z_dim=100,
        channels=1,
        cond_dim=10,
        filters=0.0625,
        d_filters=None,
        d_kernel=5,
        d_min_width=0,
        acgan_hidden=32,
    )
    d = dcgan.discriminator(cfg)
    acgan.apply(d, cfg)
    realness, classes = d(torch.randn(3, 1, 16, 16))
    assert realness.shape == (3,) and classes.shape == (3, 10)
    heads = d.stages["head"]
    linears = [
        sum(isinstance(m, torch.nn.Linear) for m in h.modules())
        for h in (heads.realness, heads.classes)
    ]
    assert linears == [3, 3] and heads.realness[0].weight is not heads.classes[0].weight


@pytest.mark.parametrize(
    "extra",
    [
        ["plugins=cdcgan002,conditional,matching_aware"],
        ["plugins=cdcgan002,conditional,acgan,acgan_heads", "acgan_lambda=5"],
        ["plugins=dcgan,conditional,acgan,acgan_heads", "filters=0.0625"],
        ["plugins=dcgan,conditional", "filters=0.0625"],
        ["plugins=dcgan,conditional,wgan_gp", "critic_steps=2", "filters=0.0625"],
    ],
)
def test_conditional_runs_train_three_steps(invoke, db, extra):
    result = invoke("run", "res=16", "batch=4", "metrics=", "log_every=1", *extra, "--steps", "3")
    assert result.exit_code == 0, result.output
    values = query(db, "select value from metrics")
    assert len(values) == 6 and all(math.isfinite(v) for (v,) in values)


def test_conditional_schemes_need_labels(invoke, tmp_path):
    (tmp_path / "img").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "img" / "a.png")
    result = invoke(
        "run", "plugins=cdcgan002,folder", f"data_dir={tmp_path / 'img'}", "res=8", "metrics="
    )
    assert result.exit_code == 2 and "use it with scheme 'conditional'" in result.output


@pytest.fixture
def tagged_dir(tmp_path):
    root = tmp_path / "faces"
    root.mkdir()
    rows = {
        "a.png": "blonde hair;blue eyes",
        "b.png": "red hair",
        "c.png": "hat",
        "d.png": "blonde hair;blue eyes;red hair",
        "e.png": "blue eyes",
    }
    for name in rows:
        Image.new("RGB", (8, 8), (len(name) * 20, 0, 0)).save(root / name)
    csv = tmp_path / "tags.csv"
    csv.write_text("file,tags\n" + "".join(f"{f},{t}\n" for f, t in rows.items()))
    return root, csv


def test_tags_become_multi_hot_conditions_with_report_002s_filter(tagged_dir, tmp_path):
    root, csv = tagged_dir
    cfg = SimpleNamespace(
        res=8,
        data_dir=str(root),
        cache_dir=str(tmp_path / "cache"),
        tags_csv=str(csv),
        tags="blonde hair,red hair,blue eyes",
        tags_max=2,
        data_dir_b="",
        skip_bad=False,
    )
    data = folder.folder(cfg)
    # c.png has no wanted tag and d.png three of them: both left out
    assert data.images.shape[0] == 3
    assert data.labels.tolist() == [[1, 0, 1], [0, 1, 0], [0, 0, 1]]


def test_tag_csv_errors_name_the_problem(tagged_dir, tmp_path):
    root, _ = tagged_dir
    bad = tmp_path / "bad.csv"
    bad.write_text("name,labels\nx,y\n")
    cfg = SimpleNamespace(
        res=8,
        data_dir=str(root),
        cache_dir=str(tmp_path),
        tags_csv=str(bad),
        tags="",
        tags_max=2,
        data_dir_b="",
        skip_bad=False,
    )
    with pytest.raises(GanbenchError, match="needs columns 'file' and 'tags'"):
        folder.folder(cfg)
    bad.write_text("file,tags\nnope.png,hat\n")
    with pytest.raises(GanbenchError, match="nope.png, which is not there"):
        folder.folder(cfg)


def _idx(path, array):
    header = struct.pack(">HBB", 0, 8, array.ndim) + b"".join(
        struct.pack(">I", n) for n in array.shape
    )
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_torchvision_mnist_loads_from_its_files_with_labels(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = np.zeros((6, 28, 28), np.uint8)
    images[:, 10:18, 10:18] = 255
    for prefix in ("train", "t10k"):
        _idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(6))
    cfg = SimpleNamespace(
        res=16, data_root=str(tmp_path), download=False, cache_dir=str(tmp_path / "cache")
    )
    data = torchvision_sets.mnist(cfg)
    assert data.images.shape == (6, 1, 16, 16) and data.labels.tolist() == list(range(6))
    assert data.images[:, :, 7, 7].min() > 200 and data.images[:, :, 0, 0].max() == 0


@pytest.mark.parametrize("name", ["cifar10", "mnist", "celeba"])
def test_missing_torchvision_sets_say_how_to_get_them_without_downloading(name, invoke, tmp_path):
    result = invoke("run", f"plugins={name}", f"data_root={tmp_path}", "metrics=", "res=16")
    assert result.exit_code == 2
    assert f"{name} is not in {tmp_path}" in result.output and "download=true" in result.output


def test_a_conditional_generator_is_evaluated_with_conditions(invoke, db):
    result = invoke(
        "run",
        "plugins=cdcgan002,conditional,matching_aware",
        "res=16",
        "batch=4",
        "metrics=mnist_modes",
        "eval_real=40",
        "eval_fake=40",
        "--steps",
        "2",
    )
    assert result.exit_code == 0, result.output
    names = {n for (n,) in query(db, "select name from metrics where protocol is not null")}
    assert names == {"mnist_coverage", "mnist_kl"}


def test_gradient_penalty_with_conditions_scores_the_same_point_between_the_pairs():
    # D(x, c) = sum(x) * sum(c): the gradient's norm is sum(c_hat) * sqrt(4), c_hat = eps real + (1-eps) fake
    critic = lambda x, c: x.flatten(1).sum(1) * c.sum(1)  # noqa: E731
    real, fake = torch.randn(8, 1, 2, 2), torch.randn(8, 1, 2, 2)
    cond, fake_cond = torch.full((8, 3), 1.0), torch.zeros(8, 3)  # condition sums 3 and 0
    got = WassersteinGP(10, 1).penalty(
        critic, real, fake, torch.Generator().manual_seed(1), conditions=(cond, fake_cond)
    )
    eps = torch.rand(8, generator=torch.Generator().manual_seed(1))
    assert got.item() == pytest.approx((10 * (3 * eps * 2 - 1) ** 2).mean().item(), rel=1e-5)


class CondD(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Linear(4 + 3, 1)

    def forward(self, x, c):
        return self.net(torch.cat([x.flatten(1), c], 1)).squeeze(1)


class CondG(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Linear(2 + 3, 4)

    def forward(self, z, c):
        return self.net(torch.cat([z, c], 1)).view(-1, 1, 2, 2)


class SpyLoss(WassersteinGP):
    uses_step = True

    def __init__(self):
        super().__init__(gp_lambda=10, critic_steps=3)
        self.steps_seen, self.penalties = [], []

    def d_loss(self, real, fake, step=None):
        self.steps_seen.append(step)
        return super().d_loss(real, fake)

    def penalty(self, d, real, fake, generator=None, conditions=None):
        self.penalties.append(conditions)
        return super().penalty(d, real, fake, generator, conditions)


def _labelled():
    return Batch(torch.randn(4, 1, 2, 2), labels=torch.eye(3)[torch.tensor([0, 1, 2, 0])])


def test_the_conditional_scheme_applies_critic_steps_penalty_and_the_step():
    draws, loss = [], SpyLoss()
    g, d = CondG(), CondD()
    parts = Parts(
        {"g": g, "d": d},
        {"g": torch.optim.SGD(g.parameters(), 0.01), "d": torch.optim.SGD(d.parameters(), 0.01)},
        loss,
        torch.Generator().manual_seed(0),
        2,
        step=7,
        draw=lambda: draws.append(1) or _labelled(),
    )
    losses = Conditional().step(parts, _labelled())
    assert len(draws) == 2 and loss.steps_seen == [
        7,
        7,
        7,
    ]  # three D steps, two of them on new batches
    assert len(loss.penalties) == 3 and all(
        c[0].shape == c[1].shape == (4, 3) for c in loss.penalties
    )
    assert math.isfinite(losses["d_loss"].item()) and all(p.requires_grad for p in d.parameters())
