"""A real full disk and real read-only folders (issue 22, items 4 and 9): a small tmpfs is
mounted for each test and filled with a real file or remounted read-only; no error is faked.
Mounting needs root (or CAP_SYS_ADMIN): elsewhere the tests skip, unless
GANBENCH_REQUIRE_MOUNT=1 (CI sets it) makes that a failure."""

import hashlib
import os
import subprocess
import sys

import pytest
from conftest import TINY, TINY_MODEL, query, query_when_made, run_dir, wait_for

MIB = 1 << 20
DISK_MIB = 32  # the tmpfs's size; TINY's checkpoint is about 2 MiB


def _cannot_mount(why):
    if os.environ.get("GANBENCH_REQUIRE_MOUNT") == "1":
        pytest.fail(f"{why}; GANBENCH_REQUIRE_MOUNT=1 needs these tests run as root")
    pytest.skip(f"{why} (needs root; GANBENCH_REQUIRE_MOUNT=1 makes this a failure)")


def _as_root(*command):
    """As root: directly when the tests are root, else through passwordless sudo (as CI's
    apt-get is)."""
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    try:
        return subprocess.run([*sudo, *command], capture_output=True, text=True)
    except FileNotFoundError as e:  # no mount, or no sudo
        return subprocess.CompletedProcess(command, 127, "", str(e))


def _mount(*args):
    done = _as_root("mount", *args)
    if done.returncode:
        said = " ".join(done.stderr.split()) or f"exit {done.returncode}"
        _cannot_mount(f"mount {' '.join(args)}: {said}")


@pytest.fixture
def small_disk(tmp_path_factory):
    """`small_disk()`: a folder that is an empty tmpfs of DISK_MIB, unmounted after the test."""
    mounted = []

    def make():
        folder = tmp_path_factory.mktemp("disk")
        _mount("-t", "tmpfs", "-o", f"size={DISK_MIB}m", "tmpfs", str(folder))
        mounted.append(folder)
        return folder

    yield make
    for folder in mounted:
        # lazily where a file is still open (a child killed by the test): never left mounted
        _as_root("umount", str(folder))
        _as_root("umount", "-l", str(folder))


def _free(folder):
    return os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize


def _fill(folder, leave=0):
    """A real file taking all but `leave` bytes of the disk (all: until the disk refuses)."""
    block = bytes(MIB)
    with open(folder / "filler", "wb") as f:
        try:
            while (room := _free(folder) - leave) > 0:
                f.write(block[: min(room, MIB)])
                f.flush()
        except OSError:  # leave=0: written until ENOSPC
            pass
    return folder / "filler"


def _read_only(folder):
    _mount("-o", "remount,ro", str(folder))


def _error_line(output):
    """The one line a failed command prints: exactly one `Error` line and no traceback."""
    assert "Traceback" not in output, output
    (line,) = [line for line in output.splitlines() if line.startswith("Error")]
    return line


def _recorded(db):
    """Whether the run has recorded losses yet."""
    return (query_when_made(db, "select count(*) from metrics") or [(0,)])[0][0] > 0


def _files(disk):
    """{path: blocks used} of the disk's files but the database's."""
    return {
        p: p.stat().st_blocks
        for p in disk.rglob("*")
        if p.is_file() and not p.name.startswith("results.db")
    }


def _start(*args, db):
    command = [sys.executable, "-m", "ganbench", *args, "--device", "cpu", "--db", db]
    env = {**os.environ, "GANBENCH_DB": db}
    env.pop("GANBENCH_RUNS_DIR", None)
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def _ganbench(*args, db):
    """The command in a process of its own: its database is closed when it ends, so the
    disk holding it can be unmounted."""
    child = _start(*args, db=db)
    stdout, stderr = child.communicate(timeout=300)
    return subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# 4. A checkpoint, a sample grid or a database write that does not fit


def test_a_checkpoint_that_does_not_fit_fails_the_run_and_frees_the_disk(
    invoke, db, small_disk, monkeypatch
):
    runs = small_disk()
    monkeypatch.setenv("GANBENCH_RUNS_DIR", str(runs))
    _fill(runs, leave=MIB)  # the database and the data set's cache stay on the test's disk
    before = _free(runs)
    result = invoke("run", *TINY, "sample_every=0", "--steps", "2")
    assert result.exit_code == 2
    line = _error_line(result.output)
    assert "last.pt" in line and "the disk is full" in line and str(runs) in line
    ((status, error),) = query(db, "select status, error from runs")
    assert status == "failed" and "last.pt" in error.splitlines()[0]
    assert "the disk is full" in error.splitlines()[0]
    assert not list(runs.rglob("*.tmp")) and _free(runs) == before


