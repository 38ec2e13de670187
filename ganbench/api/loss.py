"""What an adversarial loss is: `Loss`, whose attributes the schemes read instead of probing.
Torch is imported for its types only, so `ganbench` still starts without it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import Tensor, nn


class Loss(ABC):
    """Base class of adversarial losses: implement `d_loss` and `g_loss` on D's logits.

    The rest defaults to off: `uses_step` (d_loss takes `step=`, for schedules such as
    annealed label noise), `sees_real` (g_loss takes `real=`, D's logits on the real batch,
    as relativistic losses need), `critic_steps` (D steps per G step), the optional terms
    `penalty` and `aux_loss`, which return None when a loss has none, and `mismatch_loss`,
    None unless a loss scores mismatched image-condition pairs (its scheme then judges them)."""

    uses_step: bool = False
    sees_real: bool = False
    critic_steps: int = 1
    # or a method (real_wrong_condition, wrong_image) -> scalar tensor
    mismatch_loss: Callable[[Any, Any], Tensor] | None = None

    @abstractmethod
    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        """D's loss from its logits on the real and the generated images: a scalar tensor.
        With `uses_step`, it is also given `step=` (the steps done)."""

    @abstractmethod
    def g_loss(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        """G's loss from D's logits on the generated images: a scalar tensor. With
        `sees_real`, it is also given `real=`, D's (detached) logits on the real batch."""

    def penalty(
        self,
        d: nn.Module,
        real: Tensor,
        fake: Tensor,
        rng: Any = None,
        conditions: Any = None,
    ) -> Tensor | None:
        """A term added to D's loss, computed with D itself (a gradient penalty)."""
        return None

    def aux_loss(self, logits: Tensor, cond: Tensor) -> Tensor | None:
        """A term on D's auxiliary (class) logits, for real and fake images alike."""
        return None


class Adapted(Loss):
    """A plain object with d_loss and g_loss (written before `Loss` existed) as a `Loss`:
    the one place its optional parts are looked up."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        for name in ("uses_step", "sees_real", "critic_steps"):
            setattr(self, name, getattr(inner, name, getattr(Loss, name)))
        for name in ("penalty", "aux_loss", "mismatch_loss"):
            if hasattr(inner, name):
                setattr(self, name, getattr(inner, name))

    def d_loss(self, real: Tensor, fake: Tensor, **given: Any) -> Tensor:
        return self.inner.d_loss(real, fake, **given)

    def g_loss(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        given = {} if real is None else {"real": real}
        return self.inner.g_loss(fake, **given)

    def __getattr__(self, name: str) -> Any:
        """Anything else a scheme of its own reads from its loss."""
        return getattr(self.__dict__["inner"], name)


def added(total: Tensor, *terms: Tensor | None) -> Tensor:
    """`total` plus the optional terms a loss gave (None: it has none)."""
    return sum((term for term in terms if term is not None), total)


def as_loss(found: object) -> Loss:
    return found if isinstance(found, Loss) else Adapted(found)
