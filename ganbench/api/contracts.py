"""The contracts a plugin author implements, one per kind of component, and the `register`
callable each registration hook is given. docs/plugins.md documents every class here, and
tests/test_contracts.py checks that it does; mypy checks this module strictly.

A build is any callable of the shape its Protocol gives: a function, a lambda, or a class
whose constructor takes those arguments. `Loss`, `Scheme` and `Metric` are base classes: the
optional parts have defaults there, so the core reads attributes instead of probing. The
executor's contract is `ganbench.executors.base.Executor`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, TypeAlias

import torch
from torch import nn

from ganbench.api.data import ImageSet, TwoDomains
from ganbench.api.loss import Loss
from ganbench.api.options import Option
from ganbench.api.scheme import Scheme
from ganbench.api.settings import Settings

__all__ = [
    "CostView",
    "DatasetBuild",
    "DiscriminatorBuild",
    "FeatureSpace",
    "Features",
    "GeneratorBuild",
    "Loss",
    "LossBuild",
    "Metric",
    "MetricBuild",
    "ModifierBuild",
    "OptimizerBuild",
    "Options",
    "RegisterDataset",
    "RegisterDiscriminator",
    "RegisterExecutor",
    "RegisterGenerator",
    "RegisterLoss",
    "RegisterMetric",
    "RegisterModifier",
    "RegisterOptimizer",
    "RegisterScheme",
    "RegisterTracker",
    "RunConfigView",
    "RunView",
    "Scheme",
    "SchemeBuild",
    "ScoreView",
    "Settings",
    "TrackerBuild",
    "as_metric",
]

Features: TypeAlias = dict[str, torch.Tensor]  # a feature space's output, by feature name
Options: TypeAlias = Mapping[str, Option]  # the `key=value` settings a component declares
Defaults: TypeAlias = Mapping[str, str]  # {kind: name}: components suggested for open kinds


# --- builds: what `register(name, build, ...)` is given, kind by kind ---------------------


class GeneratorBuild(Protocol):
    """Makes a generator: an `nn.Module` whose `forward(z, cond=None)` maps noise (N, z_dim)
    to images (N, cfg.channels, cfg.res, cfg.res) in [-1, 1]; or, registered with
    `input="image"`, images to images of that shape."""

    def __call__(self, cfg: Settings, /) -> nn.Module: ...


class DiscriminatorBuild(Protocol):
    """Makes a discriminator: an `nn.Module` whose `forward(x, cond=None)` maps images to one
    logit per image (N,), or to (logits, auxiliary logits), or to a map of logits."""

    def __call__(self, cfg: Settings, /) -> nn.Module: ...


class ModifierBuild(Protocol):
    """Changes an already built network of its target kind in place; returns nothing."""

    def __call__(self, net: nn.Module, cfg: Settings, /) -> None: ...


class LossBuild(Protocol):
    """Makes the adversarial loss, a `Loss`."""

    def __call__(self, cfg: Settings, /) -> Loss: ...


class OptimizerBuild(Protocol):
    """Makes one network's optimizer: called once per network, with `g_lr` for generators
    and `d_lr` for discriminators."""

    def __call__(
        self, params: Iterable[nn.Parameter], lr: float, cfg: Settings, /
    ) -> torch.optim.Optimizer: ...


class DatasetBuild(Protocol):
    """Loads a data set: uint8 images already at `cfg.res` as an `ImageSet`, or two domains
    (each with test images) as `TwoDomains`."""

    def __call__(self, cfg: Settings, /) -> ImageSet | TwoDomains: ...


class SchemeBuild(Protocol):
    """Makes the training scheme, a `Scheme`."""

    def __call__(self, cfg: Settings, /) -> Scheme: ...


class MetricBuild(Protocol):
    """Makes a metric, a `Metric`."""

    def __call__(self, cfg: Settings, /) -> Metric: ...


class TrackerBuild(Protocol):
    """Makes one run's observer as the run starts: any object whose methods are run-event
    hooks (`on_losses`, `on_scores`, ...) marked `@ganbench.hookimpl`, registered for that
    run alone. A class whose constructor takes the run is the usual build."""

    def __call__(self, run: RunView, /) -> object: ...


# --- metrics ------------------------------------------------------------------------------


class FeatureSpace(Protocol):
    """Where a metric compares images: a network's features. Metrics with one `key` share
    one extraction per evaluation; `name` and `resize` go into the protocol fingerprint."""

    key: str
    name: str
    resize: str

    def prepare(self, device: torch.device) -> None:
        """Load the network on `device`; raise `GanbenchError` when its weights are missing
        (this runs before training)."""

    def weights_sha256(self) -> str:
        """The sha256 of the weights, for the protocol fingerprint."""
        ...

    def extract(self, images: torch.Tensor) -> Features:
        """Features of uint8 images (N, C, H, W) on the device: {name: CPU tensor (N, ...)}."""
        ...


class Metric(ABC):
    """Scores generated images against real ones in a feature space. Declare `space`,
    `needs_real` (whether `score` gets the reference's features) and `report` ({score name:
    "min" | "max"}, the report's columns); implement `score`. `extra` names scores recorded
    without a column; `fingerprint` adds to the protocol what depends on the image counts."""

    space: FeatureSpace
    needs_real: bool
    report: Mapping[str, Literal["min", "max"]]
    extra: tuple[str, ...] = ()

    @abstractmethod
    def score(self, real: Features | None, fake: Features) -> Mapping[str, float]:
        """{score name: value} from the reference's features (None unless `needs_real`) and
        the generated images' (`fake["labels"]`: the classes they should show, where the
        scheme knows them); {} when the metric does not apply to these images."""

    def fingerprint(self, n_real: int, n_fake: int) -> dict[str, Any]:
        """What the metric adds to its protocol for these counts ({} by default)."""
        return {}


class _AdaptedMetric(Metric):
    """A metric written without the base class, as a `Metric`: its optional parts (`extra`,
    `fingerprint`) are looked up here, once, and nowhere else."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.space, self.needs_real, self.report = inner.space, inner.needs_real, inner.report
        self.extra = tuple(getattr(inner, "extra", ()))
        if hasattr(inner, "fingerprint"):
            self.fingerprint = inner.fingerprint  # type: ignore[method-assign]

    def score(self, real: Features | None, fake: Features) -> Mapping[str, float]:
        scores: Mapping[str, float] = self.inner.score(real, fake)
        return scores


