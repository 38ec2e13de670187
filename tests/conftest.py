import sqlite3

import pytest
from click.testing import CliRunner

from ganbench import plugins
from ganbench.cli import cli

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
    def call(*args, db_url=db):
        result = CliRunner().invoke(cli, list(args), env={"GANBENCH_DB": db_url})
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


def query(db_url, sql, *args):
    path = db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as c:
        return c.execute(sql, args).fetchall()
