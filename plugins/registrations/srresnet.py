"""Registers report 004's SRResNet networks (ganbench_plugins.srresnet)."""

from ganbench import Option, hookimpl
from ganbench.api.lazy import implemented_in
from ganbench.api.options import non_negative, positive

impl = implemented_in("ganbench_plugins.srresnet")


@hookimpl
def register_generators(register):
    register(
        "srresnet",
        lambda cfg: impl().generator(cfg),
        help="report 004's SRResNet-style generator (MakeGirlsMoe)",
        options={
            "sr_channels": Option(int, 64, "channels of the residual trunk", check=positive),
            "sr_blocks": Option(int, 16, "residual blocks in the trunk", check=non_negative),
        },
    )


@hookimpl
def register_discriminators(register):
    register(
        "srresnet",
        lambda cfg: impl().discriminator(cfg),
        help="report 004's residual discriminator (MakeGirlsMoe)",
        options={
            "sr_d_blocks": Option(
                int, 2, "residual blocks after each stride-2 conv", check=non_negative
            ),
        },
    )
