"""How much memory a run needs, learnt before anything real is built. The run's networks are
built on torch's meta device, where tensors have shapes but no storage: their parameters,
gradients and optimizer state, and what autograd keeps of their forward passes at the batch's
shape, are counted without allocating any of it. A run that cannot fit its device is refused
with one line before its data is loaded or anything is recorded.

The estimate is a floor: a scheme that calls a generator several times a step (CycleGAN's cycle
and identity terms) keeps more, and the data set, held on the device, is not counted."""

import resource
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn
from torch.nn.modules.module import register_module_parameter_registration_hook

from ganbench.api.network import count_parameters
from ganbench.config.spec import RunConfig, active, resolve
from ganbench.config.studies import Arm, as_overrides
from ganbench.engine.build import BuildContext, check_fit, networks
from ganbench.errors import GanbenchError
from ganbench.plugins.registry import SINGLE_KINDS, Component, Registry

META = torch.device("meta")
MB, GB = 10**6, 10**9
CACHE = "results/cache"  # as a dry run's build; nothing is read or written there
SHAPE = ("res", "batch")  # the options that scale activations; the networks' own scale weights


@dataclass(frozen=True)
class Footprint:
    """A run's memory in bytes. `complete=False`: its networks outgrew the budget while being
    built, so `weights` is what they had reached and `parameters` is empty."""

    parameters: dict[str, int]  # {network: trainable parameters}
    weights: int  # parameters and buffers, gradients, optimizer state, moving averages
    activations: int  # what autograd keeps of one step's forward passes, and backward's work
    complete: bool = True

    @property
    def total(self) -> int:
        return self.weights + self.activations


class _OverBudget(Exception):
    """Raised inside a build whose parameters have outgrown the budget, to stop it early."""

    def __init__(self, spent: int) -> None:
        self.spent = spent


def check_fits(
    config: RunConfig, registry: Registry, device: torch.device, free: int | None = None
) -> None:
    """Refuse, in one line, a run whose estimate exceeds the device's free memory (or `free`
    bytes); a device whose free memory is unknown is not checked."""
    free = free_memory(device) if free is None else free
    need = None if free is None else estimate(config, registry, free)
    if free is not None and need is not None and need.total > free:
        raise GanbenchError(refusal(config, registry, need, free, device))


def sized(config: RunConfig, registry: Registry, device: torch.device) -> Footprint | None:
    """The estimate for a dry run, which shows it: refused only where the networks alone
    outgrow the device's free memory, since they could not even be counted."""
    free = free_memory(device)
    need = estimate(config, registry, free)
    if free is not None and need is not None and not need.complete:
        raise GanbenchError(refusal(config, registry, need, free, device))
    return need


def fits(need: Footprint, device: torch.device) -> bool:
    """Whether the estimate fits the device's free memory (it does where that is unknown)."""
    free = free_memory(device)
    return free is None or need.total <= free


def described(arm: Arm, registry: Registry, defaults: Mapping[str, str]) -> str:
    """An arm's estimate for the dry run's table: '1.2 GB', or '' where unknown."""
    config = resolve(as_overrides(arm.overrides), registry, defaults)
    need = sized(config, registry, torch.device("cpu"))
    return "" if need is None else size(need.total)


def estimate(config: RunConfig, registry: Registry, budget: int | None = None) -> Footprint | None:
    """The run's footprint, its networks built and run once on the meta device. A build whose
    weights pass `budget` bytes stops there (`complete=False`). None where a network cannot be
    built or run on the meta device: the real build then says why, or trains it unchecked."""
    components = active(config.components, registry)
    chosen = {c.kind: c for c in components if c.kind in SINGLE_KINDS}
    cfg = _settings(config, chosen)
    scheme = chosen["scheme"].build(cfg)
    check_fit(scheme, chosen, chosen["dataset"].domains, registry)
    try:
        with META:
            copies = _state_copies(chosen, cfg)
            with _tallied(budget, copies):
                nets = networks(scheme, components, cfg)
            kept = _activations(nets, scheme, chosen, cfg)
            weights = _weights(nets, scheme, copies, cfg)
    except _OverBudget as over:
        return Footprint({}, over.spent, 0, complete=False)
    except GanbenchError:
        raise
    except Exception:  # an operation the meta device lacks, in a plugin: unknown, not wrong
        return None
    return Footprint({name: count_parameters(n) for name, n in nets.items()}, weights, kept)


