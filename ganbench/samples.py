"""Images a run writes while it trains, from noise fixed per run: a 5x5 grid every
`sample_every` steps, and at each new best score a 10-image diversity grid and a 10-step
linear interpolation between two noise vectors (the fair's checks for mode collapse and
memorisation). Files go to runs/<id>/samples/ beside the checkpoint."""
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image
from torchvision.utils import save_image

from .network import eval_mode
from .parts import sample_noise

SAMPLE_SEED_OFFSET = 2_000_003
FAIR_STRIP = (1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000)
PADDING = 2  # torchvision's grid padding, so a tile can be cut out again


class Sampler:
    def __init__(self, run_dir, cfg, device, seed, labels=None):
        rng = torch.Generator(device).manual_seed(seed + SAMPLE_SEED_OFFSET)
        draw = lambda n: sample_noise(cfg.noise, n, cfg.z_dim, rng)  # noqa: E731
        self.grid_noise, self.diversity_noise = draw(25), draw(10)
        ends = draw(2)
        t = torch.linspace(0, 1, 10, device=device)[:, None]
        self.path = (1 - t) * ends[0] + t * ends[1]
        self.labels = labels  # conditions for a conditional G, drawn from the data
        self.dir = Path(run_dir) / "samples"

    def _images(self, g, z):
        with eval_mode(g):
            return g(z) if self.labels is None else g(z, self.labels[: len(z)])

    def _save(self, images, name, nrow):
        self.dir.mkdir(parents=True, exist_ok=True)
        save_image(images, self.dir / name, nrow=nrow, padding=PADDING, normalize=True, value_range=(-1, 1))

    def recorded_best(self):
        path = self.dir / "best.json"
        if not path.exists():
            return None
        best = json.loads(path.read_text())
        return best["score"], best["value"]

    def grid(self, g, step):
        self._save(self._images(g, self.grid_noise), f"step-{step:07d}.png", 5)

    def best(self, g, step, score, value):
        self._save(self._images(g, self.diversity_noise), "best-diversity.png", 10)
        self._save(self._images(g, self.path), "best-interpolation.png", 10)
        (self.dir / "best.json").write_text(json.dumps({"step": step, "score": score, "value": value}))


def grids(run_dir):
    """{step: path} of the grids a run wrote."""
    return {int(p.stem.removeprefix("step-")): p for p in sorted((Path(run_dir) / "samples").glob("step-*.png"))}


def first_tile(path, res):
    """The top-left image of a saved grid: the same noise vector at every step."""
    with Image.open(path) as grid:
        return grid.crop((PADDING, PADDING, PADDING + res, PADDING + res)).copy()


def strip_steps(available, wanted=None):
    """The chosen steps (by default the fair's) where the run has grids for them; else, when
    the fair's match fewer than three or the chosen ones none, ten spread over what it has."""
    chosen = [s for s in (wanted or FAIR_STRIP) if s in available]
    if len(chosen) >= (1 if wanted else 3):
        return chosen
    steps = sorted(available)
    return steps if len(steps) <= 10 else [steps[round(i * (len(steps) - 1) / 9)] for i in range(10)]


@dataclass
class RunSamples:
    """What one run's samples folder holds, read back for a report."""
    progress: list = field(default_factory=list)  # [(step, PIL image)]: one noise vector over training
    last_grid: tuple | None = None  # (step, path) of the newest 5x5 grid
    diversity: Path | None = None
    interpolation: Path | None = None
    best: dict | None = None  # best.json: the step and score of the best checkpoint

    def __bool__(self):
        return bool(self.progress or self.diversity or self.interpolation)


def read_samples(run_dir, res, strip=None):
    """A run's progress strip at strip_steps(), its newest grid and its best-checkpoint images."""
    folder, available = Path(run_dir) / "samples", grids(run_dir)
    found = RunSamples(progress=[(s, first_tile(available[s], res)) for s in strip_steps(available, strip)])
    if available:
        found.last_grid = max(available.items())
    for kind in ("diversity", "interpolation"):
        if (folder / f"best-{kind}.png").exists():
            setattr(found, kind, folder / f"best-{kind}.png")
    if (folder / "best.json").exists():
        found.best = json.loads((folder / "best.json").read_text())
    return found
