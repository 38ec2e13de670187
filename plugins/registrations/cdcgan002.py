"""Registers report 002's conditional DCGAN (ganbench_plugins.cdcgan002)."""

from ganbench import hookimpl
from ganbench.api.lazy import implemented_in

impl = implemented_in("ganbench_plugins.cdcgan002")


@hookimpl
def register_generators(register):
    register(
        "cdcgan002",
        lambda cfg: impl().generator(cfg),
        help="report 002's conditional DCGAN generator",
    )


@hookimpl
def register_discriminators(register):
    register(
        "cdcgan002",
        lambda cfg: impl().discriminator(cfg),
        help="report 002's conditional DCGAN discriminator",
    )
