"""The plugin manager: loads the `ganbench` entry points once and builds the registry."""
import functools
import warnings

import pluggy

from . import hookspecs
from .errors import GanbenchWarning, suggest
from .registry import Registry, Source

HOOKS = {
    "generator": "register_generators",
    "discriminator": "register_discriminators",
    "modifier": "register_modifiers",
    "loss": "register_losses",
    "optimizer": "register_optimizers",
    "dataset": "register_datasets",
    "scheme": "register_schemes",
    "metric": "register_metrics",
}

pm = pluggy.PluginManager("ganbench")
pm.add_hookspecs(hookspecs)
_loaded = False


def load_plugins():
    """Load every installed `ganbench` entry point, built-ins included, exactly once."""
    global _loaded
    if not _loaded:
        _loaded = True
        pm.load_setuptools_entrypoints("ganbench")


def _sources():
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    sources = {}
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin)
        dist = dists.get(id(plugin))
        package = dist.project_name if dist else "(registered at runtime)"
        version = dist.version if dist else getattr(plugin, "__version__", "unknown")
        sources[name] = Source(name, package, version)
    return sources


def unknown_hooks():
    """(plugin, hook) for each implementation of a hook ganbench does not have: a misspelled
    `register_loss` would otherwise be ignored without a word."""
    found = []
    for name, caller in vars(pm.hook).items():
        if not name.startswith("_") and not caller.has_spec():
            found += [(impl.plugin_name, name) for impl in caller.get_hookimpls()]
    return found


def _warn_unknown_hooks(sources):
    for plugin, hook in unknown_hooks():
        source = sources.get(plugin)
        installed = source and not source.package.startswith("(")
        where = f"plugin '{plugin}'" + (f" (package {source.package})" if installed else "")
        warnings.warn(f"{where} implements '{hook}', which is not a ganbench hook{suggest(hook, HOOKS.values())}; "
                      f"it is ignored", GanbenchWarning, stacklevel=2)


@functools.lru_cache(maxsize=1)
def _build_registry(_generation):
    registry = Registry()
    sources = _sources()
    _warn_unknown_hooks(sources)
    for kind, hook in HOOKS.items():
        # One call per implementation, so each component knows which plugin gave it.
        for impl in getattr(pm.hook, hook).get_hookimpls():
            impl.function(register=registry.registrar(kind, sources[impl.plugin_name]))
    return registry


_generation = 0


def registry():
    """The registry of every installed component (rebuilt after register/unregister)."""
    load_plugins()
    return _build_registry(_generation)


def register(plugin, name=None):
    """Register a plugin object at run time (tests, notebooks)."""
    global _generation
    load_plugins()
    pm.register(plugin, name=name)
    _generation += 1


def unregister(plugin):
    global _generation
    pm.unregister(plugin)
    _generation += 1


def rescan():
    """Load entry points installed since the first scan (after `pip install` in a notebook)."""
    global _generation
    load_plugins()
    pm.load_setuptools_entrypoints("ganbench")
    _generation += 1
