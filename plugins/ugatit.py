"""U-GAT-IT (Kim et al. 2020) for unpaired translation, in the form photo2cartoon
(minivision-ai) published and report 001 trains: two generators with CAM attention and
soft AdaLIN, and four discriminators, a global and a local one per domain.

`plugins=ugatit` picks the scheme, its networks (plugins/ugatit_nets.py) and the
least-squares loss. Each step, as photo2cartoon's:
- D: each discriminator judges real images of its domain against G's translations into it,
  on its logit map and on its CAM logits; all four step on the sum, times `adv_weight`.
- G: the adversarial loss of the same eight outputs; the cycle loss |G_BA(G_AB(a)) - a| +
  |G_AB(G_BA(b)) - b| (`cycle_weight`, 10 in U-GAT-IT, 50 in photo2cartoon); the identity
  loss |G_BA(a) - a| + |G_AB(b) - b| (`identity_weight`, 10); and the CAM loss
  (`cam_weight`, 1000): each generator's CAM logits, by BCE, say 1 for an image of the
  domain it translates from and 0 for one of the domain it translates to. Then every rho
  and soft-AdaLIN weight is clipped to [0, 1].
- The learning rates fall linearly to 0 over the second half (`decay_start`, 0.5).
photo2cartoon's face-ID loss needs a pretrained face network and is left out.

lsgan's losses carry a ½ that photo2cartoon's mean squared errors do not: `adv_weight` 2
with lsgan is its adversarial weight 1 (as CycleGAN's g_adv_weight).

Panels show, per fixed test image, the image, G's CAM heat map (jet colours, blue low, red
high, each map scaled to its own range), the translation and the translation back; at each
new best score `best-cam.png` keeps one fixed test image per domain with its heat map.
"""

from types import SimpleNamespace

import matplotlib
import torch
import torch.nn.functional as F

from ganbench import GanbenchError
from ganbench.api.scheme import Panel, frozen, update

from .alternating import when
from .ugatit_nets import Translation, Verdict, clip_mixing
from .unpaired import Unpaired, forward

JUDGES = {"a": ("d_a_global", "d_a_local"), "b": ("d_b_global", "d_b_local")}
DISCRIMINATORS = [name for names in JUDGES.values() for name in names]
ROUTES = {"a": ("g_ab", "g_ba"), "b": ("g_ba", "g_ab")}  # from a domain: there, and back


