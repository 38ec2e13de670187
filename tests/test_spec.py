"""One run spec: overrides resolved once into a frozen spec; what the build learns kept in a
build context apart from it; configs and checkpoints of 0.1.0 brought to today's form by one
versioned upgrade step."""

import dataclasses

import pytest
import torch

from ganbench.config import upgrade
from ganbench.config.defaults import default_components
from ganbench.config.spec import RunConfig, RunSpec, resolve, resolve_spec
from ganbench.engine.build import build
from ganbench.plugins.manager import registry

TINY_MODEL = ["plugins=dcgan", "res=16", "batch=4", "filters=0.0625"]
TINY = [*TINY_MODEL, "metrics="]


def _spec(*overrides, **given):
    return resolve_spec(list(overrides), registry(), default_components(), **given)


def test_a_spec_is_frozen_and_names_its_group():
    spec = _spec(*TINY, "g_lr=0.0005", seed=3, study="s")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.seed = 4
    assert spec.label == "dcgan res=16 batch=4 filters=0.0625 g_lr=0.0005"
    assert spec.short_label == "dcgan" and spec.seed == 3 and spec.study == "s"
    named = _spec(*TINY, name="base")
    assert named.label == named.short_label == "base"
    # the seed never splits a group: the identity hash is the config's
    assert spec.hash == dataclasses.replace(spec, seed=9).hash == spec.config.hash()


def test_building_leaves_the_config_as_it_was_and_keeps_what_it_learned_apart(tmp_path):
    spec = _spec(*TINY)
    before = spec.config.to_dict()
    exp = build(spec.config, registry(), torch.device("cpu"), 0, tmp_path, {"x_weights": "w.pt"})
    assert spec.config.to_dict() == before
    assert "channels" not in spec.config.options and "cache_dir" not in spec.config.options
    assert exp.context.channels == 1 and exp.context.cond_dim == 0
    assert exp.context.cache_dir == str(tmp_path) and exp.context.extras == {"x_weights": "w.pt"}
    cfg = exp.context.settings(spec.config)
    assert (cfg.channels, cfg.res, cfg.x_weights) == (1, 16, "w.pt")


def test_a_recorded_spec_is_the_spec_it_was():
    spec = _spec(*TINY, seed=5, name="base")
    row = {"config": spec.config.to_dict(), "seed": 5, "label": "base", "study": None}
    again = RunSpec.recorded(row)
    assert again.config == spec.config and again.hash == spec.hash and again.label == "base"


def _old_config():
    """A config as 0.1.0's first runs recorded it: no version, no training_keys, none of the
    options added later, and a metric's option among the others."""
    config = resolve(TINY_MODEL + ["metrics=is"], registry(), default_components()).to_dict()
    del config["version"], config["training_keys"]
    for key in upgrade.ADDED_IN_0_1_0:
        config["options"].pop(key)
    return config


def test_a_0_1_0_config_is_upgraded_once_and_groups_with_todays():
    old = _old_config()
    assert "is_splits" in old["options"]
    upgraded = upgrade.config(old)
    assert upgraded["version"] == upgrade.CONFIG_VERSION
    assert upgraded["options"]["precision"] == "fp32" and upgraded["options"]["trackers"] == ""
    assert "is_splits" not in upgraded["training_keys"] and "res" in upgraded["training_keys"]
    assert upgrade.config(upgraded) == upgraded  # today's form is left as it is
    today = resolve(TINY, registry(), default_components())
    assert RunConfig.from_dict(old).hash() == today.hash()


def test_a_0_1_0_checkpoint_gets_the_networks_by_their_names():
    g, d = {"w": torch.ones(1)}, {"w": torch.zeros(1)}
    old = {"step": 3, "g": g, "d": d, "g_opt": {"o": 1}, "d_opt": {"o": 2}, "g_ema": None}
    state = upgrade.checkpoint(old)
    assert state["nets"] == {"g": g, "d": d} and state["opts"] == {"g": {"o": 1}, "d": {"o": 2}}
    assert state["ema"] == {} and state["scheme"] == {} and state["identity"] is None
    assert state["version"] == upgrade.CHECKPOINT_VERSION and state["step"] == 3
    assert upgrade.checkpoint(state) == state


def test_a_sweep_resolves_each_arm_once_however_many_seeds(invoke, db, monkeypatch):
    from conftest import TINY as CLI_TINY

    from ganbench.config import spec as spec_module

    calls = []
    resolved = spec_module._resolved
    monkeypatch.setattr(spec_module, "_resolved", lambda *a: calls.append(a) or resolved(*a))
    sweep = [*CLI_TINY, "g_lr=choice(1e-4,2e-4)", "--steps", "2", "--seeds", "2"]
    result = invoke("run", *sweep)
    assert result.exit_code == 0, result.output
    assert len(calls) == 2  # one per arm: the seeds' runs are built from the same spec
