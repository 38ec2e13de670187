"""Figures from the results: each score over steps, one line per group (the mean over its
seeds, with a band of ±1 standard deviation when there are several), the losses averaged
per 100 steps, as the fair's figures show them, and per arm the samples its run wrote."""

import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torchvision.transforms.functional import pil_to_tensor
from torchvision.utils import save_image

from ganbench.engine.samples import PADDING, RunSamples, read_samples
from ganbench.results.frames import with_groups

RunDir = Callable[[int], Path]  # a run id to its folder (the store's run_dir)

LOSS_BIN = 100  # the fair's figures: losses per 100 steps


def _curves(
    runs: pd.DataFrame, metrics: pd.DataFrame, name: str, bin_steps: int | None = None
) -> dict[str, pd.DataFrame]:
    """{group name: DataFrame(step, mean, std)} for one recorded name, groups in run order."""
    rows = metrics[metrics["name"] == name].merge(
        runs[["id", "config_hash"]], left_on="run_id", right_on="id"
    )
    if bin_steps:  # losses: the mean over each bin of steps, per run, then across runs
        rows = rows.assign(step=(rows["step"] - 1) // bin_steps * bin_steps + bin_steps)
        rows = rows.groupby(["config_hash", "run_id", "step"], as_index=False)["value"].mean()
    curves: dict[str, pd.DataFrame] = {}
    for key, name in group_names(runs).items():
        group = rows[rows["config_hash"] == key]
        if not group.empty:
            curves[name] = group.groupby("step")["value"].agg(["mean", "std"]).reset_index()
    return curves


def group_names(runs: pd.DataFrame) -> dict[str, str]:
    """{config hash: group name} in the order of each group's first run, as the tables name
    them: two groups that share a label have two names."""
    runs = with_groups(runs).sort_values("id")
    return runs.groupby("config_hash", sort=False)["group"].last().to_dict()


def palette(runs: pd.DataFrame) -> dict[str, str]:
    """{group name: colour}, fixed per report so an arm has one colour in every figure."""
    return {name: f"C{i % 10}" for i, name in enumerate(group_names(runs).values())}


def _draw(ax: Axes, curves: dict[str, pd.DataFrame], ylabel: str, colors: dict[str, str]) -> None:
    for label, curve in curves.items():
        few = len(curve) <= 12  # a marker per point, or a short curve is barely visible
        (line,) = ax.plot(
            curve["step"],
            curve["mean"],
            label=label,
            color=colors[label],
            marker="o" if few else None,
            markersize=3,
        )
        if curve["std"].notna().any():
            ax.fill_between(
                curve["step"],
                curve["mean"] - curve["std"],
                curve["mean"] + curve["std"],
                color=line.get_color(),
                alpha=0.2,
            )
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def score_figure(runs: pd.DataFrame, metrics: pd.DataFrame, name: str) -> Figure:
    figure = Figure(figsize=(7, 4.5), layout="constrained")
    _draw(figure.add_subplot(), _curves(runs, metrics, name), name, palette(runs))
    figure.suptitle(f"{name} over training")
    return figure


def loss_names(metrics: pd.DataFrame) -> list[str]:
    """The losses the runs' schemes recorded (rows without a protocol), in recorded order."""
    return list(dict.fromkeys(metrics.loc[metrics["protocol"].isna(), "name"]))


def loss_bin(runs: pd.DataFrame) -> int:
    """Steps per point of a loss curve: the fair's 100 for runs of 2,000 steps or more, else
    the runs' own log_every, so a short run still draws a curve."""
    options = [config.get("options", {}) for config in runs["config"]] if "config" in runs else []
    log_every = max([o.get("log_every", 1) for o in options] or [1])
    return max(LOSS_BIN, log_every) if runs["steps_done"].max() >= 2000 else log_every


def loss_figure(runs: pd.DataFrame, metrics: pd.DataFrame) -> Figure:
    """One panel per loss, two to a row (d_loss and g_loss; CycleGAN's five)."""
    names, steps = loss_names(metrics), loss_bin(runs)
    rows = (len(names) + 1) // 2
    figure = Figure(figsize=(11, 4.5 * rows), layout="constrained")
    for ax, name in zip(figure.subplots(rows, 2, squeeze=False).flat, names):
        _draw(
            ax,
            _curves(runs, metrics, name, steps),
            f"{name} (mean per {steps} steps)",
            palette(runs),
        )
    for ax in figure.axes[len(names) :]:
        ax.set_visible(False)
    figure.suptitle("losses")
    return figure


def figures(runs: pd.DataFrame, metrics: pd.DataFrame) -> dict[str, Figure]:
    """{file stem: Figure} for every score recorded and the losses."""
    scores = sorted(set(metrics.loc[metrics["protocol"].notna(), "name"]))
    out = {name: score_figure(runs, metrics, name) for name in scores}
    if loss_names(metrics):
        out["losses"] = loss_figure(runs, metrics)
    return out


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_") or "run"


def _stems(names: Sequence[str]) -> list[str]:
    """A file stem per group name, none twice: names that differ only in characters a file
    name drops ('base #2', 'base 2') would otherwise overwrite each other's images."""
    stems: list[str] = []
    for name in names:
        stem, n = _slug(name), 1
        while stem in stems:
            n += 1
            stem = f"{_slug(name)}-{n}"
        stems.append(stem)
    return stems


def arm_samples(
    runs: pd.DataFrame, run_dir: RunDir, strip: Sequence[int] | None = None
) -> list[tuple[str, RunSamples]]:
    """[(group name, RunSamples)] from each group's first run that wrote any samples, its
    progress strip at the steps `strip` chooses (default: the fair's)."""
    out: list[tuple[str, RunSamples]] = []
    for key, name in group_names(runs).items():
        for _, run in runs[runs["config_hash"] == key].sort_values("id").iterrows():
            folder = run_dir(run["id"])
            found = (folder / "samples").is_dir() and read_samples(
                folder, run["config"]["options"]["res"], strip
            )
            if found:
                out.append((name, found))
                break
    return out


def sample_images(
    runs: pd.DataFrame, run_dir: RunDir, directory: Path, strip: Sequence[int] | None = None
) -> list[Path]:
    """Per group: the progress strip of one fixed input at the steps `strip` chooses
    (default: the fair's), the newest grid (translation rows for translation schemes) and the
    best checkpoint's panels (diversity grid and interpolation for noise schemes).
    Returns the paths."""
    written: list[Path] = []
    arms = arm_samples(runs, run_dir, strip)
    for stem, (_, found) in zip(_stems([name for name, _ in arms]), arms):
        if found.progress:
            tiles = [pil_to_tensor(tile) for _, tile in found.progress]
            written.append(directory / f"{stem}-progress.png")
            save_image(
                torch.stack(tiles).float() / 255, written[-1], nrow=len(tiles), padding=PADDING
            )
        for kind, (path, _) in found.best_panels.items():
            written.append(directory / f"{stem}-{kind}.png")
            shutil.copyfile(path, written[-1])
        if found.last_grid:
            written.append(directory / f"{stem}-grid.png")
            shutil.copyfile(found.last_grid[1], written[-1])
    return written


def write_plots(
    runs: pd.DataFrame,
    metrics: pd.DataFrame,
    directory: str | Path,
    run_dir: RunDir | None = None,
    strip: Sequence[int] | None = None,
) -> list[Path]:
    """Save every figure as PNG under `directory`, and the runs' sample images when
    `run_dir(run id)` gives their folders; returns the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, figure in figures(runs, metrics).items():
        paths.append(directory / f"{stem}.png")
        figure.savefig(paths[-1], dpi=120)
    return paths + (sample_images(runs, run_dir, directory, strip) if run_dir else [])
