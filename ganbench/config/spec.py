"""From `key=value` overrides to a run's resolved config: components, options, hash, label."""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

from ganbench.api.options import Option, between, non_negative, positive, power_of_two
from ganbench.config import upgrade
from ganbench.errors import GanbenchError, suggest
from ganbench.plugins.registry import SINGLE_KINDS, Component, Registry

CORE_OPTIONS = {
    "res": Option(int, 64, "image side in pixels", check=power_of_two),
    "batch": Option(int, 32, "images per step for D and for G", check=between(1, 65536)),
    "z_dim": Option(int, 100, "length of the noise vector", check=between(1, 65536)),
    "g_lr": Option(float, 2e-4, "generator learning rate", check=positive),
    "d_lr": Option(float, 2e-4, "discriminator learning rate", check=positive),
    "flip": Option(bool, False, "random horizontal flips of real images (on the device)"),
    "rotate": Option(
        float,
        0.0,
        "random rotation of real images by up to this many degrees (on the device; report 004 used a slight one)",
        check=lambda v: None if 0 <= v <= 180 else "must be in [0, 180]",
    ),
    "g_ema": Option(
        float,
        0.0,
        "decay of an exponential moving average of G's weights, which the metrics then score (0: off; 0.999 is common)",
        check=lambda v: None if 0 <= v < 1 else "must be in [0, 1)",
    ),
    "noise": Option(
        str,
        "normal",
        "noise distribution: normal N(0, 1), uniform U[0, 1) as in the "
        "fair, normal004 N(0, e^(-1/pi)) as in report 004",
        choices=("normal", "uniform", "normal004"),
    ),
    "steps": Option(int, 50000, "training steps to run", check=between(1, 10**10), in_label=False),
    "log_every": Option(
        int,
        100,
        "read losses back and record them every N steps",
        check=positive,
        in_label=False,
        role="observation",
        watched=True,
    ),
    "ckpt_every": Option(
        int, 1000, "checkpoint every N steps", check=positive, in_label=False, role="observation"
    ),
    "sample_every": Option(
        int,
        1000,
        "save a 5x5 grid from fixed noise every N steps (0: never)",
        check=non_negative,
        in_label=False,
        role="observation",
    ),
    "eval_every": Option(
        int,
        1000,
        "evaluate the metrics every N steps (and at the last step)",
        check=positive,
        in_label=False,
        role="observation",
        watched=True,
    ),
    "eval_real": Option(
        int,
        10000,
        "real images in the metrics' reference set",
        check=positive,
        in_label=False,
        role="observation",
        watched=True,
    ),
    "eval_fake": Option(
        int,
        10000,
        "generated images per evaluation",
        check=positive,
        in_label=False,
        role="observation",
        watched=True,
    ),
    "eval_batch": Option(
        int,
        100,
        "images per batch when generating and extracting features",
        check=positive,
        in_label=False,
        role="observation",
    ),
    "schedule": Option(
        str,
        "constant",
        "learning rates of every network: constant, or linear decay to 0 from step decay_from to the last step",
        choices=("constant", "linear"),
        added=True,
    ),
    "decay_from": Option(
        int,
        0,
        "with schedule=linear: the step the rates start to fall",
        check=non_negative,
        added=True,
    ),
    "warmup": Option(
        int,
        0,
        "steps over which the rates rise linearly from 0 (0: none)",
        check=non_negative,
        added=True,
    ),
    "precision": Option(
        str,
        "fp32",
        "the training step's precision: fp32, or bf16 autocast (evaluation stays fp32)",
        choices=("fp32", "bf16"),
        added=True,
    ),
    "compile": Option(
        bool, False, "torch.compile each network (a CPU needs a C++ compiler)", added=True
    ),
    "compile_mode": Option(
        str,
        "default",
        "torch.compile's mode; reduce-overhead uses CUDA graphs",
        choices=("default", "reduce-overhead", "max-autotune"),
        added=True,
    ),
    "channels_last": Option(
        bool,
        False,
        "channels-last memory for the networks (faster convs on recent GPUs)",
        added=True,
    ),
    "trackers": Option(
        str,
        "",
        "trackers that also log the run, e.g. tensorboard,mlflow (`ganbench plugins` "
        "lists them; never part of the group)",
        in_label=False,
        role="observation",
    ),
    "stop_on": Option(
        str,
        "",
        "end the run early when this recorded loss or score (g_loss, fid, fid_ab, ...) stops improving (empty: never)",
        added=True,
    ),
    "stop_patience": Option(
        int,
        5000,
        "steps stop_on may go without improving before the run ends",
        check=positive,
        role="stop_rule",
        added=True,
    ),
    "stop_tolerance": Option(
        float,
        0.0,
        "how much stop_on must beat its best by to count as improving",
        check=non_negative,
        role="stop_rule",
        added=True,
    ),
}


