"""The examples in the package's docstrings, in the README and on the documentation site's pages
run as a reader runs them; the README keeps its two set-up commands and stays short."""

import doctest
import importlib
import re
import shutil

import pytest

from conftest import REPO, run_python

MODULES = ["tfkmeans._kmeans", "tfkmeans._bisect_k_means", "tfkmeans._spherical_k_means", "tfkmeans._functions"]

# The two commands CI runs from a fresh clone: the README must show them exactly so.
SETUP_COMMANDS = [
    "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt && .venv/bin/python kmeans_iterate.py",
    "python3 -m venv .venv && .venv/bin/pip install -r requirements-dev.txt && .venv/bin/python -m pytest",
]

# Site pages whose ```python blocks run, in order. Each block runs in fresh globals, as if alone;
# the blocks of a page share one process (TensorFlow loads once), except a block that sets up
# TensorFlow's devices, which only a fresh process allows.
PAGES = ["python.md", "scale.md"]


def python_blocks(markdown):
    """The ```python blocks of a Markdown text, in order (blocks indented in lists excluded)."""
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.S | re.M)


def copy_data(tmp_path):
    """A scratch directory holding a copy of data/, standing in for the repository's root (so
    that nothing an example writes lands in the repository)."""
    shutil.copytree(REPO / "data", tmp_path / "data")


def as_one_process(blocks):
    """Python code that runs ``blocks`` in order, each in fresh globals, in one process."""
    return "\n".join(
        f"exec(compile({block!r}, 'block {number}', 'exec'), {{'__name__': '__main__'}})"
        for number, block in enumerate(blocks, start=1)
    )


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    results = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert results.attempted > 0 and results.failed == 0, results


def test_readme_shows_the_two_setup_commands_and_stays_short():
    readme = (REPO / "README.md").read_text()
    for command in SETUP_COMMANDS:
        assert f"```bash\n{command}\n```" in readme, command
    assert len(readme.split()) <= 2000, len(readme.split())


@pytest.mark.slow
def test_readme_python_examples_run(tmp_path):
    """Each block in a fresh process, as a reader pastes it."""
    blocks = python_blocks((REPO / "README.md").read_text())
    assert blocks, "the README has no ```python block"
    copy_data(tmp_path)
    for block in blocks:
        run_python(block, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_site_python_examples_run(tmp_path, page):
    blocks = python_blocks((REPO / "docs" / page).read_text())
    assert blocks, f"docs/{page} has no ```python block"
    copy_data(tmp_path)
    alone = [block for block in blocks if "set_logical_device_configuration" in block]
    shared = [block for block in blocks if block not in alone]
    run_python(as_one_process(shared), tmp_path)
    for block in alone:
        run_python(block, tmp_path)
