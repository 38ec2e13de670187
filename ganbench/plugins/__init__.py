"""Finding plugins: the entry points loaded once, and the registry of components by kind.
`ganbench.plugins.register(obj)` registers a plugin object at run time (tests, notebooks)."""

from ganbench.plugins.manager import (
    BROKEN,
    EVENTS,
    HOOKS,
    load_plugins,
    pm,
    register,
    registry,
    rescan,
    unregister,
)

__all__ = [
    "BROKEN",
    "EVENTS",
    "HOOKS",
    "load_plugins",
    "pm",
    "register",
    "registry",
    "rescan",
    "unregister",
]
