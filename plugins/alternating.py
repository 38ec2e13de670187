"""The default training scheme, as in the seeds: D steps, then one G step through a frozen D.

One D step per G step unless the loss asks for more (`critic_steps`, as wgan_gp does; the
extra D steps draw their own batches). A loss with a `penalty(d, real, fake)` (a gradient
penalty) has it added to D's loss. A loss that declares `uses_step` gets the step, for
schedules such as the fair's annealed label noise.
"""
from contextlib import contextmanager

from ganbench import hookimpl


def update(optimizer, loss):
    """One optimizer step on `loss`."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


@contextmanager
def frozen(net):
    """G's step needs gradients through D, not for D's weights."""
    for p in net.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in net.parameters():
            p.requires_grad_(True)


def when(parts):
    """The step, for a loss that declares `uses_step` (schedules such as annealed label noise)."""
    return {"step": parts.step} if getattr(parts.loss, "uses_step", False) else {}


class Alternating:
    """Subclasses change what a fake is and how D and G score it (`fakes`, `d_loss`,
    `g_loss`); the order of steps stays here."""

    def fakes(self, parts, batch):
        return parts.g(parts.noise(batch.real.shape[0]))

    def d_loss(self, parts, batch, fake):
        loss, fake = parts.loss, fake.detach()
        d_loss = loss.d_loss(parts.d(batch.real), parts.d(fake), **when(parts))
        if hasattr(loss, "penalty"):
            d_loss = d_loss + loss.penalty(parts.d, batch.real, fake, parts.generator)
        return d_loss

    def g_loss(self, parts, fake):
        return parts.loss.g_loss(parts.d(fake))

    def d_step(self, parts, batch, fakes):
        d_loss = self.d_loss(parts, batch, fakes)
        update(parts.d_opt, d_loss)
        return d_loss

    def step(self, parts, batch):
        critic_steps = getattr(parts.loss, "critic_steps", 1)
        fakes = self.fakes(parts, batch)
        d_loss = self.d_step(parts, batch, fakes)
        for _ in range(critic_steps - 1):  # the extra D steps draw their own batches
            extra = parts.draw()
            d_loss = self.d_step(parts, extra, self.fakes(parts, extra))
        if critic_steps > 1:  # D changed since the first fake: G's step needs a fresh sample
            fakes = self.fakes(parts, batch)
        with frozen(parts.d):
            g_loss = self.g_loss(parts, fakes)
            update(parts.g_opt, g_loss)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


@hookimpl
def register_schemes(register):
    register("alternating", lambda cfg: Alternating(),
             help="D step(s), then one G step (critic_steps from the loss)")
