"""The contracts a plugin author implements (ganbench.api.contracts) are each documented in
docs/plugins.md with every member; `register` keeps one checked record per component and
refuses what it does not know in one line naming the plugin; facts are stated once."""

import dataclasses
import inspect
import re
from pathlib import Path

import pytest
import torch

import ganbench.api
from ganbench import hookimpl
from ganbench.api import contracts
from ganbench.api.loss import Adapted, Loss, as_loss
from ganbench.api.scheme import Scheme
from ganbench.errors import GanbenchError
from ganbench.plugins.manager import registry
from ganbench.plugins.registry import KEYWORDS, Source, record

DOCS = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
CONTRACTS = [
    getattr(contracts, name)
    for name in contracts.__all__
    if inspect.isclass(getattr(contracts, name))
    and (
        getattr(getattr(contracts, name), "_is_protocol", False)
        or inspect.isabstract(getattr(contracts, name))
    )
]


def section(name):
    """The text under the heading of docs/plugins.md that names `name` in backticks, up to the
    next heading of its level or above."""
    lines = DOCS.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#") and f"`{name}`" in line)
    level = len(lines[start]) - len(lines[start].lstrip("#"))
    end = next(
        (
            i
            for i in range(start + 1, len(lines))
            if lines[i].startswith("#") and len(lines[i]) - len(lines[i].lstrip("#")) <= level
        ),
        len(lines),
    )
    return "\n".join(lines[start:end])


def members(cls):
    """The public methods, properties and declared attributes a class itself defines, and the
    arguments of its `__call__`."""
    own = [
        name
        for name, value in vars(cls).items()
        if not name.startswith("_") and (inspect.isfunction(value) or isinstance(value, property))
    ]
    own += [name for name in vars(cls).get("__annotations__", {}) if not name.startswith("_")]
    if "__call__" in vars(cls):
        own += [p for p in inspect.signature(cls.__call__).parameters if p != "self"]
    return own


def test_there_is_a_contract_for_every_kind_a_plugin_implements():
    names = {cls.__name__ for cls in CONTRACTS}
    builds = {"Generator", "Discriminator", "Modifier", "Loss", "Optimizer", "Dataset"}
    assert {f"{kind}Build" for kind in builds | {"Scheme", "Metric", "Tracker"}} <= names
    assert {"Loss", "Scheme", "Metric", "FeatureSpace"} <= names
    assert inspect.isabstract(Loss) and inspect.isabstract(Scheme)


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda cls: cls.__name__)
def test_every_contract_and_its_members_are_documented(contract):
    assert (contract.__doc__ or "").strip()
    text = section(contract.__name__)
    missing = [
        name for name in members(contract) if not re.search(rf"`{name}\b|\b{name}[:=]", text)
    ]
    assert not missing, f"docs/plugins.md's section on {contract.__name__} lacks {missing}"


def test_ganbench_api_exports_the_contracts():
    assert sorted(ganbench.api.__all__) == sorted(contracts.__all__)
    assert all(
        getattr(ganbench.api, name) is getattr(contracts, name) for name in contracts.__all__
    )


def test_a_scheme_must_implement_its_step():
    class NoStep(Scheme):
        pass

    class OneStep(Scheme):
        def step(self, parts, batch):
            return {}

    with pytest.raises(TypeError, match="step"):
        NoStep()
    assert OneStep().networks == {"g": "generator", "d": "discriminator"}


def test_a_plain_loss_is_adapted_once_and_keeps_its_calls():
    class Plain:
        sees_real = True

        def d_loss(self, real, fake, step=0):
            return real - fake + step

        def g_loss(self, fake, real=None):
            return fake if real is None else fake - real

    loss = as_loss(Plain())
    assert isinstance(loss, Adapted) and loss.sees_real and not loss.uses_step
    one = torch.tensor(1.0)
    assert loss.d_loss(one, one, step=2) == 2 and loss.g_loss(one, real=one) == 0
    assert loss.penalty(None, one, one) is None and loss.mismatch_loss is None


