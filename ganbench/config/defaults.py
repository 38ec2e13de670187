"""Reading registry.toml: the components a run uses for kinds its plugins= leaves unfilled."""

import os
import sys
import tomllib
from pathlib import Path
from typing import Any

from ganbench.errors import GanbenchError

DEFAULT_DB = "sqlite:///results/ganbench.db"
RegistryPath = str | os.PathLike[str] | None  # a registry.toml; None: registry_path()


def registry_path() -> Path:
    """$GANBENCH_REGISTRY, else the copy beside the source tree, else the installed copy."""
    if os.environ.get("GANBENCH_REGISTRY"):
        return Path(os.environ["GANBENCH_REGISTRY"])
    beside_source = Path(__file__).resolve().parents[2] / "registry.toml"
    if beside_source.exists():
        return beside_source
    return Path(sys.prefix) / "share" / "ganbench" / "registry.toml"


def load_registry_toml(path: RegistryPath = None) -> dict[str, Any]:
    path = Path(path or registry_path())
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise GanbenchError(
            f"registry file {path} not found; set GANBENCH_REGISTRY to its path"
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise GanbenchError(
            f"{path}: not valid TOML ({e}); fix the file or set GANBENCH_REGISTRY"
        ) from None


def default_components(path: RegistryPath = None) -> dict[str, str]:
    """The [defaults] table: kind -> component name."""
    return dict(load_registry_toml(path).get("defaults", {}))
