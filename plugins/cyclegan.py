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

from ganbench import GanbenchError, Option, hookimpl
from ganbench.data import class_ids
from ganbench.network import eval_mode
from ganbench.options import non_negative, positive
from ganbench.scheme import Panel, Scheme, Track, frozen, update

from .alternating import when
from .pool import ImagePool
from .translation_nets import patch_discriminator, resnet_generator, unet_generator

PANEL_ROWS = 4  # fixed test images per domain in the sample panels


def _share(value):
    return None if 0 <= value <= 1 else "must be in [0, 1]"


class CycleGAN(Scheme):
    networks = {"g_ab": "generator", "g_ba": "generator", "d_a": "discriminator", "d_b": "discriminator"}
    generator_input = "image"
    domains = 2

    def prepare(self, data, cfg, seed):
        self.cfg = cfg
        self.pools = {domain: ImagePool(cfg.pool_size) for domain in ("a", "b")}
        self.test = {"a": data.a.test, "b": data.b.test}
        self.shown = {d: self.test[d].reference(PANEL_ROWS)[0].float().div(127.5).sub(1) for d in ("a", "b")}

    def _translate(self, parts, name, images):
        g = parts.for_evaluation(name)
        with eval_mode(g):
            return g(images)

    def _track(self, source, target, name):
        reference, note = self.test[target].reference(self.cfg.eval_real)
        chosen, labels = self.test[source].chosen(self.cfg.eval_fake), class_ids(self.test[source].labels)
        inputs, labels = self.test[source].images[chosen], labels if labels is None else labels[chosen]

        def make(parts):
            for batch in inputs.split(self.cfg.eval_batch):
                yield self._translate(parts, name, batch.float().div(127.5).sub(1))
        return Track(f"{source}{target}", reference, note, len(inputs), make, labels,
                     direction=f"{source.upper()}->{target.upper()}")

    def tracks(self):
        """G_AB(test A) scored against test B, and G_BA(test B) against test A."""
        return [self._track("a", "b", "g_ab"), self._track("b", "a", "g_ba")]

    def _rows(self, parts, domain, there, back):
        real = self.shown[domain]
        moved = self._translate(parts, there, real)
        return torch.stack([real, moved, self._translate(parts, back, moved)], 1).flatten(0, 1)

    def panel(self, parts):
        """Rows of A | G_AB(A) | G_BA(G_AB(A)), then B | G_BA(B) | G_AB(G_BA(B))."""
        rows = torch.cat([self._rows(parts, "a", "g_ab", "g_ba"), self._rows(parts, "b", "g_ba", "g_ab")])
        return Panel(rows, 3, "test images: real | translated | translated back", focus=1)

    def best_panels(self, parts):
        return {"translation": Panel(self.panel(parts).images, 3, "translation at the best checkpoint", focus=1)}

    def check(self, parts):
        for name, domain in (("g_ab", "a"), ("g_ba", "b")):
            images = self.shown[domain][:2]
            made = _forward(parts.nets[name], images, f"generator {name}")
            if made.shape != images.shape:
                raise GanbenchError(f"generator {name} turns images of shape {tuple(images.shape[1:])} into "
                                    f"{tuple(made.shape[1:])}; a translation generator keeps the shape")
        for name, domain in (("d_a", "a"), ("d_b", "b")):
            logits = _forward(parts.nets[name], self.shown[domain][:2], f"discriminator {name}")
            if logits.shape[0] != 2:
                raise GanbenchError(f"discriminator {name} returns shape {tuple(logits.shape)} for 2 images; "
                                    f"it must return logits per image (a map is fine)")

    def _rate(self, parts):
        """Constant, then linearly down towards 0 over the last (1 - decay_start) of the steps."""
        steps, start = self.cfg.steps, int(self.cfg.steps * self.cfg.decay_start)
        factor = 1.0 - max(0, parts.step - start) / max(1, steps - start)
        for optimizer in parts.opts.values():
            for group in optimizer.param_groups:
                group.setdefault("base_lr", group["lr"])  # kept in the optimizer's state: resumes agree
                group["lr"] = group["base_lr"] * factor

    def g_losses(self, parts, real_a, real_b):
        cfg, loss = self.cfg, parts.loss
        fake_b, fake_a = parts.g_ab(real_a), parts.g_ba(real_b)
        adversarial = loss.g_loss(parts.d_b(fake_b)) + loss.g_loss(parts.d_a(fake_a))
        cycle = F.l1_loss(parts.g_ba(fake_b), real_a) + F.l1_loss(parts.g_ab(fake_a), real_b)
        identity = torch.zeros((), device=real_a.device)
        if cfg.lambda_identity > 0:
            identity = F.l1_loss(parts.g_ab(real_b), real_b) + F.l1_loss(parts.g_ba(real_a), real_a)
        total = cfg.g_adv_weight * adversarial + cfg.lambda_cycle * (cycle + cfg.lambda_identity * identity)
        return total, fake_a, fake_b, {"cycle_loss": cycle.detach(), "identity_loss": identity.detach()}

    def d_loss(self, parts, d, real, fake):
        return parts.loss.d_loss(d(real), d(fake), **when(parts))

    def step(self, parts, batch):
        self._rate(parts)
        real_a, real_b = batch.real, batch.other
        with frozen(parts.d_a, parts.d_b):
            g_loss, fake_a, fake_b, terms = self.g_losses(parts, real_a, real_b)
            update(g_loss, parts.opts["g_ab"], parts.opts["g_ba"])
        fake_a = self.pools["a"].swap(fake_a.detach(), parts.rng)
        fake_b = self.pools["b"].swap(fake_b.detach(), parts.rng)
        d_a = self.d_loss(parts, parts.d_a, real_a, fake_a)
        d_b = self.d_loss(parts, parts.d_b, real_b, fake_b)
        update(d_a + d_b, parts.opts["d_a"], parts.opts["d_b"])
        return {"g_loss": g_loss.detach(), "d_a_loss": d_a.detach(), "d_b_loss": d_b.detach(), **terms}

    def state_dict(self):
        return {name: pool.state_dict() for name, pool in self.pools.items()}

    def load_state_dict(self, state):
        for name, pool in self.pools.items():
            pool.load_state_dict(state[name], self.shown[name].device)


