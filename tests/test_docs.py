"""The examples in the package's docstrings and in the README run and print what they say."""

import doctest
import importlib
import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, headless_environment

MODULES = ["tfkmeans._kmeans", "tfkmeans._seeding"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    results = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert results.attempted > 0 and results.failed == 0, results


def test_readme_python_examples_run(tmp_path):
    """Every ```python block of the README, in order, as a reader runs them from the repository's
    root (here a scratch directory holding a copy of data/, so nothing lands in the repository)."""
    shutil.copytree(REPO / "data", tmp_path / "data")
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert len(blocks) >= 3
    for block in blocks:
        finished = subprocess.run(
            [sys.executable, "-c", block],
            cwd=tmp_path,
            env=headless_environment(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert finished.returncode == 0, (block, finished.stderr[-2000:])
    assert (tmp_path / "iris_model" / "saved_model.pb").is_file()
