"""Registers the `alternating` scheme (ganbench_plugins.alternating)."""

from ganbench import hookimpl
from ganbench.api.lazy import implemented_in

impl = implemented_in("ganbench_plugins.alternating")


@hookimpl
def register_schemes(register):
    register(
        "alternating",
        lambda cfg: impl().Alternating(),
        help="D step(s), then one G step (critic_steps from the loss)",
        losses=("d_loss", "g_loss"),
    )
