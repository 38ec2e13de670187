"""Components keyed by kind and name, and the record of where each came from."""
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from .errors import GanbenchError, lookup

# A run takes exactly one of each single kind; modifiers stack in the order given.
SINGLE_KINDS = ("generator", "discriminator", "loss", "optimizer", "dataset", "scheme")
KINDS = SINGLE_KINDS + ("modifier", "metric")


@dataclass(frozen=True)
class Source:
    """The plugin (and its distribution, when installed as one) a component came from."""

    plugin: str
    package: str
    version: str


@dataclass(frozen=True)
class Component:
    kind: str
    name: str
    build: Callable[..., Any]
    source: Source
    options: Mapping[str, Any] = field(default_factory=dict)
    help: str = ""
    target: Optional[str] = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def describe(self):
        """A JSON-ready description for `ganbench plugins`."""
        return {
            "name": self.name, "kind": self.kind, "help": self.help, "target": self.target,
            "plugin": self.source.plugin, "package": self.source.package,
            "version": self.source.version,
            "options": {k: o.describe() for k, o in self.options.items()},
        }


class Registry:
    """Every installed component, by kind then name."""

    def __init__(self):
        self._kinds = {kind: {} for kind in KINDS}

    def add(self, component):
        table = self._kinds[component.kind]
        if component.name in table:
            other = table[component.name].source.plugin
            raise GanbenchError(
                f"{component.kind} '{component.name}' is registered by both plugin "
                f"'{other}' and plugin '{component.source.plugin}'; uninstall one of them"
            )
        table[component.name] = component

    def registrar(self, kind, source):
        """The `register` callable handed to one plugin's hook for one kind."""
        def register(name, build, *, options=None, help="", target=None, **meta):
            if kind == "modifier" and target not in ("generator", "discriminator"):
                raise GanbenchError(f"modifier '{name}' needs target='generator' or 'discriminator'")
            self.add(Component(kind, name, build, source, dict(options or {}), help, target, meta))
        return register

    def get(self, kind, name):
        return lookup(self._kinds[kind], name, kind)

    def named(self, name):
        """Every component called `name`, whatever its kind (dcgan fills two kinds)."""
        found = [table[name] for table in self._kinds.values() if name in table]
        if not found:
            lookup({n: None for n in self.names()}, name, "plugin")
        return found

    def names(self):
        return {name for table in self._kinds.values() for name in table}

    def __iter__(self):
        for kind in KINDS:
            yield from self._kinds[kind].values()
