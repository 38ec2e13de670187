"""Every hook is documented (docstring and docs/plugins.md with its signature) and tested,
and a plugin can supply every kind of component at once."""

import inspect
import json
from pathlib import Path

import pytest
import torch
from conftest import query
from torch import nn

from ganbench import ImageSet, hookimpl
from ganbench.api import hookspecs
from ganbench.plugins.manager import EVENTS, HOOKS

ROOT = Path(__file__).resolve().parents[1]
SPECS = [
    f
    for name, f in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(f, "ganbench_spec")
]


def test_every_hook_is_a_kind_or_a_run_event():
    assert sorted(f.__name__ for f in SPECS) == sorted([*HOOKS.values(), *EVENTS])


def shown(spec):
    """A hook's signature with its types as docs/plugins.md writes it: `name(a: T, ...) -> R`
    (hookspecs.py's annotations are strings, `from __future__ import annotations`)."""
    signature = inspect.signature(spec)
    arguments = ", ".join(f"{p.name}: {p.annotation}" for p in signature.parameters.values())
    return f"{spec.__name__}({arguments}) -> {signature.return_annotation}"


@pytest.mark.parametrize("spec", SPECS, ids=lambda f: f.__name__)
def test_every_hook_has_a_docstring_and_is_documented_with_its_signature(spec):
    assert (spec.__doc__ or "").strip()
    signature = inspect.signature(spec)
    unannotated = [
        p.name for p in signature.parameters.values() if p.annotation is inspect.Parameter.empty
    ]
    assert not unannotated and signature.return_annotation == "None"
    docs = (ROOT / "docs" / "plugins.md").read_text()
    assert f"### {shown(spec)}\n" in docs


@pytest.mark.parametrize("spec", SPECS, ids=lambda f: f.__name__)
def test_every_hook_is_implemented_by_a_test_plugin(spec):
    tests = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    assert f"def {spec.__name__}(" in tests


class MLPGenerator(nn.Module):
    """Not a Staged network: the core must not care how a generator is built."""

    def __init__(self, cfg):
        super().__init__()
        self.shape = (cfg.channels, cfg.res, cfg.res)
        self.net = nn.Sequential(
            nn.Linear(cfg.z_dim, 64), nn.ReLU(), nn.Linear(64, cfg.channels * cfg.res**2), nn.Tanh()
        )

    def forward(self, z, cond=None):
        return self.net(z).view(-1, *self.shape)


class MLPDiscriminator(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(cfg.channels * cfg.res**2, 1), nn.Flatten(0)
        )

    def forward(self, x, cond=None):
        return self.net(x)


class Everything:
    """A third-party plugin giving a generator, a discriminator, an optimizer and a data set."""

    built = []

    @hookimpl
    def register_generators(self, register):
        register("mlp", MLPGenerator)

    @hookimpl
    def register_discriminators(self, register):
        register("mlp", MLPDiscriminator)

    @hookimpl
    def register_optimizers(self, register):
        def adagrad(params, lr, cfg):
            Everything.built.append(lr)
            return torch.optim.Adagrad(params, lr)

        register("adagrad", adagrad)

    @hookimpl
    def register_datasets(self, register):
        def stripes(cfg):
            images = torch.zeros(10, 3, cfg.res, cfg.res, dtype=torch.uint8)
            images[:, :, ::2] = 255
            return ImageSet(images)

        register("stripes", stripes)


def test_a_plugin_can_replace_every_kind(register_plugin, invoke, db):
    register_plugin(Everything(), name="everything")
    result = invoke(
        "run",
        "plugins=mlp,adagrad,stripes",
        "res=8",
        "batch=4",
        "g_lr=0.01",
        "d_lr=0.02",
        "metrics=",
        "--steps",
        "3",
        "log_every=1",
    )
    assert result.exit_code == 0, result.output
    # the memory estimate steps the optimizer once on a stand-in parameter, before the run
    assert Everything.built[-2:] == [0.01, 0.02] and set(Everything.built) == {0.01, 0.02}
    ((g_params, d_params, config),) = query(db, "select g_params, d_params, config from runs")
    assert g_params == 100 * 64 + 64 + 64 * 192 + 192 and d_params == 192 + 1
    assert json.loads(config)["components"]["dataset"] == "stripes"


def test_a_modifier_that_needs_stages_refuses_other_generators(register_plugin, invoke):
    register_plugin(Everything(), name="everything")
    result = invoke("run", "plugins=mlp,resnet_tail,stripes", "res=8", "metrics=", "--steps", "1")
    assert (
        result.exit_code == 2
        and "resnet_tail replaces a generator's last up-sampling stages" in result.output
    )


class HalfSize(MLPGenerator):
    def forward(self, z, cond=None):
        return super().forward(z)[..., ::2, ::2]


def test_a_generator_of_the_wrong_shape_is_caught_before_anything_is_recorded(
    register_plugin, invoke, db
):
    register_plugin(Everything(), name="everything")

    class Half:
        @hookimpl
        def register_generators(self, register):
            register("half", HalfSize)

    register_plugin(Half(), name="half")
    result = invoke("run", "plugins=half,mlp_d,stripes", "res=8", "--steps", "1")
    assert result.exit_code == 2 and "unknown plugin 'mlp_d'" in result.output
    result = invoke("run", "plugins=half,stripes", "res=8", "metrics=", "--steps", "1")
    assert result.exit_code == 2
    assert (
        "the generator makes images of shape (3, 4, 4), the data set has (3, 8, 8)" in result.output
    )
    assert query(db, "select count(*) from runs") == [(0,)]


def missing_from_catalog():
    """ganbench's own components and studies that docs/catalog.md does not name; a third
    party's installed components are theirs to document."""
    from ganbench.config.studies import study_names
    from ganbench.plugins.manager import registry

    catalog = (ROOT / "docs" / "catalog.md").read_text()
    own = [c for c in registry() if c.source.package == "ganbench"]
    assert len(own) > 30
    return [c.name for c in own if f"`{c.name}`" not in catalog] + [
        s for s in study_names() if f"`{s}`" not in catalog
    ]


def test_every_component_and_study_is_in_the_catalog():
    assert missing_from_catalog() == []


def test_the_catalog_check_holds_with_a_third_party_plugin_installed(register_plugin):
    class Elsewhere:
        @staticmethod
        @hookimpl
        def register_losses(register):
            register("someone_elses_loss", lambda cfg: None)

    register_plugin(Elsewhere, name="elsewhere")
    assert missing_from_catalog() == []
