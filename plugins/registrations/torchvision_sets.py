"""Registers cifar10, mnist and celeba (ganbench_plugins.torchvision_sets)."""

from ganbench import Option, hookimpl
from ganbench.api.lazy import implemented_in

impl = implemented_in("ganbench_plugins.torchvision_sets")
OPTIONS = {
    "data_root": Option(str, "~/.cache/ganbench/data", "where torchvision data sets are (or go)"),
    "download": Option(bool, False, "let torchvision download the data set (needs internet)"),
}


@hookimpl
def register_datasets(register):
    register(
        "cifar10",
        lambda cfg: impl().cifar10(cfg),
        help="CIFAR-10 (torchvision), 10 classes",
        channels=3,
        classes=10,
        options=OPTIONS,
    )
    register(
        "mnist",
        lambda cfg: impl().mnist(cfg),
        help="MNIST (torchvision), 10 classes",
        channels=1,
        classes=10,
        options=OPTIONS,
    )
    register(
        "celeba",
        lambda cfg: impl().celeba(cfg),
        help="CelebA (torchvision), 40 attribute tags",
        channels=3,
        classes=40,
        options=OPTIONS,
    )
