"""Registers the fair's DCGAN (ganbench_plugins.dcgan)."""

from ganbench import Option, hookimpl
from ganbench.api.lazy import implemented_in
from ganbench.api.options import between, non_negative

impl = implemented_in("ganbench_plugins.dcgan")


def _kernel_ok(value):
    return None if 2 <= value <= 9 else "must be between 2 and 9"


RATIO = between(1e-3, 64)  # wider than any GPU holds stops before building
FILTERS = Option(float, 1.0, "channel ratio to DCGAN for G and D (the fair's 1-2a)", check=RATIO)


@hookimpl
def register_generators(register):
    register(
        "dcgan",
        lambda cfg: impl().generator(cfg),
        help="DCGAN generator, the fair's baseline",
        options={
            "filters": FILTERS,
            "g_filters": Option(float, None, "G's channel ratio; defaults to filters", check=RATIO),
            "g_kernel": Option(int, 5, "G's transposed-conv kernel size", check=_kernel_ok),
        },
    )


@hookimpl
def register_discriminators(register):
    register(
        "dcgan",
        lambda cfg: impl().discriminator(cfg),
        help="DCGAN discriminator, the fair's baseline",
        options={
            "filters": FILTERS,
            "d_filters": Option(float, None, "D's channel ratio; defaults to filters", check=RATIO),
            "d_kernel": Option(int, 5, "D's conv kernel size", check=_kernel_ok),
            "d_min_width": Option(
                int, 0, "D's fewest channels per conv (fair 2-1a group 3: 64)", check=non_negative
            ),
        },
    )
