"""The documentation site: every page in mkdocs.yml's navigation exists, every relative link and
image in docs/ points at a file, the benchmark page holds the benchmark's own tables, and (slow)
``mkdocs build --strict`` succeeds."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

yaml = pytest.importorskip("yaml", reason="pip install -r requirements-dev.txt (PyYAML comes with jupytext)")

DOCS = REPO / "docs"
# Markdown files in docs/ that are not pages: the benchmark's own table, for --output-dir docs.
NOT_PAGES = {"benchmark.md"}
# Inline links and images, [text](target) and ![alt](target); a target ends at a space or ")".
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)")


def nav_pages(nav):
    """Every page file in mkdocs.yml's nav, nested sections included."""
    for entry in nav:
        if isinstance(entry, str):
            yield entry
        else:
            for value in entry.values():
                yield from nav_pages(value) if isinstance(value, list) else [value]


def config():
    return yaml.safe_load((REPO / "mkdocs.yml").read_text())


def without_code(markdown):
    """The Markdown with fenced code blocks and inline code taken out (links there are not links)."""
    markdown = re.sub(r"^( *)(```|~~~).*?^\1\2", "", markdown, flags=re.M | re.S)
    return re.sub(r"`[^`\n]*`", "", markdown)


def test_every_page_in_the_nav_exists_and_every_page_is_in_the_nav():
    pages = list(nav_pages(config()["nav"]))
    assert pages, "mkdocs.yml has no nav"
    missing = [page for page in pages if not (DOCS / page).is_file()]
    assert not missing, f"in mkdocs.yml's nav but not in docs/: {missing}"
    unlisted = sorted({path.name for path in DOCS.glob("*.md")} - set(pages) - NOT_PAGES)
    assert not unlisted, f"pages in docs/ missing from mkdocs.yml's nav: {unlisted}"


def test_every_relative_link_and_image_points_at_a_file():
    broken = []
    for page in sorted(DOCS.glob("*.md")):
        for target in LINK.findall(without_code(page.read_text())):
            if re.match(r"^([a-z][a-z0-9+.-]*:|#|\{\{)", target, flags=re.I):
                continue  # another site, an anchor on the same page, or the repository's address
            path = target.split("#", 1)[0]
            if not (page.parent / path).resolve().is_file():
                broken.append(f"{page.name}: {target}")
    assert not broken, f"links to files that do not exist: {broken}"


def test_every_test_the_pages_name_exists():
    """The pages name the tests behind each promise (`file.py::test_name`); a renamed or removed
    test must not leave a promise pointing at nothing."""
    named = set()
    for page in [*sorted(DOCS.glob("*.md")), REPO / "README.md", REPO / "benchmarks" / "README.md"]:
        named |= {(page.name, *found) for found in re.findall(r"(test_\w+\.py)::(test_\w+)", page.read_text())}
    assert len(named) > 30, "the pages name fewer tests than they did; is the pattern still right?"
    missing = []
    for page, file, test in sorted(named):
        source = REPO / "tests" / file
        if not source.is_file() or not re.search(rf"^def {test}\(", source.read_text(), flags=re.M):
            missing.append(f"{page}: {file}::{test}")
    assert not missing, f"pages name tests that do not exist: {missing}"


def test_the_benchmark_page_holds_the_benchmarks_own_tables():
    """benchmark_kmeans.py --readme docs/benchmarks.md rewrites what lies between the markers;
    --output-dir docs writes the same tables to docs/benchmark.md."""
    page = (DOCS / "benchmarks.md").read_text()
    assert page.count("<!-- benchmark:start -->\n") == 1 and page.count("<!-- benchmark:end -->") == 1
    tables = page.split("<!-- benchmark:start -->\n", 1)[1].split("<!-- benchmark:end -->", 1)[0]
    assert tables == (DOCS / "benchmark.md").read_text()


@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path):
    """Warnings are errors: a broken link, a page left out, a docstring mkdocstrings cannot read."""
    mkdocs = Path(sys.executable).parent / "mkdocs"
    assert mkdocs.exists(), "mkdocs is not installed here: pip install -r docs/requirements.txt"
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    finished = subprocess.run(
        [str(mkdocs), "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr[-5000:]
    site = tmp_path / "site"
    for page in nav_pages(config()["nav"]):
        built = site / ("index.html" if page == "index.md" else Path(page).with_suffix("") / "index.html")
        assert built.is_file(), built
    reference = (site / "reference" / "index.html").read_text()
    names = ("KMeans", "MiniBatchKMeans", "BisectingKMeans", "k_means", "kmeans", "KMeansResult", "kmeans_plusplus")
    for name in (*names, "random_centroids", "load_samples"):
        assert f"tfkmeans.{name}" in reference, name
    assert (site / "generate_samples.png").is_file() and (site / "kmeans.gif").is_file()
    assert not (site / "make_figures.sh").exists() and not (site / "hooks.py").exists()
