"""The one error type the CLI turns into a clean one-line message."""

import difflib
from collections.abc import Iterable, Mapping
from typing import TypeVar

T = TypeVar("T")


class GanbenchError(Exception):
    """Bad input or an unusable environment: the message says what, where and how to fix it."""


class GanbenchWarning(UserWarning):
    """Something a user should know that does not stop the command."""


def suggest(name: str, valid: Iterable[str]) -> str:
    """' (did you mean x?)' for the closest valid names, or ''."""
    close = difflib.get_close_matches(name, list(valid), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def lookup(table: Mapping[str, T], name: str, what: str) -> T:
    """Return table[name]; an unknown name raises GanbenchError listing the valid ones."""
    if name in table:
        return table[name]
    valid = ", ".join(sorted(table)) or "none installed"
    raise GanbenchError(f"unknown {what} '{name}'{suggest(name, table)}; valid: {valid}")
