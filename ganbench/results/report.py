"""Comparison tables: one row per group of runs that share a config except the seed.

Each reported score gets its best value over training per run (min_fid, max_is, ...), then
per group the mean, standard deviation, n and a 95% confidence interval (Student's t), the
step of the best (median over runs), the change against the baseline group (the first, or
`baseline=`) and the p-value of Welch's t-test against it. Scores carry a protocol
fingerprint; a column whose values come from more than one protocol shows the fingerprint
beside each value, never a silent mix."""

import re
import warnings
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text
from scipy import stats

from ganbench.errors import GanbenchError
from ganbench.results.frames import load_metrics, load_runs, with_groups
from ganbench.results.run_records import tagged
from ganbench.store.base import RunStore
from ganbench.store.liveness import FINISHED

LEADING = ["group", "plugins", "runs", "status", "steps", "stopped_at", "d_params", "g_params"]
TRAILING = ["train_s", "eval_s", "eval_share", "steps_per_s", "peak_mem_mb", "energy_j"]
COLUMNS = LEADING + ["min_fid", "min_fid_step"] + TRAILING
SIGNIFICANCE = 0.05


def _status(statuses: pd.Series) -> str:
    counts = statuses.value_counts()
    if len(counts) == 1:
        return counts.index[0]
    return ", ".join(f"{n} {s}" for s, n in counts.items())


def directions(runs: pd.DataFrame) -> dict[str, str]:
    """{score: 'min' | 'max'} from every run's record, FID first."""
    merged = {"fid": "min"}
    for recorded in runs.get("score_directions", pd.Series(dtype=object)).dropna():
        merged.update(recorded)
    return merged


def best_per_run(runs: pd.DataFrame, metrics: pd.DataFrame, name: str, way: str) -> pd.DataFrame:
    """Per run id: the best value of one score, its step and its protocol."""
    rows = metrics[(metrics["name"] == name) & metrics["value"].notna()]
    if rows.empty:
        return pd.DataFrame({"value": np.nan, "step": np.nan, "protocol": None}, index=runs["id"])
    grouped = rows.groupby("run_id")["value"]
    best = rows.loc[grouped.idxmin() if way == "min" else grouped.idxmax()].set_index("run_id")
    return best[["value", "step", "protocol"]].reindex(runs["id"])


def _interval(values: np.ndarray) -> float:
    n = len(values)
    if n < 2:
        return np.nan
    return stats.t.ppf(0.975, n - 1) * np.std(values, ddof=1) / np.sqrt(n)


def _welch(values: np.ndarray, baseline: np.ndarray) -> float:
    """Welch's p, or NaN where it is undefined: fewer than two seeds, or no spread in either
    group with different means. Equal constant groups do not differ (p = 1)."""
    if len(values) < 2 or len(baseline) < 2:
        return np.nan
    if np.ptp(values) == 0 and np.ptp(baseline) == 0:
        return 1.0 if values[0] == baseline[0] else np.nan
    with warnings.catch_warnings():  # scipy's precision warnings for nearly equal samples
        warnings.simplefilter("ignore", RuntimeWarning)
        return stats.ttest_ind(values, baseline, equal_var=False).pvalue


def _per_seed(best: pd.DataFrame) -> np.ndarray:
    """One value per distinct seed (the newest run's): a re-run of a seed is not a new sample."""
    return best.dropna(subset=["value"]).drop_duplicates("seed", keep="last")["value"].to_numpy()


def _score_columns(
    runs: pd.DataFrame,
    metrics: pd.DataFrame,
    name: str,
    way: str,
    keys: list[str],
    base_key: str,
) -> pd.DataFrame:
    """The per-group columns of one score, in group order `keys`."""
    best = best_per_run(runs, metrics, name, way)
    best["key"] = runs.set_index("id")["config_hash"]
    best["seed"] = runs.set_index("id")["seed"] if "seed" in runs else best.index
    samples = {k: _per_seed(best[best["key"] == k]) for k in keys}
    column = f"{way}_{name}"
    out = pd.DataFrame(index=keys)
    out[column] = [v.mean() if len(v) else np.nan for v in samples.values()]
    out[f"{column}_std"] = [np.std(v, ddof=1) if len(v) > 1 else np.nan for v in samples.values()]
    out[f"{column}_n"] = [len(v) for v in samples.values()]
    out[f"{column}_ci95"] = [_interval(v) for v in samples.values()]
    # the lower median: a step the runs were evaluated at, not an average of two
    out[f"{column}_step"] = (
        best.groupby("key")["step"]
        .quantile(0.5, interpolation="lower")
        .reindex(keys)
        .astype("Int64")
    )
    out[f"{column}_vs_base"] = out[column] - out.loc[base_key, column]
    out[f"{column}_p"] = [_welch(v, samples[base_key]) for v in samples.values()]
    out[f"{name}_protocol"] = best.groupby("key")["protocol"].agg(_protocols).reindex(keys)
    return out


