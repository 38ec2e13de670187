"""Losses for conditional GANs.

matching_aware (report 002, after Reed et al. 2016): D's loss sums four terms, (real image,
right condition) as real, and (fake, right), (real, wrong condition), (wrong image, right
condition) as fake; G's loss is minus D's (fake, right) term.
acgan (report 004, after Odena et al. 2017): the non-saturating BCE adversarial loss plus
lambda times a classification loss on D's auxiliary head, for real and fake images alike:
cross-entropy for one-hot classes, binary cross-entropy for multi-hot tags.
"""

import torch.nn.functional as F

from .bce import NonSaturatingBCE
from .losses import Minimax


class MatchingAware(Minimax):
    """minimax's (real, right) and (fake, right) terms, and the two mismatched ones."""

    def mismatch_loss(self, real_wrong_condition, wrong_image):
        return F.softplus(real_wrong_condition).mean() + F.softplus(wrong_image).mean()


class ACGAN(NonSaturatingBCE):
    def __init__(self, weight):
        super().__init__()
        self.weight = weight

    def aux_loss(self, logits, cond):
        one_hot = bool(((cond.sum(1) == 1) & ((cond == 0) | (cond == 1)).all(1)).all())
        if one_hot:
            return self.weight * F.cross_entropy(logits, cond.argmax(1))
        return self.weight * F.binary_cross_entropy_with_logits(logits, cond)