def test_the_database_on_the_full_disk_records_the_failed_run(small_disk):
    """The issue's own case: runs/ beside the database, both on the disk that fills."""
    disk = small_disk()
    db = f"sqlite:///{disk / 'results.db'}"
    assert _ganbench("run", *TINY, "--steps", "2", db=db).returncode == 0
    first = _sha(run_dir(db, 1) / "last.pt")
    _fill(disk, leave=MIB)
    before = _files(disk)
    failed = _ganbench("run", *TINY, "sample_every=0", "--steps", "2", db=db)
    assert failed.returncode == 2, failed.stderr
    assert "last.pt" in _error_line(failed.stderr) and "disk is full" in failed.stderr
    ((status, error),) = query(db, "select status, error from runs where id = 2")
    assert status == "failed" and "the disk is full" in error.splitlines()[0]
    assert _files(disk) == before  # no partial checkpoint; only the database grew
    assert _sha(run_dir(db, 1) / "last.pt") == first


def test_a_database_whose_disk_fills_while_a_run_writes_says_so_in_one_line(small_disk):
    disk = small_disk()
    db = f"sqlite:///{disk / 'results.db'}"
    args = [*TINY_MODEL, "log_every=1", "ckpt_every=100000", "sample_every=0"]
    child = _start("run", *args, "--steps", "100000", db=db)
    try:
        assert wait_for(lambda: child.poll() is not None or _recorded(db)) and _recorded(db)
        filler = _fill(disk)  # the run's next losses find no room
        _, stderr = child.communicate(timeout=120)
    finally:
        child.kill()
    assert child.returncode == 2, stderr
    line = _error_line(stderr)
    assert "results.db" in line and "disk is full" in line
    filler.unlink()
    assert query(db, "pragma integrity_check") == [("ok",)]
    assert query(db, "select count(*) from metrics")[0][0] > 0  # what was recorded stays


def test_a_sample_grid_that_does_not_fit_leaves_no_partial_image(
    invoke, db, small_disk, monkeypatch
):
    runs = small_disk()
    monkeypatch.setenv("GANBENCH_RUNS_DIR", str(runs))
    _fill(runs)  # the step-2 grid is the run folder's first file
    result = invoke("run", *TINY, "sample_every=2", "--steps", "2")
    assert result.exit_code == 2
    line = _error_line(result.output)
    assert "step-0000002.png" in line and "the disk is full" in line
    assert query(db, "select status from runs") == [("failed",)]
    assert not [p for p in runs.rglob("*") if p.is_file() and p.name != "filler"]


# 9. Read-only folders and missing ones


def test_a_read_only_run_folder_is_one_line_and_keeps_the_checkpoint(
    invoke, db, small_disk, monkeypatch
):
    runs = small_disk()
    monkeypatch.setenv("GANBENCH_RUNS_DIR", str(runs))
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    checkpoint = run_dir(db, 1) / "last.pt"
    kept = _sha(checkpoint)
    _read_only(runs)
    result = invoke("run", "--resume", "1", "--steps", "4")
    assert result.exit_code == 2
    line = _error_line(result.output)
    assert str(checkpoint.parent) in line and "read-only" in line
    assert _sha(checkpoint) == kept and query(db, "select count(*) from metrics")[0][0] > 0


def test_sample_into_a_read_only_folder_is_one_line(invoke, small_disk):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    out = small_disk()
    _read_only(out)
    result = invoke("sample", "1", "--n", "4", "--out", str(out))
    assert result.exit_code == 2
    line = _error_line(result.output)
    assert str(out) in line and "read-only" in line and "--out" in line


def test_sample_onto_a_full_disk_leaves_no_partial_image(invoke, small_disk):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    out = small_disk()
    _fill(out)
    result = invoke("sample", "1", "--n", "4", "--out", str(out / "images"))
    assert result.exit_code == 2
    line = _error_line(result.output)
    assert str(out / "images") in line and "the disk is full" in line
    assert not [p for p in out.rglob("*") if p.is_file() and p.name != "filler"]


@pytest.mark.parametrize("where", ["missing", "read-only", "full"])
def test_export_where_it_cannot_write_is_one_line(invoke, workdir, small_disk, where):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    folder = workdir / "missing" if where == "missing" else small_disk()
    if where == "read-only":
        _read_only(folder)
    if where == "full":
        _fill(folder)
    out = folder / "G.pt2"
    result = invoke("export", "1", "--out", str(out))
    assert result.exit_code == 2
    line = _error_line(result.output)
    said = {"missing": "does not exist", "read-only": "read-only", "full": "the disk is full"}
    assert str(folder) in line and said[where] in line and "--out" in line
    assert not folder.exists() or not [p for p in folder.iterdir() if p.name != "filler"]


def test_run_folders_that_cannot_be_written_are_refused_before_the_run_is_recorded(
    invoke, db, small_disk, monkeypatch
):
    runs = small_disk()
    _read_only(runs)
    monkeypatch.setenv("GANBENCH_RUNS_DIR", str(runs))
    result = invoke("run", *TINY, "--steps", "2")
    assert result.exit_code == 2
    line = _error_line(result.output)
    assert str(runs) in line and "read-only" in line and "--runs-dir" in line
    assert query(db, "select count(*) from runs") == [(0,)]  # nothing recorded, nothing failed
