"""Tables with statistics, written through the store's own API with realistic runs: several
arms, several seeds, FID curves. Numbers must equal pandas' and scipy's."""

import io
import json

import numpy as np
import pandas as pd
import pytest
from conftest import ARMS, SEEDS, TINY, query
from scipy import stats

from ganbench import GanbenchError, load_metrics, load_runs
from ganbench.results.report import display_frame, group_table, load_frames, render


@pytest.fixture
def store(study_store):
    return study_store


def _minima(store, arm):
    runs, metrics = load_runs(store), load_metrics(store, names=["fid"])
    ids = runs.loc[runs["label"] == arm, "id"]
    return metrics[metrics["run_id"].isin(ids)].groupby("run_id")["value"].min().to_numpy()


def test_table_numbers_equal_pandas_and_scipy(store):
    table = group_table(*load_frames(store)).set_index("group")
    base = _minima(store, "baseline")
    for arm in ARMS:
        minima = _minima(store, arm)
        row = table.loc[arm]
        assert row["runs"] == SEEDS and row["min_fid_n"] == SEEDS
        assert row["min_fid"] == pytest.approx(minima.mean())
        assert row["min_fid_std"] == pytest.approx(pd.Series(minima).std())
        assert row["min_fid_ci95"] == pytest.approx(
            stats.t.interval(0.95, SEEDS - 1, scale=stats.sem(minima))[1]
        )
        assert row["min_fid_vs_base"] == pytest.approx(minima.mean() - base.mean())
        assert row["min_fid_p"] == pytest.approx(
            stats.ttest_ind(minima, base, equal_var=False).pvalue
        )
        assert row["eval_share"] == pytest.approx(10 / (row["train_s"] + 10))
    assert table.loc["better", "min_fid_p"] < 0.05 < table.loc["close", "min_fid_p"]


def test_the_best_arm_is_marked_and_a_lucky_difference_is_not_a_finding(store):
    shown = display_frame(group_table(*load_frames(store))).set_index("group")
    assert shown.loc["better", "min_fid"].endswith("*") and "±" in shown.loc["better", "min_fid"]
    assert (
        "(n.s.)" in shown.loc["close", "min_fid"] and "(n.s.)" not in shown.loc["better", "min_fid"]
    )
    assert "*" not in shown.loc["baseline", "min_fid"]
    assert shown.loc["baseline", "max_is"].endswith(
        "*"
    )  # IS rises with the level here: baseline best


def test_every_format_parses_back(store):
    table = group_table(*load_frames(store))
    from_csv = pd.read_csv(io.StringIO(render(table, "csv")))
    from_json = pd.DataFrame(json.loads(render(table, "json")))
    for parsed in (from_csv, from_json):
        assert list(parsed.columns) == list(table.columns)
        np.testing.assert_allclose(parsed["min_fid"], table["min_fid"])
        np.testing.assert_allclose(
            parsed["min_fid_p"].astype(float), table["min_fid_p"].astype(float)
        )
    markdown = render(table, "md", store.protocols())
    assert markdown.splitlines()[0].startswith("| group") and "Welch's t-test" in markdown
    latex = render(table, "latex")
    assert (
        "\\begin{tabular}" in latex and "\\pm" not in latex and "±" in latex and "better" in latex
    )


def test_another_baseline(store):
    table = group_table(*load_frames(store), baseline="better").set_index("group")
    assert (
        table.loc["better", "min_fid_vs_base"] == 0 and table.loc["baseline", "min_fid_vs_base"] > 0
    )
    with pytest.raises(GanbenchError, match="no group labelled 'worst'"):
        group_table(*load_frames(store), baseline="worst")


def test_python_api_filters(store):
    assert len(load_runs(store)) == len(ARMS) * SEEDS
    assert set(load_metrics(store, names=["fid"])["name"]) == {"fid"}
    some = load_metrics(store, run_ids=[1, 2])
    assert set(some["run_id"]) == {1, 2} and len(some) == 2 * (5 + 5 + 100)
    with pytest.raises(GanbenchError, match="no runs of study 'other'"):
        load_runs(store, study="other")


def test_report_cli_with_baseline_and_latex(store, invoke):
    result = invoke("report", "--format", "latex", "--baseline", "close", db_url=store.url)
    assert result.exit_code == 0 and "\\begin{tabular}" in result.output
    assert "not different from the baseline (close)" in result.output


