import io
import json
import os

import pandas as pd
import pytest
from conftest import TINY, query, run_dir

from ganbench.results.report import COLUMNS


def test_run_records_everything_and_report_prints_every_format(invoke, db, workdir):
    base = invoke("run", *TINY, "--steps", "4", "--device", "cpu")
    tail = invoke("run", "plugins=dcgan,resnet_tail", *TINY, "--steps", "4", "--seed", "3")
    assert base.exit_code == 0, base.output
    assert tail.exit_code == 0, tail.output
    assert "run 2: completed" in tail.output

    (run,) = query(
        db,
        "select label, plugins, status, steps_done, target_steps, g_params, d_params,"
        " train_s, seed, device, config, environment from runs where id = 2",
    )
    label, plugins, status, done, target, g_params, d_params, train_s, seed, device, config, env = (
        run
    )
    assert (plugins, status, done, target, seed, device) == (
        "dcgan,resnet_tail",
        "completed",
        4,
        4,
        3,
        "cpu",
    )
    assert label == "dcgan+resnet_tail res=16 batch=4 filters=0.0625"
    assert g_params > 0 and d_params > 0 and train_s > 0
    config, env = json.loads(config), json.loads(env)
    assert config["components"]["modifier"] == ["resnet_tail"]
    assert config["options"]["res"] == 16 and config["options"]["z_dim"] == 100
    assert env["torch"] and env["plugins"]["modifier:resnet_tail"]["package"] == "ganbench"
    ((torch_version, ganbench_version, versions),) = query(
        db, "select torch_version, ganbench_version, plugin_versions from runs where id = 2"
    )
    import torch

    import ganbench

    assert (torch_version, ganbench_version) == (torch.__version__, ganbench.__version__)
    assert json.loads(versions)["generator:dcgan"]["version"] == ganbench.__version__
    losses = query(db, "select step, name from metrics where run_id = 2 order by step, name")
    assert losses == [(2, "d_loss"), (2, "g_loss"), (4, "d_loss"), (4, "g_loss")]
    assert (run_dir(db, 2) / "last.pt").exists()

    as_csv = pd.read_csv(io.StringIO(invoke("report", "--format", "csv").output))
    as_json = pd.DataFrame(json.loads(invoke("report", "--format", "json").output))
    for table in (as_csv, as_json):
        assert [c for c in table.columns if c in COLUMNS] == COLUMNS
        assert list(table["plugins"].fillna("")) == ["", "dcgan,resnet_tail"]
        assert list(table["runs"]) == [1, 1]
        assert table.loc[1, "g_params"] == g_params and table.loc[1, "d_params"] == d_params
        assert table.loc[1, "steps_per_s"] == pytest.approx(4 / train_s, rel=1e-6)
        assert table["min_fid"].isna().all()
    markdown = invoke("report", "--format", "md").output
    assert markdown.splitlines()[0].startswith("| group")
    assert f"{g_params:,}" in markdown and "| dcgan+resnet_tail res=16" in markdown
    table = invoke("report").output
    assert "dcgan+resnet_tail res=16 batch=4 filters=0.0625" in table and f"{g_params:,}" in table


def test_runs_that_differ_only_by_seed_form_one_group(invoke):
    for seed in ("1", "2"):
        assert invoke("run", *TINY, "--steps", "2", "--seed", seed, "--name", "base").exit_code == 0
    rows = json.loads(invoke("report", "--format", "json").output)
    assert [(r["group"], r["runs"], r["status"]) for r in rows] == [("base", 2, "completed")]


def test_plugins_lists_components_with_options_and_package(invoke):
    result = invoke("plugins", "--json")
    components = {(c["kind"], c["name"]): c for c in json.loads(result.output)}
    dcgan = components[("generator", "dcgan")]
    assert dcgan["package"] == "ganbench" and dcgan["version"]
    assert dcgan["options"]["g_kernel"] == {
        "type": "int",
        "default": 5,
        "help": dcgan["options"]["g_kernel"]["help"],
        "choices": None,
    }
    for kind, name in [
        ("discriminator", "dcgan"),
        ("modifier", "resnet_tail"),
        ("loss", "bce"),
        ("optimizer", "adam"),
        ("optimizer", "rmsprop"),
        ("optimizer", "sgd"),
        ("dataset", "mnist5k"),
        ("dataset", "folder"),
        ("scheme", "alternating"),
    ]:
        assert (kind, name) in components
    assert "resnet_tail" in invoke("plugins").output


def test_bad_input_exits_2_with_one_line_and_no_traceback(invoke, db):
    for args, words in [
        (["plugins=dcgna"], "did you mean 'dcgan'"),
        (["batch=0"], "batch=0: must be between 1 and 65,536"),
        (["g_lr=abc"], "g_lr=abc: expected a finite number"),
        (["res=33"], "res=33: must be a power of two"),
        (["plugins=adam,sgd"], "two optimizers, 'adam' and 'sgd'"),
    ]:
        result = invoke("run", *args)
        assert result.exit_code == 2, (args, result.output)
        assert result.output.strip().splitlines() == [f"Error: {result.output.strip()[7:]}"]
        assert words in result.output and "Traceback" not in result.output
    assert not os.path.exists(db.removeprefix("sqlite:///"))  # nothing ran, no database was made


