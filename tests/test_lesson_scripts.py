"""The four lesson scripts, run as a learner runs them: headless, as subprocesses."""

import ast
import re

import numpy as np
import pytest

from conftest import REPO, error_lines

SCRIPTS = ["generate_samples.py", "choose_centroids.py", "kmeans_step.py", "kmeans_iterate.py"]
LESSON_FILES = ["functions.py", "lesson_cli.py", *SCRIPTS]


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_runs_headless_and_saves_its_figure(run_script, tmp_path, script):
    finished = run_script(script)
    assert finished.returncode == 0, finished.stderr
    figure = tmp_path / script.replace(".py", ".png")
    assert figure.is_file() and figure.read_bytes().startswith(b"\x89PNG")
    assert str(figure) in finished.stdout  # the script says where the figure went
    assert error_lines(finished.stderr) == []
    assert [path.name for path in tmp_path.iterdir()] == [figure.name]  # no temporary file left behind


@pytest.mark.parametrize("file", LESSON_FILES)
def test_lesson_files_never_import_the_package(file):
    tree = ast.parse((REPO / file).read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "tfkmeans" not in imported


def test_help_lists_the_lesson_settings(run_script):
    finished = run_script("generate_samples.py", "--help")
    assert finished.returncode == 0
    for flag in ("--n-clusters", "--n-features", "--n-samples-per-cluster", "--seed", "--embiggen-factor", "--save"):
        assert flag in finished.stdout
    assert "Generating Samples" in finished.stdout  # the script's docstring


def test_save_writes_the_figure_where_asked(run_script, tmp_path):
    finished = run_script("kmeans_step.py", "--save", tmp_path / "step.svg", "--n-clusters", "4")
    assert finished.returncode == 0, finished.stderr
    assert (tmp_path / "step.svg").read_text().lstrip().startswith("<?xml")
    assert not (tmp_path / "kmeans_step.png").exists()


def printed_rows(stdout):
    """{label: centroids} for each line 'label: [[x, y], ...]' the exercise solution prints."""
    rows = {}
    for line in stdout.splitlines():
        match = re.match(r"(.+?):\s+(\[\[.*\]\])$", line)
        if match:
            rows[match.group(1).strip()] = np.array(ast.literal_eval(match.group(2)))
    return rows


def test_exercise_solution_iterates_ten_times_and_repeats_exactly(run_script):
    first = run_script("kmeans_iterate.py")
    second = run_script("kmeans_iterate.py")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout  # exercise 1: the same seed, the same initial centroids
    rows = printed_rows(first.stdout)
    assert list(rows) == ["true centroids", "initial centroids", *[f"iteration {i:>2}" for i in range(1, 11)]]
    # The lesson's centres (seed 700), and centroids that end up close to them.
    np.testing.assert_allclose(rows["true centroids"], [[-24.042, -5.819], [-30.324, 25.578], [-13.84, 16.888]])
    final = rows["iteration 10"]
    distances = np.linalg.norm(final[:, None, :] - rows["true centroids"][None], axis=2).min(axis=1)
    assert np.all(distances < 1.0), distances
    start = np.linalg.norm(rows["initial centroids"][:, None, :] - rows["true centroids"][None], axis=2)
    assert distances.mean() < start.min(axis=1).mean()  # "much closer on average"


def test_exercise_solution_is_the_lessons_loop(run_script):
    """Its numbers are those of the lesson's functions, called as exercise 2 says."""
    from functions import assign_to_nearest, choose_random_centroids, create_samples, update_centroids

    _, samples = create_samples(3, 500, 2, 70, 700)
    centroids = choose_random_centroids(samples, 3, 700)
    for _ in range(10):
        centroids = update_centroids(samples, assign_to_nearest(samples, centroids), 3)
    finished = run_script("kmeans_iterate.py")
    np.testing.assert_allclose(printed_rows(finished.stdout)["iteration 10"], centroids.numpy(), atol=1e-3)


def test_exercise_solution_is_short(run_script):
    """The whole solution fits on one screen: about 40 lines of code, docstring and comments aside."""
    tree = ast.parse((REPO / "kmeans_iterate.py").read_text())
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef)) and ast.get_docstring(node):
            first = node.body[0]
            docstrings |= set(range(first.lineno, first.end_lineno + 1))
    lines = (REPO / "kmeans_iterate.py").read_text().splitlines()
    code = [
        number
        for number, line in enumerate(lines, start=1)
        if line.strip() and not line.strip().startswith("#") and number not in docstrings
    ]
    assert len(code) <= 40, len(code)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--n-clusters", "0"], "--n-clusters: must be at least 1, got 0"),
        (["--n-features", "1"], "--n-features: must be at least 2, got 1"),
        (["--seed", "seven"], "--seed: expected an integer, got 'seven'"),
        (["--embiggen-factor", "nan"], "--embiggen-factor: must be a finite number >= 0"),
        (["--save", "figure.xyz"], "--save figure.xyz: the file name must end in one of"),
        (["--save", "no_such_directory/figure.png"], "cannot write a file there"),
    ],
)
def test_bad_settings_one_line_exit_2(run_script, tmp_path, args, message):
    finished = run_script("kmeans_step.py", *args)
    lines = error_lines(finished.stderr)
    assert finished.returncode == 2
    assert len(lines) == 1 and message in lines[0], lines
    assert list(tmp_path.iterdir()) == []
