"""Studies from registry.toml, sweeps on the command line, --dry-run and report --study."""

import json
import math
import os

import pytest
import torch
from conftest import query

from ganbench import GanbenchError
from ganbench.api.parts import sample_noise
from ganbench.config.defaults import default_components
from ganbench.config.studies import expand, plan, study_names
from ganbench.engine.launch import count
from ganbench.plugins.manager import registry
from ganbench_plugins.bce import NonSaturatingBCE

PUBLISHED = [
    (name, arm) for name in study_names() for arm in plan([f"study={name}"]) if arm.published
]


def test_every_study_but_the_demo_has_published_counts():
    assert {name for name, _ in PUBLISHED} == set(study_names()) - {
        "demo",
        "translation-demo",
        "ugatit001-cam-digits",
    }


@pytest.mark.parametrize("study, arm", PUBLISHED, ids=[f"{n}: {a.label}" for n, a in PUBLISHED])
def test_every_arm_matches_the_published_parameter_counts_within_one_percent(study, arm):
    counts = count(arm, registry(), default_components())
    assert {k.removesuffix("_params") for k in arm.published} <= set(counts)
    for key, published in arm.published.items():
        built = counts[key.removesuffix("_params")]
        if arm.params_note:  # a count further off says why, naming both numbers
            assert f"{built:,}" in arm.params_note and f"{published:,}" in arm.params_note
        else:
            assert built == pytest.approx(published, rel=0.01)


def test_the_fair_studies_build_cumulatively_on_the_fair_protocol():
    arms = {a.label: a.overrides for a in plan(["study=fair-1-3b"])}
    noise = arms["+ real-label noise"]
    assert (noise["batch"], noise["steps"], noise["noise"], noise["eval_fake"]) == (
        "32",
        "50000",
        "uniform",
        "1000",
    )
    assert noise["g_kernel"] == "3" and noise["d_kernel"] == "4" and noise["g_filters"] == "0.5"
    assert (
        noise["plugins"] == "dcgan,folder,rmsprop,resnet_tail,d_stem"
        and noise["real_label_noise"] == "0.2"
    )


def test_dry_run_prints_the_fairs_six_kernel_arms(invoke):
    result = invoke("run", "study=fair-1-2b", "--dry-run")
    assert result.exit_code == 0, result.output
    for label, g in [
        ("5x5 / 5x5", "5,127,171"),
        ("5x5 / 2x2", "1,510,467"),
        ("3x3 / 3x3", "2,371,587"),
    ]:
        line = next(line for line in result.output.splitlines() if label in line)
        assert g in line
    assert sum("x" in line and "/" in line for line in result.output.splitlines()) == 6


def test_sweeps_expand_to_the_cartesian_product():
    arms = expand({"g_lr": "choice(1e-4,2e-4)", "res": "range(16,49,16)", "batch": "4"})
    assert [label for label, _ in arms] == [
        f"g_lr={g} res={r}" for g in ("1e-4", "2e-4") for r in (16, 32, 48)
    ]
    assert all(values["batch"] == "4" for _, values in arms)
    assert [a.label for a in plan(["plugins=dcgan", "seed_free=1"])] == [None]


@pytest.mark.parametrize(
    "override, message",
    [
        ("res=range(1,x)", "'x' is not an integer"),
        ("res=range(5,1)", "the range is empty"),
        ("res=range(1,2,3,4)", "range takes start,stop"),
        ("g_lr=choice()", "give at least one value"),
    ],
)
def test_bad_sweeps_say_how_to_write_them(override, message):
    with pytest.raises(GanbenchError, match=message.replace("(", r"\(")):
        plan([override])


def test_unknown_study_lists_the_valid_ones(invoke):
    result = invoke("run", "study=fair-1-2c")
    assert (
        result.exit_code == 2
        and "unknown study 'fair-1-2c'" in result.output
        and "fair-1-2b" in result.output
    )


def test_a_study_on_missing_data_names_the_data_before_anything_runs(
    invoke, db, monkeypatch, tmp_path
):
    monkeypatch.delenv("GANBENCH_CELEBA_HQ", raising=False)
    result = invoke("run", "study=fair-1-1a")
    assert result.exit_code == 2
    assert "study fair-1-1a, arm 'D 2e-4 / G 2e-4', trains on CelebA-HQ faces" in result.output
    assert "set GANBENCH_CELEBA_HQ to its folder, or pass data_dir=PATH" in result.output
    monkeypatch.setenv("GANBENCH_CELEBA_HQ", str(tmp_path))
    result = invoke("run", "study=fair-1-4")
    assert result.exit_code == 2 and "arm 'shoes', trains on UT Zappos50K shoes" in result.output
    assert "GANBENCH_ZAPPOS50K" in result.output
    assert not os.path.exists(db.removeprefix("sqlite:///"))  # not even the database was opened


