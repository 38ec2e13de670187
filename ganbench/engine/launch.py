"""Starting a new run and resuming a stopped one: what `ganbench run` calls."""

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ganbench.api.network import count_parameters
from ganbench.config.defaults import default_components
from ganbench.config.spec import CORE_OPTIONS, RunConfig, RunSpec, active, resolve
from ganbench.config.studies import Arm, as_overrides
from ganbench.engine import checkpoint, early_stop, footprint, preflight
from ganbench.engine.build import Experiment, build, parameter_counts, run_record
from ganbench.engine.events import Observer, check_trackers
from ganbench.engine.loop import State, train
from ganbench.engine.progress import TrainingProgress
from ganbench.environment import pick_device
from ganbench.errors import GanbenchError, GanbenchWarning
from ganbench.plugins.manager import registry
from ganbench.plugins.registry import Registry
from ganbench.stopping import STOP
from ganbench.store.base import RunStatus, RunStore, this_process

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

Row = dict[str, Any]  # a run's `runs` row


def _cache_dir(store: RunStore) -> Path:
    return store.results_dir / "cache"


def start_spec(
    store: RunStore,
    spec: RunSpec,
    device: str = "auto",
    console: "Console | None" = None,
    extras: Mapping[str, Any] | None = None,
    observers: Sequence[Observer] = (),
) -> tuple[int, str]:
    """Build and check everything from the run's spec, record the run, then train it.
    Returns (id, status). `extras`: settings outside the config, such as
    {'inception_weights': path}; `observers`: more observers of the run's events."""
    reg, config = registry(), spec.config
    # a missing package is named before anything is recorded
    check_trackers(config.options["trackers"], reg)
    footprint.check_fits(config, reg, pick_device(device))  # refused, not run out of memory
    exp = build(config, reg, pick_device(device), spec.seed, _cache_dir(store), extras)
    preflight.check(exp, store, reg)
    with STOP.deferred():  # once recorded, a stop request ends the run with a status
        counts = parameter_counts(exp)
        run_id = store.create_run(counts, **run_record(exp, spec, counts))
        store.hold(run_id)  # from here, a process that claims the run fences this one out
        label = f"run {run_id} {spec.short_label} seed {spec.seed}"
        progress = TrainingProgress(label, config.options["steps"], console=console)
        return run_id, train(store, run_id, exp, progress, observers=list(observers))


def resume_run(
    store: RunStore,
    run_id: int,
    device: str = "auto",
    console: "Console | None" = None,
    extras: Mapping[str, Any] | None = None,
    restart: bool = False,
    steps: int | None = None,
) -> str:
    """Continue a stopped run from its last checkpoint to its target steps, same config and
    seed; `steps` sets a larger target, which also extends a completed run; `restart` trains
    one that has no checkpoint from step 0. Nothing changes in the store until the checkpoint
    is checked, restored and the run claimed."""
    row = resumable(store, run_id, steps)
    reg = registry()
    config = extended(RunSpec.recorded(row).config, steps)
    active(config.components, reg)  # a component uninstalled since gives a clear error here
    check_trackers(config.options["trackers"], reg)
    footprint.check_fits(config, reg, pick_device(device))
    exp = build(config, reg, pick_device(device), row["seed"], _cache_dir(store), extras)
    _warn_decaying(exp, config, run_id, steps)
    path = store.run_dir(run_id) / "last.pt"
    state = _checked_state(store, row, path, restart)
    if state is not None:
        _restore(exp, state, path)
    with STOP.deferred():
        # one transaction: the checkpoint names its target, so it stays the run's own at any
        # target, and an extension changes nothing else (a kill leaves the run as it was or
        # extended, never half of each)
        claim(store, run_id, row, config if steps is not None else None)
        done = state["step"] if state else 0
        label = f"run {run_id} {config.label_short()}"
        progress = TrainingProgress(label, config.options["steps"], done=done, console=console)
        return train(store, run_id, exp, progress, state)


def _warn_decaying(exp: Experiment, config: RunConfig, run_id: int, steps: int | None) -> None:
    if steps is not None and exp.scheme.schedule(config.settings()).decay_from is not None:
        warnings.warn(
            f"run {run_id}'s learning rates decay towards its target: from here they follow the "
            f"{steps}-step schedule, so it will not match a run trained {steps} steps from the start",
            GanbenchWarning,
            stacklevel=3,
        )


def _checked_state(store: RunStore, row: Row, path: Path, restart: bool) -> State | None:
    """The run's last checkpoint, checked to be its own; None to train again from step 0."""
    state = checkpoint.load(path)
    if state is None and not restart:
        raise GanbenchError(
            f"run {row['id']} has no checkpoint at {path} (stopped before its first, or the folder "
            f"was removed); pass --restart to train it again from step 0"
        )
    if state is not None:
        recorded = RunSpec.recorded(row).config
        expected = checkpoint.identity(str(store.identity), row["id"], recorded)
        checkpoint.check_identity(
            state, {**expected, "config_hash": row["config_hash"]}, path, recorded
        )
    return state


