"""What trackers share: a run's config as flat key-value pairs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ganbench.api.contracts import RunView


def flat_config(run: RunView) -> dict[str, bool | int | float | str]:
    """The resolved options, components and seed, as {key: bool | int | float | str}."""
    config = run.config
    flat = {
        f"component.{kind}": ",".join(name) if isinstance(name, list) else name
        for kind, name in config.components.items()
    }
    flat.update(
        {
            key: value
            for key, value in config.options.items()
            if isinstance(value, (bool, int, float, str))
        }
    )
    return {**flat, "seed": run.seed, "study": run.study or "", "label": run.label}


def last_values(values: Mapping[str, float], prefix: str) -> dict[str, float]:
    """{prefix+name: value} for the finite values: what a final summary can show."""
    return {prefix + name: value for name, value in values.items() if math.isfinite(value)}
