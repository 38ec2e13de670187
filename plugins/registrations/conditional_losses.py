"""Registers `matching_aware` and `acgan` (ganbench_plugins.conditional_losses)."""

from ganbench import Option, hookimpl
from ganbench.api.lazy import implemented_in
from ganbench.api.options import non_negative

impl = implemented_in("ganbench_plugins.conditional_losses")


@hookimpl
def register_losses(register):
    register(
        "matching_aware",
        lambda cfg: impl().MatchingAware(),
        help="report 002's four-term conditional loss",
    )
    register(
        "acgan",
        lambda cfg: impl().ACGAN(cfg.acgan_lambda),
        help="adversarial + lambda * class loss",
        options={
            "acgan_lambda": Option(
                float, 1.0, "weight of the class loss (report 004 settled on 5)", check=non_negative
            )
        },
    )
