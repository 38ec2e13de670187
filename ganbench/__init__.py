"""ganbench: a plugin-based benchmark harness for GAN ablation studies."""
from importlib.metadata import PackageNotFoundError, version

from .data import Batch, ImageSet, TwoDomains, to_resolution
from .errors import GanbenchError
from .hookspecs import hookimpl
from .loss import Loss
from .network import Staged, count_parameters
from .options import Option
from .parts import Parts
from .scheme import Panel, Scheme, Track
from .results import load_metrics, load_runs

try:
    __version__ = version("ganbench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["Batch", "GanbenchError", "ImageSet", "Loss", "Option", "Panel", "Parts", "Scheme", "Staged", "Track",
           "TwoDomains", "count_parameters", "hookimpl", "load_metrics", "load_runs", "to_resolution"]
