"""Comparison tables: one row per group of runs that share a config except the seed."""
import pandas as pd
from rich.table import Table

COLUMNS = ["group", "plugins", "runs", "status", "steps", "d_params", "g_params",
           "min_fid", "min_fid_step", "train_s", "steps_per_s"]
FORMATS = ("table", "md", "csv", "json")


def _status(statuses):
    counts = statuses.value_counts()
    if len(counts) == 1:
        return counts.index[0]
    return ", ".join(f"{n} {s}" for s, n in counts.items())


def _best_fid(runs, metrics):
    """Each run's minimum FID and the step it was reached at (NaN without FID records)."""
    fid = metrics[metrics["name"] == "fid"].dropna(subset=["value"])
    if fid.empty:
        return pd.DataFrame({"min_fid": float("nan"), "min_fid_step": float("nan")}, index=runs["id"])
    best = fid.loc[fid.groupby("run_id")["value"].idxmin()].set_index("run_id")
    return best.rename(columns={"value": "min_fid", "step": "min_fid_step"})[["min_fid", "min_fid_step"]]


def group_table(runs, metrics):
    """runs and metrics as DataFrames (the store's columns) -> one row per config group."""
    if runs.empty:
        return pd.DataFrame(columns=COLUMNS)
    runs = runs.join(_best_fid(runs, metrics), on="id")
    runs["steps_per_s"] = runs["steps_done"] / runs["train_s"].where(runs["train_s"] > 0)
    grouped = runs.sort_values("id").groupby("config_hash", sort=False)
    table = grouped.agg(
        group=("label", "last"), plugins=("plugins", "last"), runs=("id", "count"),
        status=("status", _status), steps=("steps_done", "max"), d_params=("d_params", "first"),
        g_params=("g_params", "first"), min_fid=("min_fid", "mean"),
        min_fid_step=("min_fid_step", "median"), train_s=("train_s", "mean"),
        steps_per_s=("steps_per_s", "mean"))
    return table.reset_index(drop=True)[COLUMNS]


def load_frames(store):
    runs = pd.DataFrame(store.runs())
    metrics = pd.DataFrame(store.metrics(), columns=["run_id", "step", "name", "value"])
    return runs, metrics


def _cell(value, column):
    if pd.isna(value):
        return ""
    if column in ("d_params", "g_params", "runs", "steps", "min_fid_step"):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:.4g}" if column != "train_s" else f"{value:.1f}"
    return str(value)


def rich_table(table, title="ganbench results"):
    out = Table(title=title)
    for column in table.columns:
        out.add_column(column, justify="left" if column in ("group", "plugins", "status") else "right")
    for _, row in table.iterrows():
        out.add_row(*(_cell(row[c], c) for c in table.columns))
    return out


def render(table, fmt):
    """The table as text in one of FORMATS (a rich Table for 'table')."""
    if fmt == "table":
        return rich_table(table)
    if fmt == "md":
        return table.astype(object).where(table.notna(), None).to_markdown(index=False, missingval="")
    if fmt == "csv":
        return table.to_csv(index=False)
    return table.to_json(orient="records", indent=2)
