"""Registers the `d_stem` modifier (ganbench_plugins.d_stem)."""

from ganbench import Option, hookimpl
from ganbench.api.lazy import implemented_in
from ganbench.api.options import positive

impl = implemented_in("ganbench_plugins.d_stem")


@hookimpl
def register_modifiers(register):
    register(
        "d_stem",
        lambda net, cfg: impl().apply(net, cfg),
        target="discriminator",
        help="stride-1 conv at D's input (fair 1-3b group 2)",
        options={
            "stem_channels": Option(int, 32, "channels of the stem conv", check=positive),
            "stem_kernel": Option(int, 3, "kernel of the stem conv (2-1a uses 4)", check=positive),
        },
    )
