"""Training with conditions (class labels or tags) from the data set.

Each step pairs the real images with their own conditions and generates fakes for the
conditions of a shuffled copy of the batch, so conditions come as often as the data has
them. G gets (z, condition), D gets (image, condition). As in `alternating`, a loss's
`critic_steps`, `penalty` (scored with the conditions too) and `uses_step` apply. Losses may
add terms: `mismatch_loss(real_with_wrong_condition, wrong_image_with_condition)` (report 002's
matching-aware loss) and, when D returns (realness, auxiliary logits) as an ACGAN does,
`aux_loss(aux_logits, conditions)` on real and fake images (report 004).
"""

import torch

from ganbench import GanbenchError
from ganbench.api.data import class_ids
from ganbench.api.loss import added

from .alternating import Alternating, when


def _split(output):
    return output if isinstance(output, tuple) else (output, None)


def _shuffled(x, generator):
    return x[torch.randperm(x.shape[0], device=x.device, generator=generator)]


class Conditional(Alternating):
    """G and D get conditions, in evaluation too (registered with `conditional=True`)."""

    def prepare(self, data, cfg, seed):
        """Conditions for the fixed noise, drawn once from the data (whose labels may be sorted)."""
        super().prepare(data, cfg, seed)
        self.conditions = {
            "eval": data.fixed_labels(cfg.eval_fake, seed),
            "grid": data.fixed_labels(25, seed),
            "check": data.fixed_labels(2, seed),
        }
        self.conditions["diversity"] = self.conditions["interpolation"] = self.conditions["grid"][
            :10
        ]
        self.data = data

    def sample(self, parts, n, seed):
        """n images from fresh noise, with conditions drawn from the data as often as it has them."""
        self.conditions["sample"] = self.data.fixed_labels(n, seed)
        return super().sample(parts, n, seed)

    def generate(self, g, z, at):
        kind, start = at
        return g(z, self.conditions[kind][start : start + len(z)])

    def judge(self, d, images, at):
        kind, start = at
        return _split(d(images, self.conditions[kind][start : start + len(images)]))

    def eval_labels(self):
        return class_ids(self.conditions["eval"])

    def fakes(self, parts, batch):
        """(images, conditions): fakes for a shuffled copy of the batch's conditions."""
        fake_cond = _shuffled(batch.labels, parts.rng)
        return parts.g(parts.noise(fake_cond.shape[0]), fake_cond), fake_cond

    def d_loss(self, parts, batch, fakes):
        loss, real, cond = parts.loss, batch.real, batch.labels
        fake, fake_cond = fakes[0].detach(), fakes[1]
        real_logits, real_aux = _split(parts.d(real, cond))
        fake_logits, fake_aux = _split(parts.d(fake, fake_cond))
        aux = (
            ()
            if real_aux is None
            else (loss.aux_loss(real_aux, cond), loss.aux_loss(fake_aux, fake_cond))
        )
        total = added(loss.d_loss(real_logits, fake_logits, **when(parts)), *aux)
        return total + self.pair_terms(parts, real, cond, fake, fake_cond)

    def pair_terms(self, parts, real, cond, fake, fake_cond):
        """The loss's mismatch term and gradient penalty, when it has them."""
        loss, gen, total = parts.loss, parts.rng, 0
        if loss.mismatch_loss is not None:
            wrong_cond, wrong_images = _shuffled(cond, gen), _shuffled(real, gen)
            total = total + loss.mismatch_loss(
                _split(parts.d(real, wrong_cond))[0], _split(parts.d(wrong_images, cond))[0]
            )
        realness = lambda x, c: _split(parts.d(x, c))[0]  # noqa: E731
        return added(total, loss.penalty(realness, real, fake, gen, conditions=(cond, fake_cond)))

    def g_loss(self, parts, batch, fakes):
        (fake, fake_cond), loss = fakes, parts.loss
        logits, aux = _split(parts.d(fake, fake_cond))
        real = (
            {"real": _split(parts.d(batch.real, batch.labels))[0].detach()}
            if loss.sees_real
            else {}
        )
        return added(
            loss.g_loss(logits, **real), None if aux is None else loss.aux_loss(aux, fake_cond)
        )


def build(cfg):
    if not cfg.cond_dim:
        raise GanbenchError(
            "scheme 'conditional' needs a data set with labels or tags (mnist5k has classes; folder takes tags_csv=...)"
        )
    return Conditional()
