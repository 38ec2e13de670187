"""`ganbench merge`: workers' own databases folded into one store, each run once."""

import filecmp
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import TINY, query, wait_for

from ganbench.cli import cli
from ganbench.store.folders import runs_root
from ganbench.store.merge import merge
from ganbench.store.sql import Store


def ganbench(*args):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def workers(workdir):
    """Two workers' databases, each with one real tiny run, on shared disk."""
    urls = [f"sqlite:///{workdir / 'shared' / f'worker{i}.db'}" for i in (1, 2)]
    for seed, url in enumerate(urls):
        result = ganbench(
            "run", *TINY, "sample_every=2", "--steps", "4", "--seed", str(seed), "--db", url
        )
        assert result.exit_code == 0, result.output
    assert ganbench("runs", "tag", "1", "first", "--db", urls[0]).exit_code == 0
    return urls


def recorded(url):
    """Each run's record, by what makes it that run (its seed), without the ids a database gives."""
    store = Store(url, create=False, write=False)
    return {
        row["seed"]: (
            {k: v for k, v in row.items() if k != "id"},
            [m[1:4] for m in store.metrics(row["id"])],
            store.records(row["id"]).get("tags"),
        )
        for row in store.runs()
    }


def test_merging_copies_every_run_with_its_records_and_files(workers, store_url):
    assert merge(workers, store_url) == {"copied": 2}
    merged = Store(store_url)
    assert recorded(store_url) == recorded(workers[0]) | recorded(workers[1])
    assert sorted(network[1] for network in merged.networks()) == ["d", "d", "g", "g"]
    for row in merged.runs():
        assert (merged.run_dir(row["id"]) / "last.pt").is_file()
        assert list((merged.run_dir(row["id"]) / "samples").glob("step-*.png"))


def test_merging_again_copies_nothing_and_a_changed_run_is_replaced(workers, store_url):
    merge(workers, store_url)
    before = recorded(store_url)
    assert merge(workers, store_url) == {"unchanged": 2}
    assert recorded(store_url) == before
    assert ganbench("runs", "tag", "1", "second", "--db", workers[1]).exit_code == 0
    assert merge(workers, store_url) == {"unchanged": 1, "updated": 1}
    assert len(Store(store_url).runs()) == 2
    assert recorded(store_url)[1][2] == [{"tag": "second"}]


def test_a_tag_given_in_the_merged_store_survives_an_update(workers, workdir):
    into = f"sqlite:///{workdir / 'all.db'}"
    merge(workers, into)
    seed_one = next(row["id"] for row in Store(into).runs() if row["seed"] == 1)
    assert ganbench("runs", "tag", str(seed_one), "mine", "--db", into).exit_code == 0
    assert merge(workers, into) == {"unchanged": 2}  # a tag of its own is no change at the source
    assert ganbench("runs", "tag", "1", "theirs", "--db", workers[1]).exit_code == 0
    assert merge(workers, into) == {"unchanged": 1, "updated": 1}
    assert Store(into).tags()[seed_one] == ["mine", "theirs"]


def test_a_source_that_reused_a_deleted_runs_id_gets_a_second_run(workers, workdir):
    into = f"sqlite:///{workdir / 'all.db'}"
    merge(workers[:1], into)
    assert ganbench("runs", "delete", "1", "--yes", "--db", workers[0]).exit_code == 0
    query(workers[0], "delete from sqlite_sequence")  # reuse ids as a database before 0003 did
    assert ganbench("run", *TINY, "--steps", "2", "--seed", "5", "--db", workers[0]).exit_code == 0
    assert Store(workers[0]).runs()[0]["id"] == 1  # SQLite gave the new run the old one's id
    assert merge(workers[:1], into) == {"copied": 1}
    assert sorted(row["seed"] for row in Store(into).runs()) == [0, 5]  # the first copy is kept


def test_runs_merged_back_into_their_own_database_are_not_copied_again(workers, workdir):
    elsewhere = f"sqlite:///{workdir / 'elsewhere.db'}"
    merge(workers[:1], elsewhere)
    assert merge([elsewhere], workers[0]) == {"unchanged": 1}
    assert len(Store(workers[0]).runs()) == 1


