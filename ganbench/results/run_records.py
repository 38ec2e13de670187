"""Looking after recorded runs: list them, show one whole, tag them, delete them with their
files. `ganbench runs` is a thin layer over these."""

import shutil
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ganbench.errors import GanbenchError
from ganbench.results.frames import load_runs, moments
from ganbench.store.base import RunStore

LISTED = ["id", "study", "group", "seed", "status", "steps", "host", "started", "tags", "error"]


def listing(
    store: RunStore, study: str | None = None, status: str | None = None, tag: str | None = None
) -> pd.DataFrame:
    """One row per run, newest last, with the columns a person scans: LISTED."""
    runs = load_runs(store)
    if runs.empty:
        return pd.DataFrame(columns=LISTED)
    tags = store.tags()
    runs["tags"] = [",".join(tags.get(i, [])) for i in runs["id"]]
    runs["steps"] = [f"{d}/{t}" for d, t in zip(runs["steps_done"], runs["target_steps"])]
    runs["started"] = moments(runs["started_at"])
    runs["error"] = runs["error"].fillna("").str.strip().str.split("\n").str[0]
    keep = pd.Series(True, index=runs.index)
    for column, value in (("study", study), ("status", status)):
        if value is not None:
            keep &= runs[column] == value
    if tag is not None:
        keep &= runs["id"].isin(tagged(store, tag))
    return runs[keep][LISTED].fillna("").reset_index(drop=True)


def record(store: RunStore, run_id: int) -> dict[str, Any]:
    """Everything the store holds of one run but its metrics: config, versions, environment,
    status as it stands, error, early stop, tags, files."""
    row = store.get_run(run_id)
    row["status"] = store.status_of(row)
    row["tags"] = store.tags().get(run_id, [])
    row["early_stop"] = store.early_stops().get(run_id)
    row["files"] = str(store.run_dir(run_id))
    return row


def tagged(store: RunStore, tag: str) -> set[int]:
    """The ids of the runs tagged `tag`."""
    return {run_id for run_id, tags in store.tags().items() if tag in tags}


def existing(store: RunStore, run_ids: Sequence[int]) -> list[int]:
    """The runs, refusing ids the store does not have, naming them."""
    known = store.statuses()
    missing = [i for i in run_ids if i not in known]
    if missing:
        raise GanbenchError(
            f"no run {', '.join(map(str, missing))} in {store.url}; `ganbench runs list` shows the runs"
        )
    return list(dict.fromkeys(run_ids))


def delete(store: RunStore, run_ids: Sequence[int]) -> list[int]:
    """Delete runs, their records and their folders. Runs still training are refused."""
    run_ids = existing(store, run_ids)
    now = store.statuses()
    busy = [i for i in run_ids if now[i] in ("running", "queued")]
    if busy:
        raise GanbenchError(
            f"run {', '.join(map(str, busy))} is still running; stop it first (Ctrl-C or kill), "
            f"then delete it"
        )
    # Folders before rows: a delete cut short leaves rows (deleting again finishes it), never
    # a folder without its run, which a new run given that id would take for its own
    for folder in [store.run_dir(i) for i in run_ids]:
        shutil.rmtree(folder, ignore_errors=True)
    store.delete_runs(run_ids)
    return run_ids


def tag(store: RunStore, run_ids: Sequence[int], name: str, remove: bool = False) -> list[int]:
    if not name.strip() or "," in name:
        raise GanbenchError(f"'{name}' cannot be a tag: give a non-empty name without commas")
    run_ids = existing(store, run_ids)
    store.tag(run_ids, name.strip(), remove)
    return run_ids
