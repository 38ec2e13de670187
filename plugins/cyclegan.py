"""CycleGAN (Zhu et al. 2017) for unpaired translation between domains A and B, as in its
reference implementation (junyanz/pytorch-CycleGAN-and-pix2pix), and report 002's variant
with a U-Net generator.

`plugins=cyclegan` picks the reference networks (ResNet generator with `n_blocks` blocks,
70x70 PatchGAN), the scheme, and the least-squares loss (`lsgan`) unless plugins= names
another loss; `plugins=cyclegan,unet` swaps in report 002's U-Net generator.

Each step: G_AB and G_BA take one step on the adversarial loss of both directions, the cycle
loss |G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b| weighted by `lambda_cycle` (10) and the
identity loss |G_AB(b) - b| + |G_BA(a) - a| weighted by lambda_cycle * `lambda_identity`
(0.5); then D_A and D_B step on real images against fakes drawn from a history of
`pool_size` (50) earlier fakes (Shrivastava et al. 2017). D_A judges domain A, D_B domain B.
The learning rates stay constant for the first `decay_start` share of the steps and then
fall linearly towards 0, as the reference's 100 + 100 epochs do.

lsgan's G loss is ½·(D(G(x)) - 1)², after Mao et al.; the reference's is the mean squared
error without the ½, so `g_adv_weight` defaults to 2 to keep the reference's balance between
the adversarial and the cycle terms.
"""

import torch
import torch.nn.functional as F

from ganbench import GanbenchError
from ganbench.api.scheme import frozen, update

from .alternating import when
from .pool import ImagePool
from .unpaired import Unpaired, forward


class CycleGAN(Unpaired):
    networks = {
        "g_ab": "generator",
        "g_ba": "generator",
        "d_a": "discriminator",
        "d_b": "discriminator",
    }

    def prepare(self, data, cfg, seed):
        super().prepare(data, cfg, seed)
        self.pools = {domain: ImagePool(cfg.pool_size) for domain in ("a", "b")}

    def check(self, parts):
        super().check(parts)
        for name, domain in (("d_a", "a"), ("d_b", "b")):
            logits = forward(parts.nets[name], self.shown[domain][:2], f"discriminator {name}")
            if not isinstance(logits, torch.Tensor) or logits.shape[0] != 2:
                raise GanbenchError(
                    f"discriminator {name} returns {_shape(logits)} for 2 images; "
                    f"it must return a tensor of logits per image (a map is fine)"
                )

    def g_losses(self, parts, real_a, real_b):
        cfg, loss = self.cfg, parts.loss
        fake_b, fake_a = parts.g_ab(real_a), parts.g_ba(real_b)
        adversarial = loss.g_loss(parts.d_b(fake_b)) + loss.g_loss(parts.d_a(fake_a))
        cycle = F.l1_loss(parts.g_ba(fake_b), real_a) + F.l1_loss(parts.g_ab(fake_a), real_b)
        identity = torch.zeros((), device=real_a.device)
        if cfg.lambda_identity > 0:
            identity = F.l1_loss(parts.g_ab(real_b), real_b) + F.l1_loss(parts.g_ba(real_a), real_a)
        total = cfg.g_adv_weight * adversarial + cfg.lambda_cycle * (
            cycle + cfg.lambda_identity * identity
        )
        return (
            total,
            fake_a,
            fake_b,
            {"cycle_loss": cycle.detach(), "identity_loss": identity.detach()},
        )

    def d_loss(self, parts, d, real, fake):
        return parts.loss.d_loss(d(real), d(fake), **when(parts))

    def step(self, parts, batch):
        real_a, real_b = batch.real, batch.other
        with frozen(parts.d_a, parts.d_b):
            g_loss, fake_a, fake_b, terms = self.g_losses(parts, real_a, real_b)
            update(g_loss, parts.opts["g_ab"], parts.opts["g_ba"])
        fake_a = self.pools["a"].swap(fake_a.detach(), parts.rng)
        fake_b = self.pools["b"].swap(fake_b.detach(), parts.rng)
        d_a = self.d_loss(parts, parts.d_a, real_a, fake_a)
        d_b = self.d_loss(parts, parts.d_b, real_b, fake_b)
        update(d_a + d_b, parts.opts["d_a"], parts.opts["d_b"])
        return {
            "g_loss": g_loss.detach(),
            "d_a_loss": d_a.detach(),
            "d_b_loss": d_b.detach(),
            **terms,
        }

    def state_dict(self):
        return {name: pool.state_dict() for name, pool in self.pools.items()}

    def load_state_dict(self, state):
        for name, pool in self.pools.items():
            pool.load_state_dict(state[name], self.shown[name].device)


def _shape(output):
    return (
        f"shape {tuple(output.shape)}"
        if isinstance(output, torch.Tensor)
        else f"a {type(output).__name__}"
    )