def test_a_merged_run_keeps_its_origin_when_merged_on(workers, workdir):
    """worker1 -> a, then a -> b and worker1 -> b: b holds worker1's run once."""
    a, b = (f"sqlite:///{workdir / name}.db" for name in ("a", "b"))
    merge(workers[:1], a)
    assert merge([a], b) == {"copied": 1}
    assert merge(workers[:1], b) == {"unchanged": 1}
    assert len(Store(b).runs()) == 1


def test_the_cli_merges_files_and_refuses_bad_sources_in_one_line(workers, workdir):
    into = f"sqlite:///{workdir / 'all.db'}"
    paths = [url.removeprefix("sqlite:///") for url in workers]
    result = ganbench("merge", *paths, "--into", str(workdir / "all.db"))  # plain paths, --into too
    assert result.exit_code == 0 and "2 run(s) copied" in result.output
    (workdir / "notes.db").write_text("not a database")
    for bad, says in (
        (str(workdir / "notes.db"), "not a SQLite database"),
        (into, "is the database merged into"),
        (str(workdir / "missing.db"), "no database at"),
    ):
        result = ganbench("merge", bad, "--into", into)
        assert result.exit_code != 0 and says in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1
    assert len(Store(into).runs()) == 2


def whole_copy(copy, of):
    """`copy` holds every file of `of`, byte for byte, and no other."""
    names = {path.relative_to(of) for path in of.rglob("*") if path.is_file()}
    held = {path.relative_to(copy) for path in copy.rglob("*") if path.is_file()}
    return held == names and all(filecmp.cmp(of / n, copy / n, shallow=False) for n in names)


def test_a_merged_copy_cut_short_or_changed_by_hand_is_repaired_by_the_next_merge(
    workers, store_url
):
    merge(workers, store_url)
    merged = Store(store_url)
    copy = next(merged.run_dir(row["id"]) for row in merged.runs() if row["seed"] == 0)
    last = copy / "last.pt"
    with last.open("r+b") as file:
        file.truncate(last.stat().st_size // 2)
    sample = next((copy / "samples").glob("step-*.png"))
    sample.write_bytes(bytes(sample.stat().st_size))  # the same size: only the checksum tells
    assert merge(workers, store_url) == {"unchanged": 1, "repaired": 1}
    assert whole_copy(copy, Store(workers[0]).run_dir(1))
    assert merge(workers, store_url) == {"unchanged": 2}


def _cut_short(root, size):
    """Whether a `last.pt` under `root` is being written: begun, not yet `size` bytes."""
    try:
        return any(0 < path.stat().st_size < size for path in root.rglob("last.pt"))
    except OSError:  # a folder renamed or removed while it was walked
        return False


def test_a_merge_killed_while_copying_leaves_no_cut_copy_and_the_next_repairs_it(workers, workdir):
    source, big = Store(workers[0]).run_dir(1), 128 * 2**20  # a copy that takes a while
    (source / "last.pt").write_bytes(np.random.default_rng(0).bytes(big))
    into = workdir / "all.db"
    command = [sys.executable, "-m", "ganbench", "merge", workers[0], "--into", str(into)]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        caught = wait_for(
            lambda: child.poll() is not None or _cut_short(runs_root(workdir), big), every=0.001
        )  # the copy to catch lasts about a tenth of a second
        assert caught and child.poll() is None, child.stderr.read() if child.poll() else "slow"
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL  # killed mid-copy, not done before the kill
    [row] = Store(f"sqlite:///{into}").runs()
    copy = Store(f"sqlite:///{into}").run_dir(row["id"])
    assert not copy.exists() or whole_copy(copy, source)  # never a copy cut short
    again = ganbench("merge", workers[0], "--into", str(into))
    assert again.exit_code == 0 and "0 already there, 1 repaired" in again.output, again.output
    assert whole_copy(copy, source)
    assert not [left.name for left in copy.parent.iterdir() if left.name.startswith(".")]
    assert merge(workers[:1], f"sqlite:///{into}") == {"unchanged": 1}
