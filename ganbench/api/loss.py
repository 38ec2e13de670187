"""What an adversarial loss is: `Loss`, whose attributes the schemes read instead of probing."""


class Loss:
    """Base class of adversarial losses: implement `d_loss` and `g_loss` on D's logits.

    The rest defaults to off: `uses_step` (d_loss takes `step=`, for schedules such as
    annealed label noise), `sees_real` (g_loss takes `real=`, D's logits on the real batch,
    as relativistic losses need), `critic_steps` (D steps per G step), the optional terms
    `penalty` and `aux_loss`, which return None when a loss has none, and `mismatch_loss`,
    None unless a loss scores mismatched image-condition pairs (its scheme then judges them)."""

    uses_step = False
    sees_real = False
    critic_steps = 1
    mismatch_loss = None  # or a method (real_wrong_condition, wrong_image) -> scalar tensor

    def d_loss(self, real, fake):
        raise NotImplementedError

    def g_loss(self, fake, real=None):
        raise NotImplementedError

    def penalty(self, d, real, fake, rng=None, conditions=None):
        """A term added to D's loss, computed with D itself (a gradient penalty)."""
        return None

    def aux_loss(self, logits, cond):
        """A term on D's auxiliary (class) logits, for real and fake images alike."""
        return None


class Adapted(Loss):
    """A plain object with d_loss and g_loss (written before `Loss` existed) as a `Loss`:
    the one place its optional parts are looked up."""

    def __init__(self, inner):
        self.inner = inner
        for name in ("uses_step", "sees_real", "critic_steps"):
            setattr(self, name, getattr(inner, name, getattr(Loss, name)))
        for name in ("d_loss", "g_loss", "penalty", "aux_loss", "mismatch_loss"):
            if hasattr(inner, name):
                setattr(self, name, getattr(inner, name))

    def __getattr__(self, name):
        """Anything else a scheme of its own reads from its loss."""
        return getattr(self.__dict__["inner"], name)


def added(total, *terms):
    """`total` plus the optional terms a loss gave (None: it has none)."""
    return sum((term for term in terms if term is not None), total)


def as_loss(found):
    return found if isinstance(found, Loss) else Adapted(found)