def _protocols(values: pd.Series) -> str | None:
    found = sorted(set(values.dropna()))
    return ",".join(found) if found else None


def check_groups(wanted: Iterable[str], labels: Iterable[str], option: str) -> None:
    """Refuse a group label that no run has, naming the ones there are."""
    labels = list(dict.fromkeys(labels))
    for name in wanted:
        if name not in labels:
            raise GanbenchError(
                f"no group labelled '{name}' for {option}; groups are {', '.join(labels)}"
            )


def _base_key(table: pd.DataFrame, baseline: str | None) -> str:
    if baseline is None:
        return table.index[0]
    check_groups([baseline], table["group"], "--baseline")
    return table.index[table["group"] == baseline][0]


def group_table(
    runs: pd.DataFrame, metrics: pd.DataFrame, baseline: str | None = None
) -> pd.DataFrame:
    """runs and metrics as DataFrames (the store's columns) -> one row per config group, in
    the order the groups first appear in `runs`."""
    if runs.empty:
        return pd.DataFrame(columns=COLUMNS)
    runs = with_groups(runs)
    order = list(runs["config_hash"].drop_duplicates())
    if "stopped_at" not in runs:  # frames built by hand, not by load_runs
        runs = runs.assign(stopped_at=pd.NA, stop_reason=None)
    for column in ("peak_mem_mb", "energy_j"):
        if column not in runs:
            runs = runs.assign(**{column: float("nan")})
    runs = runs.sort_values("id").assign(
        steps_per_s=lambda r: r["steps_done"] / r["train_s"].where(r["train_s"] > 0)
    )
    params = {c: (c, "first") for c in param_columns(runs)}
    table = (
        runs.groupby("config_hash", sort=False)
        .agg(
            group=("group", "last"),
            plugins=("plugins", "last"),
            runs=("id", "count"),
            status=("status", _status),
            steps=("steps_done", "max"),
            stopped_at=("stopped_at", _stop_steps),
            **params,
            train_s=("train_s", "mean"),
            eval_s=("eval_s", "mean"),
            steps_per_s=("steps_per_s", "mean"),
            peak_mem_mb=("peak_mem_mb", "mean"),
            energy_j=("energy_j", "mean"),
            run_ids=("id", lambda ids: ",".join(map(str, ids))),
        )
        .loc[order]
    )
    table["stop_reasons"] = _stop_reasons(runs).reindex(table.index)
    table["eval_share"] = table["eval_s"] / (table["train_s"] + table["eval_s"])
    base_key = _base_key(table, baseline)
    scores = [
        _score_columns(runs, metrics, name, way, list(table.index), base_key)
        for name, way in directions(runs).items()
        if name == "fid" or (metrics["name"] == name).any()
    ]
    table = pd.concat([table] + scores, axis=1)
    score_columns = [c for s in scores for c in s.columns if not c.endswith("_protocol")]
    protocol_columns = [c for s in scores for c in s.columns if c.endswith("_protocol")]
    leading = LEADING + [c for c in params if c not in LEADING]
    return table.reset_index(drop=True)[
        leading + score_columns + TRAILING + ["run_ids", "stop_reasons"] + protocol_columns
    ]


def _stop_steps(steps: pd.Series) -> str | None:
    """The steps the stop rule ended a group's runs at ('600;800'), or empty."""
    return ";".join(str(int(s)) for s in steps.dropna()) or None


def _stop_reasons(runs: pd.DataFrame) -> pd.Series:
    """Per group: 'run <id>: <reason>' for each run the stop rule ended."""
    stopped = runs[runs["stopped_at"].notna()]
    lines = stopped.groupby("config_hash")[["id", "stop_reason"]].apply(
        lambda g: "; ".join(f"run {i}: {r}" for i, r in zip(g["id"], g["stop_reason"]))
    )
    return lines if len(lines) else pd.Series(dtype=object)


