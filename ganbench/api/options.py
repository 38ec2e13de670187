"""Typed, documented options that plugins and the core declare, and their parsing from text."""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ganbench.errors import GanbenchError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Option:
    """One `key=value` setting: its type, default, help and an optional check.

    `check(value)` returns an error text or None. `in_label=False` keeps operational
    settings (steps, logging) out of derived group labels.

    What the option does to a run's group (its config hash) is said here too: `role` is
    "training" (it shapes the result: in the hash), "observation" (how the run is watched:
    logging, evaluation; left out, unless `watched` and a stop rule is set, whose timing then
    depends on it) or "stop_rule" (in the hash only while a stop rule is set). `added=True`
    marks an option added after runs were first recorded: at its default it is left out, so
    adding an option never moves an existing group.
    """

    type: type
    default: Any
    help: str
    check: Callable[[Any], str | None] | None = None
    choices: tuple | None = None
    in_label: bool = True
    role: str = "training"
    watched: bool = False
    added: bool = False

    def in_hash(self, value: Any, ruled: bool) -> bool:
        """Whether this option's value goes into the group hash; `ruled`: a stop rule is set."""
        if self.role == "observation":
            return ruled and self.watched
        if self.role == "stop_rule" and not ruled:
            return False
        return not (self.added and value == self.default)

    def parse(self, key: str, text: Any) -> Any:
        """Turn `text` into a checked value of this option's type."""
        value = text if not isinstance(text, str) else self._convert(key, text)
        if self.choices and value not in self.choices:
            raise GanbenchError(f"{key}={text}: must be one of {', '.join(map(str, self.choices))}")
        problem = self.check(value) if self.check and value is not None else None
        if problem:
            raise GanbenchError(f"{key}={text}: {problem}")
        return value

    def _convert(self, key: str, text: str) -> Any:
        if text.lower() in ("none", "") and self.default is None:
            return None
        try:
            return _CONVERT[self.type](text)
        except ValueError:
            example = (
                f"{key}={self.default}"
                if self.default is not None
                else f"{key}=<{self.type.__name__}>"
            )
            raise GanbenchError(
                f"{key}={text}: expected {'a finite number' if self.type is float else self.type.__name__}, e.g. {example}"
            ) from None

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description for `ganbench plugins`."""
        return {
            "type": self.type.__name__,
            "default": self.default,
            "help": self.help,
            "choices": list(self.choices) if self.choices else None,
        }


def _finite(value: str) -> float:
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(value)
    return v


def _bool(text: str) -> bool:
    low = text.lower()
    if low in _TRUE or low in _FALSE:
        return low in _TRUE
    raise ValueError(text)


_CONVERT: dict[type, Callable[[str], Any]] = {int: int, float: _finite, str: str, bool: _bool}


def positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def non_negative(value: float) -> str | None:
    return None if value >= 0 else "must be 0 or more"


def power_of_two(value: int) -> str | None:
    ok = 8 <= value <= 4096 and value & (value - 1) == 0
    return None if ok else "must be a power of two from 8 to 4096 (16, 32, 64, 128, ...)"


def between(low: float, high: float) -> Callable[[float], str | None]:
    """A check that a value lies in [low, high]: sizes beyond any GPU's memory stop before building."""

    def check(value: float) -> str | None:
        return None if low <= value <= high else f"must be between {low:,} and {high:,}"

    return check
