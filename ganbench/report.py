"""Comparison tables: one row per group of runs that share a config except the seed.

Each reported score gets two columns, its best value over training (min_fid, max_is, ...) and
the step of that best. Scores carry a protocol fingerprint; a column whose values come from
more than one protocol shows the fingerprint beside each value, never a silent mix."""
import pandas as pd
from rich.table import Table

from .errors import GanbenchError

LEADING = ["group", "plugins", "runs", "status", "steps", "d_params", "g_params"]
TRAILING = ["train_s", "eval_s", "steps_per_s"]
COLUMNS = LEADING + ["min_fid", "min_fid_step"] + TRAILING
FORMATS = ("table", "md", "csv", "json")
METRIC_COLUMNS = ["run_id", "step", "name", "value", "protocol"]


def _status(statuses):
    counts = statuses.value_counts()
    if len(counts) == 1:
        return counts.index[0]
    return ", ".join(f"{n} {s}" for s, n in counts.items())


def directions(runs):
    """{score: 'min' | 'max'} from every run's record, FID first when present."""
    merged = {"fid": "min"}
    for recorded in runs.get("score_directions", pd.Series(dtype=object)).dropna():
        merged.update(recorded)
    return merged


def _best(runs, metrics, name, way):
    """Per run: the best value of one score, its step and its protocol."""
    rows = metrics[(metrics["name"] == name) & metrics["value"].notna()]
    column = f"{way}_{name}"
    if rows.empty:
        return pd.DataFrame({column: float("nan"), f"{column}_step": float("nan"),
                             f"{name}_protocol": None}, index=runs["id"])
    pick = rows.groupby("run_id")["value"].idxmin() if way == "min" else rows.groupby("run_id")["value"].idxmax()
    best = rows.loc[pick].set_index("run_id")
    return best.rename(columns={"value": column, "step": f"{column}_step",
                                "protocol": f"{name}_protocol"})[[column, f"{column}_step", f"{name}_protocol"]]


def _protocols(values):
    found = sorted(set(values.dropna()))
    return ",".join(found) if found else None


def group_table(runs, metrics):
    """runs and metrics as DataFrames (the store's columns) -> one row per config group."""
    if runs.empty:
        return pd.DataFrame(columns=COLUMNS)
    scored, aggregations = [], {}
    for name, way in directions(runs).items():
        column = f"{way}_{name}"
        if name != "fid" and not (metrics["name"] == name).any():
            continue
        runs = runs.join(_best(runs, metrics, name, way), on="id")
        scored += [column, f"{column}_step"]
        aggregations.update({column: (column, "mean"), f"{column}_step": (f"{column}_step", "median"),
                             f"{name}_protocol": (f"{name}_protocol", _protocols)})
    runs["steps_per_s"] = runs["steps_done"] / runs["train_s"].where(runs["train_s"] > 0)
    grouped = runs.sort_values("id").groupby("config_hash", sort=False)
    table = grouped.agg(
        group=("label", "last"), plugins=("plugins", "last"), runs=("id", "count"),
        status=("status", _status), steps=("steps_done", "max"), d_params=("d_params", "first"),
        g_params=("g_params", "first"), train_s=("train_s", "mean"), eval_s=("eval_s", "mean"),
        steps_per_s=("steps_per_s", "mean"), **aggregations)
    protocol_columns = [c for c in table.columns if c.endswith("_protocol")]
    return table.reset_index(drop=True)[LEADING + scored + TRAILING + protocol_columns]


def load_frames(store, study=None):
    """Runs and metrics as DataFrames, optionally only one study's."""
    runs = pd.DataFrame(store.runs())
    if study is not None:
        runs = runs[runs["study"] == study] if not runs.empty else runs
        if runs.empty:
            raise GanbenchError(f"no runs of study '{study}' in {store.url}; run it with "
                                f"ganbench run study={study}")
    metrics = pd.DataFrame(store.metrics(), columns=METRIC_COLUMNS)
    return runs, metrics[metrics["run_id"].isin(runs["id"])] if not runs.empty else metrics


def mixed_columns(table):
    """Score columns whose values come from more than one protocol."""
    mixed = {}
    for column in [c for c in table.columns if c.endswith("_protocol")]:
        ids = {p for cell in table[column].dropna() for p in cell.split(",")}
        if len(ids) > 1:
            mixed[column.removesuffix("_protocol")] = column
    return mixed


def _cell(value, column):
    if pd.isna(value):
        return ""
    if column in ("d_params", "g_params", "runs", "steps") or column.endswith("_step"):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:.1f}" if column.endswith("_s") else f"{value:.4g}"
    return str(value)


def display_frame(table):
    """Cells as text, protocol fingerprints beside mixed scores, protocol columns dropped."""
    shown = pd.DataFrame({c: [_cell(v, c) for v in table[c]] for c in table.columns
                          if not c.endswith("_protocol")})
    for name, protocol_column in mixed_columns(table).items():
        for column in [c for c in shown.columns if c.endswith(f"_{name}")]:
            shown[column] = [f"{v} [{p}]" if v else v for v, p in zip(shown[column], table[protocol_column])]
    return shown


def footnote(table, protocols):
    """Lines explaining each fingerprint of a mixed column, or ''."""
    lines = []
    for name, column in mixed_columns(table).items():
        ids = sorted({p for cell in table[column].dropna() for p in cell.split(",")})
        lines.append(f"{name} was scored under {len(ids)} protocols; compare only equal ones:")
        lines += [f"  [{i}] {protocols.get(i, {})}" for i in ids]
    return "\n".join(lines)


def rich_table(table, title="ganbench results"):
    shown = display_frame(table)
    out = Table(title=title)
    for column in shown.columns:
        out.add_column(column, justify="left" if column in ("group", "plugins", "status") else "right")
    for row in shown.itertuples(index=False):
        out.add_row(*row)
    return out


def render(table, fmt, protocols=None):
    """The table as text in one of FORMATS (a rich Table for 'table')."""
    if fmt == "table":
        return rich_table(table)
    if fmt == "md":
        note = footnote(table, protocols or {})
        return display_frame(table).to_markdown(index=False) + (f"\n\n{note}" if note else "")
    if fmt == "csv":
        return table.to_csv(index=False)
    return table.to_json(orient="records", indent=2, double_precision=15)
