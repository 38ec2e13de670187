"""`report --html DIR`: one self-contained static page per study (runs outside any study get
one of their own): the comparison table, the statistics per score, every curve, the samples
by arm and step, and each run's record. Images are inline data URIs and the page loads
nothing else, so it opens from disk, from a mail attachment or from a cluster's file share."""

import base64
import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, Template, select_autoescape
from matplotlib.figure import Figure
from PIL import Image

from ganbench import __version__
from ganbench.config.defaults import load_registry_toml
from ganbench.engine.samples import RunSamples
from ganbench.errors import GanbenchError
from ganbench.results.frames import moments, with_groups
from ganbench.results.plots import arm_samples, figures
from ganbench.results.report import (
    TEXT_COLUMNS,
    check_groups,
    display_frame,
    footnote,
    group_table,
    score_names,
    shared_labels_note,
)
from ganbench.store.base import RunStore

RUN_COLUMNS = [
    "id",
    "group",
    "seed",
    "status",
    "steps_done",
    "target_steps",
    "device",
    "gpu",
    "stopped_at",
    "train_s",
    "eval_s",
    "started_at",
    "error",
    "stop_reason",
]
STATISTICS = [
    "score",
    "group",
    "mean",
    "std",
    "n",
    "ci95_low",
    "ci95_high",
    "best_step",
    "vs_base",
    "welch_p",
]
PAGE_TEXT_COLUMNS = ("score", "device", "gpu", "started_at", "error", "stop_reason")
NO_STUDY = "runs"  # the page of runs started without study=


@dataclass
class Page:
    name: str
    file: str
    study: str | None
    title: str = ""
    source: str = ""


def _png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def image_uri(image: Image.Image | str | Path) -> str:
    """A PIL image or a PNG file as a data URI."""
    if isinstance(image, (str, Path)):
        return _png_uri(Path(image).read_bytes())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return _png_uri(buffer.getvalue())


def figure_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return _png_uri(buffer.getvalue())


def pages_for(runs: pd.DataFrame) -> list[Page]:
    """One Page per study among the runs, in order of first run, titled from registry.toml."""
    studies = load_registry_toml().get("studies", {})
    pages = []
    for study in runs.sort_values("id")["study"].drop_duplicates():
        study = None if pd.isna(study) else study
        name = study or NO_STUDY
        known = studies.get(study, {})
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
        pages.append(
            Page(
                name,
                f"{stem}-study.html" if stem == "index" else f"{stem}.html",
                study,
                known.get("title", "" if study else "runs started without study="),
                known.get("source", ""),
            )
        )
    return pages


def html_table(
    frame: pd.DataFrame, css_class: str, number: Callable[[Any], Any] | None = None
) -> str:
    """A frame as an HTML table: text columns left, numbers formatted by `number`, a value
    marked best (ending in *) in bold, long column names free to break after an underscore."""
    styler = frame.style.hide(axis="index").set_table_attributes(f'class="{css_class}"')
    styler = styler.format(number, na_rep="", escape="html")
    styler = styler.format_index(lambda name: escape(name).replace("_", "_<wbr>"), axis="columns")
    styler = styler.map(
        lambda v: "font-weight: bold" if isinstance(v, str) and v.endswith("*") else ""
    )
    text = [c for c in frame.columns if c in TEXT_COLUMNS + PAGE_TEXT_COLUMNS]
    return styler.set_properties(subset=text, **{"text-align": "left"}).to_html()


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def statistics_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Long form, one row per group and recorded score: mean, std, n, 95% CI, step of the
    best, difference from the baseline and Welch's p."""
    rows = []
    for score in score_names(table):
        for _, row in table[table[f"{score}_n"] > 0].iterrows():  # fid's column exists unrecorded
            half = row[f"{score}_ci95"]
            rows.append(
                [
                    score,
                    row["group"],
                    row[score],
                    row[f"{score}_std"],
                    row[f"{score}_n"],
                    row[score] - half,
                    row[score] + half,
                    row[f"{score}_step"],
                    row[f"{score}_vs_base"],
                    row[f"{score}_p"],
                ]
            )
    return pd.DataFrame(rows, columns=STATISTICS)


def _statistics_html(table: pd.DataFrame) -> str:
    frame = statistics_frame(table)
    return "" if frame.empty else html_table(frame, "statistics", _number)


def _arm_context(label: str, found: RunSamples) -> dict[str, Any]:
    best = found.best or {}
    return {
        "label": label,
        "progress": [(step, image_uri(tile)) for step, tile in found.progress],
        "last_grid": found.last_grid and (found.last_grid[0], image_uri(found.last_grid[1])),
        "grid_caption": found.grid_caption,
        "best_panels": [
            (name, image_uri(path), caption, _shape_class(path))
            for name, (path, caption) in found.best_panels.items()
        ],
        "best_note": f" (step {best['step']:,}, {best['score']} {best['value']:.4g})"
        if best
        else "",
    }


