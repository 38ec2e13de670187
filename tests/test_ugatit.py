"""U-GAT-IT (report 001): LIN, AdaLIN and soft AdaLIN against values worked out by hand, CAM's
re-weighting, the clipping of rho and the soft-AdaLIN weights, the loss weights, the options
that ablate its parts, the parameter counts beside report 001's, and the CPU-sized CAM study
run from the command line with its report and page."""

import math
from types import SimpleNamespace

import pytest
import torch
from conftest import query
from torch import nn

from ganbench import GanbenchError, Parts
from ganbench.config.defaults import default_components
from ganbench.config.spec import resolve
from ganbench.engine.build import build
from ganbench.plugins.manager import registry
from ganbench_plugins.losses import LeastSquares
from ganbench_plugins.ugatit import UGATIT, cam_loss
from ganbench_plugins.ugatit_nets import (
    CAM,
    LIN,
    AdaLIN,
    Hourglass,
    SoftAdaLIN,
    Translation,
    Verdict,
    clip_mixing,
    ugatit_discriminator,
    ugatit_generator,
)

# One image, two channels of 2x2: channel 0 is 1 2 / 3 4, channel 1 is 0 0 / 0 4.
X = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 0.0], [0.0, 4.0]]]])


def _by_hand(rho):
    """rho * IN + (1 - rho) * LN of X, worked out with unbiased variances (n - 1), as U-GAT-IT does."""
    eps = 1e-5
    # IN: channel 0 has mean 2.5 and variance (1.5² + 0.5² + 0.5² + 1.5²) / 3 = 5/3;
    # channel 1 has mean 1 and variance (1 + 1 + 1 + 9) / 3 = 4.
    instance = [
        [(v - 2.5) / math.sqrt(5 / 3 + eps) for v in (1, 2, 3, 4)],
        [(v - 1.0) / math.sqrt(4 + eps) for v in (0, 0, 0, 4)],
    ]
    # LN: all eight values, mean 14/8 = 1.75, variance sum((v - 1.75)²) / 7.
    values = (1, 2, 3, 4, 0, 0, 0, 4)
    var = sum((v - 1.75) ** 2 for v in values) / 7
    layer = [
        [(v - 1.75) / math.sqrt(var + eps) for v in row] for row in ((1, 2, 3, 4), (0, 0, 0, 4))
    ]
    return [
        [r * i + (1 - r) * ln for i, ln in zip(ins, lns)]
        for r, ins, lns in zip(rho, instance, layer)
    ]


def _close(tensor, rows, abs=1e-5):
    """The tensor's values equal the rows (one per channel) of expected values."""
    return tensor.flatten().tolist() == pytest.approx([v for row in rows for v in row], abs=abs)


def _set(param, values):
    with torch.no_grad():
        param.copy_(torch.as_tensor(values, dtype=param.dtype).reshape(param.shape))


def test_lin_mixes_instance_and_layer_norm_with_its_learned_gamma_and_beta():
    lin = LIN(2)
    _set(lin.rho, [0.3, 1.0])
    _set(lin.gamma, [2.0, 1.0])
    _set(lin.beta, [0.0, -1.0])
    mixed = _by_hand([0.3, 1.0])
    expected = [[2 * v for v in mixed[0]], [v - 1 for v in mixed[1]]]
    assert _close(lin(X), expected)


def test_lin_starts_as_layer_norm():
    assert _close(LIN(2)(X), _by_hand([0.0, 0.0]))


def test_adalin_takes_gamma_and_beta_per_image():
    norm = AdaLIN(2)
    assert norm.rho.flatten().tolist() == pytest.approx([0.9, 0.9])  # U-GAT-IT's start
    gamma, beta = torch.tensor([[3.0, 0.5], [1.0, 1.0]]), torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    out = norm(torch.cat([X, X]), gamma, beta)
    mixed = _by_hand([0.9, 0.9])
    assert _close(out[:1], [[3 * v + 1 for v in mixed[0]], [0.5 * v for v in mixed[1]]])
    assert _close(out[1:], [mixed[0], [v + 2 for v in mixed[1]]])


def _constant(module, value):
    """A linear layer (or an MLP's last one) that gives `value` per channel whatever its input."""
    last = module[-1] if isinstance(module, nn.Sequential) else module
    _set(last.weight, torch.zeros_like(last.weight))
    _set(last.bias, value)


