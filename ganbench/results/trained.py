"""A recorded run's networks, rebuilt from its config and loaded from one of its checkpoints:
what `ganbench sample` and `ganbench export` start from."""

from dataclasses import replace
from pathlib import Path

from ganbench.config.spec import RunConfig
from ganbench.engine import checkpoint
from ganbench.engine.build import Experiment, build
from ganbench.environment import pick_device
from ganbench.errors import GanbenchError
from ganbench.plugins.manager import registry
from ganbench.plugins.registry import Registry
from ganbench.store.base import RunStore


def load(
    store: RunStore, run_id: int, which: str = "last", device: str = "auto", stand_in: bool = False
) -> tuple[Experiment, int]:
    """(experiment, step): the run's parts with the weights of its `which` checkpoint. No
    metrics are built; `stand_in` skips loading the data (blank images of its shape)."""
    row, reg = store.get_run(run_id), registry()
    config = RunConfig.from_dict(row["config"])
    config = replace(config, components={**config.components, "metric": []})
    stand_in = stand_in and not conditions_from_data(config, reg)
    exp = build(
        config,
        reg,
        pick_device(device),
        row["seed"],
        store.results_dir / "cache",
        stand_in=stand_in,
    )
    folder = store.run_dir(run_id)
    return exp, (_last if which == "last" else _best)(exp, folder, run_id)


def conditions_from_data(config: RunConfig, registry: Registry) -> bool:
    """Whether a conditional run's condition count is known only from its data (a folder's tags):
    blank stand-in images cannot give it."""
    scheme, dataset = (
        registry.get(kind, config.components[kind]) for kind in ("scheme", "dataset")
    )
    return scheme.conditional and dataset.classes is None


def _last(exp: Experiment, folder: Path, run_id: int) -> int:
    state = checkpoint.load(folder / "last.pt")
    if state is None:
        raise GanbenchError(
            f"run {run_id} has no checkpoint at {folder / 'last.pt'} (it stopped before its first, "
            f"or the folder was removed); `ganbench runs show {run_id}` shows the run"
        )
    return checkpoint.restore(exp.parts, exp.scheme, state)


def _best(exp: Experiment, folder: Path, run_id: int) -> int:
    """best.pt holds the generators' weights as scored (their moving averages where kept)."""
    state = checkpoint.load(folder / "best.pt")
    if state is None:
        raise GanbenchError(
            f"run {run_id} has no best checkpoint at {folder / 'best.pt'}: it is written when a "
            f"metric scores a new best; use --checkpoint last"
        )
    for name, weights in state["nets"].items():
        exp.parts.for_evaluation(name).load_state_dict(weights)
    return state["step"]
