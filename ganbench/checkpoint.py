"""Checkpoints: networks, optimizers, RNG states and the step, written atomically."""
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


def capture(parts, step, clock):
    return {
        "step": step, "train_s": clock.train_s(), "eval_s": clock.eval_s,
        "g": parts.g.state_dict(), "d": parts.d.state_dict(),
        "g_opt": parts.g_opt.state_dict(), "d_opt": parts.d_opt.state_dict(),
        "g_ema": parts.g_ema.state_dict() if parts.g_ema is not None else None,
        "rng": {"torch": torch.get_rng_state(), "run": parts.generator.get_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
    }


def restore(parts, state):
    """Put a captured state back; returns the step it was taken at."""
    parts.g.load_state_dict(state["g"])
    parts.d.load_state_dict(state["d"])
    parts.g_opt.load_state_dict(state["g_opt"])
    parts.d_opt.load_state_dict(state["d_opt"])
    if parts.g_ema is not None:
        parts.g_ema.load_state_dict(state["g_ema"])
    torch.set_rng_state(state["rng"]["torch"])
    parts.generator.set_state(state["rng"]["run"])
    if state["rng"]["cuda"]:
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    return state["step"]