TINY_STUDY = """
[defaults]
generator = "dcgan"
discriminator = "dcgan"
loss = "bce"
optimizer = "adam"
dataset = "mnist5k"
scheme = "alternating"
metrics = ""

[studies.tiny]
base = ["res=16", "batch=4", "filters=0.0625", "steps=3", "log_every=1"]
arms = [
  {label = "plain", overrides = []},
  {label = "tail", overrides = ["plugins=dcgan,resnet_tail"]},
]
"""


def test_a_study_runs_every_arm_and_seed_and_reports_alone(invoke, db, tmp_path, monkeypatch):
    toml = tmp_path / "registry.toml"
    toml.write_text(TINY_STUDY)
    monkeypatch.setenv("GANBENCH_REGISTRY", str(toml))
    assert (
        invoke("run", "res=16", "batch=4", "filters=0.0625", "--steps", "2").exit_code == 0
    )  # not in the study
    result = invoke("run", "study=tiny", "--seeds", "2", "g_lr=choice(1e-4,2e-4)")
    assert result.exit_code == 0, result.output
    assert query(db, "select label, seed from runs where study = 'tiny' order by id") == [
        (f"{arm} g_lr={lr}", seed)
        for arm in ("plain", "tail")
        for lr in ("1e-4", "2e-4")
        for seed in (0, 1)
    ]
    table = json.loads(invoke("report", "--study", "tiny", "--format", "json").output)
    assert [(row["group"], row["runs"]) for row in table] == [
        ("plain g_lr=1e-4", 2),
        ("plain g_lr=2e-4", 2),
        ("tail g_lr=1e-4", 2),
        ("tail g_lr=2e-4", 2),
    ]
    missing = invoke("report", "--study", "nope")
    assert missing.exit_code == 2 and "no runs of study 'nope'" in missing.output


def test_bce_against_values_computed_by_hand():
    loss = NonSaturatingBCE()
    real, fake = torch.tensor([2.0]), torch.tensor([-1.0])
    # softplus(-2) + softplus(-1) = log(1 + e^-2) + log(1 + e^-1)
    assert loss.d_loss(real, fake).item() == pytest.approx(
        math.log1p(math.exp(-2)) + math.log1p(math.exp(-1))
    )
    assert loss.g_loss(fake).item() == pytest.approx(math.log1p(math.exp(1)))


def test_real_label_noise_fades_out_by_its_step():
    torch.manual_seed(0)
    noisy, plain = NonSaturatingBCE(label_noise=0.2, until=2000), NonSaturatingBCE()
    real, fake = torch.full((4096,), 3.0), torch.zeros(4096)
    assert noisy.d_loss(real, fake, step=2000).item() == pytest.approx(
        plain.d_loss(real, fake).item()
    )
    early = noisy.d_loss(real, fake, step=0).item()
    # targets 1 - |N(0, 0.2)| with mean 1 - 0.2 * sqrt(2 / pi): loss rises by E[1 - t] * 3 for logit 3
    expected = plain.d_loss(real, fake).item() + 0.2 * math.sqrt(2 / math.pi) * 3
    assert early == pytest.approx(expected, rel=0.02)
    targets = noisy.real_targets(real, 1000)
    assert targets.max() <= 1 and targets.min() > 0.4


@pytest.mark.parametrize(
    "name, mean, std, low",
    [
        ("normal", 0, 1, None),
        ("uniform", 0.5, math.sqrt(1 / 12), 0.0),
        ("normal004", 0, math.sqrt(math.exp(-1 / math.pi)), None),
    ],
)
def test_noise_distributions(name, mean, std, low):
    z = sample_noise(name, 20000, 100, torch.Generator().manual_seed(0))
    assert z.mean().item() == pytest.approx(mean, abs=0.01) and z.std().item() == pytest.approx(
        std, rel=0.01
    )
    if low is not None:
        assert z.min() >= 0 and z.max() < 1


@pytest.mark.parametrize(
    "extra",
    [
        ["plugins=dcgan,d_stem"],
        ["plugins=dcgan,d_stem", "stem_kernel=4"],
        ["plugins=dcgan,resnet_tail", "tail_widths=8,4"],
        ["plugins=dcgan,resnet_tail", "tail_skip=false"],
        ["real_label_noise=0.2", "label_noise_until=2"],
        ["noise=uniform"],
        ["noise=normal004"],
        ["plugins=dcgan,rmsprop"],
        ["plugins=dcgan,sgd", "momentum=0.9"],
        ["d_min_width=8"],
    ],
)
def test_each_component_trains_three_steps_with_finite_losses(invoke, db, extra):
    result = invoke(
        "run",
        "res=16",
        "batch=4",
        "filters=0.0625",
        "metrics=",
        "log_every=1",
        *extra,
        "--steps",
        "3",
    )
    assert result.exit_code == 0, result.output
    losses = query(db, "select value from metrics where name in ('d_loss', 'g_loss')")
    assert len(losses) == 6 and all(math.isfinite(v) for (v,) in losses)
