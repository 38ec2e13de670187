"""Losses for conditional GANs.

matching_aware (report 002, after Reed et al. 2016): D's loss sums four terms, (real image,
right condition) as real, and (fake, right), (real, wrong condition), (wrong image, right
condition) as fake; G's loss is minus D's (fake, right) term.
acgan (report 004, after Odena et al. 2017): the non-saturating BCE adversarial loss plus
lambda times a classification loss on D's auxiliary head, for real and fake images alike:
cross-entropy for one-hot classes, binary cross-entropy for multi-hot tags.
"""
import torch.nn.functional as F

from ganbench import Option, hookimpl
from ganbench.options import non_negative


class MatchingAware:
    def d_loss(self, real, fake):
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    def mismatch_loss(self, real_wrong_condition, wrong_image):
        return F.softplus(real_wrong_condition).mean() + F.softplus(wrong_image).mean()

    def g_loss(self, fake):
        return -F.softplus(fake).mean()


class ACGAN:
    def __init__(self, weight):
        self.weight = weight

    def d_loss(self, real, fake):
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    def g_loss(self, fake):
        return F.softplus(-fake).mean()

    def aux_loss(self, logits, cond):
        one_hot = bool(((cond.sum(1) == 1) & ((cond == 0) | (cond == 1)).all(1)).all())
        if one_hot:
            return self.weight * F.cross_entropy(logits, cond.argmax(1))
        return self.weight * F.binary_cross_entropy_with_logits(logits, cond)


@hookimpl
def register_losses(register):
    register("matching_aware", lambda cfg: MatchingAware(), help="report 002's four-term conditional loss")
    register("acgan", lambda cfg: ACGAN(cfg.acgan_lambda), help="adversarial + lambda * class loss", options={
        "acgan_lambda": Option(float, 1.0, "weight of the class loss (report 004 settled on 5)",
                               check=non_negative)})
