"""Registers the `conditional` scheme (ganbench_plugins.conditional)."""

from ganbench import hookimpl
from ganbench.api.lazy import implemented_in

impl = implemented_in("ganbench_plugins.conditional")


@hookimpl
def register_schemes(register):
    register(
        "conditional",
        lambda cfg: impl().build(cfg),
        help="G and D get conditions from the data set's labels or tags",
        conditional=True,
        losses=("d_loss", "g_loss"),
    )
