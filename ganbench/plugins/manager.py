"""The plugin manager: loads the `ganbench` entry points once and builds the registry."""

import functools
import warnings
from importlib import metadata
from typing import Any

import pluggy

from ganbench.api import hookspecs
from ganbench.errors import GanbenchWarning, suggest
from ganbench.plugins.registry import Registry, Source

HOOKS = {
    "generator": "register_generators",
    "discriminator": "register_discriminators",
    "modifier": "register_modifiers",
    "loss": "register_losses",
    "optimizer": "register_optimizers",
    "dataset": "register_datasets",
    "scheme": "register_schemes",
    "metric": "register_metrics",
    "tracker": "register_trackers",
    "executor": "register_executors",
}
# The run events, in the order a run emits them (see hookspecs).
EVENTS = ("on_run_started", "on_losses", "on_scores", "on_samples", "on_checkpoint", "on_run_ended")

pm = pluggy.PluginManager("ganbench")
pm.add_hookspecs(hookspecs)
_loaded = False
# plugin name -> (package, version) of the distribution it came from
_dists: dict[str, tuple[str, str]] = {}
# entry point name -> why it could not be loaded: "package x: ImportError: ..."
BROKEN: dict[str, str] = {}


def load_plugins() -> None:
    """Load every installed `ganbench` entry point, built-ins included, exactly once."""
    global _loaded
    if not _loaded:
        _loaded = True
        _load_entry_points()


def _load_entry_points() -> None:
    """Each entry point on its own: one that fails to import is named in a warning and
    skipped, so the others still work (a run that names it says why it is missing)."""
    for point in metadata.entry_points(group="ganbench"):
        if pm.has_plugin(point.name) or point.name in BROKEN:
            continue
        package = point.dist.metadata["Name"] if point.dist else "(unknown package)"
        try:
            plugin = point.load()
        except Exception as e:  # noqa: BLE001 - whatever a third party's import raises
            BROKEN[point.name] = f"package {package}: {type(e).__name__}: {e}".splitlines()[0]
            warnings.warn(
                f"plugin '{point.name}' ({BROKEN[point.name]}) failed to import and is skipped",
                GanbenchWarning,
                stacklevel=2,
            )
            continue
        pm.register(plugin, name=point.name)
        _dists[point.name] = (package, point.dist.version if point.dist else "unknown")


def _sources() -> dict[str, Source]:
    sources = {}
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin) or "(unnamed)"
        package, version = _dists.get(
            name, ("(registered at runtime)", getattr(plugin, "__version__", "unknown"))
        )
        sources[name] = Source(name, package, version)
    return sources


def unknown_hooks() -> list[tuple[str, str]]:
    """(plugin, hook) for each implementation of a hook ganbench does not have: a misspelled
    `register_loss` would otherwise be ignored without a word."""
    found = []
    for name, caller in vars(pm.hook).items():
        if not name.startswith("_") and not caller.has_spec():
            found += [(impl.plugin_name, name) for impl in caller.get_hookimpls()]
    return found


def unattached_observers() -> list[tuple[str, str]]:
    """(plugin, hook) for each run-event hook implemented by a plugin itself rather than by a
    tracker it registers: event hooks are told only to the trackers a run names."""
    found = []
    for hook in EVENTS:
        found += [(impl.plugin_name, hook) for impl in getattr(pm.hook, hook).get_hookimpls()]
    return found


def _warn_unattached_observers(sources: dict[str, Source]) -> None:
    for plugin, hook in unattached_observers():
        source = sources.get(plugin)
        where = source.named() if source else f"plugin '{plugin}'"
        warnings.warn(
            f"{where} implements the event hook '{hook}' itself, which no run calls; register "
            f"an observer with register_trackers and name it in trackers= (docs/plugins.md)",
            GanbenchWarning,
            stacklevel=2,
        )


def _warn_unknown_hooks(sources: dict[str, Source]) -> None:
    for plugin, hook in unknown_hooks():
        source = sources.get(plugin)
        where = source.named() if source else f"plugin '{plugin}'"
        warnings.warn(
            f"{where} implements '{hook}', which is not a ganbench hook{suggest(hook, HOOKS.values())}; it is ignored",
            GanbenchWarning,
            stacklevel=2,
        )


@functools.lru_cache(maxsize=1)
def _build_registry(_generation: int) -> Registry:
    registry = Registry(BROKEN)
    sources = _sources()
    _warn_unknown_hooks(sources)
    _warn_unattached_observers(sources)
    for kind, hook in HOOKS.items():
        # One call per implementation, so each component knows which plugin gave it.
        for impl in getattr(pm.hook, hook).get_hookimpls():
            impl.function(register=registry.registrar(kind, sources[impl.plugin_name]))
    return registry


_generation = 0


def registry() -> Registry:
    """The registry of every installed component (rebuilt after register/unregister)."""
    load_plugins()
    return _build_registry(_generation)


def register(plugin: Any, name: str | None = None) -> None:
    """Register a plugin object at run time (tests, notebooks)."""
    global _generation
    load_plugins()
    pm.register(plugin, name=name)
    _generation += 1


def unregister(plugin: Any) -> None:
    global _generation
    pm.unregister(plugin)
    _generation += 1


def rescan() -> None:
    """Load entry points installed since the first scan (after `pip install` in a notebook)."""
    global _generation
    load_plugins()
    _load_entry_points()
    _generation += 1
