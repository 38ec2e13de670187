"""Where results are stored: the interface every store implements (base), the results
database through SQLAlchemy (sql: SQLite or PostgreSQL, with its schema versions), a store in
Python dicts (memory), run folders, heartbeats, and merging databases.

`Store` and `MemoryStore` are imported when first asked for: they load SQLAlchemy, which a
module that only needs a heartbeat or a status should not wait for."""

from typing import TYPE_CHECKING, Any

from ganbench.store.base import RunStatus, RunStore

if TYPE_CHECKING:
    from ganbench.store.memory import MemoryStore
    from ganbench.store.sql import Store

__all__ = ["MemoryStore", "RunStatus", "RunStore", "Store", "open_store"]

MEMORY = "memory://"


def open_store(url: str, create: bool = True, write: bool = True) -> RunStore:
    """The store a URL names: memory://... a new, empty store in Python dicts whose run folders
    go to a temporary folder; else the database through SQLAlchemy (`create`, `write`: see
    ganbench.store.sql.SqlStore)."""
    if url.startswith(MEMORY):
        from ganbench.store.memory import MemoryStore

        return MemoryStore(url=url)
    from ganbench.store.sql import Store

    return Store(url, create, write)


def __getattr__(name: str) -> Any:
    if name == "Store":
        from ganbench.store.sql import Store

        return Store
    if name == "MemoryStore":
        from ganbench.store.memory import MemoryStore

        return MemoryStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
