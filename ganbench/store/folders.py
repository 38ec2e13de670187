"""Where a store's runs keep their checkpoints and samples.

Every store has a results folder (beside a SQLite file, else ./results; a memory store's own)
for its caches, and a runs folder: GANBENCH_RUNS_DIR (`--runs-dir`, shared disk on a cluster,
so a run resumes on any host) if set, else runs/ in the results folder. In it each database
has a folder of its own, <name>-<identity>/<run id>, so that databases side by side never
share one; runs recorded before databases had an identity keep runs/<run id>."""

import os
from datetime import UTC, datetime
from pathlib import Path

from ganbench.errors import GanbenchError


def results_dir(database_file: Path | None) -> Path:
    """Where run folders and caches go: beside a SQLite file, else ./results."""
    return database_file.parent if database_file else Path("results")


def runs_root(results: Path) -> Path:
    """The one decision where run folders go: GANBENCH_RUNS_DIR if set, else runs/ in the
    results folder. Read on each call: `--runs-dir` sets it after a store may be open."""
    chosen = os.environ.get("GANBENCH_RUNS_DIR")
    return Path(chosen) if chosen else results / "runs"


class RunFolders:
    """The run folders of one database: `name` and `identity` name its folder in the runs
    folder; runs up to `legacy_upto`, and all runs of a database without an identity, keep
    the folder they had before identities, runs/<run id>."""

    def __init__(
        self, results: Path, name: str, identity: str | None, legacy_upto: int = 0
    ) -> None:
        self.results, self.name = results, name
        self.identity, self.legacy_upto = identity, legacy_upto

    @property
    def root(self) -> Path:
        return runs_root(self.results)

    def run_dir(self, run_id: int) -> Path:
        if self.identity is None or run_id <= self.legacy_upto:
            return self.root / str(run_id)
        return self.root / f"{self.name}-{self.identity[:8]}" / str(run_id)

    def set_aside(self, run_id: int) -> Path | None:
        """Make way for a new run: a folder already at its place (left by a run an older
        ganbench deleted and gave the id of again, or by a database restored from an older
        copy) moves to <id>.orphan-<time> beside it, kept for a person to look at, so the
        new run never shows another's files. Where it went, or None."""
        folder = self.run_dir(run_id)
        if not folder.exists() or (folder.is_dir() and not any(folder.iterdir())):
            return None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        try:
            return folder.rename(folder.with_name(f"{folder.name}.orphan-{stamp}"))
        except OSError as e:
            raise GanbenchError(
                f"run folder {folder} holds files of another run and cannot be moved aside "
                f"({e.strerror}); move or delete it, then start the run again"
            ) from None