def param_columns(runs: pd.DataFrame) -> list[str]:
    """d_params and g_params, then every other network's `<name>_params`, sorted."""
    others = sorted(c for c in runs.columns if c.endswith("_params") and c not in LEADING)
    return ["d_params", "g_params"] + others


def load_frames(
    store: RunStore,
    study: str | Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    tag: str | None = None,
    statuses: Collection[str] | None = FINISHED,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs and their metrics; `study` keeps one study's (or a list's), `tag` the runs tagged so, `groups`
    (labels) those groups', in the order given, so the first is the baseline; `statuses` the runs
    with those statuses (None: all). `runs.attrs["left_out"]` counts the others by status."""
    runs = load_runs(store, study)
    if tag is not None:
        runs = _tagged(runs, store, tag)
    if groups:
        runs = _select_groups(runs, list(groups))
    runs = with_statuses(runs, statuses)
    metrics = load_metrics(store)
    return runs, metrics[metrics["run_id"].isin(runs["id"])] if not runs.empty else metrics


def with_statuses(runs: pd.DataFrame, statuses: Collection[str] | None) -> pd.DataFrame:
    """The runs with one of `statuses`: a failed or interrupted run is not mixed into a group
    of finished ones unless asked for. An empty choice from runs that exist is an error."""
    if statuses is None or runs.empty:
        return runs
    kept = runs[runs["status"].isin(statuses)].reset_index(drop=True)
    left = runs.loc[~runs["status"].isin(statuses), "status"].value_counts()
    if kept.empty:
        raise GanbenchError(
            f"no {' or '.join(statuses)} run to report ({_counts(left)}); --status "
            f"{left.index[0]} (or --status all) shows them"
        )
    kept.attrs["left_out"] = dict(left)
    return kept


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def left_out_note(runs: pd.DataFrame) -> str:
    """The line saying which runs the status filter left out, or ''."""
    left = runs.attrs.get("left_out")
    return f"not shown: {_counts(left)} run(s); --status all shows every run" if left else ""


def shared_labels_note(runs: pd.DataFrame) -> str:
    """A line per label that groups here share, naming each group and how its config differs
    from the others' (or its hash where the configs do not tell), or ''."""
    if runs.empty:
        return ""
    # a group's label is its newest run's, as in the table; groups in order of their first run
    groups = with_groups(runs).sort_values("id").groupby("config_hash", sort=False).last()
    renamed = groups.loc[groups["group"] != groups["label"], "label"]
    return "\n".join(
        _shared_label_line(label, groups[groups["label"] == label])
        for label in renamed.drop_duplicates()
    )


def _shared_label_line(label: str, groups: pd.DataFrame) -> str:
    names = [f"'{printable(g)}' {d}" for g, d in zip(groups["group"], _differences(groups))]
    return (
        f"groups with the label '{printable(label)}' are told apart as {', '.join(names)}; "
        f"--group takes these names, and --name gives a run a label of its own"
    )


def _differences(groups: pd.DataFrame) -> list[str]:
    """Per group (indexed by config hash): the options and components whose values differ
    between the groups ("(steps=30)"), or its config hash where none do."""
    flat = [_flat(config) for config in groups["config"]]
    keys = sorted({k for f in flat for k in f if len({repr(g.get(k)) for g in flat}) > 1})
    return [
        f"({' '.join(f'{k}={f.get(k)}' for k in keys[:4])}{' ...' if len(keys) > 4 else ''})"
        if keys
        else f"(config {h[:8]})"
        for f, h in zip(flat, groups.index)
    ]


def _flat(config: Any) -> dict[str, Any]:
    """A recorded config's components and options in one mapping ({} if it has neither)."""
    if not isinstance(config, Mapping):
        return {}
    return {**config.get("components", {}), **config.get("options", {})}


def _tagged(runs: pd.DataFrame, store: RunStore, tag: str) -> pd.DataFrame:
    ids = tagged(store, tag)
    if not ids:
        raise GanbenchError(
            f"no run is tagged '{tag}' in {store.url}; `ganbench runs tag RUN_ID... {tag}` tags runs"
        )
    return runs[runs["id"].isin(ids)].reset_index(drop=True)


