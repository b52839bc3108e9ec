"""The examples in the package's docstrings and in the README run and print what they say."""

import doctest
import importlib
import re
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
    """Every ```python block of the README, run from the repository root as a reader would."""
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks
    for block in blocks:
        finished = subprocess.run(
            [sys.executable, "-c", block],
            cwd=REPO,
            env=headless_environment(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert finished.returncode == 0, (block, finished.stderr[-2000:])
