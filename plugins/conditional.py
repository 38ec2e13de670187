"""Training with conditions (class labels or tags) from the data set.

Each step pairs the real images with their own conditions and generates fakes for the
conditions of a shuffled copy of the batch, so conditions come as often as the data has
them. G gets (z, condition), D gets (image, condition). Losses may add terms:
`mismatch_loss(real_with_wrong_condition, wrong_image_with_condition)` (report 002's
matching-aware loss) and, when D returns (realness, auxiliary logits) as an ACGAN does,
`aux_loss(aux_logits, conditions)` on real and fake images (report 004).
"""
import torch

from ganbench import GanbenchError, hookimpl

from .alternating import frozen, update


def _split(output):
    return output if isinstance(output, tuple) else (output, None)


def _shuffled(x, generator):
    return x[torch.randperm(x.shape[0], device=x.device, generator=generator)]


class Conditional:
    conditional = True  # G and D get conditions, in evaluation too

    def d_loss(self, parts, real, cond, fake, fake_cond):
        loss, gen = parts.loss, parts.generator
        real_logits, real_aux = _split(parts.d(real, cond))
        fake_logits, fake_aux = _split(parts.d(fake, fake_cond))
        total = loss.d_loss(real_logits, fake_logits)
        if hasattr(loss, "mismatch_loss"):
            wrong_cond, wrong_images = _shuffled(cond, gen), _shuffled(real, gen)
            total = total + loss.mismatch_loss(_split(parts.d(real, wrong_cond))[0],
                                               _split(parts.d(wrong_images, cond))[0])
        if real_aux is not None and hasattr(loss, "aux_loss"):
            total = total + loss.aux_loss(real_aux, cond) + loss.aux_loss(fake_aux, fake_cond)
        return total

    def step(self, parts, batch):
        real, cond = batch.real, batch.labels
        fake_cond = _shuffled(cond, parts.generator)
        fake = parts.g(parts.noise(real.shape[0]), fake_cond)
        d_loss = self.d_loss(parts, real, cond, fake.detach(), fake_cond)
        update(parts.d_opt, d_loss)
        with frozen(parts.d):
            logits, aux = _split(parts.d(fake, fake_cond))
            g_loss = parts.loss.g_loss(logits)
            if aux is not None and hasattr(parts.loss, "aux_loss"):
                g_loss = g_loss + parts.loss.aux_loss(aux, fake_cond)
            update(parts.g_opt, g_loss)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


def build(cfg):
    if not cfg.cond_dim:
        raise GanbenchError("scheme 'conditional' needs a data set with labels or tags "
                            "(mnist5k has classes; folder takes tags_csv=...)")
    return Conditional()


@hookimpl
def register_schemes(register):
    register("conditional", build, help="G and D get conditions from the data set's labels or tags",
             conditional=True)
