"""ganbench: a plugin-based benchmark harness for GAN ablation studies.

The names below that need torch are imported on first use, so `ganbench --help` and the
commands that only read the store start without it."""

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from ganbench.api.hookspecs import hookimpl
from ganbench.api.loss import Loss
from ganbench.api.options import Option
from ganbench.errors import GanbenchError

try:
    __version__ = version("ganbench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

_LAZY: dict[str, str] = {
    "Batch": "api.data",
    "ImageSet": "api.data",
    "TwoDomains": "api.data",
    "to_resolution": "api.data",
    "Staged": "api.network",
    "count_parameters": "api.network",
    "Parts": "api.parts",
    "Panel": "api.scheme",
    "Scheme": "api.scheme",
    "Track": "api.scheme",
    "RunInfo": "engine.events",
    "Score": "engine.events",
    "load_metrics": "results.frames",
    "load_runs": "results.frames",
}

__all__ = ["GanbenchError", "Loss", "Option", "hookimpl", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'ganbench' has no attribute '{name}'")
    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