def test_soft_adalin_mixes_style_and_content_gamma_and_beta_by_its_weights():
    norm = SoftAdaLIN(2)
    _set(norm.norm.rho, [0.5, 0.2])
    _constant(norm.style_gamma, [2.0, 4.0])
    _constant(norm.content_gamma, [6.0, 0.0])
    _constant(norm.style_beta, [1.0, 1.0])
    _constant(norm.content_beta, [-3.0, 5.0])
    _set(norm.w_gamma, [0.25, 0.5])
    _set(norm.w_beta, [1.0, 0.0])
    gamma = [0.75 * 2 + 0.25 * 6, 0.5 * 4 + 0.5 * 0]  # (1 - w) * style + w * content
    beta = [-3.0, 1.0]  # w_beta 1 takes content's, 0 style's
    mixed = _by_hand([0.5, 0.2])
    out = norm(X, content=torch.randn(1, 2), style=torch.randn(1, 2))
    assert _close(out, [[gamma[c] * v + beta[c] for v in mixed[c]] for c in (0, 1)])


def test_soft_adalin_starts_with_the_style_alone():
    norm = SoftAdaLIN(2)
    assert norm.w_gamma.abs().sum() == 0 and norm.w_beta.abs().sum() == 0
    _constant(norm.style_gamma, [1.0, 1.0])
    _constant(norm.style_beta, [0.0, 0.0])
    assert _close(norm(X, torch.randn(1, 2), torch.randn(1, 2)), _by_hand([0.9, 0.9]))


def test_cam_reweights_features_by_each_logits_weights():
    cam = CAM(2, nn.ReLU(), bias=True)
    _set(cam.avg_fc.weight, [2.0, -1.0])
    _set(cam.avg_fc.bias, [0.5])
    _set(cam.max_fc.weight, [0.0, 3.0])
    _set(cam.max_fc.bias, [-1.0])
    # join: out 0 = avg-weighted channel 0, out 1 = max-weighted channel 1 minus avg-weighted channel 1
    join = torch.zeros(2, 4, 1, 1)
    join[0, 0], join[1, 3], join[1, 1] = 1.0, 1.0, -1.0
    _set(cam.join.weight, join)
    _set(cam.join.bias, [0.0, 0.0])
    features, logits, heatmap = cam(X)
    # means (2.5, 1), maxima (4, 4)
    assert logits.flatten().tolist() == pytest.approx([2 * 2.5 - 1 * 1 + 0.5, 0 * 4 + 3 * 4 - 1])
    channel0 = [2 * v for v in (1, 2, 3, 4)]  # x0 * 2
    channel1 = [max(0.0, 3 * v - (-1) * v) for v in (0, 0, 0, 4)]  # relu(x1 * 3 - x1 * -1)
    assert _close(features, [channel0, channel1])
    assert heatmap.flatten().tolist() == pytest.approx([a + b for a, b in zip(channel0, channel1)])


