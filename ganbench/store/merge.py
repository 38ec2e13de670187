"""`ganbench merge`: fold other results databases into one store. Where workers cannot reach
the shared database (SQLite on a cluster's shared disk), each writes a database of its own and
a merge gathers them. Each run is recorded once however often it is merged: by its origin, the
identity of the database it was trained in and its id there, which a merged run keeps when it
is merged on again."""

import shutil
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import ganbench.store.sqlite as sqlite
from ganbench.errors import GanbenchError
from ganbench.store.base import RunStore
from ganbench.store.sql import Store


def as_url(source: str) -> str:
    """A URL as given, or a file path as its sqlite:/// URL."""
    return source if "://" in source else f"sqlite:///{source}"


def merge(sources: Sequence[str], into: str) -> Counter[str]:
    """Fold each source into `into`; {'copied' | 'updated' | 'unchanged': runs}."""
    target, done = Store(as_url(into)), Counter[str]()
    for source in sources:
        done.update(merge_one(_source(source, target), target))
    return done


def _source(given: str, target: RunStore) -> Store:
    """The source, opened to write where it can be (an older one is upgraded and given an
    identity, as any command that writes would), else to read."""
    url = as_url(given)
    source = Store(url, create=False, write=_writable(sqlite.file_of(url)))
    if source.identity is None:
        raise GanbenchError(
            f"{given} has no database identity (it is older than identities) and cannot be written "
            f"here; copy it to a folder you can write and merge the copy"
        )
    if source.identity == target.identity:
        raise GanbenchError(f"{given} is the database merged into; give --into another database")
    return source


def _writable(path: Path | None) -> bool:
    """A server's database (no path), or a file that can be written."""
    return path is None or not path.exists() or sqlite.writable(path)


def merge_one(source: RunStore, target: RunStore) -> Counter[str]:
    """Fold one store's runs into another; {'copied' | 'updated' | 'unchanged': runs}."""
    done, origins, protocols = Counter[str](), source.origins(), source.protocols()
    assert source.identity is not None  # _source refuses a database without one
    for row in source.runs():
        run_id = row.pop("id")
        origin = origins.get(run_id, (source.identity, run_id))
        if origin[0] == target.identity:  # a run of the target's own, merged out and back
            done["unchanged"] += 1
            continue
        records = source.records(run_id)
        used = {m["protocol"] for m in records.get("metrics", []) if m["protocol"]}
        here, what = target.adopt(origin, row, records, {k: protocols[k] for k in used})
        done[what] += 1
        folder = target.run_dir(here)
        if (what != "unchanged" or not folder.is_dir()) and not _copy_files(
            source.run_dir(run_id), folder
        ):
            done["without files"] += 1
    return done


def _copy_files(folder: Path, to: Path) -> bool:
    """The run's samples and checkpoints, for the report's pages and `ganbench sample`, in
    place of an older copy's; False where the source has no folder for it."""
    if not folder.is_dir():
        return False
    shutil.rmtree(to, ignore_errors=True)
    shutil.copytree(folder, to)
    return True