def test_debug_shows_the_traceback(invoke):
    from click.testing import CliRunner

    from ganbench.cli import cli

    result = CliRunner().invoke(cli, ["--debug", "run", "plugins=dcgna"])
    assert result.exit_code != 0
    assert type(result.exception).__name__ == "GanbenchError"


def test_resume_refuses_overrides_and_unknown_runs(invoke):
    assert "keeps the run's recorded config" in invoke("run", "--resume", "1", "res=16").output
    result = invoke("run", "--resume", "7")
    assert result.exit_code == 2 and "no database at" in result.output  # and none was made
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    result = invoke("run", "--resume", "7")
    assert result.exit_code == 2 and "no run 7" in result.output


def _no_gpu():
    import torch

    return pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")


@pytest.mark.parametrize(
    "args, words",
    [
        (["plugins=folder", "data_dir=/nonexistent"], "data_dir=/nonexistent: no such directory"),
        pytest.param(["--device", "cuda"], "no CUDA GPU", marks=_no_gpu()),
        (["trackers=nosuch"], "unknown tracker 'nosuch'"),
        (["--steps", "-5"], "--steps=-5: must be between 1"),
    ],
)
def test_a_refused_run_creates_no_database(invoke, db, workdir, args, words):
    result = invoke("run", *TINY, *args)
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [f"Error: {result.output.strip()[7:]}"]
    assert words in result.output
    assert not os.path.exists(db.removeprefix("sqlite:///")) and not (workdir / "results").exists()


def _cells(output, key, column=0):
    """The cells of the table row that has `key` in `column`."""
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) > column and cells[column] == key:
            return cells
    raise AssertionError(f"no row {key!r} in\n{output}")


def test_cfg_prints_the_resolved_config_marks_what_was_given_and_runs_nothing(invoke, db, workdir):
    result = invoke("run", "plugins=dcgan,resnet_tail", "g_lr=0.0005", "metrics=", "--cfg")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "dcgan+resnet_tail g_lr=0.0005 (group hash" in out
    assert _cells(out, "modifier") == ["modifier", "resnet_tail", "given", ""]
    assert _cells(out, "loss") == ["loss", "bce", "", ""]  # registry.toml's default
    assert _cells(out, "metric") == ["metric", "(none)", "given", ""]
    assert _cells(out, "g_lr") == ["g_lr", "0.0005", "given", "the core"]
    assert _cells(out, "res") == ["res", "64", "", "the core"]
    assert _cells(out, "trackers") == ["trackers", "''", "", "the core"]
    assert _cells(out, "tail_widths")[3] == "modifier 'resnet_tail'"
    assert _cells(out, "g_kernel")[1:] == ["5", "", "generator 'dcgan'"]
    assert not os.path.exists(db.removeprefix("sqlite:///")) and not (workdir / "results").exists()


def test_cfg_shows_each_arm_of_a_sweep_and_refuses_what_a_run_would(invoke):
    result = invoke("run", "res=choice(16,32)", "--steps", "7", "--cfg")
    assert result.exit_code == 0, result.output
    titles = [line.strip() for line in result.output.splitlines() if "(group hash" in line]
    assert [title.split(" (")[0] for title in titles] == ["res=16", "res=32"]
    assert _cells(result.output, "steps") == ["steps", "7", "given", "the core"]
    refused = invoke("run", "res=33", "--cfg")
    assert refused.exit_code == 2 and "res=33: must be a power of two" in refused.output
    assert "--cfg" in invoke("run", "--resume", "1", "--cfg").output


def test_plugins_lists_the_core_options_and_every_help_where_the_error_points(invoke):
    from ganbench.config.spec import CORE_OPTIONS

    error = invoke("run", "glr=1").output
    assert "`ganbench plugins` lists every option" in error
    listed = json.loads(invoke("plugins", "--json").output)
    (core,) = [c for c in listed if c["kind"] == "core"]
    assert core["options"].keys() == CORE_OPTIONS.keys()
    assert core["options"]["g_lr"] == {
        "type": "float",
        "default": 2e-4,
        "help": "generator learning rate",
        "choices": None,
    }
    table = invoke("plugins").output
    for key in ("g_lr", "res", "batch", "eval_every", "stop_on", "precision", "trackers"):
        assert CORE_OPTIONS[key].help.split()[0] in _cells(table, key, 2)[4]
    assert _cells(table, "g_lr", 2)[3:5] == ["float = 0.0002", "generator learning rate"]
    assert _cells(table, "precision", 2)[3] == "fp32|bf16 = fp32"
    assert "DCGAN generator, the fair's baseline" in table  # a component's own help
