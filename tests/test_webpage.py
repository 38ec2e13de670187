"""`report --html`: one self-contained page per study, checked from the HTML and, in a real
headless Chromium, from the rendered page: the table's values, every image decoded, no
request leaving the page, and a screenshot kept."""

import base64
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import ARMS, SEEDS, run_dir

from ganbench.results.report import display_frame, group_table, load_frames
from ganbench.results.webpage import statistics_frame, write_pages
from ganbench.store.sql import Store

RUN = [
    "res=16",
    "batch=4",
    "filters=0.0625",
    "metrics=mnist_fd",
    "eval_real=40",
    "eval_fake=40",
    "eval_every=2",
    "sample_every=2",
    "log_every=2",
    "--steps",
    "6",
]
SOURCES = re.compile(r"""\bsrc\s*=\s*["']([^"']*)["']""", re.I)
LINKS = re.compile(r"""\bhref\s*=\s*["']([^"']*)["']""", re.I)


def _pages(store, directory, **kwargs):
    return write_pages(store, *load_frames(store), directory, **kwargs)


def test_one_page_per_study_and_one_for_runs_outside_any(study_store, tmp_path):
    run = study_store.create_run(
        label="loose",
        plugins="dcgan",
        config={},
        config_hash="loose",
        seed=0,
        target_steps=10,
        steps_done=10,
        status="completed",
    )
    assert run and [p.name for p in _pages(study_store, tmp_path)] == ["s.html", "runs.html"]
    study_page = (tmp_path / "s.html").read_text()
    assert all(f">{arm}</td>" in study_page for arm in ARMS) and ">loose</td>" not in study_page
    assert ">loose</td>" in (tmp_path / "runs.html").read_text()
    index = (tmp_path / "index.html").read_text()
    assert LINKS.findall(index) == ["s.html", "runs.html"]
    assert re.search(r'href="s.html">s</a></td><td class="n">12</td><td class="n">3</td>', index)


def test_the_page_loads_nothing_from_outside(study_store, tmp_path):
    (page,) = _pages(study_store, tmp_path)
    html = page.read_text()
    sources = SOURCES.findall(html)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert set(LINKS.findall(html)) == {"index.html"}  # links only to the index beside it
    assert not re.search(r"<(script|link|iframe)\b|@import|url\(", html, re.I)


def test_labels_are_text_not_markup(study_store, tmp_path):
    label = '<img src="https://example.com/x.png">'
    study_store.create_run(
        label=label,
        study="s",
        plugins="dcgan",
        config={},
        config_hash="markup",
        seed=0,
        target_steps=10,
        steps_done=10,
        status="completed",
    )
    html = _pages(study_store, tmp_path)[0].read_text()
    assert "example.com" in html and label not in html
    assert all(s.startswith("data:") for s in SOURCES.findall(html))


def test_the_statistics_are_the_table_s(study_store):
    table = group_table(*load_frames(study_store))
    stats = statistics_frame(table).set_index(["score", "group"])
    assert len(stats) == 2 * len(ARMS)  # min_fid and max_is per arm
    row = table.set_index("group").loc["better"]
    better = stats.loc[("min_fid", "better")]
    assert (
        better["mean"] == row["min_fid"]
        and better["n"] == SEEDS
        and better["welch_p"] == row["min_fid_p"]
    )
    assert better["ci95_high"] - better["ci95_low"] == pytest.approx(2 * row["min_fid_ci95"])


def test_the_page_embeds_the_run_s_own_sample_files(db, invoke, workdir):
    assert invoke("run", *RUN, "--name", "arm one").exit_code == 0
    result = invoke("report", "--html", "site", "--format", "csv")
    assert result.exit_code == 0 and "wrote site/runs.html" in result.output
    html = (workdir / "site" / "runs.html").read_text()
    samples = run_dir(db, 1) / "samples"
    for name in ("best-diversity.png", "best-interpolation.png", "step-0000006.png"):
        assert base64.b64encode((samples / name).read_bytes()).decode() in html


def test_html_errors_are_one_line(invoke, workdir, study_store):
    result = invoke("report", "--html", "site", db_url=f"sqlite:///{workdir / 'missing.db'}")
    assert (
        result.exit_code == 2
        and "no database at" in result.output
        and not (workdir / "missing.db").exists()
    )
    Store(f"sqlite:///{workdir / 'empty.db'}")
    result = invoke("report", "--html", "site", db_url=f"sqlite:///{workdir / 'empty.db'}")
    assert (
        result.exit_code == 2 and "no runs in" in result.output and "Traceback" not in result.output
    )
    result = invoke("report", "--html", "site", "--baseline", "nope", db_url=study_store.url)
    assert result.exit_code == 2 and "groups are baseline, better, close" in result.output
    assert not (workdir / "site").exists()


# -- in a real browser ------------------------------------------------------------------------

BROWSER_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]


