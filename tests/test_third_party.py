"""A package installed beside ganbench adds a loss through the `ganbench` entry-point group,
found exactly as the built-ins are, and a run then uses it."""

import json
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from conftest import TINY, query

from ganbench import plugins
from ganbench.errors import GanbenchWarning

DOCS = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def docs_block(heading):
    """The indented block that follows a line of docs/plugins.md: the example as documented."""
    lines = DOCS.read_text().splitlines()
    start = lines.index(heading) + 2
    end = next(i for i in range(start, len(lines)) if lines[i] and not lines[i].startswith("    "))
    return textwrap.dedent("\n".join(lines[start:end]))


@pytest.fixture
def acme_installed(tmp_path, monkeypatch):
    """Install docs/plugins.md's example package, as documented, on sys.path; remove it afterwards."""
    site = tmp_path / "site"
    (site / "acme_ganloss").mkdir(parents=True)
    (site / "acme_ganloss" / "__init__.py").write_text(docs_block("`acme_ganloss/__init__.py`:"))
    project = tomllib.loads(docs_block("`pyproject.toml`:"))["project"]
    info = site / f"acme_ganloss-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    points = "".join(f"{k} = {v}\n" for k, v in project["entry-points"]["ganbench"].items())
    (info / "entry_points.txt").write_text(f"[ganbench]\n{points}")
    monkeypatch.syspath_prepend(str(site))
    plugins.rescan()
    yield sys.modules["acme_ganloss"]
    plugins.unregister(plugins.pm.get_plugin("acme"))
    del sys.modules["acme_ganloss"]


def test_an_installed_package_adds_a_loss_that_run_uses(acme_installed, invoke, db):
    listed = {c["name"]: c for c in json.loads(invoke("plugins", "--json").output)}
    assert listed["acme_hinge"]["kind"] == "loss"
    assert (listed["acme_hinge"]["package"], listed["acme_hinge"]["version"]) == (
        "acme-ganloss",
        "0.1.0",
    )
    assert listed["acme_hinge"]["options"]["hinge_margin"]["default"] == 1.0

    calls = []
    d_loss = acme_installed.Hinge.d_loss
    acme_installed.Hinge.d_loss = lambda self, real, fake: (
        calls.append(self.margin) or d_loss(self, real, fake)
    )
    result = invoke("run", "plugins=dcgan,acme_hinge", "hinge_margin=0.5", *TINY, "--steps", "4")
    assert result.exit_code == 0, result.output
    assert calls == [0.5] * 4  # the documented loss, with the option given, in every D step
    ((config, env),) = query(db, "select config, environment from runs")
    assert json.loads(config)["components"]["loss"] == "acme_hinge"
    assert json.loads(env)["plugins"]["loss:acme_hinge"] == {
        "plugin": "acme",
        "package": "acme-ganloss",
        "version": "0.1.0",
    }


def test_uninstalling_it_takes_the_choice_away(invoke):
    result = invoke("run", "plugins=acme_hinge")
    assert result.exit_code == 2 and "unknown plugin 'acme_hinge'" in result.output


def test_two_plugins_registering_one_name_stop_only_the_runs_that_use_it(
    register_plugin, invoke, db
):
    from ganbench import hookimpl

    class Clash:
        @hookimpl
        def register_losses(self, register):
            register("bce", lambda cfg: None)

    register_plugin(Clash(), name="clash")
    result = invoke("run", "plugins=dcgan,bce", "res=16", "metrics=", "--steps", "1")
    assert (
        result.exit_code == 2
        and (
            "loss 'bce' is registered by package ganbench (plugin 'bce') and package "
            "(registered at runtime) (plugin 'clash')"
        )
        in result.output
    )
    assert (
        invoke(
            "run",
            "plugins=dcgan,hinge",
            "res=16",
            "batch=4",
            "filters=0.0625",
            "metrics=",
            "--steps",
            "1",
        ).exit_code
        == 0
    )  # a run that does not use the name goes on
    assert invoke("plugins").exit_code == 0


def test_a_plugin_that_fails_to_import_is_named_and_skipped(tmp_path, monkeypatch, invoke):
    (tmp_path / "acme_broken.py").write_text("raise ImportError('no module named torchy')\n")
    info = tmp_path / "acme_broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ganbench]\nacme_broken = acme_broken\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.warns(
            GanbenchWarning,
            match="plugin 'acme_broken' \\(package acme-broken: ImportError: no module "
            "named torchy\\) failed to import and is skipped",
        ):
            plugins.rescan()
        assert invoke("plugins").exit_code == 0  # the others still work
        result = invoke("run", "plugins=acme_gen", "--steps", "1")
        assert (
            result.exit_code == 2
            and "plugin 'acme_broken' failed to import (package acme-broken" in result.output
        )
    finally:
        plugins.BROKEN.pop("acme_broken", None)
