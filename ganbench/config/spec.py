"""From `key=value` overrides to a run's resolved config: components, options, hash, label."""

import hashlib
import json
from dataclasses import dataclass, field, replace
from types import SimpleNamespace

from ganbench.api.options import Option, between, non_negative, positive, power_of_two
from ganbench.errors import GanbenchError, suggest
from ganbench.plugins.registry import SINGLE_KINDS

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
        int, 100, "read losses back and record them every N steps", check=positive, in_label=False
    ),
    "ckpt_every": Option(int, 1000, "checkpoint every N steps", check=positive, in_label=False),
    "sample_every": Option(
        int,
        1000,
        "save a 5x5 grid from fixed noise every N steps (0: never)",
        check=non_negative,
        in_label=False,
    ),
    "eval_every": Option(
        int,
        1000,
        "evaluate the metrics every N steps (and at the last step)",
        check=positive,
        in_label=False,
    ),
    "eval_real": Option(
        int, 10000, "real images in the metrics' reference set", check=positive, in_label=False
    ),
    "eval_fake": Option(
        int, 10000, "generated images per evaluation", check=positive, in_label=False
    ),
    "eval_batch": Option(
        int,
        100,
        "images per batch when generating and extracting features",
        check=positive,
        in_label=False,
    ),
    "schedule": Option(
        str,
        "constant",
        "learning rates of every network: constant, or linear decay to 0 from step decay_from to the last step",
        choices=("constant", "linear"),
    ),
    "decay_from": Option(
        int, 0, "with schedule=linear: the step the rates start to fall", check=non_negative
    ),
    "warmup": Option(
        int, 0, "steps over which the rates rise linearly from 0 (0: none)", check=non_negative
    ),
    "precision": Option(
        str,
        "fp32",
        "the training step's precision: fp32, or bf16 autocast (evaluation stays fp32)",
        choices=("fp32", "bf16"),
    ),
    "compile": Option(bool, False, "torch.compile each network (a CPU needs a C++ compiler)"),
    "compile_mode": Option(
        str,
        "default",
        "torch.compile's mode; reduce-overhead uses CUDA graphs",
        choices=("default", "reduce-overhead", "max-autotune"),
    ),
    "channels_last": Option(
        bool, False, "channels-last memory for the networks (faster convs on recent GPUs)"
    ),
    "trackers": Option(
        str,
        "",
        "trackers that also log the run, e.g. tensorboard,mlflow (`ganbench plugins` "
        "lists them; never part of the group)",
        in_label=False,
    ),
    "stop_on": Option(
        str,
        "",
        "end the run early when this recorded loss or score (g_loss, fid, fid_ab, ...) stops improving (empty: never)",
    ),
    "stop_patience": Option(
        int, 5000, "steps stop_on may go without improving before the run ends", check=positive
    ),
    "stop_tolerance": Option(
        float,
        0.0,
        "how much stop_on must beat its best by to count as improving",
        check=non_negative,
    ),
}


# Settings that change how a run is observed, not what it trains: left out of the hash.
# Scores from different evaluation settings are told apart by their protocol fingerprint.
OPERATIONAL = (
    "log_every",
    "ckpt_every",
    "sample_every",
    "eval_every",
    "eval_real",
    "eval_fake",
    "eval_batch",
    "trackers",
)
# Options added after runs were recorded: at their defaults they are left out of the hash, so
# a config keeps the group it had before they existed.
LATER = (
    "stop_on",
    "stop_patience",
    "stop_tolerance",
    "schedule",
    "decay_from",
    "warmup",
    "precision",
    "compile",
    "compile_mode",
    "channels_last",
)
# With stop_on set, when and on what the rule looks decides how long a run trains.
STOP_RULE = ("stop_patience", "stop_tolerance")
WATCHED = ("log_every", "eval_every", "eval_real", "eval_fake")


