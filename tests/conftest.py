import importlib.util
import os
import pwd
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import uuid
from contextlib import closing, contextmanager
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ganbench import hookimpl, plugins
from ganbench.cli import cli
from ganbench.store.memory import MemoryStore
from ganbench.store.sql import Store
from ganbench_plugins.alternating import Alternating

# 16 px, 4 images a batch, 1/16 of DCGAN's channels: a step takes milliseconds on a CPU.
# No metrics unless a test asks: registry.toml's default (fid, is) needs Inception weights.
TINY_MODEL = ["res=16", "batch=4", "filters=0.0625", "metrics="]
SMALL = ["res=16", "batch=4", "filters=0.0625", "log_every=2", "ckpt_every=2"]
TINY = SMALL + ["metrics="]


@pytest.fixture(autouse=True)
def offline(tmp_path_factory, monkeypatch):
    """Nothing a test runs may download: no Inception weights from the torch hub cache either."""
    monkeypatch.setenv("GANBENCH_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch_home")))
    monkeypatch.delenv("GANBENCH_INCEPTION_WEIGHTS", raising=False)
    # `--runs-dir` sets it for the process (workers inherit it): undone after each test
    monkeypatch.delenv("GANBENCH_RUNS_DIR", raising=False)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """Run in a temporary folder so nothing touches the real results/."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GANBENCH_DB", raising=False)
    return tmp_path


@pytest.fixture
def db(workdir):
    return f"sqlite:///{workdir / 'results' / 'test.db'}"


@pytest.fixture
def invoke(db):
    """Call the CLI in-process against the temporary database."""

    def call(*args, db_url=db, input=None):
        result = CliRunner().invoke(cli, list(args), env={"GANBENCH_DB": db_url}, input=input)
        return result

    return call


@pytest.fixture
def register_plugin():
    """Register throwaway plugin objects for one test and always unregister them."""
    added = []

    def add(plugin, name=None):
        plugins.register(plugin, name=name)
        added.append(plugin)
        return plugin

    yield add
    for plugin in added:
        plugins.unregister(plugin)


@pytest.fixture
def observe(register_plugin):
    """A throwaway observer for the runs that name the tracker 'observer' (`trackers=observer`):
    `observe(obj)` makes `obj` the observer every such run is given from then on."""
    chosen: list[object] = [object()]  # before any: an observer without event hooks

    class Tracker:
        @hookimpl
        def register_trackers(self, register):
            register("observer", lambda run: chosen[0])

    register_plugin(Tracker(), name="observer")

    def use(observer):
        chosen[0] = observer
        return observer

    return use


class MeanPixels:
    """A throwaway feature space for test metrics: each image's mean pixel value."""

    key = name = "mean-pixel"
    resize = "none"

    def prepare(self, device):
        pass

    def weights_sha256(self):
        return "none"

    def extract(self, images):
        return {"mean": images.float().mean(dim=(1, 2, 3)).cpu()}


def interrupting(scheme):
    """A subclass of a scheme class that raises KeyboardInterrupt once, on step call `at`."""

    class Interrupting(scheme):
        at, calls = None, 0

        def step(self, parts, batch):
            cls = type(self)
            cls.calls += 1
            if cls.calls == cls.at:
                cls.at = None
                raise KeyboardInterrupt
            return super().step(parts, batch)

        @classmethod
        def arm(cls, at):
            cls.calls, cls.at = 0, at

    return Interrupting


def run_dir(db_url, run_id):
    """Where a run of the database keeps its checkpoint and samples."""
    return Store(db_url, create=False, write=False).run_dir(int(run_id))


class SignalAt(Alternating):
    """Sends this process `times` signals on step call `at`, as Ctrl-C or a scheduler would."""

    at, calls, signum, times = None, 0, signal.SIGINT, 1

    def step(self, parts, batch):
        SignalAt.calls += 1
        if SignalAt.calls == SignalAt.at:
            for _ in range(SignalAt.times):
                os.kill(os.getpid(), SignalAt.signum)
        return super().step(parts, batch)

    @staticmethod
    @hookimpl
    def register_schemes(register):
        register("signal_at", lambda cfg: SignalAt())


