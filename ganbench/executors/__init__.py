"""Where a study's runs train. Executors are plugins, the `executor` kind: each registers with
the options it takes, which `ganbench run` offers as flags (option `gpus_per_run`:
`--gpus-per-run`), and `choose` builds the one `--executor` names with the settings given for
it. An executor's module is imported only when it is chosen."""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ganbench.errors import GanbenchError
from ganbench.plugins.manager import registry
from ganbench.plugins.registry import Component, Registry

if TYPE_CHECKING:
    from ganbench.executors.base import Executor

DEFAULT = "local"  # a plain `ganbench run`'s: this machine


def flag(key: str) -> str:
    """The command line's flag for an executor option: `gpus_per_run` -> `--gpus-per-run`."""
    return "--" + key.replace("_", "-")


def installed(reg: Registry) -> list[Component]:
    """Every registered executor, in the order registered."""
    return [c for c in reg if c.kind == "executor"]


def owners(reg: Registry) -> dict[str, list[Component]]:
    """{option name: the executors that declare it}; the first one's declaration is the flag's."""
    found: dict[str, list[Component]] = {}
    for component in installed(reg):
        for key in component.options:
            found.setdefault(key, []).append(component)
    return found


def asked(given: Mapping[str, Any], reg: Registry | None = None) -> dict[str, Any]:
    """The settings in `given` that ask for something: a value at its option's default
    (`--workers 1`) asks for nothing, whichever executor is chosen."""
    declared = owners(reg or registry())
    return {k: v for k, v in given.items() if v != declared[k][0].options[k].default}


def choose(kind: str, given: Mapping[str, Any]) -> "Executor":
    """The executor registered as `kind`, built with its settings: `given` ({option name:
    value} for the flags given) over its options' defaults. A setting that asks something of
    another executor is refused in one line."""
    reg = registry()
    chosen = reg.get("executor", kind)
    declared = owners(reg)
    for key in asked(given, reg):
        if key not in chosen.options:
            raise GanbenchError(_misplaced(key, declared[key], kind))
    return chosen.build({k: given.get(k, o.default) for k, o in chosen.options.items()})


def _misplaced(key: str, owners: list[Component], chosen: str) -> str:
    """`--address goes with --executor ray`, and each owner's `misplaced_note`, "{chosen}" in
    it naming the one chosen (local's: "ray places each run by what it asks for")."""
    line = f"{flag(key)} goes with --executor {' or '.join(o.name for o in owners)}"
    notes = [o.misplaced_note.format(chosen=chosen) for o in owners if o.misplaced_note]
    return "; ".join([line, *notes])
