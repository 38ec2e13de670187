"""A package installed beside ganbench adds a loss through the `ganbench` entry-point group,
found exactly as the built-ins are, and a run then uses it."""
import json
import sys
import textwrap

import pytest

from conftest import TINY, query
from ganbench import plugins
from ganbench.errors import GanbenchWarning

PACKAGE = '''
    import torch.nn.functional as F
    from ganbench import hookimpl

    CALLS = {"d": 0, "g": 0}


    class Hinge:
        def d_loss(self, real, fake):
            CALLS["d"] += 1
            return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

        def g_loss(self, fake):
            CALLS["g"] += 1
            return -fake.mean()


    @hookimpl
    def register_losses(register):
        register("acme_hinge", lambda cfg: Hinge(), help="hinge loss from a third party")
'''


@pytest.fixture
def acme_installed(tmp_path, monkeypatch):
    """Install 'acme-ganloss 0.3.1' as a distribution on sys.path; remove it afterwards."""
    site = tmp_path / "site"
    (site / "acme_ganloss").mkdir(parents=True)
    (site / "acme_ganloss" / "__init__.py").write_text(textwrap.dedent(PACKAGE))
    info = site / "acme_ganloss-0.3.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-ganloss\nVersion: 0.3.1\n")
    (info / "entry_points.txt").write_text("[ganbench]\nacme = acme_ganloss\n")
    monkeypatch.syspath_prepend(str(site))
    plugins.rescan()
    yield sys.modules["acme_ganloss"]
    plugins.unregister(plugins.pm.get_plugin("acme"))
    del sys.modules["acme_ganloss"]


def test_an_installed_package_adds_a_loss_that_run_uses(acme_installed, invoke, db):
    listed = {c["name"]: c for c in json.loads(invoke("plugins", "--json").output)}
    assert listed["acme_hinge"]["kind"] == "loss"
    assert (listed["acme_hinge"]["package"], listed["acme_hinge"]["version"]) == ("acme-ganloss", "0.3.1")

    result = invoke("run", "plugins=dcgan,acme_hinge", *TINY, "--steps", "4")
    assert result.exit_code == 0, result.output
    assert acme_installed.CALLS == {"d": 4, "g": 4}
    (config, env), = query(db, "select config, environment from runs")
    assert json.loads(config)["components"]["loss"] == "acme_hinge"
    assert json.loads(env)["plugins"]["loss:acme_hinge"] == {
        "plugin": "acme", "package": "acme-ganloss", "version": "0.3.1"}


def test_uninstalling_it_takes_the_choice_away(invoke):
    result = invoke("run", "plugins=acme_hinge")
    assert result.exit_code == 2 and "unknown plugin 'acme_hinge'" in result.output


def test_two_plugins_registering_one_name_stop_only_the_runs_that_use_it(register_plugin, invoke, db):
    from ganbench import hookimpl

    class Clash:
        @hookimpl
        def register_losses(self, register):
            register("bce", lambda cfg: None)
    register_plugin(Clash(), name="clash")
    result = invoke("run", "plugins=dcgan,bce", "res=16", "metrics=", "--steps", "1")
    assert result.exit_code == 2 and ("loss 'bce' is registered by package ganbench (plugin 'bce') and package "
                                      "(registered at runtime) (plugin 'clash')") in result.output
    assert invoke("run", "plugins=dcgan,hinge", "res=16", "batch=4", "filters=0.0625", "metrics=",
                  "--steps", "1").exit_code == 0  # a run that does not use the name goes on
    assert invoke("plugins").exit_code == 0


def test_a_plugin_that_fails_to_import_is_named_and_skipped(tmp_path, monkeypatch, invoke):
    (tmp_path / "acme_broken.py").write_text("raise ImportError('no module named torchy')\n")
    info = tmp_path / "acme_broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ganbench]\nacme_broken = acme_broken\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.warns(GanbenchWarning, match="plugin 'acme_broken' \\(package acme-broken: ImportError: no module "
                                                 "named torchy\\) failed to import and is skipped"):
            plugins.rescan()
        assert invoke("plugins").exit_code == 0  # the others still work
        result = invoke("run", "plugins=acme_gen", "--steps", "1")
        assert result.exit_code == 2 and "plugin 'acme_broken' failed to import (package acme-broken" in result.output
    finally:
        plugins.BROKEN.pop("acme_broken", None)
