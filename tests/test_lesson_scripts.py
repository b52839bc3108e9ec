"""The four lesson scripts, run as a learner runs them, headless: in this process (as
``python <script>`` would run them: ``__main__``, ``sys.argv``), and once as a real subprocess."""

import ast
import re
import sys

import numpy as np
import pytest

from conftest import REPO, error_lines, headless_environment

SCRIPTS = ["generate_samples.py", "choose_centroids.py", "kmeans_step.py", "kmeans_iterate.py"]
LESSON_FILES = ["functions.py", "lesson_cli.py", *SCRIPTS]


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_runs_headless_and_saves_its_figure(lesson_script, tmp_path, script):
    finished = lesson_script(script)
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


def test_the_exercise_solution_runs_as_a_learner_runs_it(tmp_path):
    """``python kmeans_iterate.py`` in a fresh interpreter, from an empty directory, with no
    ``TF_CPP_MIN_LOG_LEVEL`` of the tests': the learner sees the lesson's output and nothing of
    TensorFlow's log (test_quiet.py runs the other scripts so too)."""
    import subprocess

    environment = {key: value for key, value in headless_environment().items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    finished = subprocess.run(
        [sys.executable, REPO / "kmeans_iterate.py"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stderr == "", finished.stderr
    assert list(printed_rows(finished.stdout))[-1] == "iteration 10"
    assert finished.stdout.splitlines()[-1].endswith(str(tmp_path / "kmeans_iterate.png"))


def _without_tensorflow(tmp_path, *args):
    """Run ``python *args`` where importing TensorFlow fails."""
    import os
    import subprocess

    fake = tmp_path / "fake"
    (fake / "tensorflow").mkdir(parents=True, exist_ok=True)
    (fake / "tensorflow" / "__init__.py").write_text("raise ImportError('TensorFlow was imported')\n")
    environment = {**os.environ, "PYTHONPATH": str(fake)}
    return subprocess.run(
        [sys.executable, *args], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_answers_at_once_without_tensorflow(tmp_path, script):
    """--help lists the lesson's settings and their defaults, in a process where importing
    TensorFlow would fail: it answers before the script loads TensorFlow."""
    finished = _without_tensorflow(tmp_path, REPO / script, "--help")
    assert finished.returncode == 0, finished.stderr
    for flag in ("--n-clusters", "--n-features", "--n-samples-per-cluster", "--seed", "--embiggen-factor", "--save"):
        assert flag in finished.stdout
    assert "default 700" in finished.stdout and "default 70" in finished.stdout
    docstring = ast.get_docstring(ast.parse((REPO / script).read_text())).splitlines()[0]
    assert docstring in finished.stdout


@pytest.mark.parametrize(
    "script, args, message",
    [
        ("kmeans_step.py", ["--seed", "abc"], "--seed: expected an integer, got 'abc'"),
        ("generate_samples.py", ["--embiggen-factor", "1e39"], "--embiggen-factor 1e+39: at most"),
        ("choose_centroids.py", ["--save", "figure.xyz"], "--save figure.xyz: the file name must end in one of"),
        ("kmeans_iterate.py", ["--n-clusters", "100000"], "assign_to_nearest's 100,000 x 50,000,000 x 2 tensor"),
        (
            "generate_samples.py",
            ["--n-clusters", "1000", "--n-samples-per-cluster", "1000000000"],
            "1,000,000,000,000 samples of 2 features would take",
        ),
    ],
)
def test_a_bad_setting_is_refused_before_tensorflow_loads(tmp_path, script, args, message):
    """One line and exit status 2 at once, not after TensorFlow's seconds and notices."""
    finished = _without_tensorflow(tmp_path, REPO / script, *args)
    assert finished.returncode == 2, finished.stderr
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], finished.stderr


def test_settings_too_big_for_the_machine_are_refused_at_the_limit(lesson_script, monkeypatch, tmp_path):
    """What a script would hold may take a quarter of the memory, no more: at exactly a quarter
    it runs, with one byte less memory it is refused. kmeans_step.py with the lesson's 3
    clusters x 500 samples x 2 features: 12 bytes a sample's number and 64 a plotted sample,
    and 8 for each number of assign_to_nearest's 3 x 1,500 x 2 tensor."""
    import lesson_cli

    samples_bytes = 1500 * (12 * 2 + 64)
    needed = samples_bytes + 8 * 3 * 1500 * 2
    monkeypatch.setattr(lesson_cli, "_memory_bytes", lambda: 4 * needed)
    assert lesson_script("kmeans_step.py").returncode == 0
    monkeypatch.setattr(lesson_cli, "_memory_bytes", lambda: 4 * needed - 1)
    finished = lesson_script("kmeans_step.py")
    assert finished.returncode == 2
    assert "assign_to_nearest's 3 x 1,500 x 2 tensor and the samples would take" in error_lines(finished.stderr)[0]
    # generate_samples.py never calls assign_to_nearest: it needs the samples' share only.
    assert lesson_script("generate_samples.py").returncode == 0
    monkeypatch.setattr(lesson_cli, "_memory_bytes", lambda: 4 * samples_bytes - 1)
    assert lesson_script("generate_samples.py").returncode == 2


def test_save_writes_the_figure_where_asked(lesson_script, tmp_path):
    finished = lesson_script("kmeans_step.py", "--save", tmp_path / "step.svg", "--n-clusters", "4")
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


def test_exercise_solution_iterates_ten_times_and_repeats_exactly(lesson_script):
    first = lesson_script("kmeans_iterate.py")
    second = lesson_script("kmeans_iterate.py")
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


def test_exercise_solution_is_the_lessons_loop(lesson_script):
    """Its numbers are those of the lesson's functions, called as exercise 2 says."""
    from functions import assign_to_nearest, choose_random_centroids, create_samples, update_centroids

    _, samples = create_samples(3, 500, 2, 70, 700)
    centroids = choose_random_centroids(samples, 3, 700)
    for _ in range(10):
        centroids = update_centroids(samples, assign_to_nearest(samples, centroids), 3)
    finished = lesson_script("kmeans_iterate.py")
    np.testing.assert_allclose(printed_rows(finished.stdout)["iteration 10"], centroids.numpy(), atol=1e-3)


def test_exercise_solution_is_short():
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
        (["--seed", "18446744073709551616"], "--seed: must be below 2**63"),
        (["--embiggen-factor", "1e39"], "--embiggen-factor 1e+39: at most 1.3e+19 for 2 features"),
    ],
)
def test_bad_settings_one_line_exit_2(lesson_script, tmp_path, args, message):
    finished = lesson_script("kmeans_step.py", *args)
    lines = error_lines(finished.stderr)
    assert finished.returncode == 2
    assert len(lines) == 1 and message in lines[0], lines
    assert list(tmp_path.iterdir()) == []
