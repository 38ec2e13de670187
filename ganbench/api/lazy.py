"""Registering a component without importing what builds it: `ganbench plugins` and the
registry then start without torch, and the implementation is imported when a run builds."""

import importlib
from collections.abc import Callable
from types import ModuleType


def implemented_in(module: str) -> Callable[[], ModuleType]:
    """A function that returns `module`, imported the first time it is called."""
    return lambda: importlib.import_module(module)