def _forward(net, images, what):
    """One forward pass in eval mode; a network that cannot take images says so in one line."""
    with eval_mode(net):
        try:
            return net(images)
        except (RuntimeError, TypeError, ValueError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise GanbenchError(f"{what} cannot take images of shape {tuple(images.shape[1:])} ({first}); "
                                f"a translation scheme needs image-to-image networks") from None


SCHEME_OPTIONS = {
    "lambda_cycle": Option(float, 10.0, "weight of the cycle loss, each way", check=non_negative),
    "lambda_identity": Option(float, 0.5, "identity loss weight, as a share of lambda_cycle", check=non_negative),
    "g_adv_weight": Option(float, 2.0, "weight of G's adversarial term (2 with lsgan is the reference's "
                           "MSE without lsgan's ½)", check=non_negative),
    "pool_size": Option(int, 50, "earlier fakes kept for D (0: D sees only the newest)", check=non_negative),
    "decay_start": Option(float, 0.5, "share of the steps before the learning rates start to fall "
                          "linearly to 0 (1: never)", check=_share),
}
NGF = Option(int, 64, "generator's base channels", check=positive)


@hookimpl
def register_schemes(register):
    register("cyclegan", lambda cfg: CycleGAN(), help="unpaired translation A <-> B (CycleGAN)",
             options=SCHEME_OPTIONS, defaults={"loss": "lsgan"})


@hookimpl
def register_generators(register):
    register("cyclegan", resnet_generator, help="CycleGAN's ResNet generator (image to image)", input="image",
             options={"ngf": NGF, "n_blocks": Option(int, 9, "residual blocks (reference: 9 at 256, 6 at 128)",
                                                     check=positive)})
    register("unet", unet_generator, help="report 002's U-Net generator (pix2pix; image to image)", input="image",
             options={"ngf": NGF, "unet_dropout": Option(float, 0.0, "dropout in the 8*ngf up levels "
                                                         "(pix2pix: 0.5)", check=lambda v: None if 0 <= v < 1 else "must be in [0, 1)")})


@hookimpl
def register_discriminators(register):
    register("cyclegan", patch_discriminator, help="70x70 PatchGAN: a map of logits per image", options={
        "ndf": Option(int, 64, "discriminator's base channels", check=positive),
        "n_layers": Option(int, 3, "stride-2 layers (3: 70x70 patches)", check=positive)})
