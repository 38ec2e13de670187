"""Image sets kept as uint8 on the device and batched there, with no host round trip."""

import contextlib
import hashlib
import math
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, TypeVar

import torch
import torch.nn.functional as F

from ganbench.errors import GanbenchError, GanbenchWarning


@dataclass
class ImageSet:
    """What a data set plugin returns: uint8 images (N, C, res, res) and optional labels,
    class ids (N,) or multi-hot tags (N, K); either becomes a float condition vector.
    `test` holds held-out images of the same kind (translation scores on them)."""

    images: torch.Tensor
    labels: torch.Tensor | None = None
    description: str = ""
    test: Optional["ImageSet"] = None


@dataclass
class TwoDomains:
    """What a data set plugin returns for unpaired translation: domains A and B, each an
    ImageSet with its own `test` images."""

    a: ImageSet
    b: ImageSet
    description: str = ""


@dataclass
class Batch:
    """One step's real data: images in [-1, 1], and labels or a second domain when present."""

    real: torch.Tensor
    labels: torch.Tensor | None = None  # (N, K) float conditions: one-hot classes or tags
    other: torch.Tensor | None = None


class DeviceData:
    """Holds an ImageSet on the device and draws random batches from it there."""

    domains = 1

    def __init__(
        self, imageset: ImageSet, device: torch.device, flip: bool = False, rotate: float = 0.0
    ) -> None:
        self.images = imageset.images.to(device)
        self.labels = None if imageset.labels is None else conditions(imageset.labels).to(device)
        self.flip, self.rotate, self.description = flip, rotate, imageset.description
        self.test = None if imageset.test is None else DeviceData(imageset.test, device)

    @property
    def device(self) -> torch.device:
        return self.images.device

    def reference(self, n: int) -> tuple[torch.Tensor, str]:
        """(images, note): up to n real images in a fixed order (a seed-0 permutation), the
        metrics' reference set, and how it was chosen for the protocol fingerprint."""
        images = self.images[self.chosen(n)]
        return (
            images,
            f"{len(images)} of {len(self)} (seed-0 permutation), data sha256 {digest(images)}",
        )

    def chosen(self, n: int) -> torch.Tensor:
        """The indices of the reference: the first n of a seed-0 permutation."""
        order = torch.randperm(len(self), generator=torch.Generator().manual_seed(0))
        return order[:n].to(self.device)

    @property
    def cond_dim(self) -> int:
        return 0 if self.labels is None else self.labels.shape[1]

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    def __len__(self) -> int:
        return self.images.shape[0]

    def fixed_labels(self, n: int, seed: int) -> torch.Tensor:
        """n conditions drawn from the data with their own seed: the same every evaluation and
        every sample grid of a run, and as varied as the data (whose labels may be sorted)."""
        pick = torch.randint(len(self), (n,), generator=torch.Generator().manual_seed(seed))
        if self.labels is None:
            raise GanbenchError(f"{self.description or 'the data set'} has no labels to draw")
        return self.labels[pick.to(self.labels.device)]

    def sample(self, n: int, rng: torch.Generator) -> Batch:
        idx = torch.randint(len(self), (n,), device=self.images.device, generator=rng)
        real = self.images[idx].float().div_(127.5).sub_(1.0)
        if self.flip:
            mirror = torch.rand(n, 1, 1, 1, device=real.device, generator=rng) < 0.5
            real = torch.where(mirror, real.flip(3), real)
        if self.rotate:
            real = rotated(real, self.rotate, rng)
        labels = None if self.labels is None else self.labels[idx]
        return Batch(real, labels)


class DomainData:
    """Two domains on the device; a batch holds A's images as `real` and B's as `other`."""

    domains = 2

    def __init__(
        self, domains: TwoDomains, device: torch.device, flip: bool = False, rotate: float = 0.0
    ) -> None:
        check_domains(domains)
        self.a, self.b = (DeviceData(d, device, flip, rotate) for d in (domains.a, domains.b))
        self.description = domains.description

    @property
    def device(self) -> torch.device:
        return self.a.device

    @property
    def channels(self) -> int:
        return self.a.channels

    cond_dim = 0

    def __len__(self) -> int:
        return min(len(self.a), len(self.b))

    def sample(self, n: int, rng: torch.Generator) -> Batch:
        a, b = self.a.sample(n, rng), self.b.sample(n, rng)
        return Batch(a.real, other=b.real)


