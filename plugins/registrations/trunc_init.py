"""Registers g_trunc_init and d_trunc_init (ganbench_plugins.trunc_init)."""

from ganbench import hookimpl
from ganbench.api.lazy import implemented_in

impl = implemented_in("ganbench_plugins.trunc_init")


@hookimpl
def register_modifiers(register):
    register(
        "g_trunc_init",
        lambda net, cfg: impl().initialise(net, cfg),
        target="generator",
        help="TruncatedNormal(0, 0.02) init of G (report 002)",
    )
    register(
        "d_trunc_init",
        lambda net, cfg: impl().initialise(net, cfg),
        target="discriminator",
        help="TruncatedNormal(0, 0.02) init of D (report 002)",
    )
