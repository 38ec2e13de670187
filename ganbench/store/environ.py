"""The GANBENCH_* environment variables that hold a number, in one place: how often a run's
heartbeat beats, how old a beat may be before the run is `lost`, how long a write waits
for a locked database, and how long for a database server that cannot be reached. Each
reader asks `number` here; `check_all` asks for every one, so the command line refuses a bad
value before anything runs, in one line that names it. A value out of range would break a
run's safety, not only its speed: an infinite heartbeat period kills the heartbeat thread,
and a run that stops beating looks lost to other hosts.

Other GANBENCH_* variables name paths or choices (GANBENCH_DB, GANBENCH_RUNS_DIR,
GANBENCH_REGISTRY, ...), and the code that opens them says what is wrong with them."""

import math
import os
from dataclasses import dataclass

from ganbench.errors import GanbenchError

DAY_S = 86_400.0


@dataclass(frozen=True)
class Number:
    """A variable holding a number of `unit`s, above 0 (from 0 with `zero`) and at most `most`
    (a day); a whole number with `whole`. Unset or empty: `default`."""

    name: str
    default: float
    unit: str
    most: float
    zero: bool = False
    whole: bool = False

    def fits(self, value: float) -> bool:
        least_ok = value >= 0 if self.zero else value > 0
        return math.isfinite(value) and least_ok and value <= self.most

    def accepts(self, default: float) -> str:
        kind = f"a whole number of {self.unit}" if self.whole else f"a number of {self.unit}"
        most = f"{self.most:.0f} (a day)"
        span = f"from 0 to {most}" if self.zero else f"above 0 and at most {most}"
        return f"{kind} {span}, or unset it (default {default:g})"


HEARTBEAT = Number("GANBENCH_HEARTBEAT_S", 10.0, "seconds", DAY_S)
LOST_AFTER = Number("GANBENCH_LOST_AFTER_S", 60.0, "seconds", DAY_S)
# 0: a locked write fails at once, without waiting its turn
LOCK_PATIENCE = Number("GANBENCH_LOCK_PATIENCE", 600.0, "seconds", DAY_S, zero=True)
BUSY_TIMEOUT = Number("GANBENCH_BUSY_TIMEOUT_MS", 30_000, "milliseconds", DAY_S * 1000, whole=True)
# how long writes wait out a database server that went away (a restart); 0: a run stops at once
DB_PATIENCE = Number("GANBENCH_DB_PATIENCE", 120.0, "seconds", DAY_S, zero=True)
NUMBERS = (HEARTBEAT, LOST_AFTER, LOCK_PATIENCE, BUSY_TIMEOUT, DB_PATIENCE)


def number(variable: Number, default: float | None = None) -> float:
    """The variable's value (`default`, else its own, where unset), or one line naming it."""
    given = os.environ.get(variable.name, "").strip()
    fallback = variable.default if default is None else default
    if not given:
        return fallback
    value = _parsed(given, variable.whole)
    if value is None or not variable.fits(value):
        raise GanbenchError(f"{variable.name}={given}: give {variable.accepts(fallback)}")
    return value


def _parsed(given: str, whole: bool) -> float | None:
    try:
        return float(int(given)) if whole else float(given)
    except ValueError:
        return None


def check_all() -> None:
    """Every numeric GANBENCH_* variable, or one line naming the first that is wrong."""
    for variable in NUMBERS:
        number(variable)
