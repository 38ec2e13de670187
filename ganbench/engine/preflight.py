"""What a run is checked for once it is built and before it is recorded, so that bad input
leaves no `failed` row behind: a stop rule naming neither a score nor a loss of the run, and
run folders that cannot be written (found otherwise at the first checkpoint)."""

import copy
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import torch

from ganbench.engine import checkpoint, early_stop, fast_path
from ganbench.engine.build import Experiment
from ganbench.errors import GanbenchError
from ganbench.store.base import RunStore


def check(exp: Experiment, store: RunStore) -> None:
    """Everything below, in the order a user would fix it."""
    check_stop_rule(exp)
    check_run_folders(store)


def check_stop_rule(exp: Experiment) -> None:
    """`stop_on` names one of the run's scores, or a loss its first step returns."""
    directions = exp.evaluator.directions() if exp.evaluator else {}
    rule = early_stop.plateau(exp.config.options, directions)
    if rule is not None and rule.name not in rule.scores:
        rule.check(probe_losses(exp))


def probe_losses(exp: Experiment) -> Mapping[str, object]:
    """The losses of one step taken on copies of the networks, optimizers and scheme, with
    the random states put back: the run then trains as if it had never been taken."""
    parts, scheme = copy.deepcopy((exp.parts, exp.scheme))
    with random_states_kept(exp.device):
        batch = exp.data.sample(exp.config.options["batch"], parts.rng)
        with fast_path.autocast(exp.config.options, exp.device):
            return scheme.step(parts, batch)


@contextmanager
def random_states_kept(device: torch.device) -> Iterator[None]:
    cpu = torch.get_rng_state()
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    try:
        yield
    finally:
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state(cuda, device)


def check_run_folders(store: RunStore) -> None:
    """Checkpoints and samples can be made where the store keeps run folders."""
    root = store.folders.root
    why = checkpoint.unwritable(root)
    if why is not None:
        raise GanbenchError(
            f"run folders cannot be made in {root}: {why}; give --runs-dir (or "
            f"GANBENCH_RUNS_DIR) a folder you can write"
        )
