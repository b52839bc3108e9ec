"""The tfkmeans command, run as a user runs it: installed, from a directory that is not the
repository, headless."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, error_lines, headless_environment, run_python
from tfkmeans import lesson_blobs, load_samples


def iteration_rows(stdout):
    """The per-iteration rows: iteration, inertia, largest shift, samples changed."""
    rows = []
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0].isdigit():
            rows.append((int(parts[0]), float(parts[1].replace(",", "")), float(parts[2]), int(parts[3])))
    return rows


def test_default_run_clusters_the_lessons_blobs_for_ten_iterations_and_repeats(run_command, tmp_path):
    first = run_command()
    (tmp_path / "again").mkdir()
    second = run_command(cwd=tmp_path / "again")
    assert first.returncode == 0, first.stderr
    # The same seed prints the same numbers (all but the last line, which names the figure's path).
    assert first.stdout.splitlines()[:-1] == second.stdout.splitlines()[:-1]
    assert first.stdout.splitlines()[-1].endswith(str(tmp_path / "tfkmeans.png"))
    rows = iteration_rows(first.stdout)
    assert [row[0] for row in rows] == list(range(1, 11))
    inertias = [row[1] for row in rows]
    assert all(later <= earlier for earlier, later in zip(inertias, inertias[1:]))
    assert "True centroids" in first.stdout
    assert (
        "converged after 10 iterations" in first.stdout
        or "stopped after 10 iterations without converging" in first.stdout
    )


def test_tolerance_stops_early_and_says_so(run_command, tmp_path):
    finished = run_command("--tolerance", "0", "--iterations", "100", "--output", tmp_path / "r.json")
    assert finished.returncode == 0, finished.stderr
    result = json.loads((tmp_path / "r.json").read_text())
    rows = iteration_rows(finished.stdout)
    assert result["converged"] is True and result["iterations"] == len(rows) < 100
    assert rows[-1][3] == 0  # no sample changed cluster in the last iteration
    assert f"converged after {len(rows)} iterations" in finished.stdout


def test_iteration_cap_without_convergence_is_reported(run_command):
    finished = run_command("--tolerance", "0", "--iterations", "1")
    assert finished.returncode == 0, finished.stderr
    assert "stopped after 1 iterations without converging" in finished.stdout


def test_output_json_round_trips_and_its_inertia_matches(run_command, tmp_path):
    output = tmp_path / "result.json"
    finished = run_command("--init", "kmeans++", "--n-clusters", "4", "--output", output)
    assert finished.returncode == 0, finished.stderr
    result = json.loads(output.read_text())
    centroids = np.array(result["centroids"])
    nearest = np.array(result["nearest_indices"])
    assert centroids.shape == (4, 2) and nearest.shape == (2000,)
    assert result["iterations"] == 10 == len(result["inertia"])
    assert isinstance(result["converged"], bool)
    assert result["settings"]["init"] == "kmeans++" and result["settings"]["n_clusters"] == 4
    # Recompute the samples and check that the file describes a real clustering of them.
    _, samples = lesson_blobs(4, 500, 2, 70, 700)
    samples = samples.astype(np.float64)
    distances = ((samples[:, None, :] - centroids[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(nearest, distances.argmin(axis=1))
    assert result["inertia"][-1] == pytest.approx(distances.min(axis=1).sum(), rel=1e-5)
    assert all(b <= a * (1 + 1e-9) for a, b in zip(result["inertia"], result["inertia"][1:]))


def test_fast_prints_the_same_results(run_command, tmp_path):
    slow = run_command("--output", tmp_path / "slow.json")
    fast = run_command("--fast", "--output", tmp_path / "fast.json")
    assert fast.returncode == 0, fast.stderr
    slow_result = json.loads((tmp_path / "slow.json").read_text())
    fast_result = json.loads((tmp_path / "fast.json").read_text())
    np.testing.assert_allclose(fast_result["centroids"], slow_result["centroids"], atol=1e-3)
    assert fast_result["nearest_indices"] == slow_result["nearest_indices"]
    np.testing.assert_allclose(fast_result["inertia"], slow_result["inertia"], rtol=1e-5)

    # The printed final table: the same lines, the same numbers up to float32 rounding.
    def final_numbers(text):
        lines = [line for line in text[text.index("Final centroids") :].splitlines() if "centroid " in line]
        return np.array([[float(n) for n in re.findall(r"-?\d+\.\d+", line)] for line in lines[:3]])

    np.testing.assert_allclose(final_numbers(fast.stdout), final_numbers(slow.stdout), atol=2e-3)


def test_animation_has_one_frame_per_iteration(run_command, tmp_path):
    finished = run_command("--iterations", "6", "--animate", tmp_path / "k.gif")
    assert finished.returncode == 0, finished.stderr
    with Image.open(tmp_path / "k.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames == 7  # the start, then one per iteration


def test_own_data_csv_and_npy(run_command, tmp_path):
    csv_result, npy_result = tmp_path / "csv.json", tmp_path / "npy.json"
    finished = run_command("--data", REPO / "data" / "iris.csv", "--output", csv_result)
    assert finished.returncode == 0, finished.stderr
    assert "True centroids" not in finished.stdout
    np.save(tmp_path / "iris.npy", load_samples(REPO / "data" / "iris.csv"))
    finished = run_command("--data", tmp_path / "iris.npy", "--output", npy_result)
    assert finished.returncode == 0, finished.stderr
    csv_json, npy_json = json.loads(csv_result.read_text()), json.loads(npy_result.read_text())
    assert len(csv_json["nearest_indices"]) == 150 and np.array(csv_json["centroids"]).shape == (3, 4)
    assert csv_json["centroids"] == npy_json["centroids"]


# Bad input on the command line: one line on stderr naming the problem, exit status 2, and no
# output file written or changed.
BAD_FILES = {
    "empty.csv": "",
    "labels.csv": "id,height,species\n1,1.5,a\n2,1.7,b\n3,1.6,a\n",
    "semicolons.csv": "a;b\n1,5;2\n3,5;4\n5,5;6\n",
    "gaps.npy": None,
    "header_only.csv": "a,b\n",
    "word.csv": "x,y\n1,2\n3,banana\n",
    "ragged.csv": "1,2\n3,4,5\n",
    "hole.csv": "1,2\n3,\n",
    "nan.csv": "1,2\nnan,4\n",
    "inf.csv": "1,2\n3,inf\n",
    "two_rows.csv": "1,2\n3,4\n",
}

BAD_RUNS = [
    (["--data", "missing.csv"], "missing.csv: no such file"),
    (
        ["--data", "labels.csv"],
        "labels.csv, line 2, column 3 ('species'): 'a' is not a number; choose the numeric columns with --columns",
    ),
    (
        ["--data", "labels.csv", "--columns", "height,weight"],
        "labels.csv: no column 'weight' (the columns are 'id', 'height', 'species'",
    ),
    (["--data", "labels.csv", "--columns", "2,2"], "a column is asked for twice"),
    (["--data", "semicolons.csv"], "'1,5' is not a number (a decimal comma? add --decimal ,)"),
    (["--data", "gaps.npy"], "gaps.npy, row 2, column 2: NaN, a missing value; --missing drop leaves out"),
    (["--data", "hole.csv", "--missing", "drop", "--n-clusters", "2"], "1 samples is fewer than --n-clusters 2"),
    (["--columns", "a"], "--columns reads your own data, so it goes with --data"),
    (["--n-clusters", "5:3"], "a range A:B needs A < B"),
    (["--n-clusters", "2:4", "--animate", "k.gif"], "--animate goes with one cluster count, not a range"),
    (["--n-clusters", "2:4", "--tolerance", "0"], "--tolerance goes with one cluster count"),
    (["--n-init", "3"], "--n-init goes with a range of cluster counts"),
    (["--data", "two_rows.csv", "--delimiter", "ab"], "--delimiter 'ab': give one character"),
    (["--data", "empty.csv"], "empty.csv: the file is empty"),
    (["--data", "header_only.csv"], "header line (1) but no data"),
    (
        ["--data", "word.csv"],
        "word.csv, line 3, column 2 ('y'): 'banana' is not a number; choose the numeric columns with --columns",
    ),
    (["--data", "ragged.csv"], "ragged.csv, line 2: 3 columns, but the lines before it have 2"),
    (
        ["--data", "hole.csv"],
        "hole.csv, line 2, column 2: empty cell; --missing drop leaves out the rows that have one",
    ),
    (["--data", "nan.csv"], "nan.csv, line 2, column 1: 'nan' is not a finite number"),
    (["--data", "inf.csv"], "inf.csv, line 2, column 2: 'inf' is not a finite number"),
    (["--data", "two_rows.csv", "--n-clusters", "3"], "2 samples is fewer than --n-clusters 3"),
    (["--data", "bad.npy"], "bad.npy: expected a 2-D array"),
    (["--data", "data.dat"], "unknown file type '.dat'; use .csv, .tsv, .txt, .npy"),
    (["--data", "two_rows.csv", "--n-features", "3"], "--n-features sets up generated samples"),
    (["--n-clusters", "0"], "--n-clusters: must be at least 1, got 0"),
    (["--iterations", "0"], "--iterations: must be at least 1, got 0"),
    (["--tolerance", "-1"], "--tolerance: must be a finite number >= 0"),
    (["--init", "best"], "--init: invalid choice: 'best'"),
    (["--n-samples-per-cluster", "0"], "--n-samples-per-cluster: must be at least 1"),
    (["--n-clusters", "three"], "expected a positive integer, got 'three'"),
    (["--save", "figure.xyz"], "--save figure.xyz: the file name must end in"),
    (["--output", "no_such_directory/result.json"], "does not exist"),
    (["--fast", "--animate", "k.gif"], "--animate draws every iteration"),
]


@pytest.mark.parametrize("args, message", BAD_RUNS, ids=[" ".join(args) for args, _ in BAD_RUNS])
def test_bad_input_one_line_exit_2_no_output(run_command, tmp_path, args, message):
    for name, text in BAD_FILES.items():
        if text is not None:
            (tmp_path / name).write_text(text)
    np.save(tmp_path / "gaps.npy", np.array([[1.0, 2.0], [3.0, np.nan], [5.0, 6.0]]))
    np.save(tmp_path / "bad.npy", np.arange(5.0))
    (tmp_path / "data.dat").write_text("1,2\n")
    existing = tmp_path / "existing.json"
    existing.write_text('{"keep": true}\n')
    before = sorted(path.name for path in tmp_path.iterdir())

    # Ask for output files too (unless the flag under test is one of them): none may appear.
    outputs = [] if "--output" in args or "--save" in args else ["--output", existing, "--save", "figure.png"]
    finished = run_command(*outputs, *args)

    assert finished.returncode == 2
    lines = error_lines(finished.stderr)
    assert len(lines) == 1 and "Traceback" not in finished.stderr, finished.stderr
    assert lines[0].startswith("tfkmeans: error: ") and message in lines[0], lines[0]
    assert existing.read_text() == '{"keep": true}\n'
    assert sorted(path.name for path in tmp_path.iterdir()) == before


def test_output_files_get_ordinary_permissions(run_command, tmp_path):
    """Files are written through a temporary file, but end up like any new file (umask)."""
    import os

    finished = run_command("--save", tmp_path / "clusters.png", "--output", tmp_path / "result.json")
    assert finished.returncode == 0, finished.stderr
    umask = os.umask(0)
    os.umask(umask)
    for name in ("clusters.png", "result.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clusters.png", "result.json"]  # no temporary left


def test_iris_as_the_lesson_loop_clusters_it(run_command, tmp_path):
    """The default run (random start, seed 700, 10 iterations) is the lesson's exercise solution
    applied to your own data."""
    from functions import assign_to_nearest, choose_random_centroids, update_centroids

    finished = run_command(
        "--data", REPO / "data" / "iris.csv", "--output", tmp_path / "iris.json", "--labels", tmp_path / "labels.npy"
    )
    assert finished.returncode == 0, finished.stderr
    samples = load_samples(REPO / "data" / "iris.csv")
    centroids = choose_random_centroids(samples, 3, 700)
    for _ in range(10):
        centroids = update_centroids(samples, assign_to_nearest(samples, centroids), 3)
    result = json.loads((tmp_path / "iris.json").read_text())
    np.testing.assert_allclose(result["centroids"], centroids.numpy(), atol=1e-5)
    assert result["nearest_indices"] == assign_to_nearest(samples, centroids).numpy().tolist()
    labels = np.load(tmp_path / "labels.npy")  # --labels: the same clusters, as int32 in a .npy file
    assert labels.dtype == np.int32 and labels.tolist() == result["nearest_indices"]


def test_without_a_display_the_figure_never_replaces_a_file(run_command, tmp_path):
    (tmp_path / "tfkmeans.png").write_bytes(b"mine")
    finished = run_command("--iterations", "1")
    assert finished.returncode == 0, finished.stderr
    assert (tmp_path / "tfkmeans.png").read_bytes() == b"mine"
    assert (tmp_path / "tfkmeans-2.png").read_bytes().startswith(b"\x89PNG")
    assert str(tmp_path / "tfkmeans-2.png") in finished.stdout


def test_help_answers_without_importing_tensorflow(tmp_path):
    code = (
        "import sys\n"
        "from tfkmeans.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n"
    )
    printed = run_python(code, tmp_path, timeout=60)
    for flag in (
        "--data",
        "--n-clusters",
        "--init",
        "--seed",
        "--iterations",
        "--tolerance",
        "--output",
        "--animate",
        "--fast",
        "--save",
    ):
        assert flag in printed


def test_python_dash_m_runs_the_same_command(tmp_path):
    finished = subprocess.run(
        [sys.executable, "-m", "tfkmeans", "--n-clusters", "0"],
        cwd=tmp_path,
        env=headless_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2 and "--n-clusters: must be at least 1" in finished.stderr
    assert finished.stderr.startswith("tfkmeans: error: ")


def write(path, text):
    path.write_text(text)
    return path


def test_columns_by_name_and_by_number_give_the_same_clustering(run_command, tmp_path):
    rows = "\n".join(
        f"{i},{x},{y},{'ab'[i % 2]}"
        for i, (x, y) in enumerate([(0, 0), (0, 1), (10, 10), (10, 11), (0, 2), (11, 10)], 1)
    )
    data = write(tmp_path / "points.csv", "id,x,y,label\n" + rows + "\n")
    by_name, by_number = tmp_path / "name.json", tmp_path / "number.json"
    for columns, output in (("x,y", by_name), ("2,3", by_number)):
        finished = run_command(
            "--data", data, "--columns", columns, "--n-clusters", "2", "--init", "kmeans++", "--output", output
        )
        assert finished.returncode == 0, finished.stderr
        assert "2 features: x, y" in finished.stdout
    first, second = json.loads(by_name.read_text()), json.loads(by_number.read_text())
    assert first["feature_names"] == ["x", "y"] and first["centroids"] == second["centroids"]
    assert sorted(map(tuple, np.round(first["centroids"], 3).tolist())) == [(0.0, 1.0), (10.333, 10.333)]


def test_an_id_column_is_pointed_out(run_command, tmp_path):
    data = write(tmp_path / "ids.csv", "id,x\n1,0\n2,5\n3,1\n4,6\n")
    finished = run_command("--data", data, "--n-clusters", "2")
    assert finished.returncode == 0, finished.stderr
    assert (
        "Note: 'id' counts 1, 2, 3, ...: an id rather than a measurement? --columns leaves it out." in finished.stdout
    )


def test_a_semicolon_table_with_decimal_commas(run_command, tmp_path):
    """The delimiter is detected, the decimal mark given; the other table forms: test_input.py."""
    data = write(tmp_path / "decimal.csv", "x;y\n0,0;0\n0,0;1,0\n10;10\n10;11\n")
    output = tmp_path / "result.json"
    finished = run_command(
        "--data", data, "--n-clusters", "2", "--init", "kmeans++", "--decimal", ",", "--output", output
    )
    assert finished.returncode == 0, finished.stderr
    result = json.loads(output.read_text())
    assert sorted(map(tuple, result["centroids"])) == [(0.0, 0.5), (10.0, 10.5)]
    assert result["feature_names"] == ["x", "y"]


def test_missing_drop_leaves_rows_out_and_says_which(run_command, tmp_path):
    data = write(tmp_path / "gaps.csv", "x,y\n0,0\n0,\n10,10\n,5\n10,11\n0,1\n")
    output = tmp_path / "result.json"
    finished = run_command(
        "--data", data, "--n-clusters", "2", "--init", "kmeans++", "--missing", "drop", "--output", output
    )
    assert finished.returncode == 0, finished.stderr
    assert "4 samples (2 rows with gaps left out)" in finished.stdout
    result = json.loads(output.read_text())
    labels = result["nearest_indices"]
    assert len(labels) == 6 and labels[1] is None and labels[3] is None
    assert labels[0] == labels[5] != labels[2] == labels[4]


def test_standardize_reports_centroids_in_the_datas_units(run_command, tmp_path):
    """Two groups apart in a column of large numbers, and apart the other way in a column of
    small ones. Unscaled, k-means splits by the large column only; standardized, both count.
    Either way a converged centroid is the mean of its cluster, in the data's own units."""
    rng = np.random.default_rng(0)
    small = np.concatenate([rng.normal(0, 0.1, 50), rng.normal(1, 0.1, 50)])
    large = np.concatenate([rng.normal(0, 1000, 50), rng.normal(0, 1000, 50)])
    data = tmp_path / "scales.csv"
    data.write_text("small,large\n" + "\n".join(f"{a},{b}" for a, b in zip(small, large)) + "\n")
    samples = np.column_stack([small, large]).astype(np.float32).astype(np.float64)
    for flags, splits_small in (([], False), (["--standardize"], True)):
        output = tmp_path / f"result{len(flags)}.json"
        finished = run_command(
            "--data",
            data,
            "--n-clusters",
            "2",
            "--init",
            "kmeans++",
            "--tolerance",
            "0",
            "--iterations",
            "100",
            "--output",
            output,
            *flags,
        )
        assert finished.returncode == 0, finished.stderr
        result = json.loads(output.read_text())
        labels = np.array(result["nearest_indices"])
        means = [samples[labels == j].mean(axis=0) for j in range(2)]
        np.testing.assert_allclose(result["centroids"], means, rtol=1e-4, atol=1e-4)
        split = {frozenset(np.flatnonzero(labels == j)) for j in range(2)}
        assert (split == {frozenset(range(50)), frozenset(range(50, 100))}) is splits_small


