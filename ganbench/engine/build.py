"""Building a run from its config: the data set, the scheme, the scheme's networks with the
modifiers, optimizers, loss and metrics, all checked before anything is recorded. What the
build learns on the way lives in a `BuildContext`, never in the config."""

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ganbench import environment
from ganbench.api.data import DeviceData, DomainData, ImageSet, TwoDomains
from ganbench.api.loss import as_loss
from ganbench.api.network import count_parameters
from ganbench.api.parts import Parts
from ganbench.api.scheme import Scheme
from ganbench.config.spec import RunConfig, RunSpec, active
from ganbench.engine import fast_path
from ganbench.engine.evaluation import Evaluator
from ganbench.errors import GanbenchError, GanbenchWarning
from ganbench.plugins.registry import SINGLE_KINDS, Component, Registry
from ganbench.store.base import RunStatus, this_process

Chosen = dict[str, Component]  # the run's component of each single kind


@dataclass(frozen=True)
class BuildContext:
    """What a run's build is given beside its config (the cache folder; settings outside the
    config, such as a weights file's path) and what it learns on the way (the data's channels
    and condition size). Kept apart from the config, which the build never changes: each stage
    takes a new context."""

    cache_dir: str
    extras: Mapping[str, Any] = field(default_factory=dict)
    channels: int | None = None
    cond_dim: int = 0

    def settings(self, config: RunConfig) -> SimpleNamespace:
        """What a component's build receives as `cfg`: the options and these facts, fresh."""
        facts = {"cache_dir": self.cache_dir, "channels": self.channels, "cond_dim": self.cond_dim}
        return config.settings(**facts, **self.extras)


@dataclass
class Experiment:
    """Everything one run trains with, built and checked before anything is recorded."""

    config: RunConfig
    components: list[Component]
    data: DeviceData | DomainData
    parts: Parts
    scheme: Scheme
    device: torch.device
    evaluator: Evaluator | None = None
    seed: int = 0
    context: BuildContext | None = None


def build(
    config: RunConfig,
    registry: Registry,
    device: torch.device,
    seed: int,
    cache_dir: str | Path,
    extras: Mapping[str, Any] | None = None,
    stand_in: bool = False,
) -> Experiment:
    """Build data, scheme, its networks with modifiers and optimizers, loss and metrics from a
    config. `extras` are settings that are not part of the config (say, a weights file's path).
    `stand_in`: blank images of the data set's registered shape instead of its data, and no
    metrics, for a dry run that checks every arm as the run will."""
    components = active(config.components, registry)
    chosen = {c.kind: c for c in components if c.kind in SINGLE_KINDS}
    _seed(seed, device)
    context = BuildContext(str(cache_dir), dict(extras or {}))
    data = _data(chosen, context, config, device, stand_in)
    context = replace(context, channels=data.channels, cond_dim=data.cond_dim)
    scheme = chosen["scheme"].build(context.settings(config))
    check_fit(scheme, chosen, data.domains, registry)
    # networks take conditions only when the scheme gives them
    context = replace(context, cond_dim=data.cond_dim if chosen["scheme"].conditional else 0)
    cfg = context.settings(config)
    parts = _parts(scheme, components, chosen, data, cfg, device, seed)
    metrics = {c.name: c.build(cfg) for c in components if c.kind == "metric" and not stand_in}
    evaluator = Evaluator(metrics, scheme.tracks(), cfg, device, cache_dir) if metrics else None
    return Experiment(config, components, data, parts, scheme, device, evaluator, seed, context)


