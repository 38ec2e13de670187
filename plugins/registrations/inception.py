"""Registers the Inception metrics (ganbench_plugins.inception)."""

from ganbench import Option, hookimpl
from ganbench.api.lazy import implemented_in
from ganbench.api.options import positive

impl = implemented_in("ganbench_plugins.inception")


@hookimpl
def register_metrics(register):
    register(
        "fid",
        lambda cfg: impl().FID(impl().space(cfg)),
        help="Fréchet Inception Distance (torch-fidelity)",
    )
    register(
        "is",
        lambda cfg: impl().IS(impl().space(cfg), cfg.is_splits),
        help="Inception Score",
        options={
            "is_splits": Option(
                int, 10, "splits of the generated images for IS's mean and std", check=positive
            )
        },
    )
    register(
        "kid",
        lambda cfg: impl().KID(impl().space(cfg), cfg.kid_subsets, cfg.kid_subset_size),
        help="Kernel Inception Distance",
        options={
            "kid_subsets": Option(int, 100, "KID's random subsets", check=positive),
            "kid_subset_size": Option(
                int, 1000, "images per KID subset (capped at the counts)", check=positive
            ),
        },
    )
    register(
        "prc",
        lambda cfg: impl().PRC(impl().space(cfg), cfg.prc_neighborhood),
        help="precision and recall (Kynkäänniemi et al. 2019)",
        options={
            "prc_neighborhood": Option(int, 3, "k of the k-NN manifold estimate", check=positive)
        },
    )
