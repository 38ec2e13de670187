"""What a training scheme is: the networks it trains, one training step, and how its images
are made for evaluation and for sample panels. The core asks the scheme; it knows no scheme.

A scheme plugin's `build(cfg)` returns a `Scheme` subclass. The core builds the networks the
scheme declares (the run's component of that kind, then the run's modifiers for that kind),
one optimizer each, and a moving average of each generator when `g_ema` asks.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ganbench.api.data import Batch, DeviceData, DomainData
from ganbench.api.parts import Parts
from ganbench.api.schedule import Schedule, from_options
from ganbench.api.settings import Settings
from ganbench.errors import GanbenchError


@dataclass
class Track:
    """One set of generated images the metrics score against one set of real images. A named
    track's scores are recorded as `<score>_<name>` (`fid_ab`); the unnamed one's as they are."""

    name: str
    reference: torch.Tensor  # uint8 real images (N, C, H, W) on the device
    reference_note: str  # how the reference was chosen, part of the protocol fingerprint
    count: int  # images `make` yields in all
    make: Callable[..., Iterable[torch.Tensor]]  # make(parts) -> batches of images in [-1, 1]
    labels: torch.Tensor | None = None  # class ids the generated images should show, if known
    direction: str = ""  # what the track translates, e.g. "A->B", for the fingerprint

    def scored(self, score: str) -> str:
        return f"{score}_{self.name}" if self.name else score


@dataclass
class Panel:
    """Images in [-1, 1] drawn as one grid of `nrow` columns. `focus` is the tile that follows
    one fixed input over training: a report's progress strip cuts it out of each grid."""

    images: torch.Tensor
    nrow: int
    caption: str = ""
    focus: int = 0


class Scheme(ABC):
    """Base class of training schemes (a scheme plugin's `build(cfg)` returns one).

    Declare `networks` ({name: kind}); implement `step`, and `prepare`, `check`, `tracks`,
    `panel` and `best_panels` for how images are made. `state_dict`/`load_state_dict` hold
    any state of the scheme's own (an image pool, say) so that checkpoints carry it. Whether
    the networks get the data's conditions is said where the scheme is registered
    (`conditional=True`): the core needs it before it can build the scheme."""

    networks: dict[str, str] = {"g": "generator", "d": "discriminator"}
    generator_input: str = "noise"  # what it feeds its generators: "noise" or "image"
    domains: int = 1  # image domains its data set must have: 1, or 2 for unpaired translation

    def prepare(self, data: DeviceData | DomainData, cfg: Settings, seed: int) -> None:
        """Fix, once per run, the inputs that evaluation and sample panels use. `data` is a
        DeviceData (one domain) or DomainData (two); `cfg` the run's settings."""

    def check(self, parts: Parts) -> None:
        """One tiny forward pass before anything is recorded: raise GanbenchError on a mismatch."""

    @abstractmethod
    def step(self, parts: Parts, batch: Batch) -> dict[str, Tensor]:
        """One training step; returns {loss name: detached scalar tensor}."""

    def tracks(self) -> list[Track]:
        """The Tracks the run's metrics score."""
        return []

    def panel(self, parts: Parts) -> Panel | None:
        """The Panel drawn every `sample_every` steps."""
        return None

    def best_panels(self, parts: Parts) -> dict[str, Panel]:
        """{name: Panel} drawn at each new best score (best-<name>.png)."""
        return {}

    def sample(self, parts: Parts, n: int, seed: int) -> dict[str, Iterable[Tensor]]:
        """{folder name ('' for one): batches of images in [-1, 1]}: `n` images (or as many as
        the scheme has inputs for) made afresh from `seed`, for `ganbench sample`."""
        raise GanbenchError(
            f"scheme {type(self).__name__} does not say how to make samples; its author can implement Scheme.sample"
        )

    def image_of(self, output: Any) -> Tensor:
        """The images in a generator's output (U-GAT-IT's also carries CAM logits)."""
        return output

    def schedule(self, cfg: Settings) -> Schedule:
        """The learning rates' `ganbench.api.schedule.Schedule`: the core options' (schedule=,
        decay_from=, warmup=), unless the scheme has a default of its own (CycleGAN's decay)."""
        return from_options(cfg)

    def network_settings(self, name: str, cfg: Settings) -> Settings:
        """The settings network `name` is built from: the run's, unless the scheme builds two
        networks of one kind differently (U-GAT-IT's global and local discriminators)."""
        return cfg

    def generators(self) -> list[str]:
        """The names of the networks that make images: saved in best.pt, averaged by g_ema."""
        return [name for name, kind in self.networks.items() if kind == "generator"]

    def state_dict(self) -> dict[str, Any]:
        """The scheme's own state, saved in checkpoints ({} when it has none)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take back what `state_dict` gave, on a resume."""


def update(loss: Tensor, *optimizers: torch.optim.Optimizer) -> None:
    """One optimizer step on `loss` for each of `optimizers`."""
    for optimizer in optimizers:
        optimizer.zero_grad(set_to_none=True)
    loss.backward()
    for optimizer in optimizers:
        optimizer.step()


@contextmanager
def frozen(*nets: nn.Module) -> Iterator[None]:
    """G's step needs gradients through D, not for D's weights."""
    params = [p for net in nets for p in net.parameters()]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def fixed_rng(seed: int, offset: int, device: torch.device | str) -> torch.Generator:
    """A random stream of its own for a run's fixed inputs, so training's RNG is untouched."""
    return torch.Generator(device).manual_seed(seed + offset)
