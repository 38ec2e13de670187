"""Starting a new run and resuming a stopped one: what `ganbench run` calls."""
import os
import socket

from . import checkpoint
from .config import RunConfig, active, resolve
from .defaults import default_components
from .environment import pick_device
from .errors import GanbenchError
from .plugins import registry
from .progress import TrainingProgress
from .runner import build, parameter_counts, run_record, train
from .studies import count


def _cache_dir(store):
    return store.results_dir / "cache"


def start_run(store, overrides, steps=None, seed=0, name=None, device="auto", console=None,
              extras=None, study=None):
    """Resolve, build and check everything, record the run, then train it. Returns (id, status).
    `extras`: settings outside the config, such as {'inception_weights': path}."""
    reg = registry()
    config = resolve(overrides, reg, default_components(), steps)
    dev = pick_device(device)
    exp = build(config, reg, dev, seed, _cache_dir(store), extras)
    run_id = store.create_run(parameter_counts(exp), **run_record(exp, seed, name, reg, study))
    progress = TrainingProgress(f"run {run_id} {config.label_short()}", config.options["steps"],
                                console=console)
    return run_id, train(store, run_id, exp, progress)


def _alive(row):
    if row["host"] != socket.gethostname() or not row["pid"] or row["pid"] == os.getpid():
        return False
    try:
        os.kill(row["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def resume_run(store, run_id, device="auto", console=None, extras=None):
    """Continue a stopped run from its last checkpoint to its target steps, same config and seed."""
    row = store.get_run(run_id)
    if row["status"] == "completed":
        raise GanbenchError(f"run {run_id} is already completed ({row['steps_done']} steps); "
                            f"start a new run instead")
    if row["status"] == "running" and _alive(row):
        raise GanbenchError(f"run {run_id} is still running (pid {row['pid']}); stop it first")
    reg = registry()
    config = RunConfig.from_dict(row["config"])
    active(config.components, reg)  # a component uninstalled since gives a clear error here
    exp = build(config, reg, pick_device(device), row["seed"], _cache_dir(store), extras)
    state = checkpoint.load(checkpoint.checkpoint_path(store.results_dir, run_id))
    store.drop_metrics_after(run_id, state["step"] if state else 0)
    progress = TrainingProgress(f"run {run_id} {config.label_short()}", config.options["steps"],
                                done=state["step"] if state else 0, console=console)
    return train(store, run_id, exp, progress, state)


def dry_run(arms):
    """Each arm's label with each network's parameter count beside the published one, and
    the difference in percent: a DataFrame."""
    import pandas as pd

    reg, defaults = registry(), default_components()
    rows = []
    for arm in arms:
        row = {"arm": arm.label or "(one run)"}
        for name, params in count(arm, reg, defaults).items():
            published = arm.published.get(f"{name}_params")
            row.update({f"{name}_params": params, f"published_{name}": published,
                        f"{name}_diff_%": 100 * (params / published - 1) if published else None})
        rows.append(row)
    return pd.DataFrame(rows)
