"""The default training scheme, as in the seeds: D steps, then one G step through a frozen D.

One D step per G step unless the loss asks for more (`critic_steps`, as wgan_gp does; the
extra D steps draw their own batches). A loss with a `penalty(d, real, fake)` (a gradient
penalty) has it added to D's loss. A loss that declares `uses_step` gets the step, for
schedules such as the fair's annealed label noise.
"""
from ganbench import hookimpl


def _trainable(net, flag):
    for p in net.parameters():
        p.requires_grad_(flag)


class Alternating:
    def d_step(self, parts, real, fake):
        loss = parts.loss
        when = {"step": parts.step} if getattr(loss, "uses_step", False) else {}
        d_loss = loss.d_loss(parts.d(real), parts.d(fake), **when)
        if hasattr(loss, "penalty"):
            d_loss = d_loss + loss.penalty(parts.d, real, fake, parts.generator)
        parts.d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        parts.d_opt.step()
        return d_loss

    def step(self, parts, batch):
        n = batch.real.shape[0]
        fake = parts.g(parts.noise(n))
        d_loss = self.d_step(parts, batch.real, fake.detach())
        for _ in range(getattr(parts.loss, "critic_steps", 1) - 1):
            with_more = parts.draw()
            d_loss = self.d_step(parts, with_more.real, parts.g(parts.noise(n)).detach())
            fake = None  # D changed since: G's step needs a fresh sample
        if fake is None:
            fake = parts.g(parts.noise(n))

        _trainable(parts.d, False)  # G's step needs gradients through D, not for D's weights
        g_loss = parts.loss.g_loss(parts.d(fake))
        parts.g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        parts.g_opt.step()
        _trainable(parts.d, True)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


@hookimpl
def register_schemes(register):
    register("alternating", lambda cfg: Alternating(),
             help="D step(s), then one G step (critic_steps from the loss)")