def extended(config: RunConfig, steps: int | None) -> RunConfig:
    """The recorded config with a new target: its group becomes that of runs of `steps` steps."""
    if steps is None:
        return config
    return config.with_target(CORE_OPTIONS["steps"].parse("--steps", steps))


def resumable(store: RunStore, run_id: int, steps: int | None = None) -> Row:
    """The run's record, if it may be resumed: not completed (unless `steps` extends it), and
    not alive elsewhere."""
    row = store.get_run(run_id)
    status = store.status_of(row)
    if status in (RunStatus.RUNNING, RunStatus.QUEUED):
        raise GanbenchError(
            f"run {run_id} is still running (pid {row['pid']}) on {row['host']}; stop it first"
        )
    target = max(row["steps_done"], row["target_steps"] or 0)
    if steps is not None and steps <= target:
        raise GanbenchError(
            f"run {run_id} has a target of {target} steps; --steps {steps} must be larger to extend it"
        )
    if status == RunStatus.COMPLETED and steps is None:
        raise GanbenchError(
            f"run {run_id} is already completed ({row['steps_done']} steps); --resume {run_id} "
            f"--steps N extends it to N steps, or start a new run"
        )
    if status == RunStatus.COMPLETED and stopped_by_rule(store, row):
        raise GanbenchError(
            f"run {run_id} was ended by its stop rule (stop_on={row['config']['options']['stop_on']}); "
            f"it would stop there again, so start a new run instead"
        )
    return row


def stopped_by_rule(store: RunStore, row: Row) -> bool:
    """Whether the run's stop rule fired, early or at its very last step: its record replayed."""
    if row["id"] in store.early_stops():
        return True
    rule = early_stop.plateau(row["config"]["options"], row["score_directions"] or {})
    if rule is None:
        return False
    early_stop.replay(rule, store.metrics(row["id"]))
    return rule.fired


def _restore(exp: Experiment, state: State, path: Path) -> None:
    try:
        checkpoint.restore(exp.parts, exp.scheme, state)
    except (RuntimeError, KeyError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GanbenchError(
            f"checkpoint {path} does not fit this run's networks ({first}); nothing was changed. "
            f"Remove it and pass --restart to train the run again from step 0"
        ) from None


def claim(store: RunStore, run_id: int, row: Row, extended: RunConfig | None = None) -> None:
    """Mark the run ours, atomically: of two resumes started together, one goes on. An
    extended run's config, with its new target, goes in with it."""
    target: dict[str, Any] = {}
    if extended is not None:
        target = dict(config=extended.to_dict(), config_hash=extended.hash())
        target["target_steps"] = extended.options["steps"]
    host, pid = this_process()
    if not store.claim(run_id, row, status=RunStatus.RUNNING.value, host=host, pid=pid, **target):
        raise GanbenchError(
            f"run {run_id} was just taken by another process; `ganbench report` shows its status"
        )
    store.hold(run_id)


def dry_run(arms: list[Arm]) -> "pd.DataFrame":
    """Each arm's label with each network's parameter count beside the published one, and
    the difference in percent: a DataFrame."""
    import pandas as pd

    reg, defaults = registry(), default_components()
    rows = []
    for arm in arms:
        row: dict[str, Any] = {"arm": arm.label or "(one run)"}
        for name, params in count(arm, reg, defaults).items():
            published = arm.published.get(f"{name}_params")
            row.update(
                {
                    f"{name}_params": params,
                    f"published_{name}": published,
                    f"{name}_diff_%": 100 * (params / published - 1) if published else None,
                }
            )
        row["memory"] = footprint.described(arm, reg, defaults)  # a floor: see engine/footprint.py
        rows.append(row)
    return pd.DataFrame(rows)


def count(arm: Arm, registry: Registry, defaults: Mapping[str, str]) -> dict[str, int]:
    """{network name: parameters} of an arm, counted on the meta device, which allocates
    nothing; an arm that fits in the CPU's memory is also built and checked there as the run
    builds it, with blank images of the data set's registered shape standing in for its data."""
    config, cpu = resolve(as_overrides(arm.overrides), registry, defaults), torch.device("cpu")
    need = footprint.sized(config, registry, cpu)
    if need is not None and not footprint.fits(need, cpu):  # building it here would not fit
        return need.parameters
    exp = build(config, registry, cpu, 0, "results/cache", stand_in=True)
    return {name: count_parameters(net) for name, net in exp.parts.nets.items()}
