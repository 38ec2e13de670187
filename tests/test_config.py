import pytest
import torch

from ganbench import GanbenchError, hookimpl
from ganbench.config.defaults import default_components
from ganbench.config.spec import CORE_OPTIONS, parse_overrides, resolve
from ganbench.engine.build import build
from ganbench.plugins.manager import registry


def _resolve(*overrides, steps=None):
    return resolve(list(overrides), registry(), default_components(), steps)


def test_defaults_fill_every_kind_from_registry_toml():
    config = _resolve()
    assert config.components == {
        "generator": "dcgan",
        "discriminator": "dcgan",
        "loss": "bce",
        "optimizer": "adam",
        "dataset": "mnist5k",
        "scheme": "alternating",
        "modifier": [],
        "metric": ["fid", "is"],
    }
    assert config.options["res"] == CORE_OPTIONS["res"].default


def test_metrics_replace_the_default_list_and_stay_out_of_plugins():
    assert _resolve("metrics=mnist_fd,kid").components["metric"] == ["mnist_fd", "kid"]
    assert _resolve("metrics=").components["metric"] == []
    with pytest.raises(GanbenchError, match="'fid' is a metric; choose metrics with metrics=fid"):
        _resolve("plugins=dcgan,fid")
    with pytest.raises(GanbenchError, match="unknown metric 'fdi'"):
        _resolve("metrics=fdi")
    # the metrics chosen and their settings do not change what is trained
    assert _resolve("metrics=fid", "eval_fake=50").hash() == _resolve("metrics=").hash()


def test_one_name_fills_every_kind_it_registers_and_others_override_defaults():
    config = _resolve("plugins=dcgan,rmsprop,resnet_tail")
    assert config.components["generator"] == config.components["discriminator"] == "dcgan"
    assert config.components["optimizer"] == "rmsprop"
    assert config.components["modifier"] == ["resnet_tail"]
    assert config.options["tail_widths"] == "32"  # a modifier's options join the run's


class Marker:
    """Two modifiers that record the order they were applied in."""

    @hookimpl
    def register_modifiers(self, register):
        for name in ("mark_a", "mark_b"):
            register(name, lambda net, cfg, name=name: _mark(net, name), target="generator")


def _mark(net, name):
    net.applied = getattr(net, "applied", []) + [name]


def _build(config, tmp_path):
    return build(config, registry(), torch.device("cpu"), 0, tmp_path)


@pytest.mark.parametrize("order", [["mark_a", "mark_b"], ["mark_b", "mark_a"]])
def test_modifiers_apply_in_the_order_plugins_lists_them(order, register_plugin, tmp_path):
    register_plugin(Marker())
    config = _resolve(f"plugins=dcgan,{','.join(order)}", "res=16", "filters=0.0625", "metrics=")
    assert config.components["modifier"] == order
    assert _build(config, tmp_path).parts.g.applied == order


def test_resnet_tail_replaces_the_generators_last_stage(tmp_path):
    plain = _build(_resolve("res=16", "filters=0.0625", "metrics="), tmp_path).parts.g
    tailed = _build(
        _resolve("plugins=dcgan,resnet_tail", "res=16", "filters=0.0625", "metrics="), tmp_path
    ).parts.g
    assert list(plain.stages) == ["project", "up8", "to_rgb"]
    assert list(tailed.stages) == ["project", "up8", "res16", "to_rgb"]  # to_rgb's upsampling moved
    assert type(tailed.stages["res16"]).__name__ == "ResidualUp"
    assert type(plain.stages["to_rgb"]).__name__ == "Up"
    assert tailed(torch.randn(3, 100)).shape == (3, 1, 16, 16)


def test_two_components_of_a_single_kind_is_an_error_naming_both():
    with pytest.raises(GanbenchError, match="two optimizers, 'adam' and 'sgd'"):
        _resolve("plugins=dcgan,adam,sgd")


