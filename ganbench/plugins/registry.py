"""Components keyed by kind and name, and the record of where each came from."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ganbench.errors import GanbenchError, lookup

# A run takes exactly one of each single kind; modifiers stack in the order given.
SINGLE_KINDS = ("generator", "discriminator", "loss", "optimizer", "dataset", "scheme")
KINDS = SINGLE_KINDS + ("modifier", "metric", "tracker", "executor")


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
    target: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def describe(self):
        """A JSON-ready description for `ganbench plugins`."""
        return {
            "name": self.name,
            "kind": self.kind,
            "help": self.help,
            "target": self.target,
            "plugin": self.source.plugin,
            "package": self.source.package,
            "version": self.source.version,
            "options": {k: o.describe() for k, o in self.options.items()},
        }


class Registry:
    """Every installed component, by kind then name. A name two plugins register for one kind
    is a clash that stops only the runs that use it; `broken` names the plugins that failed
    to import, so a run that wants one of their components says why it is missing."""

    def __init__(self, broken=None):
        self._kinds = {kind: {} for kind in KINDS}
        self.clashes, self.broken = {}, dict(broken or {})

    def add(self, component):
        table, key = self._kinds[component.kind], (component.kind, component.name)
        if key in self.clashes:
            self.clashes[key].append(component.source)
        elif component.name in table:
            self.clashes[key] = [table.pop(component.name).source, component.source]
        else:
            table[component.name] = component

    def _clash(self, kind, name):
        who = " and ".join(
            f"package {s.package} (plugin '{s.plugin}')" for s in self.clashes[(kind, name)]
        )
        return GanbenchError(
            f"{kind} '{name}' is registered by {who}; uninstall one of them or rename it"
        )

    def _missing(self, name, valid, what):
        """The lookup error, with the plugins that failed to import, which may have had it."""
        try:
            lookup(valid, name, what)
        except GanbenchError as e:
            broken = "; ".join(
                f"plugin '{p}' failed to import ({why})" for p, why in self.broken.items()
            )
            raise GanbenchError(f"{e}{'; ' + broken if broken else ''}") from None

    def registrar(self, kind, source):
        """The `register` callable handed to one plugin's hook for one kind."""

        def register(name, build, *, options=None, help="", target=None, **meta):
            if kind == "modifier" and target not in ("generator", "discriminator"):
                raise GanbenchError(
                    f"modifier '{name}' needs target='generator' or 'discriminator'"
                )
            self.add(Component(kind, name, build, source, dict(options or {}), help, target, meta))

        return register

    def get(self, kind, name):
        if (kind, name) in self.clashes:
            raise self._clash(kind, name)
        if name not in self._kinds[kind]:
            self._missing(name, self._kinds[kind], kind)
        return self._kinds[kind][name]

    def named(self, name):
        """Every component called `name`, whatever its kind (dcgan fills two kinds)."""
        for kind, clashed in self.clashes:
            if clashed == name:
                raise self._clash(kind, name)
        found = [table[name] for table in self._kinds.values() if name in table]
        if not found:
            self._missing(name, {n: None for n in self.names()}, "plugin")
        return found

    def names(self):
        return {name for table in self._kinds.values() for name in table}

    def __iter__(self):
        for kind in KINDS:
            yield from self._kinds[kind].values()
