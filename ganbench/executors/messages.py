"""What a unit training elsewhere tells the driver, in one form for every way across: a
worker's multiprocessing queue, a Ray queue and a Slurm job's file of JSON lines all carry
`Message.to_dict()`, a dict of JSON's own types, and the driver reads it back with
`Message.from_dict`. A message shows itself on the driver's display."""

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Protocol


class Display(Protocol):
    """The driver's display of a study's runs (`ganbench.engine.progress.StudyProgress`)."""

    def started(
        self, index: int, run_id: int, label: str, first_step: int, target: int
    ) -> None: ...

    def values(
        self, index: int, step: int, values: dict[str, float], steps_per_s: float | None
    ) -> None: ...

    def ended(self, index: int, run_id: int, status: str) -> None: ...

    def error(self, index: int, message: str) -> None: ...


@dataclass(frozen=True)
class Message:
    """One message about the unit at `index`, the unit's place in the study's list."""

    kind: ClassVar[str]  # the wire's name for the message, and the display's method
    index: int

    def to_dict(self) -> dict[str, Any]:
        """The message as JSON's types: what crosses to the driver."""
        return {"kind": self.kind, **asdict(self)}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> "Message":
        """The message `to_dict` gave, whichever way it came."""
        fields_ = dict(data)
        return KINDS[fields_.pop("kind")](**fields_)

    def show(self, display: Display) -> None:
        """Hand the message to the display method of its kind."""
        values = [getattr(self, f.name) for f in fields(self)]
        getattr(display, self.kind)(*values)


@dataclass(frozen=True)
class Started(Message):
    """The unit's run is recorded and starts (or resumes) training."""

    kind = "started"
    run_id: int
    label: str
    first_step: int
    target_steps: int


@dataclass(frozen=True)
class Values(Message):
    """Losses (with the training speed) or scores at a step."""

    kind = "values"
    step: int
    values: dict[str, float]
    steps_per_s: float | None = None


@dataclass(frozen=True)
class Ended(Message):
    """The unit's run ended with `status`."""

    kind = "ended"
    run_id: int
    status: str


@dataclass(frozen=True)
class Failed(Message):
    """The unit ended without a status of its run's: `text` says why."""

    kind = "error"
    text: str


KINDS: dict[str, type[Message]] = {m.kind: m for m in (Started, Values, Ended, Failed)}
