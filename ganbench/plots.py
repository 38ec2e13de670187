"""Figures from the results: each score over steps, one line per group (the mean over its
seeds, with a band of ±1 standard deviation when there are several), the losses averaged
per 100 steps, as the fair's figures show them, and per arm the samples its run wrote."""
import re
import shutil
from pathlib import Path

import torch
from matplotlib.figure import Figure
from torchvision.transforms.functional import pil_to_tensor
from torchvision.utils import save_image

from .samples import PADDING, first_tile, grids, strip_steps

LOSS_BIN = 100


def _curves(runs, metrics, name, bin_steps=None):
    """{group label: DataFrame(step, mean, std)} for one recorded name."""
    rows = metrics[metrics["name"] == name].merge(runs[["id", "label", "config_hash"]], left_on="run_id", right_on="id")
    if bin_steps:  # losses: the mean over each bin of steps, per run, then across runs
        rows = rows.assign(step=(rows["step"] - 1) // bin_steps * bin_steps + bin_steps)
        rows = rows.groupby(["config_hash", "label", "run_id", "step"], as_index=False)["value"].mean()
    curves = {}
    for _, group in rows.groupby("config_hash", sort=False):
        per_step = group.groupby("step")["value"].agg(["mean", "std"]).reset_index()
        curves[group["label"].iloc[-1]] = per_step
    return curves


def _draw(ax, curves, ylabel):
    for label, curve in curves.items():
        line, = ax.plot(curve["step"], curve["mean"], label=label)
        if curve["std"].notna().any():
            ax.fill_between(curve["step"], curve["mean"] - curve["std"], curve["mean"] + curve["std"],
                            color=line.get_color(), alpha=0.2)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def score_figure(runs, metrics, name):
    figure = Figure(figsize=(7, 4.5), layout="constrained")
    _draw(figure.add_subplot(), _curves(runs, metrics, name), name)
    figure.suptitle(f"{name} over training")
    return figure


def loss_figure(runs, metrics):
    figure = Figure(figsize=(11, 4.5), layout="constrained")
    for ax, name in zip(figure.subplots(1, 2), ("d_loss", "g_loss")):
        _draw(ax, _curves(runs, metrics, name, LOSS_BIN), f"{name} (mean per {LOSS_BIN} steps)")
    figure.suptitle("losses")
    return figure


def figures(runs, metrics):
    """{file stem: Figure} for every score recorded and the losses."""
    scores = sorted(set(metrics.loc[metrics["protocol"].notna(), "name"]))
    out = {name: score_figure(runs, metrics, name) for name in scores}
    if metrics["name"].isin(["d_loss", "g_loss"]).any():
        out["losses"] = loss_figure(runs, metrics)
    return out


def _slug(label):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_") or "run"


def sample_images(runs, results_dir, directory):
    """Per group (its first run): the progress strip of one fixed noise vector at the fair's
    steps, and the best checkpoint's diversity grid and interpolation. Returns the paths."""
    written = []
    for _, run in runs.sort_values("id").drop_duplicates("config_hash").iterrows():
        run_dir = Path(results_dir) / "runs" / str(run["id"])
        stem, available = _slug(run["label"]), grids(run_dir)
        if available:
            res = run["config"]["options"]["res"]
            tiles = [pil_to_tensor(first_tile(available[s], res)) for s in strip_steps(available)]
            written.append(directory / f"{stem}-progress.png")
            save_image(torch.stack(tiles).float() / 255, written[-1], nrow=len(tiles), padding=PADDING)
        for kind in ("diversity", "interpolation"):
            source = run_dir / "samples" / f"best-{kind}.png"
            if source.exists():
                written.append(directory / f"{stem}-{kind}.png")
                shutil.copyfile(source, written[-1])
    return written


def write_plots(runs, metrics, directory, results_dir=None):
    """Save every figure as PNG under `directory`, and the runs' sample images when
    `results_dir` holds them; returns the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, figure in figures(runs, metrics).items():
        paths.append(directory / f"{stem}.png")
        figure.savefig(paths[-1], dpi=120)
    return paths + (sample_images(runs, results_dir, directory) if results_dir else [])