def test_choosing_k_on_iris(run_command, tmp_path):
    """The silhouette prefers 2 clusters, the species number 3: the README's lesson about k."""
    from sklearn.cluster import KMeans as ScikitKMeans
    from sklearn.metrics import silhouette_score

    output = tmp_path / "sweep.json"
    finished = run_command(
        "--data", REPO / "data" / "iris.csv", "--n-clusters", "2:5", "--init", "kmeans++", "--output", output
    )
    assert finished.returncode == 0, finished.stderr
    result = json.loads(output.read_text())
    assert [entry["n_clusters"] for entry in result["sweep"]] == [2, 3, 4, 5]
    assert result["silhouette_sample_size"] == 150
    assert "The silhouette score is highest at k = 2" in finished.stdout
    samples = load_samples(REPO / "data" / "iris.csv")
    for entry in result["sweep"]:
        reference = ScikitKMeans(entry["n_clusters"], n_init=10, random_state=0).fit(samples)
        # The best of 10 k-means++ starts: at worst a little above scikit-learn's best of 10.
        assert reference.inertia_ * 0.999 <= entry["inertia"] <= reference.inertia_ * 1.02
        assert entry["silhouette"] == pytest.approx(silhouette_score(samples, reference.labels_), abs=0.02)
    inertias = [entry["inertia"] for entry in result["sweep"]]
    assert inertias == sorted(inertias, reverse=True)


def test_figures_show_at_most_a_sample_of_large_data():
    from tfkmeans.cli import PLOT_SAMPLES, _plot_selection

    small = np.arange(1000)
    np.testing.assert_array_equal(small[_plot_selection(1000, 700)], small)
    chosen = _plot_selection(PLOT_SAMPLES * 3, 700)
    assert len(chosen) == PLOT_SAMPLES == len(np.unique(chosen)) and np.all(np.diff(chosen) > 0)
    np.testing.assert_array_equal(chosen, _plot_selection(PLOT_SAMPLES * 3, 700))
