"""Registers the `spectral_norm` modifier (ganbench_plugins.spectral_norm)."""

from ganbench import hookimpl
from ganbench.api.lazy import implemented_in

impl = implemented_in("ganbench_plugins.spectral_norm")


@hookimpl
def register_modifiers(register):
    register(
        "spectral_norm",
        lambda net, cfg: impl().apply(net, cfg),
        target="discriminator",
        help="spectral normalisation on D's conv and linear layers",
    )
