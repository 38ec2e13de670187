"""Configs and checkpoints recorded by older ganbench, brought to today's form in one versioned
step as they are loaded. Nothing else in ganbench reads an old form: a change to what is
recorded adds a version here, with the facts of the old version written down as data.

Version 1 is 0.1.0 (configs and checkpoints carried no version). Its configs may lack the
options added after its first runs were recorded, and the oldest lack `training_keys` (the
options that shape training: all but the metrics'); its oldest checkpoints keep G and D
under fixed keys instead of the scheme's network names; its run folders' best.json named no
panels, since the noise schemes' two were all there were."""

from collections.abc import Mapping
from typing import Any

CONFIG_VERSION = 2
CHECKPOINT_VERSION = 2

# 0.1.0's options added after its first runs, at the defaults they had: a config without them
# trained as these values do.
ADDED_IN_0_1_0 = {
    "stop_on": "",
    "stop_patience": 5000,
    "stop_tolerance": 0.0,
    "schedule": "constant",
    "decay_from": 0,
    "warmup": 0,
    "precision": "fp32",
    "compile": False,
    "compile_mode": "default",
    "channels_last": False,
    "trackers": "",
}
# The options 0.1.0's metrics declared: the only options of an old config that do not shape
# training (its built-in metrics were all the metrics there were).
METRIC_OPTIONS_0_1_0 = frozenset(
    {"is_splits", "kid_subsets", "kid_subset_size", "prc_neighborhood"}
)

PANELS_0_1_0 = {
    "diversity": "diversity: ten noise vectors at the best checkpoint",
    "interpolation": "interpolation between two noise vectors in ten steps, best checkpoint",
}


def config(recorded: Mapping[str, Any]) -> dict[str, Any]:
    """A recorded config in today's form."""
    found = dict(recorded)
    if found.get("version", 1) < 2:
        found = _config_from_1(found)
    return found


def _config_from_1(found: dict[str, Any]) -> dict[str, Any]:
    options = {**ADDED_IN_0_1_0, **found["options"]}
    keys = found.get("training_keys") or sorted(set(options) - METRIC_OPTIONS_0_1_0)
    return {**found, "options": options, "training_keys": list(keys), "version": 2}


def checkpoint(state: dict[str, Any]) -> dict[str, Any]:
    """A loaded checkpoint in today's form."""
    if state.get("version", 1) < 2:
        state = _checkpoint_from_1(state)
    return state


def _checkpoint_from_1(state: dict[str, Any]) -> dict[str, Any]:
    """Networks by the scheme's names (the oldest kept 'g', 'd', 'g_opt', ...); a checkpoint
    from before checkpoints named their run carries no identity to check."""
    if "nets" not in state:
        ema = {"g": state["g_ema"]} if state.get("g_ema") is not None else {}
        nets, opts = {"g": state["g"], "d": state["d"]}, {"g": state["g_opt"], "d": state["d_opt"]}
        state = {**state, "nets": nets, "opts": opts, "ema": ema, "scheme": {}}
    return {**state, "identity": state.get("identity"), "version": 2}


def best(record: Mapping[str, Any]) -> dict[str, Any]:
    """A run folder's best.json in today's form: 0.1.0's, which named no panels, gets its two."""
    return {"panels": PANELS_0_1_0, **record}