def test_a_bad_baseline_stops_before_any_figure_or_page_is_written(store, invoke, tmp_path):
    result = invoke(
        "report",
        "--baseline",
        "nope",
        "--plots",
        str(tmp_path / "p"),
        "--html",
        str(tmp_path / "h"),
        db_url=store.url,
    )
    assert result.exit_code == 2 and "groups are baseline, better, close" in result.output
    assert not (tmp_path / "p").exists() and not (tmp_path / "h").exists()


def test_figures_have_a_line_per_arm_and_bands_for_seeds(store, tmp_path):
    from ganbench.results.plots import figures

    runs, metrics = load_frames(store)
    made = figures(runs, metrics)
    assert set(made) == {"fid", "is", "losses"}
    ax = made["fid"].axes[0]
    assert [line.get_label() for line in ax.get_lines()] == list(ARMS)
    assert len(ax.collections) == len(ARMS)  # one ±std band per arm: 4 seeds each
    fid = load_metrics(store, names=["fid"]).merge(
        runs[["id", "label"]], left_on="run_id", right_on="id"
    )
    expected = fid[fid["label"] == "better"].groupby("step")["value"].mean().to_numpy()
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), expected)
    d_ax, g_ax = made["losses"].axes
    colours = [[line.get_color() for line in a.get_lines()] for a in (ax, d_ax, g_ax)]
    assert colours[0] == colours[1] == colours[2] and len(set(colours[0])) == len(
        ARMS
    )  # an arm keeps its colour
    assert (
        len(d_ax.get_lines()) == len(ARMS) and len(d_ax.get_lines()[0].get_xdata()) == 50
    )  # per 100 steps


def test_report_writes_the_figures(store, invoke, tmp_path):
    result = invoke(
        "report", "--plots", str(tmp_path / "plots"), "--format", "csv", db_url=store.url
    )
    assert result.exit_code == 0
    written = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert written == ["fid.png", "is.png", "losses.png"]
    assert all((tmp_path / "plots" / n).read_bytes()[:4] == b"\x89PNG" for n in written)


def test_a_wide_terminal_table_breaks_column_names_after_underscores_instead_of_cutting_them():
    from ganbench.results.report import _header

    assert _header("max_mnist_coverage_vs_base", ["+0.1"]) == "max_\nmnist_\ncoverage_\nvs_base"
    assert _header("d_params", ["259,457"]) == "d_params"
    assert _header("min_fid_vs_base", ["-100.123456"]) == "min_fid_vs_\nbase"


def test_the_terminal_table_shows_every_column_name_whole(store):
    # at 200 columns the names cut to fit before; broken after underscores they fit whole
    from rich.console import Console

    table = group_table(*load_frames(store))
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(render(table, "table"))
    text = console.export_text()
    assert "…" not in text
    for column in display_frame(table).columns:
        assert all(piece in text for piece in column.replace("_", "_\n").split("\n"))


def test_a_selection_of_groups_in_the_order_given_the_first_the_baseline(store, invoke):
    result = invoke(
        "report", "--group", "close", "--group", "better", "--format", "csv", db_url=store.url
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.output))
    assert list(table["group"]) == ["close", "better"] and table.loc[0, "min_fid_vs_base"] == 0
    full = group_table(*load_frames(store)).set_index("group")
    assert table.loc[1, "min_fid_vs_base"] == pytest.approx(
        full.loc["better", "min_fid"] - full.loc["close", "min_fid"]
    )
    result = invoke("report", "--group", "nope", db_url=store.url)
    assert (
        result.exit_code == 2
        and "no group labelled 'nope' for --group; groups are baseline, better, close"
        in result.output
    )


def test_report_compares_several_studies_side_by_side(invoke, db):
    assert invoke("run", *TINY, "--steps", "2").exit_code == 0
    assert invoke("run", *TINY, "g_lr=0.001", "--steps", "2").exit_code == 0
    query(db, "update runs set study = 's' || id")
    both = json.loads(invoke("report", "--format", "json", "--study", "s1", "--study", "s2").output)
    assert [row["run_ids"] for row in both] == ["1", "2"]
    one = json.loads(invoke("report", "--format", "json", "--study", "s2").output)
    assert [row["run_ids"] for row in one] == ["2"]
    missing = invoke("report", "--study", "s1", "--study", "s3")
    assert missing.exit_code == 2 and "no runs of study 's3'" in missing.output
