"""The examples in the package's docstrings and in the README run and print what they say."""

import doctest
import importlib
import re
import shutil

import pytest

from conftest import REPO, run_python

MODULES = ["tfkmeans._kmeans", "tfkmeans._seeding"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    results = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert results.attempted > 0 and results.failed == 0, results


@pytest.mark.slow
def test_readme_python_examples_run(tmp_path):
    """Every ```python block of the README, in order, as a reader runs them from the repository's
    root (here a scratch directory holding a copy of data/, so nothing lands in the repository)."""
    shutil.copytree(REPO / "data", tmp_path / "data")
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert len(blocks) >= 3
    for block in blocks:
        run_python(block, tmp_path)
    assert (tmp_path / "iris_model" / "saved_model.pb").is_file()
