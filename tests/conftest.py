import os
import signal
import sqlite3

import numpy as np

import pytest
from click.testing import CliRunner

from ganbench import hookimpl, plugins
from ganbench.cli import cli
from ganbench.store import Store
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
            run = store.create_run(label=arm, study="s", plugins="dcgan", config={}, config_hash=f"h{9 - index}",
                                   seed=seed,
                                   target_steps=5000, steps_done=5000, status="completed",
                                   train_s=100.0 + seed, eval_s=10.0, g_params=1000, d_params=500,
                                   score_directions={"fid": "min", "is": "max"})
            curve = level + 200 * np.exp(-np.arange(1, 6) / 1.5) + rng.normal(0, 2, 5)
            rows = [(1000 * (i + 1), "fid", float(v), "p1") for i, v in enumerate(curve)]
            rows += [(1000 * (i + 1), "is", float(3 + level / 100 + rng.normal(0, 0.1)), "p1") for i in range(5)]
            rows += [(step, name, float(rng.normal(1, 0.1)), None) for step in range(100, 5001, 100)
                     for name in ("d_loss", "g_loss")]
            store.add_metrics(run, rows)
    return store
