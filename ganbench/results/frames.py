"""The results as pandas DataFrames, for tables, plots and people who want their own."""

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from ganbench.config.spec import group_hash
from ganbench.errors import GanbenchError
from ganbench.store.base import NetworkRow, RunStore
from ganbench.store.sql import DEFAULT_DB, Store

METRIC_COLUMNS = ["run_id", "step", "name", "value", "protocol"]


def _store(db: str | RunStore | None) -> RunStore:
    return (
        db
        if isinstance(db, RunStore)
        else Store(db or os.environ.get("GANBENCH_DB", DEFAULT_DB), create=False, write=False)
    )


def load_runs(
    db: str | RunStore | None = None, study: str | Iterable[str] | None = None
) -> pd.DataFrame:
    """One row per run: the store's columns (id, label, study, config, status, g_params,
    d_params, train_s, eval_s, ...), and where and why the stop rule ended it (stopped_at,
    stop_reason). `db` is a SQLAlchemy URL or a Store (default: $GANBENCH_DB
    or sqlite:///results/ganbench.db); `study` keeps one study's runs, or a list several's."""
    store = _store(db)
    rows = store.runs()
    runs = with_early_stops(
        with_network_params(_frame(rows), store.networks()), store.early_stops()
    )
    runs = with_costs(runs, store.costs())
    if not runs.empty:  # a run marked running that is not alive is lost
        # judged from the rows as stored: the frame turns a column of ids with a NULL into floats
        runs["status"] = runs["id"].map(store.statuses(rows))
        runs["config_hash"] = [
            _regrouped(c, h) for c, h in zip(runs["config"], runs["config_hash"])
        ]
        runs = with_groups(runs)  # before any filter: a group keeps its name in every report
    if study is None:
        return runs
    studies = [study] if isinstance(study, str) else list(study)
    for name in studies:
        if runs.empty or not (runs["study"] == name).any():
            raise GanbenchError(
                f"no runs of study '{name}' in {store.url}; run it with ganbench run study={name}"
            )
    return runs[runs["study"].isin(studies)].reset_index(drop=True)


WHOLE_NUMBERS = ("pid", "g_params", "d_params")  # the integer columns that may be NULL


def _frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The rows as a frame whose nullable integer columns stay integers (NA where NULL), not
    floats: a row another process has not finished writing, or abandoned, has NULLs."""
    runs = pd.DataFrame(rows)
    for column in [c for c in WHOLE_NUMBERS if c in runs]:
        runs[column] = pd.array([row.get(column) for row in rows], dtype="Int64")
    return runs


def moments(times: pd.Series) -> list[str]:
    """Times to the second as text, '' where none is recorded (None or NaT, not 'NaT')."""
    return ["" if pd.isna(t) else str(t)[:19] for t in times]


def with_groups(runs: pd.DataFrame) -> pd.DataFrame:
    """A `group` column: each run's group name, its label unless an earlier group has that
    label. Groups are taken in the order of their first run, so the first keeps the label,
    the next get `#2`, `#3`, ..., and a run added later never renames a group seen before."""
    if runs.empty or "group" in runs:
        return runs
    labels = runs.sort_values("id").groupby("config_hash", sort=False)["label"].last()
    return runs.assign(group=runs["config_hash"].map(_numbered(labels)))


def _numbered(labels: pd.Series) -> dict[str, str]:
    """{config hash: a name no other group has} from {config hash: label}, in order."""
    names: dict[str, str] = {}
    for key, label in labels.items():
        name, n = label, 1
        while name in names.values():
            n += 1
            name = f"{label} #{n}"
        names[key] = name
    return names


def load_metrics(
    db: str | RunStore | None = None,
    run_ids: Iterable[int] | None = None,
    names: Iterable[str] | None = None,
) -> pd.DataFrame:
    """One row per recorded value: run_id, step, name, value, protocol (None for losses).
    `run_ids` and `names` filter; e.g. load_metrics(names=["fid"]) for every FID curve."""
    metrics = pd.DataFrame(_store(db).metrics(), columns=METRIC_COLUMNS)
    if run_ids is not None:
        metrics = metrics[metrics["run_id"].isin(list(run_ids))]
    if names is not None:
        metrics = metrics[metrics["name"].isin(list(names))]
    return metrics.reset_index(drop=True)


def _regrouped(config: Mapping[str, Any], recorded: str) -> str:
    """The group a run belongs to today (an older config is upgraded first: metric options
    no longer split groups), or the hash it recorded when its config cannot be read."""
    try:
        return group_hash(config)
    except (GanbenchError, KeyError, TypeError):
        return recorded


def with_network_params(runs: pd.DataFrame, networks: Sequence[NetworkRow]) -> pd.DataFrame:
    """One `<name>_params` column per network the runs' schemes named (g_params, d_params for
    the noise-to-image family; runs recorded before networks had a table keep those columns)."""
    if runs.empty or not networks:
        return runs
    table = pd.DataFrame(networks, columns=["id", "name", "kind", "params"])
    wide = table.pivot(index="id", columns="name", values="params").add_suffix("_params")
    runs = runs.set_index("id")
    for column in wide.columns:
        recorded = wide[column].reindex(runs.index).astype("Int64")
        runs[column] = recorded.combine_first(runs[column]) if column in runs.columns else recorded
    return runs.reset_index()


def with_costs(
    runs: pd.DataFrame, costs: Mapping[int, tuple[float | None, float | None]]
) -> pd.DataFrame:
    """`peak_mem_mb` and `energy_j` per run, NaN where not measured (a CPU run)."""
    return _joined(runs, costs, {"peak_mem_mb": float, "energy_j": float})


def with_early_stops(runs: pd.DataFrame, stops: Mapping[int, tuple[int, str]]) -> pd.DataFrame:
    """`stopped_at` and `stop_reason` for the runs the stop rule ended (empty for the rest)."""
    return _joined(runs, stops, {"stopped_at": "Int64", "stop_reason": object})


def _joined(
    runs: pd.DataFrame, table: Mapping[int, tuple[Any, ...]], columns: Mapping[str, Any]
) -> pd.DataFrame:
    """Columns {name: dtype} from `table` ({run id: a tuple of values}), None where a run has no row."""
    if runs.empty:
        return runs
    found = [table.get(run_id, (None,) * len(columns)) for run_id in runs["id"]]
    for i, (name, dtype) in enumerate(columns.items()):
        runs[name] = pd.array([row[i] for row in found], dtype=dtype)
    return runs
