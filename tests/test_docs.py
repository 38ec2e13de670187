"""The README is a front page (short, linking every page of docs/), and every relative link in
the README and docs/ reaches a file that exists, and a heading there when it names one."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FRONT_PAGE_BYTES = 12_000  # issue 23: the manual lives in docs/, the README stays a front page


def prose(page: Path) -> str:
    """The page without its code (indented blocks, fences, inline spans), where brackets and
    parentheses are code, not links."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    lines = [line for line in text.splitlines() if not line.startswith("    ")]
    return re.sub(r"`[^`]*`", "", "\n".join(lines))


def relative_links(page: Path) -> list[str]:
    """The page's links that point into this repository (no scheme, not a bare anchor)."""
    return [
        target
        for target in LINK.findall(prose(page))
        if not re.match(r"[a-z]+:", target) and not target.startswith("#")
    ]


def anchor(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.strip("# ").lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {anchor(line) for line in page.read_text().splitlines() if line.startswith("#")}


def broken(page: Path, target: str) -> str | None:
    """Why a link from `page` leads nowhere, or None when it reaches its file (and heading)."""
    path, _, fragment = target.partition("#")
    file = (page.parent / path).resolve()
    if not file.exists():
        return f"{page.name}: {target} (no file {file.relative_to(ROOT)})"
    if fragment and file.suffix == ".md" and fragment not in anchors(file):
        return f"{page.name}: {target} (no heading #{fragment} in {file.name})"
    return None


def test_the_readme_is_a_front_page_that_links_every_page_of_the_docs():
    readme = ROOT / "README.md"
    assert readme.stat().st_size < FRONT_PAGE_BYTES, "README.md: move detail into docs/"
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in relative_links(readme)}
    unlinked = [p.name for p in PAGES[1:] if p.resolve() not in linked]
    assert not unlinked, f"README.md's 'Where to go next' lacks {unlinked}"


def test_every_relative_link_in_the_readme_and_docs_reaches_a_file_and_heading():
    assert len(PAGES) > 5
    problems = [
        problem
        for page in PAGES
        for target in relative_links(page)
        if (problem := broken(page, target))
    ]
    assert not problems, problems
