"""Registers the `bce` loss (ganbench_plugins.bce)."""

from ganbench import Option, hookimpl
from ganbench.api.lazy import implemented_in
from ganbench.api.options import non_negative

impl = implemented_in("ganbench_plugins.bce")


@hookimpl
def register_losses(register):
    register(
        "bce",
        lambda cfg: impl().NonSaturatingBCE(
            cfg.real_label_noise, cfg.label_noise_until, cfg.real_label
        ),
        help="binary cross-entropy, non-saturating G loss",
        options={
            "real_label": Option(
                float,
                1.0,
                "D's target for real images (0.9: one-sided label smoothing)",
                check=lambda v: None if 0 < v <= 1 else "must be in (0, 1]",
            ),
            "real_label_noise": Option(
                float,
                0.0,
                "s of |N(0, s)| taken from D's real label (fair 1-3b: 0.2)",
                check=non_negative,
            ),
            "label_noise_until": Option(
                int,
                2000,
                "step by which that noise has faded out",
                check=lambda v: None if v > 0 else "must be greater than 0",
            ),
        },
    )
