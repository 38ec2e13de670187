"""Figures from the results: each score over steps, one line per group (the mean over its
seeds, with a band of ±1 standard deviation when there are several), and the losses
averaged per 100 steps, as the fair's figures show them."""
from pathlib import Path

from matplotlib.figure import Figure

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


def write_plots(runs, metrics, directory):
    """Save every figure as PNG under `directory`; returns the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, figure in figures(runs, metrics).items():
        paths.append(directory / f"{stem}.png")
        figure.savefig(paths[-1], dpi=120)
    return paths
