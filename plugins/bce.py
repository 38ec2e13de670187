"""Binary cross-entropy GAN loss with the non-saturating generator loss (Goodfellow et al. 2014).

D minimises -log D(x) - log(1 - D(G(z))); G minimises -log D(G(z)). Written with softplus
on logits, which is the same function without the overflow of sigmoid then log.
`real_label` below 1 is one-sided label smoothing (Salimans et al. 2016: 0.9).
`real_label_noise` is the fair's 1-3b group 3: the real label is lowered by |N(0, s)|,
with s falling linearly to 0 by step `label_noise_until`, so D starts weaker.
"""

import torch
import torch.nn.functional as F

from ganbench import Loss


class NonSaturatingBCE(Loss):
    def __init__(self, label_noise=0.0, until=1, real_label=1.0):
        self.label_noise, self.until, self.real_label = label_noise, until, real_label
        self.uses_step = label_noise > 0

    def real_targets(self, logits, step):
        scale = self.label_noise * max(0.0, 1 - step / self.until)
        return self.real_label - (torch.randn_like(logits) * scale).abs()

    def d_loss(self, real_logits, fake_logits, step=0):
        real = F.softplus(-real_logits)
        if (
            self.uses_step or self.real_label != 1
        ):  # soft target t: t softplus(-x) + (1 - t) softplus(x)
            t = self.real_targets(real_logits, step) if self.uses_step else self.real_label
            real = t * real + (1 - t) * F.softplus(real_logits)
        return real.mean() + F.softplus(fake_logits).mean()

    def g_loss(self, fake_logits):
        return F.softplus(-fake_logits).mean()
