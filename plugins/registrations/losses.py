"""Registers minimax, lsgan, hinge, ragan and wgan_gp (ganbench_plugins.losses)."""

from ganbench import Option, hookimpl
from ganbench.api.lazy import implemented_in
from ganbench.api.options import non_negative, positive

impl = implemented_in("ganbench_plugins.losses")


@hookimpl
def register_losses(register):
    register("minimax", lambda cfg: impl().Minimax(), help="the original minimax GAN loss")
    register("lsgan", lambda cfg: impl().LeastSquares(), help="least-squares GAN loss")
    register("hinge", lambda cfg: impl().Hinge(), help="hinge loss")
    register(
        "ragan",
        lambda cfg: impl().RelativisticAverage(),
        help="relativistic average GAN loss (RaSGAN); G's step sees D's logits on real images",
    )
    register(
        "wgan_gp",
        lambda cfg: impl().WassersteinGP(cfg.gp_lambda, cfg.critic_steps),
        help="Wasserstein loss with gradient penalty",
        options={
            "gp_lambda": Option(float, 10.0, "weight of the gradient penalty", check=non_negative),
            "critic_steps": Option(int, 5, "D (critic) steps per G step", check=positive),
        },
    )
