"""Registers report 000's DCGAN (ganbench_plugins.dcgan000)."""

from ganbench import Option, hookimpl
from ganbench.api.lazy import implemented_in
from ganbench.api.options import positive

impl = implemented_in("ganbench_plugins.dcgan000")
FEATURE_DIM = Option(
    int, 64, "report 000's feature_dim: G's last and D's first channel count", check=positive
)


@hookimpl
def register_generators(register):
    register(
        "dcgan000",
        lambda cfg: impl().generator(cfg),
        help="report 000's DCGAN generator (Linear + BatchNorm1d head)",
        options={"feature_dim": FEATURE_DIM},
    )


@hookimpl
def register_discriminators(register):
    register(
        "dcgan000",
        lambda cfg: impl().discriminator(cfg),
        help="report 000's DCGAN discriminator",
        options={
            "feature_dim": FEATURE_DIM,
            "d_norm": Option(
                str,
                "batch",
                "normalisation in D: batch, or instance for WGAN-GP",
                choices=("batch", "instance", "none"),
            ),
        },
    )
