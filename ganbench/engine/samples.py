"""Images a run writes while it trains, as its scheme draws them: a panel every
`sample_every` steps (step-<N>.png) and, at each new best score, the scheme's best panels
(best-<name>.png) with the generators' weights (best.pt). Files go to runs/<id>/samples/
beside the checkpoint; layout.json and best.json say how to read them back."""

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image
from torchvision.utils import save_image

from ganbench.api.scheme import Panel
from ganbench.config import upgrade
from ganbench.engine import checkpoint

FAIR_STRIP = (1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000)
PADDING = 2  # torchvision's grid padding, so a tile can be cut out again


class Sampler:
    def __init__(self, run_dir: str | Path) -> None:
        self.dir = Path(run_dir) / "samples"

    def _save(self, panel: Panel, name: str) -> Path:
        """The panel as one PNG, whole or not there (a full disk leaves no half image)."""
        checkpoint.write_whole(self.dir / name, lambda file: _png(panel, file), checkpoint.SAVE_FIX)
        return self.dir / name

    def recorded_best(self) -> tuple[str, float] | None:
        path = self.dir / "best.json"
        if not path.exists():
            return None
        best = json.loads(path.read_text())
        return best["score"], best["value"]

    def grid(self, panel: Panel, step: int) -> Path:
        """Write the step's panel; its path."""
        path = self._save(panel, f"step-{step:07d}.png")
        layout = {"nrow": panel.nrow, "focus": panel.focus, "caption": panel.caption}
        _write_json(self.dir / "layout.json", layout)
        return path

    def best(
        self,
        panels: Mapping[str, Panel],
        weights: Mapping[str, Mapping[str, Any]],
        step: int,
        score: str,
        value: float,
    ) -> None:
        """The best checkpoint's panels and generator weights, then best.json naming them."""
        for name, panel in panels.items():
            self._save(panel, f"best-{name}.png")
        checkpoint.save(
            self.dir.parent / "best.pt",
            {"step": step, "score": score, "value": value, "nets": weights},
        )
        captions = {name: panel.caption for name, panel in panels.items()}
        best = {"step": step, "score": score, "value": value, "panels": captions}
        _write_json(self.dir / "best.json", best)


def _png(panel: Panel, file: BinaryIO) -> None:
    save_image(
        panel.images,
        file,
        format="png",
        nrow=panel.nrow,
        padding=PADDING,
        normalize=True,
        value_range=(-1, 1),
    )


def _write_json(path: Path, value: object) -> None:
    text = json.dumps(value).encode()
    checkpoint.write_whole(path, lambda file: file.write(text), checkpoint.SAVE_FIX)


def grids(run_dir: str | Path) -> dict[int, Path]:
    """{step: path} of the grids a run wrote."""
    return {
        int(p.stem.removeprefix("step-")): p
        for p in sorted((Path(run_dir) / "samples").glob("step-*.png"))
    }


def layout(run_dir: str | Path) -> dict[str, Any]:
    """How the run's grids are laid out: columns, the tile the strip follows, the caption."""
    path = Path(run_dir) / "samples" / "layout.json"
    found = json.loads(path.read_text()) if path.exists() else {}
    return {"nrow": 5, "focus": 0, "caption": "5x5 grid", **found}


def tile(path: Path, res: int, index: int = 0, nrow: int = 5) -> Image.Image:
    """Tile `index` (row by row) of a saved grid: the same input at every step."""
    row, column = divmod(index, nrow)
    left, top = PADDING + column * (res + PADDING), PADDING + row * (res + PADDING)
    with Image.open(path) as grid:
        return grid.crop((left, top, left + res, top + res)).copy()


def strip_steps(available: Collection[int], wanted: Sequence[int] | None = None) -> list[int]:
    """The chosen steps (by default the fair's) where the run has grids for them; else, when
    the fair's match fewer than three or the chosen ones none, ten spread over what it has."""
    chosen = [s for s in (wanted or FAIR_STRIP) if s in available]
    if len(chosen) >= (1 if wanted else 3):
        return chosen
    steps = sorted(available)
    return (
        steps if len(steps) <= 10 else [steps[round(i * (len(steps) - 1) / 9)] for i in range(10)]
    )


@dataclass
class RunSamples:
    """What one run's samples folder holds, read back for a report."""

    progress: list[tuple[int, Image.Image]] = field(
        default_factory=list
    )  # [(step, PIL image)]: one fixed input over training
    last_grid: tuple[int, Path] | None = None  # (step, path) of the newest grid
    grid_caption: str = ""
    best_panels: dict[str, tuple[Path, str]] = field(
        default_factory=dict
    )  # name -> (path, caption) at the best checkpoint
    best: dict[str, Any] | None = None  # best.json: the step and score of the best checkpoint

    def __bool__(self) -> bool:
        return bool(self.progress or self.best_panels)


def read_samples(run_dir: str | Path, res: int, strip: Sequence[int] | None = None) -> RunSamples:
    """A run's progress strip at strip_steps(), its newest grid and its best-checkpoint images."""
    folder, available, how = Path(run_dir) / "samples", grids(run_dir), layout(run_dir)
    found = RunSamples(
        progress=[
            (s, tile(available[s], res, how["focus"], how["nrow"]))
            for s in strip_steps(available, strip)
        ],
        grid_caption=how["caption"],
    )
    if available:
        found.last_grid = max(available.items())
    if (folder / "best.json").exists():
        found.best = upgrade.best(json.loads((folder / "best.json").read_text()))
    captions = (found.best or {}).get("panels", {})
    found.best_panels = {
        name: (folder / f"best-{name}.png", caption)
        for name, caption in captions.items()
        if (folder / f"best-{name}.png").exists()
    }
    return found
