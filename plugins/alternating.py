"""The default training scheme, as in the seeds: D steps, then one G step through a frozen D.

One D step per G step unless the loss asks for more (`critic_steps`, as wgan_gp does; the
extra D steps draw their own batches). A loss's `penalty(d, real, fake)` (a gradient
penalty) is added to D's loss. A loss that declares `uses_step` gets the step, for
schedules such as the fair's annealed label noise; one that declares `sees_real` gets D's
logits on the real batch in G's step (relativistic losses).

Its images come from noise fixed per run: `eval_fake` of them scored against `eval_real`
real images, a 5x5 grid every `sample_every` steps, and at each new best score a 10-image
diversity grid and a 10-step interpolation between two noise vectors (the fair's checks for
mode collapse and memorisation).
"""

import torch

from ganbench import GanbenchError
from ganbench.api.loss import added
from ganbench.api.network import eval_mode
from ganbench.api.parts import sample_noise
from ganbench.api.scheme import Panel, Scheme, Track, fixed_rng, frozen, update

# Fixed inputs come from streams of their own, so the training RNG is untouched by them.
EVAL_SEED_OFFSET = 1_000_003
SAMPLE_SEED_OFFSET = 2_000_003


def when(parts):
    """The step, for a loss that declares `uses_step` (schedules such as annealed label noise)."""
    return {"step": parts.step} if parts.loss.uses_step else {}


class NoiseToImage(Scheme):
    """A generator `g` from noise to images and a discriminator `d`: fixed noise for the
    evaluation and the panels, and the shape check. Subclasses say what G is given."""

    def generate(self, g, z, at):
        """G's images for noise `z`; `at` says which fixed inputs z came from (conditions)."""
        return g(z)

    def prepare(self, data, cfg, seed):
        self.cfg, device = cfg, data.device
        self.reference, self.reference_note = data.reference(cfg.eval_real)
        self.eval_noise = sample_noise(
            cfg.noise, cfg.eval_fake, cfg.z_dim, fixed_rng(seed, EVAL_SEED_OFFSET, device)
        )
        rng = fixed_rng(seed, SAMPLE_SEED_OFFSET, device)
        self.grid_noise, self.diversity_noise, ends = (
            sample_noise(cfg.noise, n, cfg.z_dim, rng) for n in (25, 10, 2)
        )
        t = torch.linspace(0, 1, 10, device=device)[:, None]
        self.path = (1 - t) * ends[0] + t * ends[1]

    def _images(self, parts, z, at):
        g = parts.for_evaluation("g")
        with eval_mode(g):
            return self.generate(g, z, at)

    def _batches(self, parts, noise=None, kind="eval"):
        batch, noise = self.cfg.eval_batch, self.eval_noise if noise is None else noise
        for start in range(0, len(noise), batch):
            yield self._images(parts, noise[start : start + batch], (kind, start))

    def sample(self, parts, n, seed):
        """n images from fresh noise drawn from `seed`."""
        noise = sample_noise(
            self.cfg.noise, n, self.cfg.z_dim, fixed_rng(seed, 0, parts.rng.device)
        )
        return {"": self._batches(parts, noise, "sample")}

    def tracks(self):
        return [
            Track(
                "",
                self.reference,
                self.reference_note,
                len(self.eval_noise),
                self._batches,
                labels=self.eval_labels(),
            )
        ]

    def eval_labels(self):
        return None

    def panel(self, parts):
        return Panel(self._images(parts, self.grid_noise, ("grid", 0)), 5, "5x5 grid")

    def best_panels(self, parts):
        return {
            "diversity": Panel(
                self._images(parts, self.diversity_noise, ("diversity", 0)),
                10,
                "diversity: ten noise vectors at the best checkpoint",
            ),
            "interpolation": Panel(
                self._images(parts, self.path, ("interpolation", 0)),
                10,
                "interpolation between two noise vectors in ten steps, best checkpoint",
            ),
        }

    def check(self, parts):
        """One tiny forward pass in eval mode (no BN statistics change) to catch mismatches early."""
        cfg = self.cfg
        with eval_mode(parts.g, parts.d):
            image = self.generate(
                parts.g, torch.randn(2, cfg.z_dim, device=parts.rng.device), ("check", 0)
            )
            want = (2, cfg.channels, cfg.res, cfg.res)
            if tuple(image.shape) != want:
                raise GanbenchError(
                    f"the generator makes images of shape {tuple(image.shape)[1:]}, the "
                    f"data set has {want[1:]}; check res and the generator's options"
                )
            logits = self.judge(parts.d, image, ("check", 0))[0]
            if tuple(logits.shape) != (2,):
                raise GanbenchError(
                    f"the discriminator returns shape {tuple(logits.shape)} for 2 images; "
                    f"it must return one logit per image"
                )

    def judge(self, d, images, at):
        """(realness logits, auxiliary logits or None) of D for images."""
        out = d(images)
        return out if isinstance(out, tuple) else (out, None)


class Alternating(NoiseToImage):
    """Subclasses change what a fake is and how D and G score it (`fakes`, `d_loss`,
    `g_loss`); the order of steps stays here."""

    def fakes(self, parts, batch):
        return parts.g(parts.noise(batch.real.shape[0]))

    def d_loss(self, parts, batch, fake):
        loss, fake = parts.loss, fake.detach()
        d_loss = loss.d_loss(parts.d(batch.real), parts.d(fake), **when(parts))
        return added(d_loss, loss.penalty(parts.d, batch.real, fake, parts.rng))

    def g_loss(self, parts, batch, fake):
        real = {"real": parts.d(batch.real).detach()} if parts.loss.sees_real else {}
        return parts.loss.g_loss(parts.d(fake), **real)

    def d_step(self, parts, batch, fakes):
        d_loss = self.d_loss(parts, batch, fakes)
        update(d_loss, parts.opts["d"])
        return d_loss

    def step(self, parts, batch):
        critic_steps = parts.loss.critic_steps
        fakes = self.fakes(parts, batch)
        d_loss = self.d_step(parts, batch, fakes)
        for _ in range(critic_steps - 1):  # the extra D steps draw their own batches
            extra = parts.draw()
            d_loss = self.d_step(parts, extra, self.fakes(parts, extra))
        if critic_steps > 1:  # D changed since the first fake: G's step needs a fresh sample
            fakes = self.fakes(parts, batch)
        with frozen(parts.d):
            g_loss = self.g_loss(parts, batch, fakes)
            update(g_loss, parts.opts["g"])
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}
