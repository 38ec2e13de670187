"""Checkpoints: every named network, optimizer and moving average, the scheme's own state,
the RNG states, the step, the losses not yet logged and whose run it is, written atomically."""

import contextlib
import errno
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import torch

from ganbench.api.parts import Parts
from ganbench.api.scheme import Scheme
from ganbench.config import upgrade
from ganbench.config.spec import RunConfig
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
    """torch.save through write_whole: checkpoints and caches are whole or not there."""
    write_whole(path, lambda file: torch.save(state, file), SAVE_FIX)


SAVE_FIX = (
    "free space on that disk or make the folder writable; a run resumes from its last "
    "checkpoint (ganbench run --resume ID)"
)
# how a failed write's errno reads in a message: what is wrong, in words
REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "not permitted",
}
# what torch's writer says when a write came short; its RuntimeError may carry no errno
TORCH_SHORT_WRITE = ("file write failed", "unexpected pos")


def write_whole(path: Path, fill: Callable[[BinaryIO], object], fix: str) -> None:
    """Write `path` by `fill`ing a temporary file, then rename: a kill mid-write leaves the
    old file whole, and any failure (a full disk, a read-only folder) removes the partial
    file and is one GanbenchError naming `path`, why, and `fix` (how to put it right)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # a file of ours, not a path: torch then writes through Python, whose OSError (and
        # errno) stays attached to the RuntimeError torch raises for a failed write
        with open(tmp, "wb") as file:
            fill(file)
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):  # a folder that could not be made holds no file
            tmp.unlink(missing_ok=True)
        why = _write_failure(e)
        if why is None:
            raise
        raise GanbenchError(f"cannot write {path}: {why}; {fix}") from None


def unwritable(folder: Path) -> str | None:
    """Why files cannot be made in `folder` (or in the folder it would be made in), in
    words; None when they can. Checked before work whose output would then be lost."""
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if os.access(existing, os.W_OK | os.X_OK):  # root too is refused on a read-only mount
        return None
    read_only = os.statvfs(existing).f_flag & os.ST_RDONLY
    return REASONS[errno.EROFS if read_only else errno.EACCES]


def _write_failure(error: BaseException) -> str | None:
    """Why a write failed, in words, or None when `error` is no failure to write."""
    cause = _os_error(error)
    if cause is not None:
        reason = REASONS.get(cause.errno or 0)
        return f"{reason} ({cause.strerror})" if reason else str(cause.strerror or cause)
    text = " ".join(str(error).split())
    if isinstance(error, RuntimeError) and any(s in text for s in TORCH_SHORT_WRITE):
        return f"the write failed, the disk may be full (torch: {text})"
    return None


def _os_error(error: BaseException | None) -> OSError | None:
    """The OSError that `error` is, or was raised while handling (torch wraps it)."""
    while error is not None:
        if isinstance(error, OSError):
            return error
        error = error.__cause__ or error.__context__
    return None


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


def identity(database: str, run: int, config: RunConfig) -> dict[str, Any]:
    """Whose a checkpoint is: the run, of which database, under which config, and the target
    it was written towards, so that it stays the run's own when the run is extended."""
    steps = config.options["steps"]
    return {"database": database, "run": run, "config_hash": config.hash(), "steps": steps}


def check_identity(
    state: Mapping[str, Any], expected: Mapping[str, Any], path: Path, config: RunConfig
) -> None:
    """A checkpoint is resumed only by its own run of its own database, under the run's
    `config` at the checkpoint's target (`expected` as `identity` gives it, with the run's
    recorded config_hash)."""
    found = state.get("identity")
    if found is None:
        return  # version 1 (ganbench.config.upgrade): from before checkpoints named their run
    wanted = dict(expected)
    if found.get("steps") is not None and found["steps"] != expected["steps"]:
        wanted["config_hash"] = config.with_target(found["steps"]).hash()
    for key, what in (
        ("database", "another database"),
        ("run", "another run"),
        ("config_hash", "another config"),
    ):
        if found.get(key) != wanted[key]:
            raise GanbenchError(
                f"checkpoint {path} belongs to {what} ({key} {found.get(key)}, this run has "
                f"{wanted[key]}); nothing was changed. Remove it and pass --restart to train "
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