def _chromium():
    found = (
        os.environ.get("GANBENCH_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    if found:
        return found
    if os.environ.get("GANBENCH_REQUIRE_BROWSER"):
        pytest.fail("no chromium on PATH; CI installs Debian's (apt-get install chromium)")
    pytest.skip("no chromium on PATH (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    path = _chromium()
    with sync_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=path, args=BROWSER_FLAGS)
        yield chromium
        chromium.close()


def _open(browser, path):
    """The page as Chromium renders it, and every URL it asked for."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(Path(path).resolve().as_uri(), wait_until="load")
    return page, requested


def _rendered_table(page, selector):
    return page.eval_on_selector(
        selector,
        """table => [...table.rows].map(
        row => [...row.cells].map(cell => cell.innerText.trim()))""",
    )


def _images(page):
    return page.eval_on_selector_all(
        "img", "images => images.map(i => [i.complete, i.naturalWidth, i.alt])"
    )


def test_the_rendered_page_shows_the_demo_like_study(browser, invoke, db, workdir):
    for arm in ("dcgan", "dcgan,resnet_tail"):
        assert invoke("run", f"plugins={arm}", *RUN, "--name", arm.replace(",", "+")).exit_code == 0
    assert invoke("report", "--html", "site", "--format", "csv").exit_code == 0
    page, requested = _open(browser, workdir / "site" / "runs.html")

    shown = display_frame(group_table(*load_frames(db)))
    rows = _rendered_table(page, "table.results")
    assert rows[0] == list(shown.columns)
    assert rows[1:] == shown.values.tolist()  # every cell, as the terminal table shows it

    images = _images(page)
    figures = page.eval_on_selector_all("figure.curve", "fs => fs.map(f => f.dataset.name)")
    assert sorted(figures) == ["losses", "mnist_fd"]
    per_arm = (
        3 + 1 + 2
    )  # strip tiles at steps 2, 4, 6; the newest grid; diversity and interpolation
    assert len(images) == len(figures) + 2 * per_arm
    assert all(done and width > 0 for done, width, _ in images), images
    captions = page.eval_on_selector_all(
        "section.arm .strip figcaption", "cs => cs.map(c => c.innerText)"
    )
    assert captions == ["2", "4", "6"] * 2
    assert {u.split(":", 1)[0] for u in requested} <= {"file", "data"}

    screenshot = Path(os.environ.get("GANBENCH_SCREENSHOTS", workdir)) / "report-page.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.read_bytes()[:4] == b"\x89PNG" and screenshot.stat().st_size > 20_000
    print(f"screenshot: {screenshot}")


def test_the_rendered_page_of_a_seeded_study(browser, study_store, tmp_path):
    (page_path,) = _pages(study_store, tmp_path)
    page, _ = _open(browser, page_path)
    rows = _rendered_table(page, "table.results")
    shown = display_frame(group_table(*load_frames(study_store)))
    assert rows[1:] == shown.values.tolist()
    assert any(cell.endswith("(n.s.)") for cell in (r[rows[0].index("min_fid")] for r in rows[1:]))
    bold = page.eval_on_selector_all(
        "table.results td",
        """cells => cells
        .filter(c => getComputedStyle(c).fontWeight >= 600).map(c => c.innerText.trim())""",
    )
    assert sorted(bold) == sorted(c for c in shown.values.ravel() if c.endswith("*"))
    statistics = _rendered_table(page, "table.statistics")
    assert len(statistics) == 1 + 2 * len(ARMS)
    assert page.inner_text("#footnote").startswith("mean ± std over seeds")


def test_the_rendered_page_shows_translation_panels(browser, invoke, workdir):
    run = [
        "plugins=cyclegan,digit_styles",
        "res=16",
        "ngf=4",
        "ndf=4",
        "n_blocks=1",
        "n_layers=2",
        "batch=2",
        "metrics=mnist_fd",
        "eval_real=20",
        "eval_fake=20",
        "eval_every=2",
        "sample_every=2",
        "log_every=2",
    ]
    assert invoke("run", *run, "--steps", "4", "--name", "cycle").exit_code == 0
    assert invoke("report", "--html", "site", "--format", "csv").exit_code == 0
    page, requested = _open(browser, workdir / "site" / "runs.html")
    panel = page.eval_on_selector(
        "figure[data-panel=translation] img", "i => [i.complete, i.naturalWidth, i.naturalHeight]"
    )
    assert panel == [
        True,
        3 * 18 + 2,
        8 * 18 + 2,
    ]  # 8 test images as rows of real | translated | back
    captions = page.eval_on_selector_all("section.arm figcaption", "cs => cs.map(c => c.innerText)")
    assert (
        captions[:2] == ["2", "4"]
        and "test images: real | translated | translated back at step 4" in captions
    )
    curves = page.eval_on_selector_all("figure.curve", "fs => fs.map(f => f.dataset.name)")
    assert sorted(curves) == ["losses", "mnist_fd_ab", "mnist_fd_ba"]
    assert all(done and width > 0 for done, width, _ in _images(page))
    assert {u.split(":", 1)[0] for u in requested} <= {"file", "data"}
