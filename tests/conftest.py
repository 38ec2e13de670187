import sqlite3

import pytest
from click.testing import CliRunner

from ganbench import plugins
from ganbench.cli import cli

# 16 px, 4 images a batch, 1/16 of DCGAN's channels: a step takes milliseconds on a CPU.
TINY_MODEL = ["res=16", "batch=4", "filters=0.0625"]
TINY = TINY_MODEL + ["log_every=2", "ckpt_every=2"]


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