def test_cam_loss_wants_1_for_images_to_translate_and_0_for_the_rest():
    zero = torch.zeros(1, 2)
    assert cam_loss(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert cam_loss(torch.full((1, 2), 20.0), torch.full((1, 2), -20.0)).item() < 1e-8
    assert cam_loss(torch.full((1, 2), -20.0), torch.full((1, 2), 20.0)).item() > 39


class StubG(nn.Module):
    """Gives back its input, with CAM logits of +20 for inputs of the domain it translates from
    (told by the sign of their mean) and -20 for the others."""

    def __init__(self, away_sign):
        super().__init__()
        self.away_sign = away_sign

    def forward(self, x):
        logit = 20.0 * self.away_sign * x.mean((1, 2, 3)).sign()
        return Translation(x, torch.stack([logit, logit], 1), x)


class StubD(nn.Module):
    def forward(self, x):
        return Verdict(torch.zeros(len(x), 1, 2, 2), torch.zeros(len(x), 2), x)


def test_each_generator_is_told_which_images_it_translates_and_every_d_output_is_judged():
    nets = {
        "g_ab": StubG(+1),
        "g_ba": StubG(-1),
        **{name: StubD() for name in UGATIT.networks if name.startswith("d_")},
    }
    parts = Parts(nets, {}, LeastSquares(), torch.Generator())
    scheme = UGATIT()
    scheme.cfg = SimpleNamespace(
        adv_weight=1.0, cycle_weight=1.0, identity_weight=1.0, cam_weight=1.0
    )
    real_a, real_b = (
        torch.ones(2, 1, 4, 4),
        -torch.ones(2, 1, 4, 4),
    )  # A's images are bright, B's dark
    total, terms = scheme.g_losses(parts, real_a, real_b)
    assert (
        terms["cam_loss"].item() < 1e-7
    )  # each CAM says 1 for what it translates, 0 for its own domain
    assert terms["cycle_loss"].item() == 0 and terms["identity_loss"].item() == 0
    assert terms["adv_loss"].item() == pytest.approx(
        8 * 0.5
    )  # maps and CAM logits of four Ds, lsgan's ½(0 - 1)²
    # D: real against 1, fake against 0, on each of a domain's two maps and two CAM logits
    assert scheme.d_loss(parts, "a", real_a, real_a).item() == pytest.approx(4 * 0.5 * (1 + 0))


def _gen_cfg(**changes):
    base = dict(channels=1, res=32, ch=8, n_res=2, light=True, soft_adalin=True, hourglass=True)
    return SimpleNamespace(**{**base, **changes})


def test_clip_mixing_clips_only_rho_and_the_soft_adalin_weights():
    g = ugatit_generator(_gen_cfg())
    norms = [m for m in g.modules() if isinstance(m, (SoftAdaLIN, LIN))]
    assert len(norms) == 2 * 2 + 2  # two per decoder block, one per up-sampling
    with torch.no_grad():
        for m in norms:
            for p in m.parameters():
                p.fill_(1.7)
        norms[0].w_gamma.fill_(-0.4)
        norms[-1].rho[0, 0] = 0.3
    clip_mixing(g)
    assert norms[0].w_gamma.max().item() == 0.0
    assert norms[0].w_beta.min().item() == 1.0 and norms[0].norm.rho.min().item() == 1.0
    assert norms[-1].rho.flatten().tolist() == pytest.approx([0.3] + [1.0] * 7)
    assert norms[-1].gamma.min().item() == pytest.approx(
        1.7
    )  # LIN's gamma and beta are not mixing weights
    assert norms[0].style_gamma.bias.min().item() == pytest.approx(1.7)


TINY_UGATIT = [
    "plugins=ugatit,digit_styles",
    "res=32",
    "ch=8",
    "n_res=1",
    "global_layers=4",
    "local_layers=3",
    "batch=2",
    "metrics=",
]


def _experiment(workdir, *overrides):
    config = resolve([*TINY_UGATIT, *overrides], registry(), default_components())
    return build(config, registry(), torch.device("cpu"), 0, workdir / "cache")


def _mixing(exp, name):
    return [
        p
        for m in exp.parts.nets[name].modules()
        if isinstance(m, (SoftAdaLIN, LIN, AdaLIN))
        for p in m.mixing_weights()
    ]


def test_a_training_step_clips_what_it_pushed_out_of_range(workdir):
    exp = _experiment(workdir, "g_lr=0.01")
    with torch.no_grad():
        for name in ("g_ab", "g_ba"):
            for weight in _mixing(exp, name):
                weight.fill_(3.0)
    batch = exp.data.sample(2, exp.parts.rng)
    exp.scheme.step(exp.parts, batch)
    for name in ("g_ab", "g_ba"):
        values = torch.cat([w.flatten() for w in _mixing(exp, name)])
        assert values.max().item() == 1.0 and values.min().item() >= 0.0


def _eval_losses(exp, batch):
    for net in exp.parts.nets.values():
        net.eval()  # spectral norm's power iteration then leaves D unchanged between calls
    with torch.no_grad():
        return exp.scheme.g_losses(exp.parts, batch.real, batch.other)


def test_g_loss_weighs_each_term_by_its_option(workdir):
    exp = _experiment(
        workdir, "adv_weight=3", "cycle_weight=5", "identity_weight=7", "cam_weight=1000"
    )
    batch = exp.data.sample(2, exp.parts.rng)
    total, terms = _eval_losses(exp, batch)
    assert terms["cam_loss"].item() > 0.1
    expected = (
        3 * terms["adv_loss"]
        + 5 * terms["cycle_loss"]
        + 7 * terms["identity_loss"]
        + 1000 * terms["cam_loss"]
    )
    assert total.item() == pytest.approx(expected.item(), rel=1e-5)
    exp.scheme.cfg.cam_weight = 0.0
    without, _ = _eval_losses(exp, batch)
    assert total.item() - without.item() == pytest.approx(1000 * terms["cam_loss"].item(), rel=1e-4)


def test_the_scheme_builds_global_and_local_discriminators_per_domain(workdir):
    exp = _experiment(workdir)
    layers = {
        name: exp.parts.nets[name].config.n_layers
        for name in exp.parts.nets
        if name.startswith("d_")
    }
    assert layers == {"d_a_global": 4, "d_a_local": 3, "d_b_global": 4, "d_b_local": 3}
    assert len(exp.parts.opts) == 6


def test_the_options_ablate_soft_adalin_the_hourglass_and_light():
    plain = ugatit_generator(_gen_cfg(soft_adalin=False, hourglass=False, light=False))
    assert not any(isinstance(m, (SoftAdaLIN, Hourglass)) for m in plain.modules())
    assert sum(isinstance(m, AdaLIN) for m in plain.modules()) == 2 * 2
    assert (
        plain.style[0].in_features == 4 * 8 * 8 * 8
    )  # every feature of the 8x8 map, not their averages
    out = plain(torch.randn(2, 1, 32, 32))
    assert (
        out.image.shape == (2, 1, 32, 32)
        and out.cam_logit.shape == (2, 2)
        and out.heatmap.shape == (2, 1, 8, 8)
    )
    soft = ugatit_generator(_gen_cfg())
    assert sum(isinstance(m, Hourglass) for m in soft.modules()) == 4
    assert soft.style[0].in_features == 4 * 8


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"res": 40}, "multiple of 16 and 32 or more"),
        ({"ch": 6}, "multiple of 4"),
    ],
)
def test_a_generator_that_cannot_be_built_says_why(changes, words):
    with pytest.raises(GanbenchError, match=words):
        ugatit_generator(_gen_cfg(**changes))


