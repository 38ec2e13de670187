"""Registers U-GAT-IT's scheme and networks (ganbench_plugins.ugatit, ganbench_plugins.ugatit_nets)."""

from ganbench import Option, hookimpl
from ganbench.api.lazy import implemented_in
from ganbench.api.options import non_negative, positive

from .unpaired import DECAY_START

impl, nets = (
    implemented_in("ganbench_plugins.ugatit"),
    implemented_in("ganbench_plugins.ugatit_nets"),
)
SCHEME_OPTIONS = {
    "adv_weight": Option(
        float,
        2.0,
        "weight of the adversarial terms (2 with lsgan is photo2cartoon's 1 on MSE without lsgan's ½)",
        check=non_negative,
    ),
    "cycle_weight": Option(
        float, 10.0, "weight of the cycle loss (U-GAT-IT 10, photo2cartoon 50)", check=non_negative
    ),
    "identity_weight": Option(float, 10.0, "weight of the identity loss", check=non_negative),
    "cam_weight": Option(
        float,
        1000.0,
        "weight of G's CAM loss (report 001's ablation: 1000 vs 0)",
        check=non_negative,
    ),
    "decay_start": DECAY_START,
}
CH = Option(
    int, 32, "base channels (photo2cartoon and report 001: 32; U-GAT-IT: 64)", check=positive
)


# what U-GAT-IT's step returns: the totals, then G's weighted terms
LOSSES = ("g_loss", "d_a_loss", "d_b_loss", "adv_loss", "cycle_loss", "identity_loss", "cam_loss")


@hookimpl
def register_schemes(register):
    register(
        "ugatit",
        lambda cfg: impl().UGATIT(),
        help="unpaired translation with CAM attention and AdaLIN (U-GAT-IT; report 001's photo2cartoon form)",
        options=SCHEME_OPTIONS,
        defaults={"loss": "lsgan"},
        losses=LOSSES,
    )


@hookimpl
def register_generators(register):
    register(
        "ugatit",
        lambda cfg: nets().ugatit_generator(cfg),
        help="U-GAT-IT generator: hourglass, CAM, soft AdaLIN (photo2cartoon)",
        input="image",
        options={
            "ch": CH,
            "n_res": Option(
                int, 4, "residual blocks in the encoder and in the decoder", check=positive
            ),
            "light": Option(
                bool, True, "style MLP on pooled features (U-GAT-IT light; photo2cartoon's default)"
            ),
            "soft_adalin": Option(
                bool, True, "soft AdaLIN in the decoder (false: U-GAT-IT's AdaLIN)"
            ),
            "hourglass": Option(
                bool, True, "hourglass blocks at both ends (false: U-GAT-IT's plain stem and tail)"
            ),
        },
    )


@hookimpl
def register_discriminators(register):
    register(
        "ugatit",
        lambda cfg: nets().ugatit_discriminator(cfg),
        help="U-GAT-IT discriminator with CAM logits; the ugatit scheme builds a global and a local one per domain",
        options={
            "ch": CH,
            "global_layers": Option(
                int, 7, "layers of the global discriminators (U-GAT-IT: 7)", check=positive
            ),
            "local_layers": Option(
                int, 5, "layers of the local discriminators (U-GAT-IT: 5)", check=positive
            ),
        },
    )