def _settings(config: RunConfig, chosen: dict[str, Component]) -> SimpleNamespace:
    """What the scheme and networks are built from: the data set's registered channels and
    classes stand in for its data, as in a dry run."""
    dataset = chosen["dataset"]
    conditions = (dataset.classes or 0) if chosen["scheme"].conditional else 0
    return BuildContext(CACHE, channels=dataset.channels, cond_dim=conditions).settings(config)


@contextmanager
def _tallied(budget: int | None, copies: float) -> Iterator[None]:
    """Count each parameter as it is registered, with its gradient and the optimizer's
    `copies` when trainable, and stop the build once they pass `budget`: a network of a
    million blocks is refused before they are made."""
    seen: dict[int, nn.Parameter] = {}  # held, so that no id is reused while counting
    spent = [0]

    def tally(module: nn.Module, name: str, param: nn.Parameter | None) -> None:
        if param is None or param.device != META or id(param) in seen:  # not new, or not ours
            return
        seen[id(param)] = param
        spent[0] += int(_bytes(param) * (2 + copies if param.requires_grad else 1))
        if budget is not None and spent[0] > budget:
            raise _OverBudget(spent[0])

    handle = register_module_parameter_registration_hook(tally)
    try:
        yield
    finally:
        handle.remove()


def _activations(
    nets: dict[str, nn.Module], scheme: Any, chosen: dict[str, Component], cfg: SimpleNamespace
) -> int:
    """Bytes of one step's activations: what autograd keeps of one forward pass of each
    generator and two of each discriminator (it judges a real and a fake batch), and
    backward's working memory: a layer's output and input gradients, at most twice the
    largest tensor kept."""
    saved = {
        name: _saved(nets[name], _inputs(kind, chosen, cfg))
        for name, kind in scheme.networks.items()
    }
    passes = {name: 2 if kind == "discriminator" else 1 for name, kind in scheme.networks.items()}
    largest = max((max(sizes, default=0) for sizes in saved.values()), default=0)
    return sum(passes[name] * sum(sizes) for name, sizes in saved.items()) + 2 * largest


def _inputs(kind: str, chosen: dict[str, Component], cfg: SimpleNamespace) -> list[torch.Tensor]:
    """What a network of `kind` is given in a step: noise or images of the batch's shape, and
    the conditions when the scheme gives them."""
    images = (cfg.batch, cfg.channels, cfg.res, cfg.res)
    noise = kind == "generator" and chosen["generator"].input == "noise"
    given = [torch.empty((cfg.batch, cfg.z_dim) if noise else images, device=META)]
    return given + ([torch.empty(cfg.batch, cfg.cond_dim, device=META)] if cfg.cond_dim else [])


def _saved(net: nn.Module, inputs: list[torch.Tensor]) -> list[int]:
    """The bytes of each tensor autograd saves for the backward pass of one forward pass:
    each distinct tensor once (a view counts as the tensor it views), parameters left to the
    weights."""
    saved: dict[int, torch.Tensor] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        root = t if t._base is None else t._base
        if not (t.is_leaf and t.requires_grad):  # a leaf with a gradient is a parameter
            saved[id(root)] = root  # held, so that no id is reused while counting
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        net(*inputs)
    return [_bytes(t) for t in saved.values()]


def _weights(nets: dict[str, nn.Module], scheme: Any, copies: float, cfg: SimpleNamespace) -> int:
    """Parameters and buffers, a gradient and the optimizer's state for each trainable
    parameter, and a moving average of each generator when g_ema asks."""
    stored = sum(_stored(net) for net in nets.values())
    trainable = sum(_bytes(p) for net in nets.values() for p in net.parameters() if p.requires_grad)
    averaged = sum(_stored(nets[name]) for name in scheme.generators()) if cfg.g_ema else 0
    return int(stored + trainable * (1 + copies) + averaged)


def _stored(net: nn.Module) -> int:
    return sum(_bytes(t) for t in [*net.parameters(), *net.buffers()])


