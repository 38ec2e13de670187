"""What a run is checked for once it is built and before it is recorded, so that bad input
leaves no `failed` row behind: a stop rule waiting for a score the run does not compute, and
run folders that cannot be written (found otherwise at the first checkpoint)."""

from ganbench.engine import checkpoint, early_stop
from ganbench.engine.build import Experiment
from ganbench.errors import GanbenchError
from ganbench.plugins.registry import Registry
from ganbench.store.base import RunStore


def check(exp: Experiment, store: RunStore, registry: Registry) -> None:
    """Everything below, in the order a user would fix it."""
    check_stop_rule(exp, registry)
    check_run_folders(store)


def check_stop_rule(exp: Experiment, registry: Registry) -> None:
    """`stop_on` names a score of the run, or a loss its scheme declares it returns; a name
    of an installed metric the run does not compute is said so. Where a scheme declares no
    losses, its first step names them (early_stop.Plateau.check)."""
    directions = exp.evaluator.directions() if exp.evaluator else {}
    rule = early_stop.plateau(exp.config.options, directions)
    if rule is None or rule.name in rule.scores:
        return
    if any(c.kind == "metric" and c.name == rule.name for c in registry):
        raise GanbenchError(
            f"stop_on={rule.name} is a score of metric '{rule.name}', which this run does not "
            f"compute (its scores: {', '.join(rule.scores) or 'none'}); add it to metrics= "
            f"or choose one of those scores or one of its losses"
        )
    losses = registry.get("scheme", exp.config.components["scheme"]).losses
    if losses is not None:  # the scheme's step returns these, and only these
        rule.check(dict.fromkeys(losses))


def check_run_folders(store: RunStore) -> None:
    """Checkpoints and samples can be made where the store keeps run folders."""
    root = store.folders.root
    why = checkpoint.unwritable(root)
    if why is not None:
        raise GanbenchError(
            f"run folders cannot be made in {root}: {why}; give --runs-dir (or "
            f"GANBENCH_RUNS_DIR) a folder you can write"
        )