def test_a_metric_without_the_base_class_is_read_through_it():
    class Duck:
        space, needs_real, report = object(), False, {"duck": "max"}

        def score(self, real, fake):
            return {"duck": 1.0}

    class Typed(contracts.Metric):
        space, needs_real, report, extra = object(), True, {"typed": "min"}, ("typed_std",)

        def score(self, real, fake):
            return {"typed": 0.0, "typed_std": 0.0}

    duck, typed = contracts.as_metric(Duck()), Typed()
    assert (
        duck.extra == ()
        and duck.fingerprint(10, 20) == {}
        and duck.score(None, {}) == {"duck": 1.0}
    )
    assert contracts.as_metric(typed) is typed and typed.fingerprint(1, 2) == {}


AT_RUN_TIME = Source("acme", "(registered at runtime)", "unknown")
INSTALLED = Source("acme", "acme-gan", "0.1.0")


def test_an_unknown_keyword_is_refused_naming_the_plugin_its_package_and_the_valid_ones():
    with pytest.raises(GanbenchError) as caught:
        record("generator", "acme_g", lambda cfg: None, INSTALLED, conditional=True)
    assert str(caught.value) == (
        "plugin 'acme' (package acme-gan) registers generator 'acme_g' with unknown keyword "
        "'conditional'; a generator's register takes name, build, options, help, defaults, input"
    )


def test_a_misspelled_keyword_or_one_of_another_kind_is_refused():
    with pytest.raises(
        GanbenchError,
        match=r"dataset 'acme_d' with unknown keyword 'chanels' \(did you mean 'channels'",
    ):
        record("dataset", "acme_d", lambda cfg: None, AT_RUN_TIME, chanels=1)
    with pytest.raises(
        GanbenchError,
        match="^plugin 'acme' registers loss 'acme_l' with unknown keyword 'channels'",
    ):
        record("loss", "acme_l", lambda cfg: None, AT_RUN_TIME, channels=1)


@pytest.mark.parametrize(
    "kind, given, said",
    [
        ("modifier", {}, "without target=; give target='generator' or 'discriminator'"),
        (
            "modifier",
            {"target": "loss"},
            "with target='loss'; give target= one of generator, discriminator",
        ),
        ("generator", {"input": "text"}, "with input='text'; give input= one of noise, image"),
        ("dataset", {"domains": 3}, "with domains=3; give 1, 2 or (1, 2)"),
    ],
)
def test_a_value_the_core_cannot_use_is_refused(kind, given, said):
    with pytest.raises(GanbenchError, match=re.escape(said)):
        record(kind, "x", lambda *a: None, AT_RUN_TIME, **given)


def test_the_record_is_frozen_and_holds_each_fact_once():
    folder = record("dataset", "f", lambda cfg: None, AT_RUN_TIME, domains=(1, 2), channels=1)
    assert (folder.domains, folder.channels, folder.classes) == ((1, 2), 1, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        folder.channels = 3
    assert set(KEYWORDS["scheme"]) == {"options", "help", "defaults", "conditional", "losses"}
    assert not hasattr(Scheme, "conditional")  # said where the scheme registers, only there
    assert registry().get("scheme", "conditional").conditional
    assert registry().get("generator", "cyclegan").input == "image"


class Unknowing:
    @staticmethod
    @hookimpl
    def register_losses(register):
        register("unknowing", lambda cfg: None, sees_real=True)


def test_a_plugin_registering_an_unknown_keyword_stops_commands_with_one_line(
    register_plugin, invoke
):
    register_plugin(Unknowing, name="unknowing")
    result = invoke("plugins")
    assert result.exit_code == 2
    assert (
        "plugin 'unknowing' registers loss 'unknowing' with unknown keyword 'sees_real'; "
        "a loss's register takes name, build, options, help, defaults"
    ) in result.output
    assert len(result.output.strip().splitlines()) == 1
