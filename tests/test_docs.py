"""The examples in the package's docstrings, in the README and on the documentation site's pages
run as a reader runs them and print what the page shows; the README keeps its two set-up
commands and stays short."""

import doctest
import importlib
import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, console_command, headless_environment, run_python

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


# Printed before each block that shares a process, so that each block's output can be told apart.
NEXT_BLOCK = "----- the next block -----"


def examples(markdown):
    """``(code, shown)`` for each ```python block of a Markdown text, in order (blocks indented in
    lists excluded): ``shown`` is the ```text block right after it, what the page says it
    prints, or None where the next fenced block is not one."""
    fences = re.findall(r"^```(\w*)\n(.*?)^```", markdown, flags=re.S | re.M)
    return [
        (body, fences[index + 1][1] if index + 1 < len(fences) and fences[index + 1][0] == "text" else None)
        for index, (language, body) in enumerate(fences)
        if language == "python"
    ]


def command_examples(markdown):
    """``(commands, shown)`` for each ```bash block of a Markdown text that a ```text block of
    its output follows, but for the set-up commands (which make the .venv)."""
    fences = re.findall(r"^```(\w*)\n(.*?)^```", markdown, flags=re.S | re.M)
    return [
        (body, fences[index + 1][1])
        for index, (language, body) in enumerate(fences)
        if language == "bash"
        and index + 1 < len(fences)
        and fences[index + 1][0] == "text"
        and not body.startswith("python3 -m venv")
    ]


def as_the_reader(tmp_path):
    """A stand-in for the repository's root in ``tmp_path``: data/, and a .venv/bin holding
    this Python and its tfkmeans command, so that a page's commands run as written."""
    copy_data(tmp_path)
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "tfkmeans").symlink_to(console_command())
    (tmp_path / ".venv" / "bin" / "python").symlink_to(sys.executable)


def assert_prints_as_shown(code, printed, shown, where):
    if shown is not None:
        assert printed == shown, f"{where}: the page shows\n{shown}\nbut the block printed\n{printed}\n(code:\n{code})"


def copy_data(tmp_path):
    """A scratch directory holding a copy of data/, standing in for the repository's root (so
    that nothing an example writes lands in the repository)."""
    shutil.copytree(REPO / "data", tmp_path / "data")


def as_one_process(blocks):
    """Python code that runs ``blocks`` in order, each in fresh globals, in one process, printing
    ``NEXT_BLOCK`` before each."""
    return "\n".join(
        f"print({NEXT_BLOCK!r}, flush=True)\n"
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
    blocks = examples((REPO / "README.md").read_text())
    assert blocks, "the README has no ```python block"
    copy_data(tmp_path)
    for number, (code, shown) in enumerate(blocks, start=1):
        assert_prints_as_shown(code, run_python(code, tmp_path), shown, f"README.md block {number}")


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_site_python_examples_run(tmp_path, page):
    blocks = examples((REPO / "docs" / page).read_text())
    assert blocks, f"docs/{page} has no ```python block"
    assert any(shown for code, shown in blocks), f"docs/{page} shows no output to check"
    copy_data(tmp_path)
    alone = [(code, shown) for code, shown in blocks if "set_logical_device_configuration" in code]
    shared = [(code, shown) for code, shown in blocks if "set_logical_device_configuration" not in code]
    printed = run_python(as_one_process([code for code, shown in shared]), tmp_path).split(NEXT_BLOCK + "\n")
    assert printed[0] == "" and len(printed) == len(shared) + 1, printed
    for (code, shown), output in zip(shared, printed[1:]):
        assert_prints_as_shown(code, output, shown, f"docs/{page}")
    for code, shown in alone:
        assert_prints_as_shown(code, run_python(code, tmp_path), shown, f"docs/{page}")


def test_the_commands_table_of_flags_names_every_flag_and_no_other():
    from tfkmeans.cli import build_parser

    page = (REPO / "docs" / "command.md").read_text()
    table = page.split("## The flags", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    documented = set(re.findall(r"(?<![\w-])--?[a-z][\w-]*", " ".join(first_cells)))
    options = {
        option
        for action in build_parser()._actions
        for option in action.option_strings
        if option not in ("-h", "--help")
    }
    assert documented == options, (sorted(options - documented), sorted(documented - options))


@pytest.mark.slow
@pytest.mark.parametrize("page", ["README.md", "docs/command.md"])
def test_command_examples_print_what_the_page_shows(tmp_path, page):
    """Each command a page shows with its output, run as written from the repository's root;
    the pages write the root as /home/you/clustering."""
    examples = command_examples((REPO / page).read_text())
    assert examples, f"{page} shows no command's output"
    as_the_reader(tmp_path)
    for commands, shown in examples:
        finished = subprocess.run(
            ["bash", "-c", commands], cwd=tmp_path, env=headless_environment(), capture_output=True, text=True
        )
        assert finished.returncode == 0, finished.stderr[-3000:]
        printed = finished.stdout.replace(str(tmp_path), "/home/you/clustering")
        assert_prints_as_shown(commands, printed, shown, page)


@pytest.mark.slow
def test_the_readme_shows_what_the_exercise_solution_prints(tmp_path):
    """The learner's first command, from the repository's root: the README's listing, line for
    line (test_lesson_scripts.py runs it with TensorFlow's own log level)."""
    readme = (REPO / "README.md").read_text()
    shown = next(
        text
        for language, text in re.findall(r"^```(\w*)\n(.*?)^```", readme, flags=re.S | re.M)
        if language == "text" and text.startswith("true centroids:")
    )
    finished = subprocess.run(
        [sys.executable, REPO / "kmeans_iterate.py"],
        cwd=tmp_path,
        env=headless_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    printed = finished.stdout.replace(str(tmp_path), "/home/you/clustering")
    assert_prints_as_shown("python kmeans_iterate.py", printed, shown, "README.md")