def _state_copies(chosen: dict[str, Component], cfg: SimpleNamespace) -> float:
    """Copies of each parameter the run's optimizer keeps (Adam two, SGD without momentum
    none), measured by one step on a stand-in parameter: stepping every real one on the meta
    device takes seconds."""
    stand_in = nn.Parameter(torch.empty(1024, device=META))
    stand_in.grad = torch.zeros_like(stand_in)
    optimizer = chosen["optimizer"].build([stand_in], cfg.g_lr, cfg)
    optimizer.step()
    kept = [v for s in optimizer.state.values() for v in s.values() if _is_tensor(v)]
    return sum(_bytes(v) for v in kept) / _bytes(stand_in)


def _is_tensor(value: object) -> bool:
    return isinstance(value, torch.Tensor)


def _bytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def free_memory(device: torch.device) -> int | None:
    """Bytes free on the device: a GPU's free memory, or the host's available memory (or
    what the container's or this process's limit leaves, where less); None where unknown."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type != "cpu":
        return None
    limits = [n for n in (_meminfo_available(), _cgroup_room(), _rlimit_room()) if n is not None]
    return min(limits) if limits else None


def _meminfo_available() -> int | None:
    """MemAvailable of /proc/meminfo in bytes: what the kernel can give without swapping."""
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
    except OSError:
        return None
    found = [line.split()[1] for line in lines if line.startswith("MemAvailable:")]
    return int(found[0]) * 1024 if found else None


def _cgroup_room() -> int | None:
    """What this process's cgroup (v2) still lets it use, when it sets a limit."""
    folder = Path("/sys/fs/cgroup")
    try:
        limit = (folder / "memory.max").read_text().strip()
        used = int((folder / "memory.current").read_text())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else int(limit) - used


def size(n: float) -> str:
    """Bytes as '812 MB' or '6,031.7 GB'."""
    return f"{n / GB:,.1f} GB" if n >= GB else f"{n / MB:,.0f} MB"


def _rlimit_room() -> int | None:
    """What this process's own limits (`ulimit -d`, `ulimit -v`) still let it allocate."""
    used = _status()
    rooms = [
        soft - used[field]
        for limit, field in ((resource.RLIMIT_DATA, "VmData"), (resource.RLIMIT_AS, "VmSize"))
        if (soft := resource.getrlimit(limit)[0]) != resource.RLIM_INFINITY and field in used
    ]
    return min(rooms, default=None)


def _status() -> dict[str, int]:
    """This process's memory sizes in bytes from /proc/self/status ({'VmData': ...})."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return {}
    pairs = [line.split() for line in lines if line.startswith("Vm")]
    return {words[0].rstrip(":"): int(words[1]) * 1024 for words in pairs if len(words) == 3}


def refusal(
    config: RunConfig, registry: Registry, need: Footprint, free: int, device: torch.device
) -> str:
    """One line: what the run needs, what the device has, and which options to lower."""
    return (
        f"the run needs {_needed(config, need)} but {device} has {size(free)} free; "
        f"lower {_levers(config, registry, need)}"
    )


def _needed(config: RunConfig, need: Footprint) -> str:
    if not need.complete:
        alone = "for its networks' weights, gradients and optimizer state alone"
        return f"more than {size(need.total)} {alone}"
    batch, res = config.options["batch"], config.options["res"]
    return (
        f"at least {size(need.total)} of memory (weights, gradients and optimizer state "
        f"{size(need.weights)}; activations of one step at batch={batch}, res={res} "
        f"{size(need.activations)})"
    )


def _levers(config: RunConfig, registry: Registry, need: Footprint) -> str:
    """The options that shrink the run, the larger part's first: res and batch for the
    activations, the networks' own numeric options for the weights."""
    shape = [f"{key}={config.options[key]}" for key in SHAPE]
    nets = [f"{key}={config.options[key]}" for key in _network_options(config, registry)]
    first, then = (shape, nets) if need.activations > need.weights else (nets, shape)
    return ", ".join(first + then)


def _network_options(config: RunConfig, registry: Registry) -> list[str]:
    """The numeric options of the run's generator, discriminator and modifiers that are set."""
    kinds = ("generator", "discriminator", "modifier")
    declared = [c.options for c in active(config.components, registry) if c.kind in kinds]
    numeric = [k for o in declared for k, v in o.items() if v.type in (int, float)]
    return [k for k in dict.fromkeys(numeric) if config.options.get(k) is not None]
