"""Binary cross-entropy GAN loss with the non-saturating generator loss (Goodfellow et al. 2014).

D minimises -log D(x) - log(1 - D(G(z))); G minimises -log D(G(z)). Written with softplus
on logits, which is the same function without the overflow of sigmoid then log.
"""
import torch.nn.functional as F

from ganbench import hookimpl


class NonSaturatingBCE:
    def d_loss(self, real_logits, fake_logits):
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()

    def g_loss(self, fake_logits):
        return F.softplus(-fake_logits).mean()


@hookimpl
def register_losses(register):
    register("bce", lambda cfg: NonSaturatingBCE(), help="binary cross-entropy, non-saturating G loss")