def check_domains(domains: TwoDomains) -> None:
    """Both domains have train and test images, all of one shape, before anything runs."""
    want = tuple(domains.a.images.shape[1:])
    for name, domain in (("A", domains.a), ("B", domains.b)):
        for split, images in (
            ("train", domain.images),
            ("test", None if domain.test is None else domain.test.images),
        ):
            if images is None or len(images) == 0:
                raise GanbenchError(
                    f"domain {name} has no {split} images; a two-domain data set needs "
                    f"train and test images in both (folder: trainA/, testA/, trainB/, testB/)"
                )
            if tuple(images.shape[1:]) != want:
                raise GanbenchError(
                    f"domain {name}'s {split} images are {tuple(images.shape[1:])}, domain A's "
                    f"train images {want}; a data set must bring both domains to one size"
                )


def digest(images: torch.Tensor) -> str:
    return hashlib.sha256(images.cpu().numpy().tobytes()).hexdigest()[:16]


def class_ids(conditions: torch.Tensor | None) -> torch.Tensor | None:
    """Class ids of one-hot condition rows (a classifier can check them); None for tags or none."""
    if conditions is None or not bool((conditions.sum(1) == 1).all()):
        return None
    return conditions.argmax(1)


def conditions(labels: torch.Tensor) -> torch.Tensor:
    """Class ids to one-hot rows; multi-hot tags stay as they are; float either way."""
    if labels.dim() == 1:
        return F.one_hot(labels.long(), int(labels.max()) + 1).float()
    return labels.float()


def rotated(images: torch.Tensor, degrees: float, rng: torch.Generator) -> torch.Tensor:
    """Each image turned by a random angle in [-degrees, degrees], edges repeated."""
    n = images.shape[0]
    angle = (torch.rand(n, device=images.device, generator=rng) * 2 - 1) * math.radians(degrees)
    cos, sin, zero = angle.cos(), angle.sin(), torch.zeros_like(angle)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def to_resolution(images: torch.Tensor, res: int) -> torch.Tensor:
    """Center-crop uint8 images (N, C, H, W) to a square and resize them to res x res."""
    h, w = images.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = images[..., top : top + side, left : left + side]
    if side == res:
        return square.contiguous()
    resized = F.interpolate(
        square.float(), size=(res, res), mode="bilinear", antialias=side > res, align_corners=False
    )
    return resized.round_().clamp_(0, 255).to(torch.uint8)


T = TypeVar("T")
KEPT = 4  # decoded sets a process holds in memory, the least recently used dropped first
_kept: OrderedDict[str, Any] = OrderedDict()
_kept_lock = threading.Lock()  # runs in threads of one process share the memory
_MISSING = object()


def cached(folder: str | Path | None, name: str, make: Callable[[], T]) -> T:
    """make()'s value (decoded images), made once: a process keeps the last few in memory, and
    later processes read them from folder/name (the run's cache_dir), written atomically.
    `name` must say everything that changes the value (set, res, split, ...). Without a folder
    (a bare cfg) only memory keeps it. The value is shared: never change its tensors in place."""
    path = None if folder is None else Path(folder).expanduser() / name
    key = name if path is None else os.path.abspath(path)
    value = _recalled(key)
    if value is _MISSING:
        value = _MISSING if path is None else _read(path)
    if value is _MISSING:
        value = make()
        if path is not None:
            _write(path, value)
    _remember(key, value)
    return value


def _recalled(key: str) -> Any:
    with _kept_lock:
        if key in _kept:
            _kept.move_to_end(key)
        return _kept.get(key, _MISSING)


def _remember(key: str, value: object) -> None:
    with _kept_lock:
        _kept[key] = value
        _kept.move_to_end(key)
        while len(_kept) > KEPT:
            _kept.popitem(last=False)


def _read(path: Path) -> Any:
    """The value saved at `path`; _MISSING when there is none, or when it is damaged (a killed
    write from before writes were atomic, a full disk): then it is simply made again."""
    if not path.exists():
        return _MISSING
    try:
        return torch.load(path, map_location="cpu")
    except PermissionError:
        raise GanbenchError(
            f"cache file {path} cannot be read (permission denied); fix its permissions or remove it"
        ) from None
    except Exception as e:  # truncated or not a cache file: torch raises several kinds
        warnings.warn(
            f"cache file {path} is damaged ({type(e).__name__}); decoding again to replace it",
            GanbenchWarning,
            stacklevel=3,
        )
        return _MISSING


def _write(path: Path, value: object) -> None:
    """torch.save to a temporary file of this process and thread, then os.replace: a reader never
    sees half a file, and runs filling one cache at once do not write into each other's file."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(value, tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as e:  # torch's writer reports a full disk as RuntimeError
        with contextlib.suppress(OSError):  # no folder to hold it: nothing to remove
            tmp.unlink(missing_ok=True)
        raise GanbenchError(
            f"cannot write cache file {path} ({getattr(e, 'strerror', None) or e}); "
            f"free space or fix the folder's permissions"
        ) from None