def _select_groups(runs: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    check_groups(groups, runs["group"] if not runs.empty else [], "--group")
    order = {name: i for i, name in enumerate(groups)}
    chosen = runs[runs["group"].isin(groups)]
    return (
        chosen.assign(_order=chosen["group"].map(order))
        .sort_values(["_order", "id"])
        .drop(columns="_order")
    )


def score_names(table: pd.DataFrame) -> list[str]:
    """The best-value columns of the table: min_fid, max_is, ..."""
    return [
        c for c in table.columns if c.startswith(("min_", "max_")) and f"{c}_n" in table.columns
    ]


def _protocol_ids(cells: pd.Series) -> list[str]:
    """The fingerprints in a protocol column, whose cells list them comma-separated."""
    return sorted({p for cell in cells.dropna() for p in cell.split(",")})


def mixed_columns(table: pd.DataFrame) -> dict[str, str]:
    """Score columns whose values come from more than one protocol: {score: protocol column}."""
    mixed = {}
    for column in [c for c in table.columns if c.endswith("_protocol")]:
        if len(_protocol_ids(table[column])) > 1:
            mixed[column.removesuffix("_protocol")] = column
    return mixed


def _number(value: Any, column: str) -> str:
    if pd.isna(value):
        return ""
    if column in ("runs", "steps") or column.endswith(("_step", "_params")):
        return f"{int(value):,}"
    if column == "eval_share":
        return f"{100 * value:.0f}%"
    if column.endswith("_vs_base"):
        return f"{value:+.4g}"
    if isinstance(value, (float, np.floating)):
        return f"{value:.1f}" if column.endswith("_s") else f"{value:.4g}"
    return str(value)


def _score_cell(row: pd.Series, column: str, best: Mapping[str, Any]) -> str:
    mean = row[column]
    if pd.isna(mean):
        return ""
    text = f"{mean:.4g}" + (f" ± {row[f'{column}_std']:.2g}" if row[f"{column}_n"] > 1 else "")
    if (
        row.name != best.get("base")
        and not pd.isna(row[f"{column}_p"])
        and row[f"{column}_p"] >= SIGNIFICANCE
    ):
        text += " (n.s.)"
    return f"{text} *" if mean == best[column] else text


def display_frame(table: pd.DataFrame, baseline: str | None = None) -> pd.DataFrame:
    """Cells as text: scores as mean ± std, the best per score marked *, differences from the
    baseline that Welch's test does not find significant marked (n.s.), protocol fingerprints
    beside mixed scores; the statistics' own columns folded away."""
    scores = score_names(table)
    hidden = {f"{s}_{x}" for s in scores for x in ("std", "n", "ci95", "p")} | {
        "run_ids",
        "stop_reasons",
    }
    best = {s: (table[s].min() if s.startswith("min_") else table[s].max()) for s in scores}
    best["base"] = 0 if baseline is None else table.index[table["group"] == baseline][0]
    shown = pd.DataFrame(index=table.index)
    for column in [c for c in table.columns if c not in hidden and not c.endswith("_protocol")]:
        if column in scores:
            shown[column] = [_score_cell(row, column, best) for _, row in table.iterrows()]
        else:
            shown[column] = [printable(_number(v, column)) for v in table[column]]
    for name, protocol_column in mixed_columns(table).items():
        for column in [c for c in scores if c.endswith(f"_{name}")]:
            shown[column] = [
                f"{v} [{p}]" if v else v for v, p in zip(shown[column], table[protocol_column])
            ]
    empty = [c for c in shown.columns if c not in LEADING[:5] and (shown[c] == "").all()]
    return shown.drop(columns=empty).reset_index(drop=True)  # CSV and JSON keep every column


def footnote(table: pd.DataFrame, protocols: Mapping[str, Any], baseline: str | None = None) -> str:
    """Lines explaining the marks, and each fingerprint of a mixed column."""
    lines = []
    if score_names(table):
        lines.append(
            "mean ± std over seeds; * best; (n.s.): not different from the baseline "
            f"({baseline or 'first row'}) by Welch's t-test at p < {SIGNIFICANCE}"
        )
    for group, reasons in zip(table["group"], table.get("stop_reasons", [])):
        if isinstance(reasons, str):
            lines.append(f"stopped early, {group}: {reasons}")
    for name, column in mixed_columns(table).items():
        ids = _protocol_ids(table[column])
        lines.append(f"{name} was scored under {len(ids)} protocols; compare only equal ones:")
        lines += [f"  [{i}] {protocols.get(i, {})}" for i in ids]
    return "\n".join(lines)


TEXT_COLUMNS = ("group", "plugins", "status", "arm")


def _header(name: str, values: Iterable[str]) -> str:
    """A number column's name broken after underscores to about its values' width, so a wide
    table narrows instead of cutting its names short."""
    width, lines = max([8] + [len(v) for v in values]), [""]
    for part in re.findall(r"[^_]*_|[^_]+$", name):  # each piece keeps its trailing underscore
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
        lines[-1] += part
    return "\n".join(lines)


CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable(text: str) -> str:
    """Text as text: control characters (an ANSI escape, a newline) shown as escapes, so a
    label can neither drive the terminal nor break a table's rows."""
    return CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


def as_rich(shown: pd.DataFrame, title: str) -> Table:
    """A frame of display strings as a rich Table: text left, numbers right."""
    out = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for column in shown.columns:
        text = column in TEXT_COLUMNS
        # numbers keep their width and labels fold when the table must narrow: nothing is cut off
        widest = (
            0
            if text
            else max([len(part) for v in shown[column] for part in str(v).split("\n")] or [0])
        )
        out.add_column(
            column if text else _header(column, shown[column]),
            justify="left" if text else "right",
            overflow="fold",
            min_width=widest or None,
        )
    for row in shown.itertuples(index=False):
        out.add_row(
            *(Text(cell) for cell in row)
        )  # cells are text: a label's [brackets] are not markup
    return out


# What a reader compares; `--wide` and the file formats keep every column.
COMPACT_DROP = ("plugins", "eval_s", "eval_share")


def compact(shown: pd.DataFrame) -> pd.DataFrame:
    """The columns a reader compares: group, counts, parameters, each score's best with its
    step ("14.76 * @1,000"), and time; not the plugins, the differences from the baseline or
    the evaluation share."""
    shown = shown.copy()
    for column in [c for c in shown.columns if f"{c}_step" in shown.columns]:
        step = shown.pop(f"{column}_step")
        shown[column] = [f"{v} @{s}" if v and s else v for v, s in zip(shown[column], step)]
    return shown[[c for c in shown.columns if c not in COMPACT_DROP and not c.endswith("_vs_base")]]


def rich_table(
    table: pd.DataFrame,
    baseline: str | None = None,
    title: str = "ganbench results",
    brief: bool = False,
) -> Table:
    shown = display_frame(table, baseline)
    return as_rich(compact(shown) if brief else shown, title)


def fitted_table(
    table: pd.DataFrame, baseline: str | None, console: Console, title: str = "ganbench results"
) -> Table:
    """The compact table, or, when even that is wider than the console, the same cells turned
    on their side: one row per column, one column per group."""
    shown = compact(display_frame(table, baseline))
    out = as_rich(shown, title)
    if (
        Console(width=10**6).measure(out).minimum <= console.width
    ):  # measured unclamped by the width
        return out
    turned = shown.set_index("group").T.reset_index(names="column")
    side = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    side.add_column("column", overflow="fold")
    for group in turned.columns[1:]:
        side.add_column(Text(group), justify="right", overflow="fold")
    for row in turned.itertuples(index=False):
        side.add_row(*(Text(str(cell)) for cell in row))
    return side


def render(
    table: pd.DataFrame,
    fmt: str,
    protocols: Mapping[str, Any] | None = None,
    baseline: str | None = None,
) -> str | Table:
    """The table as text: table (a rich Table with every column), md, csv, json or latex."""
    note = footnote(table, protocols or {}, baseline)
    if fmt == "table":
        return rich_table(table, baseline)
    if fmt == "md":
        cells = display_frame(table, baseline).map(
            lambda cell: cell.replace("|", "\\|")
        )  # a | would end the cell
        return cells.to_markdown(index=False, disable_numparse=True) + (
            f"\n\n{note}" if note else ""
        )
    if fmt == "latex":
        latex = display_frame(table, baseline).to_latex(index=False, escape=True)
        return latex + (f"% {note}".replace("\n", "\n% ") if note else "")
    if fmt == "csv":
        return table.to_csv(index=False)
    return table.to_json(orient="records", indent=2, double_precision=15)
