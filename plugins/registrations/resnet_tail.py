"""Registers the `resnet_tail` modifier (ganbench_plugins.resnet_tail)."""

from ganbench import Option, hookimpl
from ganbench.api.lazy import implemented_in
from ganbench.api.options import positive

impl = implemented_in("ganbench_plugins.resnet_tail")


def _odd(value):
    return None if value % 2 == 1 else "must be odd, so the stride-1 layers keep the size"


def _widths(value):
    try:
        widths = [int(w) for w in value.split(",")]
    except ValueError:
        return "must be channel counts separated by commas, e.g. 64,32"
    return None if widths and min(widths) > 0 else "must be positive channel counts"


@hookimpl
def register_modifiers(register):
    register(
        "resnet_tail",
        lambda net, cfg: impl().apply(net, cfg),
        target="generator",
        help="residual up-sampling tail (fair 1-3a group 3, 2-1a group 3)",
        options={
            "tail_widths": Option(
                str,
                "32",
                "channels of each residual stage, last at the output resolution (2-1a: 64,32)",
                check=_widths,
            ),
            "tail_expand": Option(
                int, 4, "the 1x1 conv's channels, as a multiple of the width", check=positive
            ),
            "tail_kernel": Option(int, 3, "kernel of the transposed convs", check=_odd),
            "tail_skip": Option(bool, True, "keep the skip connections (false: 1-3a group 2)"),
        },
    )