def sign(at, signum=signal.SIGINT, times=1):
    SignalAt.at, SignalAt.calls, SignalAt.signum, SignalAt.times = at, 0, signum, times


def query(db_url, sql, *args):
    path = db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as c:
        return c.execute(sql, args).fetchall()


def random_inception(path, he_init=False):
    """A randomly initialised InceptionV3 of torch-fidelity's, saved at `path` for
    --inception-weights. `he_init`: He-initialised convolutions keep the activations' scale
    through its 94 layers, so features differ between images (PyTorch's default init shrinks
    them to nothing, which makes every FID about 1e-13)."""
    from unittest import mock

    import torch
    from torch_fidelity import feature_extractor_inceptionv3 as fe

    torch.manual_seed(0)
    with (
        mock.patch.object(fe, "load_state_dict_from_url", lambda *a, **k: None),
        mock.patch.object(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None),
    ):
        net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    for module in net.modules() if he_init else ():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    torch.save(net.state_dict(), path)
    return path


def wait_for(predicate, timeout=120, every=0.1):
    """True once predicate() is, False if it is not within `timeout` seconds; asked every
    `every` seconds (a moment a kill must hit may last milliseconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def query_when_made(db_url, sql):
    """The query's rows, or None while another process is still making the database or its
    tables (the first run's migrations)."""
    try:
        return query(db_url, sql) if os.path.exists(db_url.removeprefix("sqlite:///")) else None
    except sqlite3.OperationalError:
        return None


# arm -> the FID around which its seeds end up; "close" is near the baseline on purpose
ARMS = {"baseline": 60.0, "better": 40.0, "close": 59.0}
SEEDS = 4


@pytest.fixture
def study_store(tmp_path):
    """A study written through the store's own API: three arms, four seeds each, FID and IS
    curves and losses; no sample images."""
    store = Store(f"sqlite:///{tmp_path / 'study.db'}")
    store.add_protocols({"p1": {"extractor": "test"}})
    rng = np.random.default_rng(0)
    for index, (arm, level) in enumerate(ARMS.items()):
        for seed in range(SEEDS):  # config hashes sort against the arms' order, as real hashes may
            run = store.create_run(
                label=arm,
                study="s",
                plugins="dcgan",
                config={},
                config_hash=f"h{9 - index}",
                seed=seed,
                target_steps=5000,
                steps_done=5000,
                status="completed",
                train_s=100.0 + seed,
                eval_s=10.0,
                g_params=1000,
                d_params=500,
                score_directions={"fid": "min", "is": "max"},
            )
            curve = level + 200 * np.exp(-np.arange(1, 6) / 1.5) + rng.normal(0, 2, 5)
            rows = [(1000 * (i + 1), "fid", float(v), "p1") for i, v in enumerate(curve)]
            rows += [
                (1000 * (i + 1), "is", float(3 + level / 100 + rng.normal(0, 0.1)), "p1")
                for i in range(5)
            ]
            rows += [
                (step, name, float(rng.normal(1, 0.1)), None)
                for step in range(100, 5001, 100)
                for name in ("d_loss", "g_loss")
            ]
            store.add_metrics(run, rows)
    return store


# A throwaway PostgreSQL server for the store's backend tests (tests/test_store_backends.py).

PG_TOOLS = ("initdb", "pg_ctl", "postgres")


def _postgres_missing(why):
    """Skip where PostgreSQL is not installed, but fail where CI says it must be tested."""
    if os.environ.get("GANBENCH_REQUIRE_POSTGRES"):
        pytest.fail(f"{why}; CI installs Debian's (apt-get install postgresql)")
    pytest.skip(f"{why} (apt-get install postgresql)")


def _version(folder):
    return [int(part) for part in folder.parent.name.split(".") if part.isdigit()]


def _postgres_bin():
    """The folder of initdb, pg_ctl and postgres: PATH's, else Debian's newest
    /usr/lib/postgresql/<version>/bin (Debian keeps the server's tools off PATH)."""
    on_path = shutil.which("initdb")
    folders = [Path(on_path).resolve().parent] if on_path else []
    folders += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version, reverse=True)
    for folder in folders:
        if all((folder / tool).exists() for tool in PG_TOOLS):
            return folder
    _postgres_missing(
        "no PostgreSQL server (initdb, pg_ctl, postgres) on PATH or in /usr/lib/postgresql"
    )


