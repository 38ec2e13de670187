"""Studies and sweeps: one command, many arms.

A study is a named list of arms in registry.toml, each arm a label and its overrides on top
of the study's protocol and base (the fair's studies build cumulatively, as the fair did).
On the command line, `key=choice(a,b)` and `key=range(start,stop[,step])` expand to arms,
the cartesian product of all of them."""

import itertools
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ganbench.config.defaults import RegistryPath, default_components, load_registry_toml
from ganbench.config.spec import RunSpec, parse_overrides, resolve_spec
from ganbench.errors import GanbenchError, lookup
from ganbench.plugins.manager import registry

SWEEP = re.compile(r"^(choice|range)\((.*)\)$")


@dataclass
class Arm:
    label: str | None  # None: a plain run, neither a study arm nor a sweep
    overrides: dict[str, str]
    study: str | None = None
    published: dict[str, int] = field(default_factory=dict)  # the source's G and D parameter counts
    data: str | None = None  # what data the study trains on, for the error when it is missing
    params_note: str | None = None  # why a count differs from the published one, for --dry-run


def _number(text: str, key: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise GanbenchError(
            f"{key}=range(...): '{text}' is not an integer; write range(0,10,2)"
        ) from None


def sweep_values(key: str, text: str) -> list[str]:
    """The values one override stands for: 'choice(a,b)', 'range(0,10,2)' or a plain value."""
    match = SWEEP.match(text)
    if not match:
        return [text]
    kind, inner = match.groups()
    items = [v.strip() for v in inner.split(",") if v.strip()]
    if kind == "choice":
        if not items:
            raise GanbenchError(f"{key}=choice(): give at least one value, e.g. {key}=choice(a,b)")
        return items
    if not 1 <= len(items) <= 3:
        raise GanbenchError(
            f"{key}={text}: range takes start,stop[,step], e.g. {key}=range(0,10,2)"
        )
    values = [str(v) for v in range(*[_number(i, key) for i in items])]
    if not values:
        raise GanbenchError(f"{key}={text}: the range is empty")
    return values


def expand(pairs: Mapping[str, str]) -> list[tuple[str, dict[str, str]]]:
    """{key: text} with sweeps -> [(label suffix, {key: value})], the cartesian product."""
    keys = list(pairs)
    choices = [sweep_values(k, pairs[k]) for k in keys]
    swept = [k for k, c in zip(keys, choices) if SWEEP.match(pairs[k])]
    out: list[tuple[str, dict[str, str]]] = []
    for combo in itertools.product(*choices):
        values = dict(zip(keys, combo))
        out.append((" ".join(f"{k}={values[k]}" for k in swept), values))
    return out


def load_study(name: str, path: RegistryPath = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The study's table with `data` and `params_note` filled from its protocol where it has
    none, and its protocol's and base overrides merged."""
    toml = load_registry_toml(path)
    study = lookup(toml.get("studies", {}), name, "study")
    protocol: dict[str, Any] = {}
    if "protocol" in study:
        protocol = lookup(toml.get("protocols", {}), study["protocol"], "protocol")
    base = {
        **parse_overrides(protocol.get("overrides", [])),
        **parse_overrides(study.get("base", [])),
    }
    notes = {key: study.get(key, protocol.get(key)) for key in ("data", "params_note")}
    return {**study, **notes}, base


def study_names(path: RegistryPath = None) -> list[str]:
    return sorted(load_registry_toml(path).get("studies", {}))


def plan(overrides: Iterable[str], path: RegistryPath = None) -> list[Arm]:
    """The arms a `ganbench run` stands for: one per study arm and per sweep combination."""
    pairs = parse_overrides(overrides)
    name = pairs.pop("study", None)
    if name is None:
        return [Arm(suffix or None, values) for suffix, values in expand(pairs)]
    study, base = load_study(name, path)
    arms = []
    for arm in study["arms"]:
        merged = {**base, **parse_overrides(arm.get("overrides", [])), **pairs}
        for suffix, values in expand(merged):
            label = f"{arm['label']} {suffix}".strip()
            published = {k: arm[k] for k in arm if k.endswith("_params")}
            arms.append(
                Arm(
                    label,
                    _from_environment(values),
                    name,
                    published,
                    arm.get("data", study["data"]),
                    arm.get("params_note", study["params_note"]),
                )
            )
    return arms


def as_overrides(values: Mapping[str, object]) -> list[str]:
    return [f"{k}={v}" for k, v in values.items()]


def _from_environment(values: Mapping[str, str]) -> dict[str, str]:
    """'$NAME' values come from the environment (data folders, say); unset ones stay '$NAME'."""
    return {k: os.environ.get(v[1:], v) if v.startswith("$") else v for k, v in values.items()}


def check_data(arm: Arm) -> None:
    """An arm whose data folder is still '$NAME' says which data and how to point at it."""
    for key, value in arm.overrides.items():
        if value.startswith("$"):
            raise GanbenchError(
                f"study {arm.study}, arm '{arm.label}', trains on {arm.data}: set "
                f"{value[1:]} to its folder, or pass {key}=PATH"
            )


def resolve_arms(
    arms: Sequence[Arm], steps: int | None = None, labels: Sequence[str | None] | None = None
) -> list[RunSpec]:
    """Every arm resolved into its spec (plugins, options, values), from the registry and
    registry.toml alone: a typo is said before torch is imported, a database opened or data
    loaded. `labels`: each arm's group label where one is given (--name, a study's arm)."""
    reg, defaults = registry(), default_components()
    specs = []
    for arm, label in zip(arms, labels or [None] * len(arms), strict=True):
        try:
            overrides = as_overrides(arm.overrides)
            spec = resolve_spec(overrides, reg, defaults, steps=steps, name=label, study=arm.study)
        except GanbenchError as e:
            raise GanbenchError(
                f"{arm_name(arm)}: {e}" if len(arms) > 1 or arm.study else str(e)
            ) from None
        specs.append(spec)
    return specs


def arm_name(arm: Arm) -> str:
    """How an error names the arm it is about."""
    return f"study {arm.study}, arm '{arm.label}'" if arm.study else f"arm '{arm.label}'"
