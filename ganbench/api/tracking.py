"""What trackers share: a run's config as flat key-value pairs."""

import math


def flat_config(run):
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


def last_values(values, prefix):
    """{prefix+name: value} for the finite values: what a final summary can show."""
    return {prefix + name: value for name, value in values.items() if math.isfinite(value)}
