"""What unpaired translation schemes share (CycleGAN, U-GAT-IT): generators g_ab and g_ba
between domains A and B, fixed test images for the panels, one evaluation track each way,
the shape checks, and the learning rates' linear decay."""

import torch

from ganbench import GanbenchError
from ganbench.api.data import class_ids
from ganbench.api.network import eval_mode
from ganbench.api.schedule import Schedule, from_options
from ganbench.api.scheme import Panel, Scheme, Track

PANEL_ROWS = 4  # fixed test images per domain in the sample panels


class Unpaired(Scheme):
    """Subclasses declare the discriminators and implement `step`; `image_of` says where a
    generator's output keeps its image."""

    networks = {"g_ab": "generator", "g_ba": "generator"}
    generator_input = "image"
    domains = 2

    def prepare(self, data, cfg, seed):
        self.cfg = cfg
        self.test = {"a": data.a.test, "b": data.b.test}
        self.shown = {
            d: self.test[d].reference(PANEL_ROWS)[0].float().div(127.5).sub(1) for d in ("a", "b")
        }

    def attend(self, parts, name, images):
        """Generator `name`'s output for `images` (its moving average where kept), in eval mode."""
        g = parts.for_evaluation(name)
        with eval_mode(g):
            return g(images)

    def translate(self, parts, name, images):
        return self.image_of(self.attend(parts, name, images))

    def _track(self, source, target, name):
        reference, note = self.test[target].reference(self.cfg.eval_real)
        chosen, labels = (
            self.test[source].chosen(self.cfg.eval_fake),
            class_ids(self.test[source].labels),
        )
        inputs, labels = (
            self.test[source].images[chosen],
            labels if labels is None else labels[chosen],
        )

        def make(parts):
            for batch in inputs.split(self.cfg.eval_batch):
                yield self.translate(parts, name, batch.float().div(127.5).sub(1))

        return Track(
            f"{source}{target}",
            reference,
            note,
            len(inputs),
            make,
            labels,
            direction=f"{source.upper()}->{target.upper()}",
        )

    def sample(self, parts, n, seed):
        """Each way, the first n test images (in the reference's fixed order) translated."""
        return {
            f"{source}{target}": self._translated(parts, source, name, n)
            for source, target, name in (("a", "b", "g_ab"), ("b", "a", "g_ba"))
        }

    def _translated(self, parts, source, name, n):
        test = self.test[source]
        for batch in test.images[test.chosen(n)].split(self.cfg.eval_batch):
            yield self.translate(parts, name, batch.float().div(127.5).sub(1))

    def tracks(self):
        """G_AB(test A) scored against test B, and G_BA(test B) against test A."""
        return [self._track("a", "b", "g_ab"), self._track("b", "a", "g_ba")]

    def _rows(self, parts, domain, there, back):
        real = self.shown[domain]
        moved = self.translate(parts, there, real)
        return torch.stack([real, moved, self.translate(parts, back, moved)], 1).flatten(0, 1)

    def panel(self, parts):
        """Rows of A | G_AB(A) | G_BA(G_AB(A)), then B | G_BA(B) | G_AB(G_BA(B))."""
        rows = torch.cat(
            [self._rows(parts, "a", "g_ab", "g_ba"), self._rows(parts, "b", "g_ba", "g_ab")]
        )
        return Panel(rows, 3, "test images: real | translated | translated back", focus=1)

    def best_panels(self, parts):
        return {
            "translation": Panel(
                self.panel(parts).images, 3, "translation at the best checkpoint", focus=1
            )
        }

    def schedule(self, cfg):
        """Unless schedule= says otherwise, the rates stay, then fall linearly towards 0 over the
        last (1 - decay_start) of the steps, as CycleGAN's 100 + 100 epochs and U-GAT-IT's halves do."""
        if cfg.schedule != "constant" or cfg.decay_start >= 1:
            return from_options(cfg)
        return Schedule(cfg.steps, int(cfg.steps * cfg.decay_start), cfg.warmup)

    def check(self, parts):
        if parts.loss.sees_real:
            raise GanbenchError(
                f"scheme {type(self).__name__.lower()} scores G's translations on their own; a "
                f"loss that needs D's logits on real images in G's step (ragan) does not fit it: "
                f"choose lsgan, bce or hinge"
            )
        for name, domain in (("g_ab", "a"), ("g_ba", "b")):
            images = self.shown[domain][:2]
            made = self.image_of(forward(parts.nets[name], images, f"generator {name}"))
            if made.shape != images.shape:
                raise GanbenchError(
                    f"generator {name} turns images of shape {tuple(images.shape[1:])} into "
                    f"{tuple(made.shape[1:])}; a translation generator keeps the shape"
                )


def forward(net, images, what):
    """One forward pass in eval mode; a network that cannot take images says so in one line."""
    with eval_mode(net):
        try:
            return net(images)
        except (RuntimeError, TypeError, ValueError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise GanbenchError(
                f"{what} cannot take images of shape {tuple(images.shape[1:])} ({first}); "
                f"a translation scheme needs image-to-image networks"
            ) from None