def test_a_discriminator_too_deep_for_the_resolution_names_the_option_and_the_most_it_takes():
    cfg = SimpleNamespace(channels=1, res=32, ch=8, global_layers=7, local_layers=3)
    with pytest.raises(
        GanbenchError, match=r"global_layers=7 needs res of at least 96.*at most 5 layers"
    ):
        ugatit_discriminator(cfg)


def test_scheme_ugatit_refuses_a_generator_without_cam(invoke):
    result = invoke(
        "run",
        "plugins=ugatit,digit_styles,unet",
        "res=32",
        "ngf=8",
        "ch=8",
        "global_layers=4",
        "local_layers=3",
        "batch=2",
        "metrics=",
        "--steps",
        "1",
    )
    assert result.exit_code == 2
    assert "returns a Tensor" in result.output and "Traceback" not in result.output


def test_the_dry_run_shows_the_true_count_beside_report_001s(invoke, monkeypatch):
    monkeypatch.delenv("GANBENCH_FACES", raising=False)
    result = invoke("run", "study=ugatit001-cam", "--dry-run")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.strip().startswith("CAM ")]
    assert len(rows) == 2
    for row in rows:
        assert row.split()[2:6] == ["3,831,079", "3,770,375", "+1.61", "3,831,079"]
        assert "13,294,048" in row and "826,080" in row  # photo2cartoon's global and local D
    assert "57,344" in result.output and "3,360" in result.output


def test_the_cpu_cam_study_trains_both_arms_and_reports_them(invoke, db, tmp_path):
    quick = [
        "--steps",
        "4",
        "eval_every=1",
        "eval_real=40",
        "eval_fake=40",
        "sample_every=2",
        "stop_patience=2",
        "stop_tolerance=1e9",
    ]  # nothing counts as better: the rule ends both at step 3
    result = invoke("run", "study=ugatit001-cam-digits", *quick)
    assert result.exit_code == 0, result.output
    assert query(db, "select label, status, steps_done from runs order by id") == [
        ("CAM 1000", "completed", 3),
        ("CAM 0", "completed", 3),
    ]
    assert [step for (step,) in query(db, "select step from early_stops order by run_id")] == [3, 3]
    report = invoke("report", "--format", "csv", "--study", "ugatit001-cam-digits")
    table = report.output
    for column in (
        "min_mnist_fd_ab",
        "min_mnist_fd_ba",
        "g_ab_params",
        "d_a_global_params",
        "d_b_local_params",
        "stopped_at",
        "stop_reasons",
    ):
        assert column in table.splitlines()[0]
    assert "did not beat its best" in table
    page = invoke("report", "--study", "ugatit001-cam-digits", "--html", str(tmp_path / "page"))
    assert page.exit_code == 0, page.output
    html = next((tmp_path / "page").glob("ugatit001-cam-digits*.html")).read_text()
    assert html.count("G&#39;s CAM heat map") + html.count("G's CAM heat map") == 2  # one per arm
    assert "stopped early" in html
