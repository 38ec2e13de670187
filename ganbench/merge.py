"""`ganbench merge`: fold other results databases into one store. Where workers cannot reach
the shared database (SQLite on a cluster's shared disk), each writes a database of its own and
a merge gathers them. Each run is recorded once however often it is merged: by its origin, the
identity of the database it was trained in and its id there, which a merged run keeps when it
is merged on again."""
import shutil
from collections import Counter

from .errors import GanbenchError
from .store import Store


def as_url(source):
    """A URL as given, or a file path as its sqlite:/// URL."""
    return source if "://" in source else f"sqlite:///{source}"


def merge(sources, into):
    """Fold each source into `into`; {'copied' | 'updated' | 'unchanged': runs}."""
    target, done = Store(into), Counter()
    for source in sources:
        done.update(merge_one(_source(source, target), target))
    return done


def _source(url, target):
    source = Store(as_url(url), create=False, write=False)
    if source.identity is None:
        raise GanbenchError(f"{url} has no database identity (it is older than identities): open it once with "
                            f"`ganbench runs list --db {as_url(url)}` in a folder you can write, then merge again")
    if source.identity == target.identity:
        raise GanbenchError(f"{url} is the database merged into; give --into another database")
    return source


def merge_one(source, target):
    done, origins, protocols = Counter(), source.origins(), source.protocols()
    for row in source.runs():
        run_id = row.pop("id")
        records = source.records(run_id)
        used = {m["protocol"] for m in records.get("metrics", []) if m["protocol"]}
        here, what = target.adopt(origins.get(run_id, (source.identity, run_id)), row, records,
                                  {k: protocols[k] for k in used})
        if what != "unchanged":
            _copy_files(source.run_dir(run_id), target.run_dir(here))
        done[what] += 1
    return done


def _copy_files(folder, to):
    """The run's samples and checkpoints, for the report's pages and `ganbench sample`."""
    if folder.is_dir():
        shutil.copytree(folder, to, dirs_exist_ok=True)
