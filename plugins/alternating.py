"""The default training scheme, as in the seeds: one D step, then one G step through a frozen D."""
from ganbench import hookimpl


def _trainable(net, flag):
    for p in net.parameters():
        p.requires_grad_(flag)


class Alternating:
    def step(self, parts, batch):
        fake = parts.g(parts.noise(batch.real.shape[0]))
        # Losses with a schedule (label noise, say) declare uses_step and get the step.
        when = {"step": parts.step} if getattr(parts.loss, "uses_step", False) else {}
        d_loss = parts.loss.d_loss(parts.d(batch.real), parts.d(fake.detach()), **when)
        parts.d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        parts.d_opt.step()

        _trainable(parts.d, False)  # G's step needs gradients through D, not for D's weights
        g_loss = parts.loss.g_loss(parts.d(fake))
        parts.g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        parts.g_opt.step()
        _trainable(parts.d, True)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


@hookimpl
def register_schemes(register):
    register("alternating", lambda cfg: Alternating(), help="one D step then one G step per step")