@pytest.mark.parametrize(
    "override, message",
    [
        ("batch=0", "batch=0: must be between 1 and 65,536"),
        ("g_lr=abc", "g_lr=abc: expected a finite number"),
        ("res=33", "res=33: must be a power of two"),
        ("flip=maybe", "flip=maybe: expected bool"),
        ("g_kernel=1", "g_kernel=1: must be between 2 and 9"),
    ],
)
def test_bad_values_are_refused_with_the_key_and_the_fix(override, message):
    with pytest.raises(GanbenchError, match=message):
        _resolve(override)


def test_values_are_parsed_to_their_declared_types():
    o = _resolve("g_lr=5e-4", "flip=yes", "batch=8", "g_filters=0.5").options
    assert (o["g_lr"], o["flip"], o["batch"], o["g_filters"]) == (5e-4, True, 8, 0.5)


def test_unknown_plugin_names_the_closest_valid_names():
    with pytest.raises(
        GanbenchError,
        match=r"unknown plugin 'dcgna' \(did you mean 'dcgan'.*; valid: .*resnet_tail",
    ):
        _resolve("plugins=dcgna")


def test_unknown_key_suggests_a_close_key():
    with pytest.raises(GanbenchError, match=r"unknown option 'g_rl' \(did you mean 'g_lr'"):
        _resolve("g_rl=0.1")


def test_an_inactive_components_option_says_which_plugin_to_add():
    with pytest.raises(
        GanbenchError, match="belongs to modifier 'resnet_tail'.*add it to plugins="
    ):
        _resolve("tail_widths=16")


def test_malformed_and_repeated_overrides():
    with pytest.raises(GanbenchError, match="'g_lr' is not key=value"):
        parse_overrides(["g_lr"])
    with pytest.raises(GanbenchError, match="'res' is given twice"):
        parse_overrides(["res=16", "res=32"])


def test_hash_ignores_order_of_overrides_and_label_shows_non_defaults():
    a = _resolve("plugins=dcgan", "g_lr=0.0005", "res=32")
    b = _resolve("plugins=dcgan", "res=32", "g_lr=0.0005")
    assert a.hash() == b.hash()
    assert a.hash() != _resolve("plugins=dcgan", "res=32").hash()
    # How often losses are logged or checkpoints kept does not change the result.
    assert a.hash() == _resolve("plugins=dcgan", "res=32", "g_lr=0.0005", "log_every=7").hash()
    from ganbench.config.spec import declared_options

    declared = declared_options(a.components, registry())
    assert a.label(declared) == "dcgan g_lr=0.0005 res=32"


def test_steps_flag_overrides_and_is_checked():
    assert _resolve(steps=10).options["steps"] == 10
    with pytest.raises(GanbenchError, match="--steps=0: must be between 1 and"):
        _resolve(steps=0)


def test_a_tracker_s_name_is_checked_with_the_config():
    with pytest.raises(
        GanbenchError, match="unknown tracker 'tensorbord' \\(did you mean 'tensorboard'"
    ):
        _resolve("trackers=tensorbord")


@pytest.mark.parametrize("value", ["", "$GANBENCH_NOT_SET"])
def test_a_data_folder_not_given_yet_is_left_to_the_build(value):
    """Empty: the build asks for one; a study's unset $NAME: said by name before a run, and a
    dry run needs no data."""
    assert _resolve("plugins=folder", f"data_dir={value}").options["data_dir"] == value


@pytest.mark.parametrize("key", ["data_dir", "data_dir_b"])
def test_a_missing_data_folder_is_refused_with_the_config(tmp_path, key):
    with pytest.raises(GanbenchError, match=f"{key}=.*missing: no such directory"):
        _resolve("plugins=folder", f"{key}={tmp_path / 'missing'}")
    assert _resolve("plugins=folder", f"{key}={tmp_path}").options[key] == str(tmp_path)


def test_an_error_in_one_arm_of_several_names_the_arm():
    from ganbench.config.studies import plan, resolve_arms

    arms = plan(["g_lr=choice(0.001,abc)"])
    assert resolve_arms(arms[:1])[0].config.options["g_lr"] == 0.001
    with pytest.raises(GanbenchError, match="^arm 'g_lr=abc': g_lr=abc: expected a finite"):
        resolve_arms(arms)