@dataclass(frozen=True)
class RunConfig:
    """A run's resolved config. `components` maps kind to name (modifiers: names in order)."""

    plugins: tuple
    components: dict
    options: dict
    overrides: dict = field(default_factory=dict)
    training_keys: tuple = ()  # the options that shape training: the core's and the non-metric components'

    def to_dict(self):
        return {
            "plugins": list(self.plugins),
            "components": self.components,
            "options": self.options,
            "overrides": self.overrides,
            "training_keys": list(self.training_keys),
        }

    @classmethod
    def from_dict(cls, d):
        """A recorded config; options added since it was recorded take their defaults, which
        keep it in its group."""
        since = {key: CORE_OPTIONS[key].default for key in (*LATER, "trackers")}
        return cls(
            tuple(d["plugins"]),
            d["components"],
            {**since, **d["options"]},
            d.get("overrides", {}),
            tuple(d.get("training_keys", ())),
        )

    def hash(self):
        """Same hash, same group: everything that shapes the result except the seed. How a
        run is observed (logging, evaluation, the metrics' own options) is left out, unless
        stop_on is set: then when and on what the rule looks decides how long a run trains.
        Configs recorded before `training_keys` keep the hash they had."""
        options = {k: v for k, v in self.options.items() if self._shapes_training(k, v)}
        components = {k: v for k, v in self.components.items() if k != "metric"}
        body = json.dumps({"components": components, "options": options}, sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def _shapes_training(self, key, value):
        """Whether an option goes into the hash."""
        ruled = bool(self.options.get("stop_on"))
        if self.training_keys and key not in self.training_keys:
            return False
        if key in OPERATIONAL:
            return ruled and key in WATCHED
        if key in STOP_RULE and not ruled:
            return False
        return not (key in LATER and value == CORE_OPTIONS[key].default)

    def label(self, declared):
        """'dcgan+resnet_tail g_lr=0.0005': the plugins named and non-default settings."""
        parts = ["+".join(self.plugins) or "defaults"]
        parts += [
            f"{k}={v}"
            for k, v in self.overrides.items()
            if declared[k].in_label and v != declared[k].default
        ]
        return " ".join(parts)

    def label_short(self):
        return "+".join(self.plugins) or "defaults"

    def settings(self, **extra):
        """The options as attributes, what components' build functions receive as `cfg`."""
        return SimpleNamespace(**self.options, **extra)


def parse_overrides(items):
    """['a=1', 'b=x'] -> {'a': '1', 'b': 'x'}; one clear error per malformed item."""
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise GanbenchError(f"'{item}' is not key=value; write overrides like g_lr=0.0005")
        if key in pairs:
            raise GanbenchError(f"'{key}' is given twice ({key}={pairs[key]} and {item}); keep one")
        pairs[key] = value.strip()
    return pairs


def names_in(text):
    return [n.strip() for n in text.split(",") if n.strip()]


def choose_metrics(text, registry, defaults):
    """metrics=a,b (an empty value for none), else registry.toml's [defaults] metrics."""
    names = names_in(text) if text is not None else names_in(defaults.get("metrics", ""))
    return [registry.get("metric", name).name for name in names]


def choose_components(names, registry, defaults):
    """Fill each kind from the names in order, then from what the chosen components suggest
    (`defaults=` at registration: cyclegan's scheme suggests lsgan), then from registry.toml's
    [defaults]. A name that fills one kind overrides a bundle's component of that kind
    (`plugins=cyclegan,unet`: the U-Net generator with the rest of cyclegan)."""
    chosen, bundled, modifiers = {}, set(), []
    for name in names:
        found = registry.named(name)
        for component in found:
            if component.kind == "executor":
                raise GanbenchError(f"'{name}' is an executor; choose it with --executor {name}")
            if component.kind in ("metric", "tracker"):
                raise GanbenchError(
                    f"'{name}' is a {component.kind}; choose {component.kind}s with {component.kind}s={name}"
                )
            if component.kind == "modifier":
                if name in modifiers:
                    raise GanbenchError(
                        f"plugins= names modifier '{name}' twice; a modifier applies once, so drop one"
                    )
                modifiers.append(name)
            else:
                _choose(
                    chosen,
                    bundled,
                    component,
                    len([c for c in found if c.kind in SINGLE_KINDS]) > 1,
                )
    suggested = {}
    for kind in list(chosen):
        for other, value in registry.get(kind, chosen[kind]).meta.get("defaults", {}).items():
            suggested.setdefault(other, value)
    for kind in SINGLE_KINDS:
        if kind not in chosen:
            chosen[kind] = (
                registry.get(kind, suggested[kind]).name
                if kind in suggested
                else _default(kind, registry, defaults)
            )
    chosen["modifier"] = modifiers
    return chosen


def _choose(chosen, bundled, component, bundle):
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


def _default(kind, registry, defaults):
    if kind not in defaults:
        raise GanbenchError(
            f"no {kind} chosen: name one in plugins= or set {kind} under [defaults] in registry.toml"
        )
    return registry.get(kind, defaults[kind]).name


def active(components, registry):
    """The Component objects a resolved config names, single kinds first, modifiers in order."""
    out = [registry.get(kind, components[kind]) for kind in SINGLE_KINDS]
    out += [registry.get("modifier", name) for name in components["modifier"]]
    return out + [registry.get("metric", name) for name in components.get("metric", [])]


def declared_options(components, registry):
    """The core options plus every active component's own."""
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
    return declared


def _unknown_key(key, declared, registry):
    owners = [f"{c.kind} '{c.name}'" for c in registry if key in c.options]
    if owners:
        return GanbenchError(
            f"option '{key}' belongs to {' and '.join(owners)}, which this run does not use; add it to plugins="
        )
    return GanbenchError(
        f"unknown option '{key}'{suggest(key, declared)}; `ganbench plugins` lists every option"
    )


def resolve(overrides, registry, defaults, steps=None):
    """Overrides (list of 'key=value') to a RunConfig; every error before anything runs."""
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
    given = {k: values[k] for k in pairs}
    return RunConfig(
        tuple(names), components, values, given, tuple(sorted(training_keys(components, registry)))
    )


def training_keys(components, registry):
    """The core's options and those of every active component but the metrics."""
    keys = set(CORE_OPTIONS)
    for component in active(components, registry):
        if component.kind != "metric":
            keys |= set(component.options)
    return keys


def group_hash(config, registry):
    """The hash a recorded config groups under today: with its metrics' options left out,
    which configs recorded before training_keys still included. `registry()` gives the
    registry, asked for (plugins loaded) only for such old configs."""
    run = RunConfig.from_dict(config)
    if not run.training_keys:
        run = replace(run, training_keys=tuple(sorted(training_keys(run.components, registry()))))
    return run.hash()
