"""Registers the digit metrics (ganbench_plugins.digits)."""

from ganbench import hookimpl
from ganbench.api.lazy import implemented_in

impl = implemented_in("ganbench_plugins.digits")


@hookimpl
def register_metrics(register):
    register(
        "mnist_fd",
        lambda cfg: impl().digits_only(cfg, impl().DigitFD),
        help="Fréchet distance in a digit classifier's features (offline; not FID)",
    )
    register(
        "mnist_modes",
        lambda cfg: impl().digits_only(cfg, impl().DigitModes),
        help="class coverage and KL of the class histogram (mode collapse)",
    )
    register(
        "mnist_kept",
        lambda cfg: impl().digits_only(cfg, impl().DigitKept),
        help="share of translated (or conditional) digits the classifier reads as their label",
    )
