"""Options the unpaired translation schemes share (not an entry point)."""

from ganbench import Option


def share(value):
    return None if 0 <= value <= 1 else "must be in [0, 1]"


DECAY_START = Option(
    float,
    0.5,
    "share of the steps before the learning rates start to fall linearly to 0 "
    "(1: never; schedule=linear decay_from=N instead sets the step)",
    check=share,
)