def core_description(version: str) -> dict[str, Any]:
    """The core options as `ganbench plugins` lists them, in a component's form
    (`Component.describe`): the list an unknown option's error points at names them too."""
    return {
        "name": "(every run)",
        "kind": "core",
        "help": "options every run takes, whatever its plugins",
        "target": None,
        "plugin": "ganbench",
        "package": "ganbench",
        "version": version,
        "options": {k: o.describe() for k, o in CORE_OPTIONS.items()},
    }


@dataclass(frozen=True)
class RunConfig:
    """A run's resolved config. `components` maps kind to name (modifiers: names in order)."""

    plugins: tuple
    components: dict
    options: dict
    overrides: dict = field(default_factory=dict)
    training_keys: tuple = ()  # the options that shape training: the core's and the non-metric components'

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": upgrade.CONFIG_VERSION,
            "plugins": list(self.plugins),
            "components": self.components,
            "options": self.options,
            "overrides": self.overrides,
            "training_keys": list(self.training_keys),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RunConfig":
        """A recorded config, brought to today's form first (ganbench.config.upgrade)."""
        d = upgrade.config(d)
        return cls(
            tuple(d["plugins"]),
            d["components"],
            d["options"],
            d.get("overrides", {}),
            tuple(d["training_keys"]),
        )

    def hash(self) -> str:
        """Same hash, same group: everything that shapes the result except the seed. Each
        option says whether it does (`Option.role`, `watched`, `added`); the metrics' options
        never do, so only `training_keys` count."""
        options = {k: v for k, v in self.options.items() if self._in_hash(k, v)}
        components = {k: v for k, v in self.components.items() if k != "metric"}
        body = json.dumps({"components": components, "options": options}, sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def _in_hash(self, key: str, value: Any) -> bool:
        if self.training_keys and key not in self.training_keys:
            return False
        option = CORE_OPTIONS.get(key)  # a component's option shapes training
        return option is None or option.in_hash(value, ruled=bool(self.options.get("stop_on")))

    def label(self, declared: Mapping[str, Option]) -> str:
        """'dcgan+resnet_tail g_lr=0.0005': the plugins named and non-default settings."""
        parts = ["+".join(self.plugins) or "defaults"]
        parts += [
            f"{k}={v}"
            for k, v in self.overrides.items()
            if declared[k].in_label and v != declared[k].default
        ]
        return " ".join(parts)

    def with_target(self, steps: int) -> "RunConfig":
        """This config with another target: what extending a run changes, and all it changes."""
        options, overrides = {**self.options, "steps": steps}, {**self.overrides, "steps": steps}
        return replace(self, options=options, overrides=overrides)

    def label_short(self) -> str:
        return "+".join(self.plugins) or "defaults"

    def settings(self, **extra: Any) -> SimpleNamespace:
        """The options as attributes, what components' build functions receive as `cfg`."""
        return SimpleNamespace(**self.options, **extra)


# The rule RunConfig.hash follows; a new rule takes a new version and an upgrade step
# (ganbench.config.upgrade) that brings recorded configs to it.
HASH_VERSION = 1


@dataclass(frozen=True)
class RunSpec:
    """One run, resolved once from its overrides: what executors carry and what the run is
    built from. `label` names its group: `name` where one was given (--name, a study's arm),
    else derived from the config. The identity hash (`hash`, rule `HASH_VERSION`) leaves out
    the seed, so seeds share a group."""

    config: RunConfig
    seed: int = 0
    label: str = ""
    study: str | None = None
    name: str | None = None

    @property
    def short_label(self) -> str:
        """The given name, else the plugins: what a progress line shows."""
        return self.name or self.config.label_short()

    @property
    def hash(self) -> str:
        return self.config.hash()

    @classmethod
    def recorded(cls, row: Mapping[str, Any]) -> "RunSpec":
        """The spec of a recorded run (its `runs` row), its config upgraded on the way."""
        config = RunConfig.from_dict(row["config"])
        return cls(config, row["seed"], row["label"], row["study"], row["label"])


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """['a=1', 'b=x'] -> {'a': '1', 'b': 'x'}; one clear error per malformed item."""
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise GanbenchError(f"'{item}' is not key=value; write overrides like g_lr=0.0005")
        if key in pairs:
            raise GanbenchError(f"'{key}' is given twice ({key}={pairs[key]} and {item}); keep one")
        pairs[key] = value.strip()
    return pairs


def names_in(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def choose_metrics(text: str | None, registry: Registry, defaults: Mapping[str, str]) -> list[str]:
    """metrics=a,b (an empty value for none), else registry.toml's [defaults] metrics."""
    names = names_in(text) if text is not None else names_in(defaults.get("metrics", ""))
    return [registry.get("metric", name).name for name in names]


def choose_components(
    names: list[str], registry: Registry, defaults: Mapping[str, str]
) -> dict[str, Any]:
    """Fill each kind from the names in order, then from what the chosen components suggest
    (`defaults=` at registration: cyclegan's scheme suggests lsgan), then from registry.toml's
    [defaults]. A name that fills one kind overrides a bundle's component of that kind
    (`plugins=cyclegan,unet`: the U-Net generator with the rest of cyclegan)."""
    chosen: dict[str, Any] = {}
    bundled: set[str] = set()
    modifiers: list[str] = []
    for name in names:
        found = registry.named(name)
        bundle = len([c for c in found if c.kind in SINGLE_KINDS]) > 1
        for component in found:
            _refuse_chosen_elsewhere(name, component)
            if component.kind == "modifier":
                _add_modifier(modifiers, name)
            else:
                _choose(chosen, bundled, component, bundle)
    _fill(chosen, registry, defaults)
    return {**chosen, "modifier": modifiers}


def _refuse_chosen_elsewhere(name: str, component: Component) -> None:
    """Executors, metrics and trackers are chosen by options of their own, not plugins=."""
    kind = component.kind
    if kind == "executor":
        raise GanbenchError(f"'{name}' is an executor; choose it with --executor {name}")
    if kind in ("metric", "tracker"):
        raise GanbenchError(f"'{name}' is a {kind}; choose {kind}s with {kind}s={name}")


def _add_modifier(modifiers: list[str], name: str) -> None:
    if name in modifiers:
        raise GanbenchError(
            f"plugins= names modifier '{name}' twice; a modifier applies once, so drop one"
        )
    modifiers.append(name)


def _fill(chosen: dict[str, Any], registry: Registry, defaults: Mapping[str, str]) -> None:
    """The kinds plugins= left open: what a chosen component suggests, else [defaults]."""
    suggested: dict[str, str] = {}
    for kind in list(chosen):
        for other, value in registry.get(kind, chosen[kind]).defaults.items():
            suggested.setdefault(other, value)
    for kind in SINGLE_KINDS:
        if kind in chosen:
            continue
        if kind in suggested:
            chosen[kind] = registry.get(kind, suggested[kind]).name
        else:
            chosen[kind] = _default(kind, registry, defaults)


def _choose(chosen: dict[str, Any], bundled: set[str], component: Component, bundle: bool) -> None:
    kind, name = component.kind, component.name
    if kind in chosen and (kind not in bundled) == (not bundle):
        raise GanbenchError(
            f"plugins= names two {kind}s, '{chosen[kind]}' and '{name}'; a run takes one {kind}, so drop one of them"
        )
    if kind in chosen and bundle:
        return  # a single-kind name already chose this kind
    chosen[kind] = name
    bundled.discard(kind)
    if bundle:
        bundled.add(kind)


def _default(kind: str, registry: Registry, defaults: Mapping[str, str]) -> str:
    if kind not in defaults:
        raise GanbenchError(
            f"no {kind} chosen: name one in plugins= or set {kind} under [defaults] in registry.toml"
        )
    return registry.get(kind, defaults[kind]).name


def active(components: Mapping[str, Any], registry: Registry) -> list[Component]:
    """The Component objects a resolved config names, single kinds first, modifiers in order."""
    out = [registry.get(kind, components[kind]) for kind in SINGLE_KINDS]
    out += [registry.get("modifier", name) for name in components["modifier"]]
    return out + [registry.get("metric", name) for name in components.get("metric", [])]


def declared_options(components: Mapping[str, Any], registry: Registry) -> dict[str, Option]:
    """The core options plus every active component's own."""
    return _declared(components, registry)[0]


def option_owners(components: Mapping[str, Any], registry: Registry) -> dict[str, str]:
    """{option: who declares it}, "the core" or "generator 'dcgan'": what --cfg shows."""
    return _declared(components, registry)[1]


def _declared(
    components: Mapping[str, Any], registry: Registry
) -> tuple[dict[str, Option], dict[str, str]]:
    """The options the components declare and the first declarer of each; two declaring
    one name with different types is refused."""
    declared, owners = dict(CORE_OPTIONS), dict.fromkeys(CORE_OPTIONS, "the core")
    for component in active(components, registry):
        for key, option in component.options.items():
            if key in declared and declared[key].type is not option.type:
                raise GanbenchError(
                    f"option '{key}' is {option.type.__name__} for {component.kind} "
                    f"'{component.name}' but {declared[key].type.__name__} for {owners[key]}; "
                    f"one of them must rename it"
                )
            declared.setdefault(key, option)
            owners.setdefault(key, f"{component.kind} '{component.name}'")
    return declared, owners


def _unknown_key(key: str, declared: Mapping[str, Option], registry: Registry) -> GanbenchError:
    owners = [f"{c.kind} '{c.name}'" for c in registry if key in c.options]
    if owners:
        return GanbenchError(
            f"option '{key}' belongs to {' and '.join(owners)}, which this run does not use; add it to plugins="
        )
    return GanbenchError(
        f"unknown option '{key}'{suggest(key, declared)}; `ganbench plugins` lists every option"
    )


def resolve(
    overrides: list[str], registry: Registry, defaults: Mapping[str, str], steps: int | None = None
) -> RunConfig:
    """Overrides (list of 'key=value') to a RunConfig; every error before anything runs."""
    return _resolved(overrides, registry, defaults, steps)[0]


def resolve_spec(
    overrides: list[str],
    registry: Registry,
    defaults: Mapping[str, str],
    *,
    steps: int | None = None,
    seed: int = 0,
    name: str | None = None,
    study: str | None = None,
) -> "RunSpec":
    """Overrides to the one frozen spec a run is built from: resolved here, once."""
    config, declared = _resolved(overrides, registry, defaults, steps)
    return RunSpec(config, seed, name or config.label(declared), study, name)


def _resolved(
    overrides: list[str], registry: Registry, defaults: Mapping[str, str], steps: int | None
) -> tuple[RunConfig, dict[str, Option]]:
    """The RunConfig and the options it declares (the core's and its components')."""
    pairs = parse_overrides(overrides)
    names = names_in(pairs.pop("plugins", ""))
    components = choose_components(names, registry, defaults)
    components["metric"] = choose_metrics(pairs.pop("metrics", None), registry, defaults)
    declared = declared_options(components, registry)
    values = {key: option.default for key, option in declared.items()}
    for key, text in pairs.items():
        if key not in declared:
            raise _unknown_key(key, declared, registry)
        values[key] = declared[key].parse(key, text)
    if steps is not None:
        values["steps"] = CORE_OPTIONS["steps"].parse("--steps", steps)
    for tracker in names_in(values["trackers"]):  # a typo is said here, not once recorded
        registry.get("tracker", tracker)
    given = {k: values[k] for k in pairs}
    keys = tuple(sorted(training_keys(components, registry)))
    return RunConfig(tuple(names), components, values, given, keys), declared


def training_keys(components: Mapping[str, Any], registry: Registry) -> set[str]:
    """The core's options and those of every active component but the metrics."""
    keys = set(CORE_OPTIONS)
    for component in active(components, registry):
        if component.kind != "metric":
            keys |= set(component.options)
    return keys


def group_hash(config: Mapping[str, Any]) -> str:
    """The hash a recorded config groups under today (older configs upgraded first)."""
    return RunConfig.from_dict(config).hash()
