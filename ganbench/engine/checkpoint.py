"""Checkpoints: every named network, optimizer and moving average, the scheme's own state,
the RNG states, the step, the losses not yet logged and whose run it is, written atomically."""

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import torch

from ganbench.api.parts import Parts
from ganbench.api.scheme import Scheme
from ganbench.config import upgrade
from ganbench.errors import GanbenchError


class Stateful(Protocol):
    """A network, optimizer or moving average: what a checkpoint saves and puts back."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state_dict: dict[str, Any], /) -> object: ...


class Clock(Protocol):
    """The run's clock (`ganbench.engine.loop.Clock`, a module that imports this one)."""

    eval_s: float

    def train_s(self) -> float: ...


def save(path: Path, state: object) -> None:
    """torch.save to a temporary file, then rename: a kill mid-write leaves the old file whole,
    and a failed write (a full disk) leaves no partial file behind. Checkpoints and every cache
    file are written this way."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(state, tmp)
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise GanbenchError(
            f"cannot write {path} ({e.strerror or e}); free space or fix the folder's permissions"
        ) from None


def load(path: Path) -> dict[str, Any] | None:
    """The state in `path`, or None when there is none; an unreadable file is named."""
    if not path.exists():
        return None
    try:
        # On the CPU: RNG states must be CPU tensors, and load_state_dict moves the rest.
        return torch.load(path, map_location="cpu")
    except PermissionError:
        raise GanbenchError(
            f"checkpoint {path} cannot be read (permission denied); fix its permissions"
        ) from None
    except Exception as e:  # truncated or not a checkpoint at all: torch raises several kinds
        raise GanbenchError(
            f"checkpoint {path} is damaged or not a checkpoint ({type(e).__name__}); "
            f"remove it and pass --restart to train the run again from step 0"
        ) from None


def _states(table: Mapping[str, Stateful]) -> dict[str, dict[str, Any]]:
    return {name: item.state_dict() for name, item in table.items()}


def capture(
    parts: Parts,
    scheme: Scheme,
    step: int,
    clock: Clock,
    window: Sequence[Mapping[str, torch.Tensor]] = (),
    identity: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "version": upgrade.CHECKPOINT_VERSION,
        "step": step,
        "train_s": clock.train_s(),
        "eval_s": clock.eval_s,
        "identity": identity,
        "nets": _states(parts.nets),
        "opts": _states(parts.opts),
        "ema": _states(parts.ema),
        "scheme": scheme.state_dict(),
        "window": [{name: value.detach() for name, value in losses.items()} for losses in window],
        "rng": {
            "torch": torch.get_rng_state(),
            "run": parts.rng.get_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        },
    }


def identity(database: str, run: int, config_hash: str) -> dict[str, Any]:
    """Whose a checkpoint is: the run, of which database, under which config."""
    return {"database": database, "run": run, "config_hash": config_hash}


def check_identity(state: Mapping[str, Any], expected: Mapping[str, Any], path: Path) -> None:
    """A checkpoint is resumed only by its own run of its own database, under its config."""
    found = state.get("identity")
    if found is None:
        return  # version 1 (ganbench.config.upgrade): from before checkpoints named their run
    for key, what in (
        ("database", "another database"),
        ("run", "another run"),
        ("config_hash", "another config"),
    ):
        if found.get(key) != expected[key]:
            raise GanbenchError(
                f"checkpoint {path} belongs to {what} ({key} {found.get(key)}, this run has "
                f"{expected[key]}); nothing was changed. Remove it and pass --restart to train "
                f"the run again from step 0"
            )


def window(state: Mapping[str, Any], device: torch.device) -> list[dict[str, torch.Tensor]]:
    """The losses a checkpoint held that were not yet logged, back on the device."""
    return [
        {name: value.to(device) for name, value in losses.items()}
        for losses in state.get("window", [])
    ]


def restore(parts: Parts, scheme: Scheme, state: dict[str, Any]) -> int:
    """Put a captured state back; returns the step it was taken at."""
    state = upgrade.checkpoint(state)
    for table, saved in (
        (parts.nets, state["nets"]),
        (parts.opts, state["opts"]),
        (parts.ema, state["ema"]),
    ):
        for name, item in table.items():
            item.load_state_dict(saved[name])
    scheme.load_state_dict(state["scheme"])
    torch.set_rng_state(state["rng"]["torch"])
    parts.rng.set_state(state["rng"]["run"])
    if state["rng"]["cuda"]:
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    return state["step"]