def _shape_class(path: str | Path) -> str:
    """A strip of ten shows wide (row10); a grid or a panel of translation rows as a grid (grid5)."""
    with Image.open(path) as image:
        return "row10" if image.width > 2 * image.height else "grid5"


def _run_context(run: pd.Series) -> dict[str, Any]:
    record = {
        k: run.get(k)
        for k in (
            "config",
            "plugin_versions",
            "environment",
            "git_sha",
            "torch_version",
            "cuda_version",
            "ganbench_version",
            "host",
            "config_hash",
        )
    }
    return {
        "id": run["id"],
        "group": run["group"],
        "seed": run["seed"],
        "record": json.dumps(record, indent=2, default=str, sort_keys=True),
    }


def _template(name: str) -> Template:
    return Environment(
        loader=PackageLoader("ganbench.results"), autoescape=select_autoescape()
    ).get_template(name)


def _written() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def page_html(
    page: Page,
    pages: list[Page],
    runs: pd.DataFrame,
    metrics: pd.DataFrame,
    store: RunStore,
    baseline: str | None = None,
    strip: Sequence[int] | None = None,
) -> str:
    """The whole page for one study's runs, as a string."""
    table = group_table(runs, metrics, baseline)
    shown_runs = runs.sort_values("id")[[c for c in RUN_COLUMNS if c in runs.columns]]
    shown_runs = shown_runs.assign(started_at=moments(shown_runs["started_at"]))
    return _template("study.html").render(
        page=page,
        pages=pages,
        version=__version__,
        database=store.url,
        table_rows=len(table),
        written=_written(),
        steps=" or ".join(f"{int(s):,}" for s in sorted(set(runs["target_steps"].dropna()))),
        totals=totals(runs),
        table=html_table(display_frame(table, baseline), "results"),
        footnote="\n".join(
            filter(None, [footnote(table, store.protocols(), baseline), shared_labels_note(runs)])
        ),
        statistics=_statistics_html(table),
        figures=[(name, figure_uri(figure)) for name, figure in figures(runs, metrics).items()],
        arms=[
            _arm_context(label, found) for label, found in arm_samples(runs, store.run_dir, strip)
        ],
        run_table=html_table(
            shown_runs, "runs", lambda v: f"{v:.1f}" if isinstance(v, float) else v
        ),
        runs=[_run_context(run) for _, run in runs.sort_values("id").iterrows()],
    )


def totals(runs: pd.DataFrame) -> str:
    """What the study cost in all: training and evaluation time and, where measured, GPU energy."""
    line = (
        f"in all: {runs['train_s'].sum():,.0f} s training, {runs['eval_s'].sum():,.0f} s evaluation"
    )
    energy, peak = (
        runs.get("energy_j", pd.Series(dtype=float)),
        runs.get("peak_mem_mb", pd.Series(dtype=float)),
    )
    if energy.notna().any():
        line += f", {energy.sum() / 1000:,.1f} kJ on the GPU ({energy.notna().sum()} of {len(runs)} runs measured)"
    if peak.notna().any():
        line += f"; peak GPU memory {peak.max():,.0f} MB"
    return line


def _runs_of(runs: pd.DataFrame, page: Page) -> pd.DataFrame:
    return runs[runs["study"].isna()] if page.study is None else runs[runs["study"] == page.study]


def index_html(pages: list[Page], runs: pd.DataFrame, store: RunStore) -> str:
    """A page listing the study pages, with their run and group counts."""
    selections = [_runs_of(runs, page) for page in pages]
    rows = [
        (page, len(mine), mine["config_hash"].nunique()) for page, mine in zip(pages, selections)
    ]
    return _template("index.html").render(
        pages=rows, version=__version__, database=store.url, written=_written()
    )


def write_pages(
    store: RunStore,
    runs: pd.DataFrame,
    metrics: pd.DataFrame,
    directory: str | Path,
    baseline: str | None = None,
    strip: Sequence[int] | None = None,
) -> list[Path]:
    """Write one page per study under `directory`, and index.html listing them; returns the
    study pages' paths. `baseline` applies to the pages whose study has a group of that
    label; `strip` chooses the progress strip's steps."""
    if runs.empty:
        raise GanbenchError(
            f"no runs in {store.url} to write a page of; start some with ganbench run"
        )
    runs = with_groups(runs)
    check_groups([baseline] if baseline is not None else [], runs["group"], "--baseline")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    pages, written = pages_for(runs), []
    for page in pages:
        mine = _runs_of(runs, page)
        base = baseline if baseline in set(mine["group"]) else None
        html = page_html(
            page, pages, mine, metrics[metrics["run_id"].isin(mine["id"])], store, base, strip
        )
        written.append(directory / page.file)
        written[-1].write_text(html, encoding="utf-8")
    (directory / "index.html").write_text(index_html(pages, runs, store), encoding="utf-8")
    return written
