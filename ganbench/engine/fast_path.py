"""The fast-path options every scheme gets: bf16 autocast for the training step,
torch.compile of each network and channels-last memory. They change the numbers, so they
are part of a run's config and group."""

import shutil
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
from torch import nn

from ganbench.api.settings import Settings
from ganbench.errors import GanbenchError


def check(cfg: Settings, device: torch.device) -> None:
    """One clear line for a setting this machine cannot run, before anything is built."""
    if cfg.precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise GanbenchError(
            f"precision=bf16: {torch.cuda.get_device_name(device)} has no bfloat16 support; use precision=fp32"
        )
    if (
        cfg.compile
        and device.type == "cpu"
        and not any(shutil.which(c) for c in ("c++", "g++", "clang++"))
    ):
        raise GanbenchError(
            "compile=true on a CPU needs a C++ compiler, which torch's inductor builds its kernels "
            "with; install g++ (apt-get install g++) or drop compile=true"
        )


def prepare(nets: Mapping[str, nn.Module], cfg: Settings) -> None:
    """Channels-last memory and compilation, in place: parameters, optimizers and checkpoint
    keys stay as they are."""
    for net in nets.values():
        if cfg.channels_last:
            net.to(memory_format=torch.channels_last)
        if cfg.compile:
            net.compile(mode=None if cfg.compile_mode == "default" else cfg.compile_mode)


def autocast(options: Mapping[str, Any], device: torch.device) -> AbstractContextManager[object]:
    """The context a training step runs in: bf16 autocast, or nothing."""
    if options.get("precision", "fp32") == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()