def as_metric(found: object) -> Metric:
    """A built metric as a `Metric`, adapting one that does not subclass it."""
    return found if isinstance(found, Metric) else _AdaptedMetric(found)


# --- what an observer is told (ganbench.engine.events' RunInfo and Score, engine.costs' Cost)


class RunConfigView(Protocol):
    """A run's resolved config (`ganbench.config.spec.RunConfig`) as an observer reads it."""

    @property
    def options(self) -> Mapping[str, Any]:
        """Every option's value, by key."""
        ...

    @property
    def components(self) -> Mapping[str, Any]:
        """{kind: name}, modifiers as a list of names."""
        ...


class RunView(Protocol):
    """The run an event is about (`ganbench.RunInfo`)."""

    @property
    def id(self) -> int: ...
    @property
    def uid(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def study(self) -> str | None: ...
    @property
    def seed(self) -> int: ...
    @property
    def config(self) -> RunConfigView: ...
    @property
    def dir(self) -> Path: ...
    @property
    def first_step(self) -> int: ...
    @property
    def target_steps(self) -> int: ...
    @property
    def environment(self) -> Mapping[str, Any]: ...
    @property
    def trackers(self) -> list[str]: ...


class ScoreView(Protocol):
    """One score of `on_scores` (`ganbench.Score`)."""

    @property
    def name(self) -> str: ...
    @property
    def value(self) -> float: ...
    @property
    def protocol(self) -> str | None: ...


class CostView(Protocol):
    """What a run cost (`ganbench.engine.costs.Cost`); None where not measured (a CPU)."""

    @property
    def peak_mem_mb(self) -> float | None: ...
    @property
    def energy_j(self) -> float | None: ...


# --- register: the callable each registration hook is given, kind by kind ------------------
# `name` is what users write in `plugins=`; `options` the settings the component declares;
# `help` its line in `ganbench plugins`; `defaults` the components it suggests for the kinds
# a run leaves open. The other keywords are what the core must know before building.


class RegisterGenerator(Protocol):
    """`register` of `register_generators`; `input`: what the generator takes."""

    def __call__(
        self,
        name: str,
        build: GeneratorBuild,
        *,
        options: Options | None = None,
        help: str = "",
        defaults: Defaults | None = None,
        input: Literal["noise", "image"] = "noise",
    ) -> None: ...


class RegisterDiscriminator(Protocol):
    """`register` of `register_discriminators`."""

    def __call__(
        self,
        name: str,
        build: DiscriminatorBuild,
        *,
        options: Options | None = None,
        help: str = "",
        defaults: Defaults | None = None,
    ) -> None: ...


class RegisterModifier(Protocol):
    """`register` of `register_modifiers`; `target`: the kind of network it changes."""

    def __call__(
        self,
        name: str,
        build: ModifierBuild,
        *,
        target: Literal["generator", "discriminator"],
        options: Options | None = None,
        help: str = "",
        defaults: Defaults | None = None,
    ) -> None: ...


class RegisterLoss(Protocol):
    """`register` of `register_losses`."""

    def __call__(
        self,
        name: str,
        build: LossBuild,
        *,
        options: Options | None = None,
        help: str = "",
        defaults: Defaults | None = None,
    ) -> None: ...


class RegisterOptimizer(Protocol):
    """`register` of `register_optimizers`."""

    def __call__(
        self,
        name: str,
        build: OptimizerBuild,
        *,
        options: Options | None = None,
        help: str = "",
        defaults: Defaults | None = None,
    ) -> None: ...


class RegisterDataset(Protocol):
    """`register` of `register_datasets`: `channels` of its images, `classes` (None: known
    only from the data, as a folder's tags), `domains` it can give (1, 2 or (1, 2))."""

    def __call__(
        self,
        name: str,
        build: DatasetBuild,
        *,
        options: Options | None = None,
        help: str = "",
        defaults: Defaults | None = None,
        channels: int = 3,
        classes: int | None = None,
        domains: int | tuple[int, ...] = 1,
    ) -> None: ...


class RegisterScheme(Protocol):
    """`register` of `register_schemes`; `conditional`: its networks get the data's
    conditions (known before the scheme is built, which needs their count); `losses`: the
    names of the losses its `step` returns, when they are always the same, so a `stop_on=`
    naming none of them (nor a score) is refused before the run is recorded (leave it out
    where they vary: the run's first step names them)."""

    def __call__(
        self,
        name: str,
        build: SchemeBuild,
        *,
        options: Options | None = None,
        help: str = "",
        defaults: Defaults | None = None,
        conditional: bool = False,
        losses: Sequence[str] | None = None,
    ) -> None: ...


class RegisterMetric(Protocol):
    """`register` of `register_metrics`."""

    def __call__(
        self,
        name: str,
        build: MetricBuild,
        *,
        options: Options | None = None,
        help: str = "",
        defaults: Defaults | None = None,
    ) -> None: ...


class RegisterTracker(Protocol):
    """`register` of `register_trackers`: `needs`, the Python package it imports, `extra`,
    the ganbench extra that installs it (default: `needs`), and `check`, called before a run
    that names it is recorded, which raises GanbenchError with one line when the tracker
    cannot start (a server it cannot reach, a store it may not use)."""

    def __call__(
        self,
        name: str,
        build: TrackerBuild,
        *,
        options: Options | None = None,
        help: str = "",
        defaults: Defaults | None = None,
        needs: str | None = None,
        extra: str | None = None,
        check: Callable[[], None] | None = None,
    ) -> None: ...


class RegisterExecutor(Protocol):
    """`register` of `register_executors`: `build(settings)` gets {option name: value} and
    returns a `ganbench.executors.base.Executor` (a layer above this one, so typed `object`
    here); `misplaced_note` is added when one of its options is given to another executor."""

    def __call__(
        self,
        name: str,
        build: Callable[[dict[str, Any]], object],
        *,
        options: Options | None = None,
        help: str = "",
        defaults: Defaults | None = None,
        misplaced_note: str | None = None,
    ) -> None: ...
