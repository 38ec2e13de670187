"""What every build receives as `cfg`: the run's resolved options as attributes (the core's,
`res`, `batch`, `z_dim`, ..., and every active component's), with `channels`, `cond_dim` and
`cache_dir` added by the core. A name of its own so every contract says the same word."""

from types import SimpleNamespace
from typing import TypeAlias

Settings: TypeAlias = SimpleNamespace
