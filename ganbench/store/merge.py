"""`ganbench merge`: fold other results databases into one store. Where workers cannot reach
the shared database (SQLite on a cluster's shared disk), each writes a database of its own and
a merge gathers them. Each run is recorded once however often it is merged: by its origin, the
identity of the database it was trained in and its id there, which a merged run keeps when it
is merged on again.

A run's folder is copied whole or not at all: into a temporary folder beside its place, then
renamed into place. Its rows are adopted before its files are copied (the id they get names
the folder), so every merge checks the folders of the runs it merges against the source's
(each file's size and sha256) and copies again what differs; a run mended so is counted
'repaired'. A temporary folder a killed merge left behind is removed by the next merge."""

import hashlib
import os
import shutil
import socket
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import ganbench.store.sqlite as sqlite
from ganbench.errors import GanbenchError
from ganbench.store.base import RunStore, pid_alive
from ganbench.store.sql import Store

TEMPORARY = "~merging~"  # in the name of a copy not yet whole: .<name>~merging~<host>~<pid>


def as_url(source: str) -> str:
    """A URL as given, or a file path as its sqlite:/// URL."""
    return source if "://" in source else f"sqlite:///{source}"


def merge(sources: Sequence[str], into: str) -> Counter[str]:
    """Fold each source into `into`; {'copied' | 'updated' | 'unchanged' | 'repaired': runs,
    'without files': runs}."""
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
    """Fold one store's runs into another; {'copied' | 'updated' | 'unchanged': runs} by what
    became of their records, a run whose records were there but whose files were not whole
    counted 'repaired' in place of 'unchanged', and {'without files': runs} whose folder the
    source lacks."""
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
        done.update(_with_files(source.run_dir(run_id), target.run_dir(here), what))
    return done


def _with_files(folder: Path, to: Path, what: str) -> list[str]:
    """What `merge_one` counts for a run adopt() called `what`, once its samples and
    checkpoints (for the report's pages and `ganbench sample`) are whole at `to`."""
    if not folder.is_dir():
        return [what, "without files"] if what != "unchanged" or not to.is_dir() else [what]
    copied = _mirror(folder, to)
    return ["repaired" if copied and what == "unchanged" else what]


def _mirror(folder: Path, to: Path) -> bool:
    """Make `to` a whole copy of `folder`; whether anything had to be copied or removed."""
    _sweep(to)
    if to.is_dir():
        return _mend(folder, to)
    temporary = _temporary(to)
    shutil.copytree(folder, temporary)
    temporary.rename(to)  # atomic: a kill before it leaves no folder, never half of one
    return True


def _mend(folder: Path, to: Path) -> bool:
    """Copy again each file of `folder` that `to` lacks or holds otherwise, and remove what
    `folder` lacks (an older copy's files, a killed merge's temporary files)."""
    wanted, held = _files(folder), _files(to)
    differ = [name for name in wanted if name not in held or not _same(folder / name, to / name)]
    for name in differ:
        _copy_file(folder / name, to / name)
    for name in held - wanted:
        (to / name).unlink()
    return bool(differ or held - wanted)


def _files(folder: Path) -> set[Path]:
    return {path.relative_to(folder) for path in folder.rglob("*") if path.is_file()}


def _same(one: Path, other: Path) -> bool:
    """Same size, then same sha256: a copy cut short or damaged on disk differs."""
    return one.stat().st_size == other.stat().st_size and _sha256(one) == _sha256(other)


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _copy_file(path: Path, to: Path) -> None:
    """Replace `to` at once with a whole copy of `path`: a kill leaves the old file or the new."""
    to.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary(to)
    shutil.copy2(path, temporary)
    temporary.replace(to)


def _temporary(path: Path) -> Path:
    """Where a copy of `path` is made before it is whole: beside it, so on its filesystem
    (the rename is atomic), hidden, and naming the process making it."""
    return path.with_name(f".{path.name}{TEMPORARY}{socket.gethostname()}~{os.getpid()}")


def _sweep(to: Path) -> None:
    """Remove the temporary copies of `to` that merges killed on this host left behind; a
    live merge's are its own (another host's cannot be told from a dead one's: left)."""
    for left in to.parent.glob(f".{to.name}{TEMPORARY}{socket.gethostname()}~*"):
        pid = left.name.rsplit("~", 1)[1]
        if pid.isdigit() and (int(pid) == os.getpid() or not pid_alive(int(pid))):
            shutil.rmtree(left, ignore_errors=True)