def _server_user():
    """The account the server runs as: postgres refuses root, so root lends it to Debian's
    unprivileged `postgres` user; None to run it as ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        _postgres_missing("running as root and there is no `postgres` user to run the server as")


def _free_port():
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """A server whose data, log and socket all live in one temporary folder, reachable only on
    127.0.0.1 at a free port, with trust authentication for its one user."""

    user = "ganbench"

    def __init__(self, tools, folder, account):
        self.tools, self.folder, self.port = tools, folder, _free_port()
        self.prefix = ["runuser", "-u", account.pw_name, "--"] if account else []
        self.data, self.log = folder / "data", folder / "server.log"

    def _run(self, tool, *args):
        done = subprocess.run(
            [*self.prefix, str(self.tools / tool), *map(str, args)],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr}{log[-2000:]}")

    def start(self):
        self._run(
            "initdb",
            "-D",
            self.data,
            "-U",
            self.user,
            "--auth=trust",
            "--locale=C",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self.serve()

    def serve(self):
        """Start the server on its data folder (again, after a stop)."""
        # -k: the unix socket goes in our folder, not /var/run; -F: no fsync, the data is thrown away;
        # a zone other than UTC, so a time the store reads back in the session's zone shows
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -F -c TimeZone=Asia/Kolkata"
        self._run(
            "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "-t", "60", "start"
        )

    def stop(self, mode="fast"):
        """mode "immediate": as a crash or a power cut, without a word to its clients."""
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def url(self, database, scheme="postgresql+psycopg2"):
        return f"{scheme}://{self.user}@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql):
        """Run one statement outside a transaction (CREATE DATABASE cannot run in one)."""
        import psycopg2

        with closing(
            psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres")
        ) as c:
            c.autocommit = True
            c.cursor().execute(sql)

    def create_database(self):
        name = f"test_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name):
        """FORCE: the store's engines, cached for the process, still hold connections to it."""
        self._admin(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL server for the whole test session, stopped and deleted at its end."""
    with throwaway_postgres() as server:
        yield server


@contextmanager
def throwaway_postgres():
    """A PostgreSQL server, stopped and deleted at the end (a test that stops it has its own)."""
    tools, account = _postgres_bin(), _server_user()
    for driver in ("psycopg", "psycopg2"):  # plain postgresql:// and postgresql+psycopg2://
        if importlib.util.find_spec(driver) is None:
            _postgres_missing(f"no {driver} (pip install -e '.[test]')")
    folder = Path(tempfile.mkdtemp(prefix="ganbench-pg-"))
    if account:
        os.chown(folder, account.pw_uid, account.pw_gid)
    server = PostgresServer(tools, folder, account)
    try:
        server.start()
        yield server
        server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _empty_database(request, workdir):
    """The URL of an empty results database of the kind request.param names; on PostgreSQL a
    database of the test's own, so no test sees another's runs."""
    if request.param == "sqlite":
        yield f"sqlite:///{workdir / 'results' / 'test.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    name = server.create_database()
    yield server.url(name)
    server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, workdir):
    """A SQLAlchemy URL of an empty results database on each SQL backend."""
    yield from _empty_database(request, workdir)


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def reopen(request, workdir):
    """Opens the test's empty store on each backend, reopen(create=True, write=True): a SQL
    database is opened anew on each call, as another process would; a memory store is the one
    store, its run folders in the test's results/."""
    if request.param == "memory":
        store = MemoryStore(workdir / "results")
        yield lambda create=True, write=True: store
        return
    for url in _empty_database(request, workdir):
        yield lambda create=True, write=True: Store(url, create, write)
