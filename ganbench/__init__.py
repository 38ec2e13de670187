"""ganbench: a plugin-based benchmark harness for GAN ablation studies.

The names below that need torch are imported on first use, so `ganbench --help` and the
commands that only read the store start without it."""
import importlib
from importlib.metadata import PackageNotFoundError, version

from .errors import GanbenchError
from .hookspecs import hookimpl
from .loss import Loss
from .options import Option

try:
    __version__ = version("ganbench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

_LAZY = {"Batch": "data", "ImageSet": "data", "TwoDomains": "data", "to_resolution": "data",
         "Staged": "network", "count_parameters": "network", "Parts": "parts",
         "Panel": "scheme", "Scheme": "scheme", "Track": "scheme",
         "RunInfo": "events", "Score": "events", "load_metrics": "results", "load_runs": "results"}

__all__ = ["GanbenchError", "Loss", "Option", "hookimpl", *_LAZY]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'ganbench' has no attribute '{name}'")
    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
