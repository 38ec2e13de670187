"""Registers the `cbn` modifier (ganbench_plugins.cbn)."""

from ganbench import Option, hookimpl
from ganbench.api.lazy import implemented_in
from ganbench.api.options import positive

impl = implemented_in("ganbench_plugins.cbn")


@hookimpl
def register_modifiers(register):
    register(
        "cbn",
        lambda net, cfg: impl().apply(net, cfg),
        target="generator",
        help="conditional BN on the noise (fair 1-3c)",
        options={
            "cbn_hidden": Option(
                int, 100, "hidden units of the MLPs that make gamma and beta", check=positive
            ),
        },
    )
