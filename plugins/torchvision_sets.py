"""CIFAR-10, MNIST and CelebA through torchvision, with their labels for conditional runs.

Nothing is downloaded unless asked: `download=true` fetches the set into `data_root` (on a
machine with internet); otherwise the files must already be there, or the run stops before
training with one line saying so. Decoded images are cached per resolution.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganbench import GanbenchError, ImageSet, to_resolution
from ganbench.api.data import cached

Pair = tuple[torch.Tensor, torch.Tensor]  # uint8 images at res, their labels or tags
FETCH = "pass download=true on a machine with internet, or data_root=PATH where it already is"


def _open(name: str, make: Callable[[str, bool], Any], cfg: Any) -> Any:
    root = Path(cfg.data_root).expanduser()
    try:
        return make(str(root), cfg.download)
    except RuntimeError as e:  # torchvision: "Dataset not found or corrupted"
        raise GanbenchError(f"{name} is not in {root} ({e}); {FETCH}") from None
    except OSError as e:  # a download without network
        raise GanbenchError(f"{name} could not be downloaded into {root} ({e}); {FETCH}") from None


def _cached(name: str, cfg: Any, decode: Callable[[], Pair]) -> Pair:
    return cached(cfg.cache_dir, f"{name}-{cfg.res}.pt", decode)


def cifar10(cfg: Any) -> ImageSet:
    from torchvision.datasets import CIFAR10

    def decode() -> Pair:
        data = _open("cifar10", lambda root, dl: CIFAR10(root, train=True, download=dl), cfg)
        images = torch.from_numpy(data.data).permute(0, 3, 1, 2).contiguous()
        return to_resolution(images, cfg.res), torch.tensor(data.targets)

    return ImageSet(*_cached("cifar10", cfg, decode), "CIFAR-10 training set")


def mnist(cfg: Any) -> ImageSet:
    from torchvision.datasets import MNIST

    def decode() -> Pair:
        data = _open("mnist", lambda root, dl: MNIST(root, train=True, download=dl), cfg)
        return to_resolution(data.data.unsqueeze(1), cfg.res), data.targets.clone()

    return ImageSet(*_cached("mnist", cfg, decode), "MNIST training set")


def celeba(cfg: Any) -> ImageSet:
    from torchvision.datasets import CelebA

    def decode() -> Pair:
        data = _open(
            "celeba",
            lambda root, dl: CelebA(root, split="all", target_type="attr", download=dl),
            cfg,
        )
        images = [
            to_resolution(torch.from_numpy(np.array(data[i][0])).permute(2, 0, 1)[None], cfg.res)
            for i in range(len(data))
        ]
        return torch.cat(images), data.attr.float()

    return ImageSet(*_cached("celeba", cfg, decode), "CelebA, with its 40 attributes as tags")
