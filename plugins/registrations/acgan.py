"""Registers `acgan_heads` (ganbench_plugins.acgan)."""

from ganbench import Option, hookimpl
from ganbench.api.lazy import implemented_in
from ganbench.api.options import positive

impl = implemented_in("ganbench_plugins.acgan")


@hookimpl
def register_modifiers(register):
    register(
        "acgan_heads",
        lambda net, cfg: impl().apply(net, cfg),
        target="discriminator",
        help="two separate 3-layer heads (report 004)",
        options={
            "acgan_hidden": Option(int, 256, "units of each head's hidden layers", check=positive)
        },
    )