class UGATIT(Unpaired):
    networks = {
        "g_ab": "generator",
        "g_ba": "generator",
        **dict.fromkeys(DISCRIMINATORS, "discriminator"),
    }

    def network_settings(self, name, cfg):
        """Each discriminator knows whether it is global or local (its number of layers)."""
        if self.networks[name] != "discriminator":
            return cfg
        return SimpleNamespace(**vars(cfg), scope=name.rsplit("_", 1)[1])

    def image_of(self, output):
        return output.image

    def check(self, parts):
        for name, domain in (("g_ab", "a"), ("g_ba", "b")):
            self._expect(
                forward(parts.nets[name], self.shown[domain][:2], f"generator {name}"),
                Translation,
                name,
            )
        super().check(parts)
        for domain, names in JUDGES.items():
            for name in names:
                self._expect(
                    forward(parts.nets[name], self.shown[domain][:2], f"discriminator {name}"),
                    Verdict,
                    name,
                )

    def _expect(self, output, kind, name):
        if not isinstance(output, kind):
            raise GanbenchError(
                f"scheme ugatit needs networks that return a {kind.__name__} ({', '.join(kind._fields)}); "
                f"{name} returns a {type(output).__name__}: use the ugatit generator and discriminator"
            )

    def d_loss(self, parts, domain, real, fake):
        """The domain's global and local discriminators, on their logit maps and CAM logits."""
        total = 0
        for name in JUDGES[domain]:
            on_real, on_fake = parts.nets[name](real), parts.nets[name](fake)
            total = total + parts.loss.d_loss(on_real.logits, on_fake.logits, **when(parts))
            total = total + parts.loss.d_loss(on_real.cam_logit, on_fake.cam_logit, **when(parts))
        return total

    def fooled(self, parts, domain, fake):
        """G's adversarial loss against the domain's two discriminators."""
        verdicts = [parts.nets[name](fake) for name in JUDGES[domain]]
        return sum(parts.loss.g_loss(v.logits) + parts.loss.g_loss(v.cam_logit) for v in verdicts)

    def g_losses(self, parts, real_a, real_b):
        cfg = self.cfg
        ab, ba = parts.g_ab(real_a), parts.g_ba(real_b)
        same_a, same_b = parts.g_ba(real_a), parts.g_ab(real_b)
        terms = {
            "adv_loss": self.fooled(parts, "a", ba.image) + self.fooled(parts, "b", ab.image),
            "cycle_loss": F.l1_loss(parts.g_ba(ab.image).image, real_a)
            + F.l1_loss(parts.g_ab(ba.image).image, real_b),
            "identity_loss": F.l1_loss(same_a.image, real_a) + F.l1_loss(same_b.image, real_b),
            "cam_loss": cam_loss(ab.cam_logit, same_b.cam_logit)
            + cam_loss(ba.cam_logit, same_a.cam_logit),
        }
        weights = (cfg.adv_weight, cfg.cycle_weight, cfg.identity_weight, cfg.cam_weight)
        total = sum(w * term for w, term in zip(weights, terms.values()))
        return total, {name: term.detach() for name, term in terms.items()}

    def step(self, parts, batch):
        real_a, real_b = batch.real, batch.other
        with torch.no_grad():  # D's step needs the translations, not their gradients
            fake_b, fake_a = parts.g_ab(real_a).image, parts.g_ba(real_b).image
        d_a, d_b = self.d_loss(parts, "a", real_a, fake_a), self.d_loss(parts, "b", real_b, fake_b)
        update(self.cfg.adv_weight * (d_a + d_b), *(parts.opts[name] for name in DISCRIMINATORS))
        with frozen(*(parts.nets[name] for name in DISCRIMINATORS)):
            g_loss, terms = self.g_losses(parts, real_a, real_b)
            update(g_loss, parts.opts["g_ab"], parts.opts["g_ba"])
        clip_mixing(parts.g_ab)
        clip_mixing(parts.g_ba)
        return {
            "g_loss": g_loss.detach(),
            "d_a_loss": d_a.detach(),
            "d_b_loss": d_b.detach(),
            **terms,
        }

    def _cam_rows(self, parts, domain, count=None):
        """Per fixed test image of `domain`: image | heat map | translated | translated back."""
        there, back = ROUTES[domain]
        real = self.shown[domain][:count]
        moved = self.attend(parts, there, real)
        returned = self.translate(parts, back, moved.image)
        return torch.stack(
            [rgb(real), heat_image(moved.heatmap, real), rgb(moved.image), rgb(returned)], 1
        ).flatten(0, 1)

    def panel(self, parts):
        rows = torch.cat([self._cam_rows(parts, "a"), self._cam_rows(parts, "b")])
        return Panel(
            rows, 4, "test images: real | CAM heat map | translated | translated back", focus=2
        )

    def best_panels(self, parts):
        cam = torch.cat([self._cam_rows(parts, "a", 1)[:3], self._cam_rows(parts, "b", 1)[:3]])
        return {
            "translation": Panel(
                self.panel(parts).images, 4, "translation at the best checkpoint", focus=2
            ),
            "cam": Panel(
                cam,
                3,
                "first test image of A, then of B: real | G's CAM heat map | translated, at the best checkpoint",
                focus=1,
            ),
        }


def cam_loss(away, staying):
    """A generator's CAM logits: 1 for images it translates, 0 for images already in its target domain."""
    return F.binary_cross_entropy_with_logits(
        away, torch.ones_like(away)
    ) + F.binary_cross_entropy_with_logits(staying, torch.zeros_like(staying))


def rgb(images):
    """Images in [-1, 1] with three channels, so grey ones sit beside coloured heat maps."""
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


def heat_image(heatmap, like):
    """Heat maps (N, 1, h, w) as jet-coloured images of `like`'s size in [-1, 1], each scaled
    to its own range, as photo2cartoon draws them."""
    low = heatmap.amin((1, 2, 3), keepdim=True)
    scaled = (heatmap - low) / (heatmap.amax((1, 2, 3), keepdim=True) - low).clamp_min(1e-12)
    scaled = F.interpolate(scaled, size=like.shape[2:], mode="bilinear", align_corners=False).clamp(
        0, 1
    )
    colours = torch.as_tensor(matplotlib.colormaps["jet"](scaled.squeeze(1).cpu().numpy())[..., :3])
    return colours.permute(0, 3, 1, 2).to(like.device, like.dtype).mul(2).sub(1)
