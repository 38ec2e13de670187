"""Part of what a new user and a plugin author found: misspelled hooks, a modifier named
twice, Welch's test on constant groups and its warnings, best steps that were evaluated,
re-runs of a seed, names on sweeps."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL, TINY, MeanPixels, query

from ganbench import GanbenchError, hookimpl
from ganbench.config.defaults import default_components
from ganbench.config.spec import resolve
from ganbench.errors import GanbenchWarning
from ganbench.plugins.manager import registry
from ganbench.results.report import _welch, group_table


class Misspelled:
    @staticmethod
    @hookimpl
    def register_loss(register):  # the hook is register_losses
        register("never_seen", lambda cfg: None)


def test_a_misspelled_hook_is_named_not_ignored(register_plugin):
    register_plugin(Misspelled, name="misspelled")
    with pytest.warns(
        GanbenchWarning,
        match="plugin 'misspelled'.*'register_loss', which is not a ganbench hook "
        r"\(did you mean 'register_losses'",
    ):
        registry()


def test_a_modifier_named_twice_is_refused():
    with pytest.raises(GanbenchError, match="names modifier 'resnet_tail' twice"):
        resolve(["plugins=dcgan,resnet_tail,resnet_tail"], registry(), default_components())


def test_welch_on_constant_groups_is_defined_and_quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no scipy precision warning may reach the user
        assert _welch(np.array([3.0, 3.0]), np.array([3.0, 3.0])) == 1.0  # identical: no difference
        assert np.isnan(_welch(np.array([3.0, 3.0]), np.array([4.0, 4.0])))  # no spread: untestable
        assert 0 <= _welch(np.array([1.0, 1.0 + 1e-12]), np.array([1.0, 1.0 + 2e-12])) <= 1


def test_the_best_step_is_one_the_runs_were_evaluated_at():
    runs = pd.DataFrame(
        {
            "id": [1, 2],
            "label": "a",
            "plugins": "",
            "config_hash": "h",
            "status": "completed",
            "steps_done": 3000,
            "train_s": 1.0,
            "eval_s": 0.0,
            "d_params": 1,
            "g_params": 1,
            "score_directions": [{"fid": "min"}] * 2,
        }
    )
    metrics = pd.DataFrame(
        {
            "run_id": [1, 1, 2, 2],
            "step": [1000, 2000, 1000, 2000],
            "name": "fid",
            "value": [5.0, 6.0, 6.0, 5.0],
            "protocol": "p",
        }
    )
    table = group_table(runs, metrics)
    assert (
        table.loc[0, "min_fid_step"] == 1000 and str(table["min_fid_step"].dtype) == "Int64"
    )  # not 1500.0


def test_a_re_run_of_a_seed_is_not_a_second_sample(invoke, db):
    for _ in range(2):
        assert (
            invoke(
                "run",
                *SMALL,
                "metrics=mnist_fd",
                "eval_real=20",
                "eval_fake=20",
                "--steps",
                "2",
                "--seed",
                "3",
            ).exit_code
            == 0
        )
    out = invoke("report", "--format", "json").output
    (row,) = json.loads(out)
    assert row["runs"] == 2 and row["min_mnist_fd_n"] == 1 and row["min_mnist_fd_std"] is None


def test_a_name_on_a_sweep_keeps_the_groups_apart(invoke, db):
    assert (
        invoke("run", *TINY, "g_lr=choice(1e-4,2e-4)", "--name", "x", "--steps", "2").exit_code == 0
    )
    assert query(db, "select label from runs order by id") == [("x g_lr=1e-4",), ("x g_lr=2e-4",)]


def test_damaged_inception_weights_are_named_with_the_expected_checksum(invoke, tmp_path):
    weights = tmp_path / "weights.pth"
    weights.write_bytes(b"not a checkpoint")
    result = invoke(
        "run",
        "res=16",
        "batch=4",
        "filters=0.0625",
        "metrics=fid",
        "--inception-weights",
        str(weights),
        "--steps",
        "2",
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    (line,) = result.output.strip().splitlines()
    assert str(weights) in line and "sha256 starting 6726825d" in line


def test_a_sweep_lists_its_arms_and_each_progress_line_says_arm_and_seed(invoke):
    result = invoke("run", *TINY, "g_lr=choice(1e-4,2e-4)", "--seeds", "2", "--steps", "2")
    lines = result.output.splitlines()
    assert lines[:3] == ["sweep: 2 arm(s) x 2 seed(s)", "  1. g_lr=1e-4", "  2. g_lr=2e-4"]
    assert any(line.startswith("run 4 g_lr=2e-4 seed 1  step 2/2") for line in lines)


def test_a_short_run_draws_a_loss_curve_not_one_dot(invoke, db):
    from ganbench.results.plots import loss_figure
    from ganbench.results.report import load_frames
    from ganbench.store.sql import Store

    assert invoke("run", *TINY, "--steps", "6").exit_code == 0
    figure = loss_figure(*load_frames(Store(db, create=False, write=False)))
    assert list(figure.axes[0].lines[0].get_xdata()) == [2, 4, 6]  # log_every=2, not one bin of 100


def test_the_report_lists_run_ids_where_errors_point(invoke):
    assert invoke("run", *TINY, "--steps", "2", "--seeds", "2").exit_code == 0
    (row,) = json.loads(invoke("report", "--format", "json").output)
    assert row["run_ids"] == "1,2"
    result = invoke("run", "--resume", "9")
    assert "`ganbench runs list` shows the runs" in result.output


def test_an_option_clash_names_both_owners_and_types(register_plugin):
    from ganbench import Option

    class Clashing:
        @staticmethod
        @hookimpl
        def register_losses(register):
            register(
                "text_res",
                lambda cfg: None,
                options={"res": Option(str, "64", "a resolution as text")},
            )

    register_plugin(Clashing, name="clashing")
    with pytest.raises(
        GanbenchError, match="option 'res' is str for loss 'text_res' but int for the core"
    ):
        resolve(["plugins=text_res"], registry(), default_components())


class Odd:
    """A metric plugin that raises, returns what it does not declare, leaves one out, or NaN."""

    mode = "raise"

    needs_real, report, space = False, {"odd": "max", "odd2": "min"}, MeanPixels()

    def score(self, real, fake):
        if Odd.mode == "raise":
            raise ValueError("cannot score this")
        return {
            "nan": {"odd": float("nan"), "odd2": 1.0},
            "undeclared": {"odd": 1.0, "odd2": 1.0, "other": 2.0},
            "missing": {"odd": 1.0},
        }[Odd.mode]

    @staticmethod
    @hookimpl
    def register_metrics(register):
        register("odd", lambda cfg: Odd())


@pytest.mark.parametrize(
    "mode, message",
    [
        ("raise", "metric 'odd' failed at step 2: ValueError: cannot score this"),
        (
            "undeclared",
            "metric 'odd' at step 2 returned ['odd', 'odd2', 'other'] but declares ['odd', 'odd2']",
        ),
        ("missing", "metric 'odd' at step 2 returned ['odd'] but declares ['odd', 'odd2']"),
    ],
)
def test_a_metric_that_misbehaves_is_named_with_the_step(
    invoke, db, register_plugin, mode, message
):
    register_plugin(Odd, name="odd")
    Odd.mode = mode
    result = invoke("run", *SMALL, "metrics=odd", "eval_every=2", "eval_fake=4", "--steps", "4")
    assert result.exit_code == 2 and message in result.output
    assert query(db, "select status from runs") == [("failed",)]


def test_a_nan_score_is_kept_and_said(invoke, db, register_plugin):
    register_plugin(Odd, name="odd")
    Odd.mode = "nan"
    with pytest.warns(GanbenchWarning, match="metric 'odd' scored odd = NaN at step 2"):
        assert (
            invoke(
                "run", *SMALL, "metrics=odd", "eval_every=2", "eval_fake=4", "--steps", "2"
            ).exit_code
            == 0
        )
    assert query(db, "select value from metrics where name = 'odd'") == [("NaN",)]


class Shapes:
    """Generators a dry run must check as the run does: a wrong image size, and lazy layers."""

    @staticmethod
    @hookimpl
    def register_generators(register):
        from torch import nn

        register(
            "too_small",
            lambda cfg: nn.Sequential(nn.Linear(cfg.z_dim, 4 * 4), nn.Unflatten(1, (1, 4, 4))),
        )
        register(
            "lazy",
            lambda cfg: nn.Sequential(
                nn.LazyLinear(cfg.res * cfg.res), nn.Tanh(), nn.Unflatten(1, (1, cfg.res, cfg.res))
            ),
        )


def test_the_dry_run_checks_shapes_as_the_run_does(invoke, register_plugin):
    register_plugin(Shapes, name="shapes")
    for args in (["--dry-run"], ["--steps", "1"]):
        result = invoke("run", "plugins=too_small", "res=16", "metrics=", *args)
        assert (
            result.exit_code == 2
            and "the generator makes images of shape (1, 4, 4)" in result.output
        )
    result = invoke("run", "plugins=lazy", "res=16", "--dry-run")
    assert (
        result.exit_code == 0 and f"{100 * 256 + 256:,}" in result.output
    )  # the lazy layer counted once built
    assert (
        invoke("run", "plugins=lazy", "res=16", "batch=4", "metrics=", "--steps", "2").exit_code
        == 0
    )


def test_the_page_says_how_many_steps_its_runs_have(invoke, workdir):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    assert invoke("report", "--html", "site", "--format", "csv").exit_code == 0
    assert (
        '<p class="meta" id="counts">1 runs of 2 steps in 1 groups'
        in (workdir / "site" / "runs.html").read_text()
    )


def test_a_cpu_run_records_no_cuda_version(invoke, db):
    assert invoke("run", *TINY, "--steps", "1", "--device", "cpu").exit_code == 0
    ((cuda, env),) = query(db, "select cuda_version, environment from runs")
    assert cuda is None and json.loads(env)["cuda"] is None


def test_the_docs_name_the_options_and_api_the_code_has():
    from pathlib import Path

    from ganbench.config.spec import declared_options

    root = Path(__file__).resolve().parents[1]
    cli_md, plugins_md = (  # the run options are listed in docs/cli.md, no longer the README
        (root / "docs" / "cli.md").read_text(),
        (root / "docs" / "plugins.md").read_text(),
    )
    config = resolve(["plugins=dcgan,resnet_tail"], registry(), default_components())
    declared = declared_options(config.components, registry())
    import re

    tail_options = re.findall(r"`(tail_\w+)`", cli_md)
    assert tail_options and all(name in declared for name in tail_options)
    assert "net.insert(before, name, module)" in plugins_md and "in_label=False" in plugins_md
    assert (
        "ResidualTail" not in plugins_md
        and "seeds.md" not in (root / "docs" / "catalog.md").read_text()
    )
    assert "results/cache/`." not in plugins_md


def test_the_terminal_table_fits_the_width_and_wide_shows_every_column(invoke, monkeypatch):
    for g_lr in ("1e-4", "2e-4"):
        assert (
            invoke(
                "run",
                *SMALL,
                "metrics=mnist_fd,mnist_modes",
                "eval_real=20",
                "eval_fake=20",
                "--steps",
                "2",
                f"g_lr={g_lr}",
                "--name",
                f"a long group label for g_lr={g_lr}",
            ).exit_code
            == 0
        )
    monkeypatch.setenv("COLUMNS", "100")
    brief = invoke("report").output
    assert all(
        len(line) <= 100 for line in brief.splitlines()[:-2]
    )  # the two footnote lines wrap as text
    assert "vs_base" not in brief and "@2" in brief and "…" not in brief  # compact, nothing cut off
    assert "min_mnist_fd" in brief and "a long group label for g_lr=2e-4" in brief.replace("\n", "")
    wide = invoke("report", "--wide").output
    assert "vs_" in wide and "plugins" in wide


def test_metrics_and_their_options_do_not_split_a_group(invoke, db):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0  # metrics= (none)
    assert (
        invoke(
            "run",
            *SMALL,
            "metrics=mnist_fd",
            "eval_real=20",
            "eval_fake=20",
            "--steps",
            "2",
            "--seed",
            "1",
        ).exit_code
        == 0
    )
    (first,), (second,) = query(db, "select config_hash from runs order by id")
    assert first == second
    (row,) = json.loads(invoke("report", "--format", "json").output)
    assert row["runs"] == 2


def test_runs_recorded_before_training_keys_join_their_group(invoke, db):
    from ganbench.store.sql import Store

    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    ((config,),) = query(db, "select config from runs")
    old = json.loads(config)
    old.pop("training_keys")
    old.pop("version")  # configs carry a version since; one from before training_keys had none
    old["options"]["is_splits"] = 10  # the default metrics' option, which old hashes included
    Store(db).create_run(
        label="old",
        plugins="",
        config=old,
        config_hash="an-old-hash",
        seed=5,
        target_steps=2,
        steps_done=2,
        status="completed",
    )
    (row,) = json.loads(invoke("report", "--format", "json").output)
    assert row["runs"] == 2