def _seed(seed: int, device: torch.device) -> None:
    torch.manual_seed(seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes every step: autotune once


def _data(
    chosen: Chosen, context: BuildContext, config: RunConfig, device: torch.device, stand_in: bool
) -> DeviceData | DomainData:
    """The data set on the device (blank stand-ins for a dry run), checked for its size."""
    cfg = context.settings(config)
    fast_path.check(cfg, device)
    found = blank_data(chosen, context, config) if stand_in else chosen["dataset"].build(cfg)
    data = device_data(found, device, cfg)
    if len(data) < cfg.batch and not stand_in:
        warnings.warn(
            f"dataset '{chosen['dataset'].name}' has {len(data)} images, fewer than "
            f"batch={cfg.batch}: every batch repeats images",
            GanbenchWarning,
            stacklevel=3,
        )
    return data


def _parts(
    scheme: Scheme,
    components: list[Component],
    chosen: Chosen,
    data: DeviceData | DomainData,
    cfg: SimpleNamespace,
    device: torch.device,
    seed: int,
) -> Parts:
    """The scheme's networks, the run's random stream, the loss, the optimizers: checked by
    one tiny forward pass. The order is the order random numbers are drawn in."""
    nets = {name: net.to(device) for name, net in networks(scheme, components, cfg).items()}
    rng = torch.Generator(device).manual_seed(seed)
    loss = as_loss(chosen["loss"].build(cfg))
    draw = lambda: data.sample(cfg.batch, rng)  # noqa: E731 - what a scheme calls for a batch
    parts = Parts(nets, {}, loss, rng, cfg.z_dim, cfg.noise, draw=draw)
    scheme.prepare(data, cfg, seed)
    scheme.check(parts)  # also gives lazy layers their shapes before optimizers see them
    add_optimizers(parts, scheme, chosen, cfg)
    fast_path.prepare(nets, cfg)  # after the moving averages copied them: evaluation runs eager
    return parts


def device_data(
    found: ImageSet | TwoDomains, device: torch.device, cfg: SimpleNamespace
) -> DeviceData | DomainData:
    """A data set plugin's ImageSet or TwoDomains, on the device."""
    if isinstance(found, TwoDomains):
        return DomainData(found, device, cfg.flip, cfg.rotate)
    return DeviceData(found, device, cfg.flip, cfg.rotate)


def check_fit(
    scheme: Scheme, chosen: Chosen, domains: int | tuple[int, ...], registry: Registry
) -> None:
    """The data set has the scheme's domains and the generator takes what the scheme feeds it.
    `domains`: the data's count, or the counts a data set may give (folder: 1 or 2)."""
    name, dataset, generator = chosen["scheme"].name, chosen["dataset"].name, chosen["generator"]
    if scheme.domains not in _counts(domains):
        fitting = [c.name for c in registry if c.kind == "dataset" and scheme.domains in c.domains]
        raise GanbenchError(
            f"scheme '{name}' trains on {scheme.domains} image domain(s), dataset '{dataset}' "
            f"has {' or '.join(map(str, _counts(domains)))}; choose a data set with "
            f"{scheme.domains}: "
            f"{', '.join(fitting) or 'none installed'}"
        )
    if generator.input != scheme.generator_input:
        takes = scheme.generator_input
        fitting = [c.name for c in registry if c.kind == "generator" and c.input == takes]
        raise GanbenchError(
            f"generator '{generator.name}' takes {generator.input}, scheme '{name}' feeds its "
            f"generators {takes}; choose one of: {', '.join(fitting) or 'none installed'}"
        )


def _counts(domains: int | tuple[int, ...]) -> tuple[int, ...]:
    return (domains,) if isinstance(domains, int) else tuple(domains)


def networks(
    scheme: Scheme, components: list[Component], cfg: SimpleNamespace
) -> dict[str, nn.Module]:
    """The scheme's networks built from the run's components of their kinds, then the
    modifiers applied in the order given, each to every network of its target kind."""
    chosen = {c.kind: c for c in components}
    settings = {name: scheme.network_settings(name, cfg) for name in scheme.networks}
    nets = {name: chosen[kind].build(settings[name]) for name, kind in scheme.networks.items()}
    for modifier in (c for c in components if c.kind == "modifier"):
        for name, kind in scheme.networks.items():
            if kind == modifier.target:
                modifier.build(nets[name], settings[name])
    return nets


def add_optimizers(parts: Parts, scheme: Scheme, chosen: Chosen, cfg: SimpleNamespace) -> None:
    """One optimizer per network (g_lr for generators, d_lr for discriminators) and a moving
    average of each generator when g_ema asks."""
    optimizer, nets = chosen["optimizer"].build, parts.nets
    lr = {"generator": cfg.g_lr, "discriminator": cfg.d_lr}
    for name, kind in scheme.networks.items():
        if not any(p.requires_grad for p in nets[name].parameters()):
            raise GanbenchError(
                f"network {name} ({kind} '{chosen[kind].name}') has no trainable parameters; "
                f"check its component and options"
            )
    parts.opts = {
        name: optimizer(nets[name].parameters(), lr[kind], cfg)
        for name, kind in scheme.networks.items()
    }
    parts.ema = {name: _ema(nets[name], cfg.g_ema) for name in scheme.generators() if cfg.g_ema}


def blank_data(chosen: Chosen, context: BuildContext, config: RunConfig) -> ImageSet | TwoDomains:
    """Blank images of the shape the data set registers (channels, classes, and the domains
    the scheme wants where it can give them), with labels and test images, so networks are
    built and checked without the data."""
    dataset = chosen["dataset"]
    context = replace(context, channels=dataset.channels, cond_dim=dataset.classes or 0)
    cfg = context.settings(config)
    wanted, offered = chosen["scheme"].build(cfg).domains, dataset.domains

    def images(n: int) -> ImageSet:
        labels = torch.arange(n) % cfg.cond_dim if cfg.cond_dim else None
        return ImageSet(torch.zeros(n, cfg.channels, cfg.res, cfg.res, dtype=torch.uint8), labels)

    train = images(32)
    one = ImageSet(train.images, train.labels, "blank stand-in", test=images(8))
    return TwoDomains(one, one) if (wanted if wanted in offered else offered[0]) == 2 else one


def _ema(g: nn.Module, decay: float) -> AveragedModel:
    return AveragedModel(g, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def parameter_counts(exp: Experiment) -> dict[str, tuple[str, int]]:
    """{network name: (kind, trainable parameters)}."""
    nets = exp.parts.nets
    return {
        name: (kind, count_parameters(nets[name])) for name, kind in exp.scheme.networks.items()
    }


def run_record(
    exp: Experiment, spec: RunSpec, counts: Mapping[str, tuple[str, int]]
) -> dict[str, Any]:
    """The columns a new run starts with; `counts` are parameter_counts(exp)."""
    params = {net: n for net, (_, n) in counts.items()}
    env = {**environment.describe(exp.device, exp.components), "data": exp.data.description}
    host, pid = this_process()
    return dict(
        label=spec.label,
        study=spec.study,
        plugins=",".join(exp.config.plugins),
        config=exp.config.to_dict(),
        config_hash=spec.hash,
        seed=spec.seed,
        status=RunStatus.QUEUED.value,
        target_steps=exp.config.options["steps"],
        g_params=params.get("g"),
        d_params=params.get("d"),  # the noise-to-image family's columns
        device=str(exp.device),
        gpu=env["gpu"],
        torch_version=env["torch"],
        cuda_version=env["cuda"],
        ganbench_version=env["ganbench"],
        git_sha=env["git_sha"],
        plugin_versions=env["plugins"],
        environment=env,
        score_directions=exp.evaluator.directions() if exp.evaluator else {},
        host=host,  # the process that trains it: its claim, which fences its writes
        pid=pid,
    )
