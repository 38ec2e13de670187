"""Checkpoints: every named network, optimizer and moving average, the scheme's own state,
the RNG states and the step, written atomically."""
import os
from pathlib import Path

import torch


def checkpoint_path(results_dir, run_id):
    return Path(results_dir) / "runs" / str(run_id) / "last.pt"


def save(path, state):
    """torch.save to a temporary file, then rename: a kill mid-write leaves the old file whole.
    Checkpoints and every cache file are written this way."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load(path):
    # On the CPU: RNG states must be CPU tensors, and load_state_dict moves the rest.
    return torch.load(path, map_location="cpu") if path.exists() else None


def _states(table):
    return {name: item.state_dict() for name, item in table.items()}


def capture(parts, scheme, step, clock):
    return {
        "step": step, "train_s": clock.train_s(), "eval_s": clock.eval_s,
        "nets": _states(parts.nets), "opts": _states(parts.opts), "ema": _states(parts.ema),
        "scheme": scheme.state_dict(),
        "rng": {"torch": torch.get_rng_state(), "run": parts.rng.get_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
    }


def upgraded(state):
    """A checkpoint from before schemes named their networks ('g', 'd', 'g_opt', ...)."""
    if "nets" in state:
        return state
    ema = {"g": state["g_ema"]} if state.get("g_ema") is not None else {}
    return {**state, "nets": {"g": state["g"], "d": state["d"]}, "opts": {"g": state["g_opt"], "d": state["d_opt"]},
            "ema": ema, "scheme": {}}


def restore(parts, scheme, state):
    """Put a captured state back; returns the step it was taken at."""
    state = upgraded(state)
    for table, saved in ((parts.nets, state["nets"]), (parts.opts, state["opts"]), (parts.ema, state["ema"])):
        for name, item in table.items():
            item.load_state_dict(saved[name])
    scheme.load_state_dict(state["scheme"])
    torch.set_rng_state(state["rng"]["torch"])
    parts.rng.set_state(state["rng"]["run"])
    if state["rng"]["cuda"]:
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    return state["step"]
