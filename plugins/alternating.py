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


class Alternating:
    def d_step(self, parts, real, fake):
        loss = parts.loss
        when = {"step": parts.step} if getattr(loss, "uses_step", False) else {}
        d_loss = loss.d_loss(parts.d(real), parts.d(fake), **when)
        if hasattr(loss, "penalty"):
            d_loss = d_loss + loss.penalty(parts.d, real, fake, parts.generator)
        update(parts.d_opt, d_loss)
        return d_loss

    def step(self, parts, batch):
        n, critic_steps = batch.real.shape[0], getattr(parts.loss, "critic_steps", 1)
        fake = parts.g(parts.noise(n))
        d_loss = self.d_step(parts, batch.real, fake.detach())
        for _ in range(critic_steps - 1):
            d_loss = self.d_step(parts, parts.draw().real, parts.g(parts.noise(n)).detach())
        if critic_steps > 1:  # D changed since the first fake: G's step needs a fresh sample
            fake = parts.g(parts.noise(n))
        with frozen(parts.d):
            g_loss = parts.loss.g_loss(parts.d(fake))
            update(parts.g_opt, g_loss)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


@hookimpl
def register_schemes(register):
    register("alternating", lambda cfg: Alternating(),
             help="D step(s), then one G step (critic_steps from the loss)")
