"""Components keyed by kind and name, and the record of where each came from."""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ganbench.api.options import Option
from ganbench.errors import GanbenchError, lookup, suggest

# A run takes exactly one of each single kind; modifiers stack in the order given.
SINGLE_KINDS = ("generator", "discriminator", "loss", "optimizer", "dataset", "scheme")
KINDS = SINGLE_KINDS + ("modifier", "metric", "tracker", "executor")

# The keywords `register` takes beside name and build, kind by kind (ganbench.api.contracts
# types them): every kind's, then what the core must know of a kind before building it.
COMMON = ("options", "help", "defaults")
KEYWORDS = {kind: COMMON for kind in KINDS} | {
    "generator": COMMON + ("input",),
    "modifier": COMMON + ("target",),
    "dataset": COMMON + ("channels", "classes", "domains"),
    "scheme": COMMON + ("conditional", "losses"),
    "tracker": COMMON + ("needs", "extra", "check"),
    "executor": COMMON + ("misplaced_note",),
}
CHOICES = {
    "input": ("noise", "image"),
    "target": ("generator", "discriminator"),
}


@dataclass(frozen=True)
class Source:
    """The plugin (and its distribution, when installed as one) a component came from."""

    plugin: str
    package: str
    version: str

    def named(self) -> str:
        """ "plugin 'x' (package y)", the package left out for one registered at run time."""
        installed = not self.package.startswith("(")
        return f"plugin '{self.plugin}'" + (f" (package {self.package})" if installed else "")


@dataclass(frozen=True)
class Component:
    """One registration: what `register(name, build, ...)` was given, checked. Each fact is
    a field of the kinds that state it (KEYWORDS) and keeps its default for the others."""

    kind: str
    name: str
    build: Callable[..., Any]
    source: Source
    options: Mapping[str, Option] = field(default_factory=dict)
    help: str = ""
    defaults: Mapping[str, str] = field(default_factory=dict)  # {kind: name} it suggests
    input: str = "noise"  # generator: what it takes, "noise" or "image"
    target: str | None = None  # modifier: the kind of network it changes
    channels: int = 3  # dataset: its images' channels
    classes: int | None = None  # dataset: its classes; None: known only from the data
    domains: tuple[int, ...] = (1,)  # dataset: the image domains it can give
    conditional: bool = False  # scheme: its networks get the data's conditions
    losses: tuple[str, ...] | None = None  # scheme: the names its step returns, when fixed
    needs: str | None = None  # tracker: the Python package it imports
    extra: str | None = None  # tracker: the ganbench extra that installs `needs`
    check: Callable[[], None] | None = None  # tracker: raises GanbenchError if it cannot start
    misplaced_note: str | None = None  # executor: added when its option goes to another

    def describe(self) -> dict[str, Any]:
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


def record(
    kind: str, name: str, build: Callable[..., Any], source: Source, **given: Any
) -> Component:
    """The Component for one `register` call, or one line naming the plugin and what to fix."""
    where = f"{source.named()} registers {kind} '{name}'"
    unknown = [key for key in given if key not in KEYWORDS[kind]]
    if unknown:
        valid = ", ".join(("name", "build") + KEYWORDS[kind])
        hint = suggest(unknown[0], KEYWORDS[kind])
        raise GanbenchError(
            f"{where} with unknown keyword '{unknown[0]}'{hint}; a {kind}'s register takes {valid}"
        )
    for key, choices in CHOICES.items():
        if key in KEYWORDS[kind] and given.get(key, choices[0]) not in choices:
            raise GanbenchError(
                f"{where} with {key}={given[key]!r}; give {key}= one of {', '.join(choices)}"
            )
    if kind == "modifier" and "target" not in given:
        raise GanbenchError(f"{where} without target=; give target='generator' or 'discriminator'")
    if "domains" in given:
        given["domains"] = _domains(where, given["domains"])
    if given.get("losses") is not None:
        given["losses"] = tuple(given["losses"])
    given["options"], given["defaults"] = (
        dict(given.get(k) or {}) for k in ("options", "defaults")
    )
    return Component(kind, name, build, source, **given)


def _domains(where: str, domains: Any) -> tuple[int, ...]:
    counts = (domains,) if isinstance(domains, int) else tuple(domains)
    if not counts or not set(counts) <= {1, 2}:
        raise GanbenchError(f"{where} with domains={domains!r}; give 1, 2 or (1, 2)")
    return counts


class Registry:
    """Every installed component, by kind then name. A name two plugins register for one kind
    is a clash that stops only the runs that use it; `broken` names the plugins that failed
    to import, so a run that wants one of their components says why it is missing."""

    def __init__(self, broken: Mapping[str, str] | None = None) -> None:
        self._kinds: dict[str, dict[str, Component]] = {kind: {} for kind in KINDS}
        self.clashes: dict[tuple[str, str], list[Source]] = {}
        self.broken = dict(broken or {})

    def add(self, component: Component) -> None:
        table, key = self._kinds[component.kind], (component.kind, component.name)
        if key in self.clashes:
            self.clashes[key].append(component.source)
        elif component.name in table:
            self.clashes[key] = [table.pop(component.name).source, component.source]
        else:
            table[component.name] = component

    def _clash(self, kind: str, name: str) -> GanbenchError:
        who = " and ".join(
            f"package {s.package} (plugin '{s.plugin}')" for s in self.clashes[(kind, name)]
        )
        return GanbenchError(
            f"{kind} '{name}' is registered by {who}; uninstall one of them or rename it"
        )

    def _missing(self, name: str, valid: Mapping[str, Any], what: str) -> None:
        """The lookup error, with the plugins that failed to import, which may have had it."""
        try:
            lookup(valid, name, what)
        except GanbenchError as e:
            broken = "; ".join(
                f"plugin '{p}' failed to import ({why})" for p, why in self.broken.items()
            )
            raise GanbenchError(f"{e}{'; ' + broken if broken else ''}") from None

    def registrar(self, kind: str, source: Source) -> Callable[..., None]:
        """The `register` callable handed to one plugin's hook for one kind (typed for that
        kind in ganbench.api.contracts: RegisterGenerator, ...)."""

        def register(name: str, build: Callable[..., Any], **given: Any) -> None:
            self.add(record(kind, name, build, source, **given))

        return register

    def get(self, kind: str, name: str) -> Component:
        if (kind, name) in self.clashes:
            raise self._clash(kind, name)
        if name not in self._kinds[kind]:
            self._missing(name, self._kinds[kind], kind)
        return self._kinds[kind][name]

    def named(self, name: str) -> list[Component]:
        """Every component called `name`, whatever its kind (dcgan fills two kinds)."""
        for kind, clashed in self.clashes:
            if clashed == name:
                raise self._clash(kind, name)
        found = [table[name] for table in self._kinds.values() if name in table]
        if not found:
            self._missing(name, {n: None for n in self.names()}, "plugin")
        return found

    def names(self) -> set[str]:
        return {name for table in self._kinds.values() for name in table}

    def __iter__(self) -> Iterator[Component]:
        for kind in KINDS:
            yield from self._kinds[kind].values()
