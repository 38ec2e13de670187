"""Registers the `digit_styles` data set (ganbench_plugins.digit_styles)."""

from ganbench import hookimpl
from ganbench.api.lazy import implemented_in

impl = implemented_in("ganbench_plugins.digit_styles")


@hookimpl
def register_datasets(register):
    register(
        "digit_styles",
        lambda cfg: impl().digit_styles(cfg),
        help="MNIST digits <-> scikit-learn's 8x8 digits (two domains, offline)",
        channels=1,
        classes=10,
        domains=2,
    )
