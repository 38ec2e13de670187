"""What a run records about where it ran: versions, device, git commit, host."""

import platform
import socket
import subprocess
from collections.abc import Iterable
from typing import Any

import torch

from ganbench import __version__
from ganbench.errors import GanbenchError


def pick_device(choice: str) -> torch.device:
    """'auto' takes the GPU when there is one."""
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise GanbenchError(
            "--device cuda: no CUDA GPU is visible to PyTorch; use --device cpu or auto"
        )
    return torch.device(choice)


def git_sha() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def describe(device: torch.device, components: Iterable[Any]) -> dict[str, Any]:
    """The environment record stored with every run."""
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {
        "ganbench": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda
        if device.type == "cuda"
        else None,  # what the build supports is not what ran
        "cudnn": torch.backends.cudnn.version()
        if device.type == "cuda" and torch.backends.cudnn.is_available()
        else None,
        "gpu": gpu,
        "device": str(device),
        "git_sha": git_sha(),
        "plugins": {
            f"{c.kind}:{c.name}": {
                "plugin": c.source.plugin,
                "package": c.source.package,
                "version": c.source.version,
            }
            for c in components
        },
    }
