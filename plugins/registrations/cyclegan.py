"""Registers CycleGAN's scheme and networks and report 002's U-Net (ganbench_plugins.cyclegan,
ganbench_plugins.translation_nets)."""

from ganbench import Option, hookimpl
from ganbench.api.lazy import implemented_in
from ganbench.api.options import non_negative, positive

from .unpaired import DECAY_START

impl, nets = (
    implemented_in("ganbench_plugins.cyclegan"),
    implemented_in("ganbench_plugins.translation_nets"),
)
SCHEME_OPTIONS = {
    "lambda_cycle": Option(float, 10.0, "weight of the cycle loss, each way", check=non_negative),
    "lambda_identity": Option(
        float, 0.5, "identity loss weight, as a share of lambda_cycle", check=non_negative
    ),
    "g_adv_weight": Option(
        float,
        2.0,
        "weight of G's adversarial term (2 with lsgan is the reference's MSE without lsgan's ½)",
        check=non_negative,
    ),
    "pool_size": Option(
        int, 50, "earlier fakes kept for D (0: D sees only the newest)", check=non_negative
    ),
    "decay_start": DECAY_START,
}
NGF = Option(int, 64, "generator's base channels", check=positive)


@hookimpl
def register_schemes(register):
    register(
        "cyclegan",
        lambda cfg: impl().CycleGAN(),
        help="unpaired translation A <-> B (CycleGAN)",
        options=SCHEME_OPTIONS,
        defaults={"loss": "lsgan"},
        losses=("g_loss", "d_a_loss", "d_b_loss", "cycle_loss", "identity_loss"),
    )


@hookimpl
def register_generators(register):
    register(
        "cyclegan",
        lambda cfg: nets().resnet_generator(cfg),
        help="CycleGAN's ResNet generator (image to image)",
        input="image",
        options={
            "ngf": NGF,
            "n_blocks": Option(
                int, 9, "residual blocks (reference: 9 at 256, 6 at 128)", check=positive
            ),
        },
    )
    register(
        "unet",
        lambda cfg: nets().unet_generator(cfg),
        help="report 002's U-Net generator (pix2pix; image to image)",
        input="image",
        options={
            "ngf": NGF,
            "unet_dropout": Option(
                float,
                0.0,
                "dropout in the 8*ngf up levels (pix2pix: 0.5)",
                check=lambda v: None if 0 <= v < 1 else "must be in [0, 1)",
            ),
        },
    )


@hookimpl
def register_discriminators(register):
    register(
        "cyclegan",
        lambda cfg: nets().patch_discriminator(cfg),
        help="70x70 PatchGAN: a map of logits per image",
        options={
            "ndf": Option(int, 64, "discriminator's base channels", check=positive),
            "n_layers": Option(int, 3, "stride-2 layers (3: 70x70 patches)", check=positive),
        },
    )
