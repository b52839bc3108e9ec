"""The tfkmeans command. Most tests run it in this process (``tfkmeans.cli.main``, the code the
installed command runs) from an empty directory, headless; a few run the installed command as
a user does, from a directory that is not the repository."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, console_command, error_lines, headless_environment, run_python
from tfkmeans import kmeans, lesson_blobs, load_samples


def iteration_rows(stdout):
    """The per-iteration rows: iteration, inertia, largest shift, samples changed."""
    rows = []
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0].isdigit() and parts[3].lstrip("-").isdigit():
            rows.append((int(parts[0]), float(parts[1].replace(",", "")), float(parts[2]), int(parts[3])))
    return rows


def strict_json(path):
    """The JSON file, parsed by a parser that refuses NaN and Infinity, as strict ones do."""

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(path.read_text(), parse_constant=refuse)


def lesson_loop(samples, n_clusters, seed, iterations):
    """The lesson's exercise solution, with the lesson's own functions."""
    from functions import assign_to_nearest, choose_random_centroids, update_centroids

    centroids = choose_random_centroids(samples, n_clusters, seed)
    for _ in range(iterations):
        centroids = update_centroids(samples, assign_to_nearest(samples, centroids), n_clusters)
    return centroids.numpy(), assign_to_nearest(samples, centroids).numpy()


def test_default_run_is_the_lessons_exercise_and_repeats(cli, tmp_path):
    first = cli("--output", "result.json")
    assert first.returncode == 0, first.stderr
    # The default printout: the first and the last of the 10 iterations.
    assert [row[0] for row in iteration_rows(first.stdout)] == [1, 10]
    assert "True centroids" in first.stdout and "..." in first.stdout
    assert (
        first.stdout.splitlines()[-1]
        == f"No display to show the figure on, so it was saved to {tmp_path / 'tfkmeans.png'}"
    )
    _, samples = lesson_blobs(3, 500, 2, 70, 700)
    centroids, labels = lesson_loop(samples, 3, 700, 10)
    result = strict_json(tmp_path / "result.json")
    np.testing.assert_allclose(result["centroids"], centroids, atol=1e-4)
    assert result["nearest_indices"] == labels.tolist()
    # The same seed prints the same numbers; the figure goes to a new name, never over the first.
    second = cli()
    assert second.stdout.splitlines()[:-1] == first.stdout.splitlines()[:-2]  # less "Results written to"
    assert second.stdout.splitlines()[-1].endswith("tfkmeans-2.png")
    assert (tmp_path / "tfkmeans.png").read_bytes().startswith(b"\x89PNG")


def test_verbose_prints_every_iteration_and_quiet_only_the_files(cli, tmp_path):
    verbose = cli("-v", "--save", "v.png")
    assert [row[0] for row in iteration_rows(verbose.stdout)] == list(range(1, 11))
    assert len([line for line in verbose.stdout.splitlines() if line.startswith(" " * 11 + "centroid ")]) == 30
    quiet = cli("-q", "--save", "q.png", "--output", "q.json")
    assert quiet.returncode == 0
    assert quiet.stdout.splitlines() == ["Results written to q.json", f"Figure saved to {tmp_path / 'q.png'}"]


@pytest.mark.parametrize("how", [[], ["--stream"], ["--animate", "a.gif"]])
def test_centroids_after_each_iteration_only_with_verbose(cli, tmp_path, how):
    """A streamed run and an animated one keep every iteration's centroids for their own
    reasons; the default printout still shows only the iteration rows, as -v's help says."""
    np.save(tmp_path / "s.npy", np.random.default_rng(0).normal(size=(3000, 3)).astype(np.float32))
    arguments = ["--data", "s.npy", "--n-clusters", "3", "--iterations", "3", "--save", "s.png", *how]
    centroid_rows = [line for line in cli(*arguments).stdout.splitlines() if line.startswith(" " * 11 + "centroid ")]
    assert centroid_rows == []
    verbose = cli(*arguments, "-v").stdout.splitlines()
    assert len([line for line in verbose if line.startswith(" " * 11 + "centroid ")]) == 3 * 3


@pytest.mark.parametrize("how", [[], ["--stream"]])
def test_eleven_centroids_line_up_under_their_column_names(cli, tmp_path, how):
    """The header "centroid 10" is a character wider than "centroid 9": the numbers still sit
    in the columns their header names."""
    np.save(tmp_path / "s.npy", np.random.default_rng(0).normal(size=(3000, 3)).astype(np.float32))
    arguments = ["--data", "s.npy", "--n-clusters", "11", "--iterations", "2", "--save", "s.png", "-v", *how]
    lines = cli(*arguments).stdout.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("Initial centroids"))
    ends = [match.end() for match in re.finditer(r"[^,]+", lines[header + 1])]  # each name's last character
    rows = [line for line in lines if re.match(r" +centroid +\d+: \(", line)]
    assert len(rows) == 11 * 4  # the start, each of 2 iterations, the final ones
    for row in rows:  # each iteration's centroids are indented under its row, without a header
        numbers = [match.end() for match in re.finditer(r"-?\d+\.\d{3}", row)][:3]
        indent = len(row) - len(row.lstrip()) - 2
        assert numbers == [end + indent for end in ends], (lines[header + 1], row)


def test_wide_data_prints_a_short_summary(cli, tmp_path):
    """64 features and 10 clusters: no 760-character lines, no table of 640 numbers."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "wide.npy", rng.normal(size=(500, 64)).astype(np.float32))
    finished = cli("--data", "wide.npy", "--n-clusters", "10", "--iterations", "5", "--save", "w.png")
    assert finished.returncode == 0, finished.stderr
    lines = finished.stdout.splitlines()
    printed = [line for line in lines if not line.startswith("Figure saved to")]  # a path as long as it is
    assert len(lines) <= 20 and max(map(len, printed)) <= 120, finished.stdout
    assert "Final centroids: 10 x 64, too many to print here" in finished.stdout
    assert "column 1, column 2" in finished.stdout and "(64 in all)" in finished.stdout


def test_tolerance_stops_early_and_says_so(cli, tmp_path):
    finished = cli("-v", "--tolerance", "0", "--iterations", "100", "--output", "r.json")
    assert finished.returncode == 0, finished.stderr
    result = strict_json(tmp_path / "r.json")
    rows = iteration_rows(finished.stdout)
    assert result["converged"] is True and result["iterations"] == len(rows) < 100
    assert rows[-1][3] == 0  # no sample changed cluster in the last iteration
    assert f"converged after {len(rows)} iterations" in finished.stdout


def test_the_lessons_fixed_count_says_where_the_run_converged(cli, tmp_path):
    """Without --tolerance the lesson's 10 iterations all run; the report names the first
    iteration from which no sample changed cluster, from the iteration table itself."""
    finished = cli("-v", "--save", "f.png")
    rows = iteration_rows(finished.stdout)
    assert len(rows) == 10 and rows[-1][3] == 0
    settled = next(row[0] for row in rows if all(later[3] == 0 for later in rows[row[0] - 1 :]))
    assert settled < 10
    assert f"converged at iteration {settled}, and ran the 10 asked for" in finished.stdout
    assert "converged after" not in finished.stdout


def test_iteration_cap_without_convergence_is_reported(cli):
    finished = cli("--tolerance", "0", "--iterations", "1")
    assert finished.returncode == 0, finished.stderr
    assert "stopped after 1 iterations without converging" in finished.stdout


def test_output_json_round_trips_and_its_inertia_matches(cli, tmp_path):
    output = tmp_path / "result.json"
    finished = cli("--init", "kmeans++", "--n-clusters", "4", "--output", output)
    assert finished.returncode == 0, finished.stderr
    result = strict_json(output)
    centroids = np.array(result["centroids"])
    nearest = np.array(result["nearest_indices"])
    assert centroids.shape == (4, 2) and nearest.shape == (2000,)
    assert result["iterations"] == 10 == len(result["inertia"])
    assert isinstance(result["converged"], bool)
    assert result["settings"]["init"] == "k-means++" and result["settings"]["n_clusters"] == 4
    assert result["settings"]["iterations"] == 10 and result["settings"]["n_init"] == 1
    # Recompute the samples and check that the file describes a real clustering of them.
    _, samples = lesson_blobs(4, 500, 2, 70, 700)
    samples = samples.astype(np.float64)
    distances = ((samples[:, None, :] - centroids[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(nearest, distances.argmin(axis=1))
    assert result["inertia"][-1] == pytest.approx(distances.min(axis=1).sum(), rel=1e-5)
    # The inertia, computed in float64, never rises.
    assert all(b <= a for a, b in zip(result["inertia"], result["inertia"][1:]))


def test_both_spellings_of_k_means_plus_plus(cli, tmp_path):
    cli("--init", "kmeans++", "--output", "a.json", "--save", "a.png")
    cli("--init", "k-means++", "--output", "b.json", "--save", "b.png")
    assert strict_json(tmp_path / "a.json")["centroids"] == strict_json(tmp_path / "b.json")["centroids"]


def test_n_init_keeps_the_best_start(cli, tmp_path):
    """Five random starts: the result is the best of the five runs that kmeans() gives from the
    starts with seeds 700 to 704."""
    from tfkmeans import random_centroids

    finished = cli("--n-clusters", "6", "--n-init", "5", "--iterations", "30", "--output", "best.json")
    assert finished.returncode == 0, finished.stderr
    assert "the best of 5 starts (seeds 700 to 704)" in finished.stdout
    _, samples = lesson_blobs(6, 500, 2, 70, 700)
    runs = [kmeans(samples, random_centroids(samples, 6, seed), 30, None) for seed in range(700, 705)]
    result = strict_json(tmp_path / "best.json")
    assert result["inertia"][-1] == pytest.approx(min(run.inertia for run in runs), rel=1e-6)
    assert len({round(run.inertia, 2) for run in runs}) > 1  # the starts do differ
    assert result["settings"]["n_init"] == 5


def test_animation_has_one_frame_per_iteration(cli, tmp_path):
    finished = cli("--iterations", "6", "--animate", "k.gif", "--save", "k.png")
    assert finished.returncode == 0, finished.stderr
    assert "Animation written to k.gif (7 frames)" in finished.stdout
    with Image.open(tmp_path / "k.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames == 7  # the start, then one per iteration


def test_own_data_csv_and_npy(cli, tmp_path):
    finished = cli("--data", REPO / "data" / "iris.csv", "--output", "csv.json", "--save", "a.png")
    assert finished.returncode == 0, finished.stderr
    assert "True centroids" not in finished.stdout
    np.save(tmp_path / "iris.npy", load_samples(REPO / "data" / "iris.csv"))
    finished = cli("--data", "iris.npy", "--output", "npy.json", "--save", "b.png")
    assert finished.returncode == 0, finished.stderr
    csv_json, npy_json = strict_json(tmp_path / "csv.json"), strict_json(tmp_path / "npy.json")
    assert len(csv_json["nearest_indices"]) == 150 and np.array(csv_json["centroids"]).shape == (3, 4)
    assert csv_json["centroids"] == npy_json["centroids"]


# Bad input on the command line: one line on stderr naming the problem, exit status 2, and no
# output file written or changed.
BAD_FILES = {
    "empty.csv": "",
    "labels.csv": "id,height,species\n1,1.5,a\n2,1.7,b\n3,1.6,a\n",
    "semicolons.csv": "a;b\n1,5;2\n3,5;4\n5,5;6\n",
    "header_only.csv": "a,b\n",
    "word.csv": "x,y\n1,2\n3,banana\n",
    "ragged.csv": "1,2\n3,4,5\n",
    "hole.csv": "1,2\n3,\n",
    "nan.csv": "1,2\nnan,4\n",
    "inf.csv": "1,2\n3,inf\n",
    "two_rows.csv": "1,2\n3,4\n",
    "zero_row.csv": "a,b\n1,2\n0,0\n3,4\n5,1\n",
    "data.dat": "1,2\n",
}

BAD_RUNS = [
    (["--data", "missing.csv"], "missing.csv: no such file"),
    (
        ["--data", "labels.csv", "--columns", "height,species"],
        "labels.csv: column 3 ('species') is not numeric: it holds text (line 2: 'a'); choose the columns to cluster",
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
    (["--metric", "manhattan"], "argument --metric: invalid choice: 'manhattan' (choose from 'euclidean', 'cosine')"),
    (["--data", "zero_row.csv", "--metric", "cosine"], "--metric cosine: 1 row is all zeros (the first: data row 2)"),
    (["--n-clusters", "2:4", "--animate", "k.gif"], "--animate goes with one cluster count, not a range"),
    (["--data", "two_rows.csv", "--delimiter", "ab"], "--delimiter 'ab': the delimiter must be one character"),
    (["--data", "empty.csv"], "empty.csv: the file is empty"),
    (["--data", "header_only.csv"], "header line (1) but no data"),
    (
        ["--data", "word.csv"],
        "word.csv, line 3, column 2 ('y'): 'banana' is not a number; if it marks a missing value, add --na-values banana",
    ),
    (["--data", "ragged.csv"], "ragged.csv, line 2: 3 fields, but line 1 (the first line) has 2"),
    (
        ["--data", "hole.csv"],
        "hole.csv, line 2, column 2: empty cell; --missing drop leaves out the rows that have one",
    ),
    (["--data", "nan.csv"], "nan.csv, line 2, column 1: 'nan', a missing value; --missing drop leaves out"),
    (["--data", "inf.csv"], "inf.csv, line 2, column 2: 'inf' is not a finite number"),
    (["--data", "two_rows.csv", "--n-clusters", "3"], "2 samples is fewer than --n-clusters 3"),
    (["--data", "bad.npy"], "bad.npy: expected a 2-D array"),
    (["--data", "data.dat"], "unknown file type '.dat'; use .csv, .tsv, .txt, .npy"),
    (["--data", "two_rows.csv", "--n-features", "3"], "--n-features sets up generated samples"),
    (["--n-clusters", "0"], "--n-clusters: must be at least 1, got 0"),
    (["--iterations", "0"], "--iterations: must be at least 1, got 0"),
    (["--tolerance", "-1"], "--tolerance: must be a finite number >= 0"),
    (["--init", "best"], "invalid choice: 'best'"),
    (["--n-samples-per-cluster", "0"], "--n-samples-per-cluster: must be at least 1"),
    (["--n-clusters", "three"], "expected a positive integer, got 'three'"),
    (["--save", "figure.xyz"], "--save figure.xyz: the file name must end in"),
    (["--save", ""], "--save '': the file name must end in ."),
    (["--data", "gaps.npy", "--decimal", ","], "--decimal reads a table (.csv, .tsv, .txt); --data gaps.npy is a .npy"),
    (["--data", "gaps.npy", "--encoding", "cp1252"], "--encoding reads a table (.csv, .tsv, .txt); --data gaps.npy"),
    (["--data", "gaps.npy", "--stream", "--delimiter", ";"], "--delimiter reads a table"),
    (["--output", "no_such_directory/result.json"], "does not exist"),
    (["--seed", "18446744073709551616"], "--seed: must be below 9,223,372,036,854,775,808"),
    (["--seed", "-1"], "--seed: must be at least 0"),
    (["--embiggen-factor", "1e39"], "--embiggen-factor 1e+39: too large for float32"),
    (["--plot-columns", "1"], "--plot-columns 1: give two columns"),
    (["--data", "two_rows.csv", "--n-clusters", "1", "--plot-columns", "1,9"], "no clustered column '9'"),
    (["-q", "-v"], "not allowed with argument"),
    # Numbers are ASCII decimals: int() and float() take "٣" and "1_000", str.isdigit() takes "²".
    (["--n-clusters", "٣"], "--n-clusters: expected a positive integer, got '٣'"),
    (["--n-clusters", "2:٥"], "--n-clusters: expected a positive integer, got '٥'"),
    (["--seed", "1_000"], "--seed: expected a non-negative integer, got '1_000'"),
    (["--iterations", " 5"], "--iterations: expected a positive integer, got ' 5'"),
    (["--iterations", "9" * 5000], "--iterations: far too large: '999"),
    (["--tolerance", "١.٥"], "--tolerance: expected a number, got '١.٥'"),
    (["--data", "two_rows.csv", "--columns", "²"], "no column '²' (the columns are 'column 1', 'column 2'"),
    (["--data", "two_rows.csv", "--columns", "column ١"], "no column 'column ١'"),
    (["--data", "two_rows.csv", "--n-clusters", "1", "--plot-columns", "²,1"], "no clustered column '²'"),
    # Delimiters and decimal marks that cannot be one.
    (["--data", "two_rows.csv", "--delimiter", "\n"], "--delimiter '\\n': the delimiter cannot be a newline"),
    (["--data", "two_rows.csv", "--delimiter", "\r"], "--delimiter '\\r': the delimiter cannot be a carriage return"),
    (["--data", "two_rows.csv", "--delimiter", '"'], "the delimiter cannot be the quote character"),
    (["--data", "two_rows.csv", "--delimiter", ""], "--delimiter '': the delimiter must be one character, got ''"),
    (["--data", "two_rows.csv", "--delimiter", "7"], "the delimiter cannot be '7': numbers are written with it"),
    (["--data", "two_rows.csv", "--delimiter", ",", "--decimal", ","], "cannot both be ','"),
    (["--data", "two_rows.csv", "--decimal", "e"], "--decimal 'e': the decimal mark cannot be 'e'"),
    (["--data", "two_rows.csv", "--decimal", "\n"], "--decimal '\\n': the decimal mark cannot be a newline"),
    (["--data", "two_rows.csv", "--decimal", ""], "--decimal '': the decimal mark must be one character"),
    (["--data", "gaps.npy", "--na-values", "?"], "--na-values reads a table (.csv, .tsv, .txt)"),
]


@pytest.mark.parametrize("args, message", BAD_RUNS, ids=[" ".join(args)[:60] for args, _ in BAD_RUNS])
def test_bad_input_one_line_exit_2_no_output(cli, tmp_path, args, message):
    for name, text in BAD_FILES.items():
        (tmp_path / name).write_text(text)
    np.save(tmp_path / "gaps.npy", np.array([[1.0, 2.0], [3.0, np.nan], [5.0, 6.0]]))
    np.save(tmp_path / "bad.npy", np.arange(5.0))
    existing = tmp_path / "existing.json"
    existing.write_text('{"keep": true}\n')
    before = sorted(path.name for path in tmp_path.iterdir())

    # Ask for output files too (unless the flag under test is one of them): none may appear.
    outputs = [] if "--output" in args or "--save" in args else ["--output", existing, "--save", "figure.png"]
    finished = cli(*outputs, *args)

    assert finished.returncode == 2
    lines = error_lines(finished.stderr)
    assert len(lines) == 1 and "Traceback" not in finished.stderr, finished.stderr
    assert lines[0].startswith("tfkmeans: error: ") and message in lines[0], lines[0]
    assert existing.read_text() == '{"keep": true}\n'
    assert sorted(path.name for path in tmp_path.iterdir()) == before


def test_output_files_get_ordinary_permissions(cli, tmp_path):
    """Files are written through a temporary file, but end up like any new file (umask)."""
    import os

    finished = cli("--save", "clusters.png", "--output", "result.json", "--labels", "labels.npy")
    assert finished.returncode == 0, finished.stderr
    umask = os.umask(0)
    os.umask(umask)
    for name in ("clusters.png", "result.json", "labels.npy"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clusters.png", "labels.npy", "result.json"]


def test_iris_as_the_lesson_loop_clusters_it(cli, tmp_path):
    """The default run (random start, seed 700, 10 iterations) is the lesson's exercise solution
    applied to your own data."""
    finished = cli("--data", REPO / "data" / "iris.csv", "--output", "iris.json", "--labels", "labels.npy")
    assert finished.returncode == 0, finished.stderr
    samples = load_samples(REPO / "data" / "iris.csv")
    centroids, labels = lesson_loop(samples, 3, 700, 10)
    result = strict_json(tmp_path / "iris.json")
    np.testing.assert_allclose(result["centroids"], centroids, atol=1e-5)
    assert result["nearest_indices"] == labels.tolist()
    written = np.load(tmp_path / "labels.npy")  # --labels: the same clusters, as int32 in a .npy file
    assert written.dtype == np.int32 and written.tolist() == result["nearest_indices"]


def test_without_a_display_the_figure_never_replaces_a_file(cli, tmp_path):
    (tmp_path / "tfkmeans.png").write_bytes(b"mine")
    finished = cli("--iterations", "1")
    assert finished.returncode == 0, finished.stderr
    assert (tmp_path / "tfkmeans.png").read_bytes() == b"mine"
    assert (tmp_path / "tfkmeans-2.png").read_bytes().startswith(b"\x89PNG")
    assert str(tmp_path / "tfkmeans-2.png") in finished.stdout


def test_duplicate_centroids_are_warned_about(cli, tmp_path):
    """Three distinct points, four clusters: one centroid is left with no samples."""
    (tmp_path / "three.csv").write_text("x,y\n0,0\n0,0\n5,5\n5,5\n9,0\n9,0\n")
    finished = cli("--data", "three.csv", "--n-clusters", "4", "--init", "k-means++", "--save", "d.png")
    assert finished.returncode == 0, finished.stderr
    assert "tfkmeans: warning: only 3 distinct clusters for --n-clusters 4" in finished.stderr


def write(path, text):
    path.write_text(text)
    return path


def test_columns_by_name_and_by_number_give_the_same_clustering(cli, tmp_path):
    rows = "\n".join(
        f"{i},{x},{y},{'ab'[i % 2]}"
        for i, (x, y) in enumerate([(0, 0), (0, 1), (10, 10), (10, 11), (0, 2), (11, 10)], 1)
    )
    write(tmp_path / "points.csv", "id,x,y,label\n" + rows + "\n")
    for columns, output in (("x,y", "name.json"), ("2,3", "number.json")):
        finished = cli(
            "--data", "points.csv", "--columns", columns, "--n-clusters", "2", "--init", "kmeans++",
            "--output", output, "--save", output.replace("json", "png"),
        )  # fmt: skip
        assert finished.returncode == 0, finished.stderr
        assert "2 features: x, y" in finished.stdout
    first, second = strict_json(tmp_path / "name.json"), strict_json(tmp_path / "number.json")
    assert first["feature_names"] == ["x", "y"] and first["centroids"] == second["centroids"]
    assert sorted(map(tuple, np.round(first["centroids"], 3).tolist())) == [(0.0, 1.0), (10.333, 10.333)]


def test_an_id_column_is_left_out_of_a_table_and_pointed_out_in_a_npy_file(cli, tmp_path):
    """A table's column that counts its rows is no measurement: without --columns it is left
    out, and said so; --columns clusters it when asked. A .npy file's is only pointed out."""
    write(tmp_path / "ids.csv", "id,x\n1,0\n2,5\n3,1\n4,6\n")
    finished = cli(
        "--data", "ids.csv", "--n-clusters", "2", "--init", "k-means++", "--output", "a.json", "--save", "i.png"
    )
    assert finished.returncode == 0, finished.stderr
    assert "Note: not clustered: 'id' (counts the rows 1, 2, 3, ...: an id); --columns chooses" in finished.stdout
    result = strict_json(tmp_path / "a.json")
    assert result["feature_names"] == ["x"] and sorted(result["centroids"]) == [[0.5], [5.5]]
    finished = cli(
        "--data", "ids.csv", "--columns", "id,x", "--n-clusters", "2", "--output", "b.json", "--save", "j.png"
    )
    assert finished.returncode == 0 and "not clustered" not in finished.stdout, finished.stderr
    assert strict_json(tmp_path / "b.json")["feature_names"] == ["id", "x"]
    np.save(tmp_path / "ids.npy", np.array([[1, 0], [2, 5], [3, 1], [4, 6]], np.float32))
    finished = cli("--data", "ids.npy", "--n-clusters", "2", "--output", "c.json", "--save", "k.png")
    assert finished.returncode == 0, finished.stderr
    assert "Note: 'column 1' counts 1, 2, 3, ...: an id rather than a measurement? --columns leaves it out." in (
        finished.stdout
    )
    assert strict_json(tmp_path / "c.json")["feature_names"] == ["column 1", "column 2"]


def test_a_semicolon_table_with_decimal_commas(cli, tmp_path):
    """The delimiter is detected, the decimal mark given; the other table forms: test_input.py."""
    write(tmp_path / "decimal.csv", "x;y\n0,0;0\n0,0;1,0\n10;10\n10;11\n")
    finished = cli(
        "--data", "decimal.csv", "--n-clusters", "2", "--init", "kmeans++", "--decimal", ",",
        "--output", "result.json", "--save", "s.png",
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    result = strict_json(tmp_path / "result.json")
    assert sorted(map(tuple, result["centroids"])) == [(0.0, 0.5), (10.0, 10.5)]
    assert result["feature_names"] == ["x", "y"]
    # The settings it was read with, the detected delimiter among them.
    assert {key: result["settings"][key] for key in ("delimiter", "decimal", "encoding")} == {
        "delimiter": ";",
        "decimal": ",",
        "encoding": "utf-8",
    }


def test_encoding_reads_a_spreadsheet_export_and_its_absence_says_how(cli, tmp_path):
    (tmp_path / "export.csv").write_bytes("id;Größe;Gewicht\nA;1,5;2\nB;1,6;2,1\nC;9;9\nD;9,2;9,1\n".encode("cp1252"))
    arguments = ["--data", "export.csv", "--columns", "Größe,Gewicht", "--decimal", ",", "--n-clusters", "2"]
    finished = cli(*arguments, "--save", "e.png")
    assert finished.returncode == 2
    assert error_lines(finished.stderr) == [
        "tfkmeans: error: --data export.csv: not a text file in UTF-8; from a spreadsheet on Windows? "
        "try --encoding cp1252 (or latin-1)"
    ]
    finished = cli(*arguments, "--encoding", "cp1252", "--output", "e.json", "--save", "e.png")
    assert finished.returncode == 0, finished.stderr
    result = strict_json(tmp_path / "e.json")
    assert result["feature_names"] == ["Größe", "Gewicht"]
    assert sorted(map(tuple, np.round(result["centroids"], 4))) == [(1.55, 2.05), (9.1, 9.05)]
    for args, message in [
        (["--data", "export.csv", "--encoding", "klingon"], "--encoding 'klingon': not a text encoding Python knows"),
        (["--data", "export.csv", "--encoding", "rot13"], "--encoding 'rot13': not a text encoding Python knows"),
        (["--encoding", "cp1252"], "--encoding reads your own data, so it goes with --data"),
    ]:
        finished = cli(*args)
        assert finished.returncode == 2 and message in error_lines(finished.stderr)[0]


def test_output_closed_early_stops_with_one_line(monkeypatch, capsys, tmp_path):
    """tfkmeans ... | head: when what it prints to goes away, it stops with 141 (as a tool
    killed by SIGPIPE), one line on stderr, and no traceback."""
    from tfkmeans.cli import main

    class Closed:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdout", Closed())
    status = main(["--n-clusters", "2", "--save", "f.png"])
    assert status == 141
    lines = error_lines(capsys.readouterr().err)
    assert lines == ["tfkmeans: stopped: its output was closed (piped into head?)"]


def test_missing_drop_marks_the_rows_it_left_out(cli, tmp_path):
    write(tmp_path / "gaps.csv", "x,y\n0,0\n0,\n10,10\n,5\n10,11\n0,1\n")
    finished = cli(
        "--data", "gaps.csv", "--n-clusters", "2", "--init", "kmeans++", "--missing", "drop",
        "--output", "result.json", "--labels", "labels.npy", "--save", "g.png",
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    assert "4 samples (2 rows with gaps left out)" in finished.stdout
    write(tmp_path / "gap.csv", "x,y\n0,0\n0,\n10,10\n10,11\n0,1\n")
    finished = cli("--data", "gap.csv", "--n-clusters", "2", "--missing", "drop", "--save", "h.png")
    assert "4 samples (1 row with gaps left out)" in finished.stdout
    labels = strict_json(tmp_path / "result.json")["nearest_indices"]
    assert len(labels) == 6 and labels[1] is None and labels[3] is None
    assert labels[0] == labels[5] != labels[2] == labels[4]
    # The labels file: one entry per data row, in the file's order, -1 for a row left out.
    written = np.load(tmp_path / "labels.npy")
    assert written.dtype == np.int32 and written.tolist() == [-1 if label is None else label for label in labels]


def test_standardize_reports_centroids_in_the_datas_units(cli, tmp_path):
    """Two groups apart in a column of large numbers, and apart the other way in a column of
    small ones. Unscaled, k-means splits by the large column only; standardized, both count.
    Either way a converged centroid is the mean of its cluster, in the data's own units."""
    rng = np.random.default_rng(0)
    small = np.concatenate([rng.normal(0, 0.1, 50), rng.normal(1, 0.1, 50)])
    large = np.concatenate([rng.normal(0, 1000, 50), rng.normal(0, 1000, 50)])
    (tmp_path / "scales.csv").write_text("small,large\n" + "\n".join(f"{a},{b}" for a, b in zip(small, large)) + "\n")
    samples = np.column_stack([small, large]).astype(np.float32).astype(np.float64)
    for flags, splits_small in (([], False), (["--standardize"], True)):
        output = f"result{len(flags)}.json"
        finished = cli(
            "--data", "scales.csv", "--n-clusters", "2", "--init", "kmeans++", "--tolerance", "0",
            "--iterations", "100", "--output", output, "--save", "s.png", *flags,
        )  # fmt: skip
        assert finished.returncode == 0, finished.stderr
        result = strict_json(tmp_path / output)
        labels = np.array(result["nearest_indices"])
        means = [samples[labels == j].mean(axis=0) for j in range(2)]
        np.testing.assert_allclose(result["centroids"], means, rtol=1e-4, atol=1e-4)
        split = {frozenset(np.flatnonzero(labels == j)) for j in range(2)}
        assert (split == {frozenset(range(50)), frozenset(range(50, 100))}) is splits_small
        assert result["settings"]["standardize"] is bool(flags)


def test_choosing_k_on_iris(cli, tmp_path):
    """The silhouette prefers 2 clusters, the species number 3: the README's lesson about k.
    --labels writes the clusters of the count it prefers; the JSON the settings used."""
    from sklearn.cluster import KMeans as ScikitKMeans
    from sklearn.metrics import silhouette_score

    finished = cli(
        "--data", REPO / "data" / "iris.csv", "--n-clusters", "2:5", "--init", "kmeans++",
        "--output", "sweep.json", "--labels", "sweep.npy", "--save", "sweep.png",
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    result = strict_json(tmp_path / "sweep.json")
    assert [entry["n_clusters"] for entry in result["sweep"]] == [2, 3, 4, 5]
    assert result["silhouette_sample_size"] == 150 and result["chosen_n_clusters"] == 2
    assert result["settings"]["iterations"] == 300 and result["settings"]["n_init"] == 10
    assert "The silhouette score is highest at k = 2. The inertia" in finished.stdout  # 2 is no edge
    samples = load_samples(REPO / "data" / "iris.csv")
    for entry in result["sweep"]:
        reference = ScikitKMeans(entry["n_clusters"], n_init=10, random_state=0).fit(samples)
        # The best of 10 k-means++ starts: at worst a little above scikit-learn's best of 10.
        assert reference.inertia_ * 0.999 <= entry["inertia"] <= reference.inertia_ * 1.02
        assert entry["silhouette"] == pytest.approx(silhouette_score(samples, reference.labels_), abs=0.02)
    inertias = [entry["inertia"] for entry in result["sweep"]]
    assert inertias == sorted(inertias, reverse=True)
    labels = np.load(tmp_path / "sweep.npy")
    assert labels.shape == (150,) and len(np.unique(labels)) == 2
    assert silhouette_score(samples, labels) == pytest.approx(result["sweep"][0]["silhouette"], abs=1e-4)
    assert "Labels written to sweep.npy (k = 2)" in finished.stdout


@pytest.mark.parametrize("tolerance", [[], ["--tolerance", "0.05"]])
def test_a_range_fits_each_k_as_one_k_is_fitted(cli, tmp_path, tolerance):
    """One path: each count of a range is the fit the command makes of that count alone, with
    the same starts, empty-cluster rule and stopping rule (a range stops each fit once no
    sample changes cluster, as --tolerance 0, unless told otherwise)."""
    common = ["--data", REPO / "data" / "iris.csv", "--init", "k-means++", "--n-init", "3", "--iterations", "50"]
    common += tolerance or ["--tolerance", "0"]
    swept = cli(
        *common[: len(common) - (0 if tolerance else 2)], "--n-clusters", "2:4", "--output", "s.json", "--save", "s.png"
    )
    assert swept.returncode == 0, swept.stderr
    entries = {entry["n_clusters"]: entry for entry in strict_json(tmp_path / "s.json")["sweep"]}
    for k in (2, 3, 4):
        single = cli(*common, "--n-clusters", str(k), "--output", f"{k}.json", "--save", f"{k}.png")
        assert single.returncode == 0, single.stderr
        result = strict_json(tmp_path / f"{k}.json")
        assert entries[k]["inertia"] == result["inertia"][-1]
        assert entries[k]["n_iter"] == result["iterations"]


def test_a_best_k_at_the_edge_of_the_range_is_flagged(cli, tmp_path):
    """Six tight, far-apart groups: tried from 2 to 4 the silhouette rises to the last count
    tried; tried from 8 to 10 it is best at the first."""
    rng = np.random.default_rng(1)
    centres = rng.uniform(-100, 100, size=(6, 2))
    samples = centres[np.arange(300) % 6] + rng.normal(size=(300, 2))
    np.save(tmp_path / "six.npy", samples.astype(np.float32))
    low = cli("--data", "six.npy", "--n-clusters", "2:4", "--init", "k-means++", "--save", "l.png")
    assert "highest at k = 4, the largest k tried: a larger k may score higher still" in low.stdout
    high = cli("--data", "six.npy", "--n-clusters", "8:10", "--init", "k-means++", "--save", "h.png")
    assert "highest at k = 8, the smallest k tried: a smaller k may score higher still" in high.stdout


def test_plot_columns_by_name(cli, tmp_path, monkeypatch):
    """--plot-columns chooses the axes; with more than two features and no choice, the first
    two principal components (the projection itself: test_plotting.py)."""
    from tfkmeans import _report

    chosen = []
    original = _report.Reporter.projection

    def record(self, data, plotted):
        projection = original(self, data, plotted)
        chosen.append(projection.labels)
        return projection

    monkeypatch.setattr(_report.Reporter, "projection", record)
    iris = REPO / "data" / "iris.csv"
    assert cli("--data", iris, "--plot-columns", "petal_length_cm,4", "--save", "p.png").returncode == 0
    assert cli("--data", iris, "--save", "q.png").returncode == 0
    assert chosen[0] == ("petal_length_cm", "petal_width_cm")
    assert chosen[1][0].startswith("principal component 1 (") and chosen[1][1].startswith("principal component 2 (")


def test_a_sweep_shows_a_progress_bar_on_a_terminal(cli, tmp_path, monkeypatch):
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    finished = cli("--n-clusters", "2:4", "--save", "s.png")
    assert finished.returncode == 0
    assert "fitting k:" in terminal.getvalue() and "/3 [" in terminal.getvalue()


# --- the installed command, as a user runs it -----------------------------------------------


@pytest.mark.slow  # a fresh process
def test_installed_command_runs_from_another_directory(tmp_path):
    finished = subprocess.run(
        [console_command(), "--data", REPO / "data" / "iris.csv", "--init", "k-means++", "--output", "iris.json"],
        cwd=tmp_path,
        env=headless_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    assert error_lines(finished.stderr) == []  # no TensorFlow start-up lines
    assert strict_json(tmp_path / "iris.json")["iterations"] == 10
    assert re.search(r"saved to .*tfkmeans\.png$", finished.stdout.strip())


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
    for flag in ("--data", "--n-clusters", "--init", "--n-init", "--seed", "--iterations", "--tolerance"):
        assert flag in printed
    for flag in ("--output", "--labels", "--animate", "--save", "--plot-columns", "--verbose", "--quiet"):
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


def test_figures_show_at_most_a_sample_of_large_data():
    from tfkmeans._report import PLOT_SAMPLES, plot_selection

    small = np.arange(1000)
    np.testing.assert_array_equal(small[plot_selection(1000, 700)], small)
    chosen = plot_selection(PLOT_SAMPLES * 3, 700)
    assert len(chosen) == PLOT_SAMPLES == len(np.unique(chosen)) and np.all(np.diff(chosen) > 0)
    np.testing.assert_array_equal(chosen, plot_selection(PLOT_SAMPLES * 3, 700))


@pytest.mark.parametrize("stream", [[], ["--stream"]])
def test_float64_values_beyond_float32s_range_are_named_as_such(cli, tmp_path, stream):
    """The command computes in float32: a float64 value beyond its range is refused with that
    reason, read whole or streamed (where it would otherwise pass for an infinity)."""
    X = np.random.default_rng(0).normal(size=(50, 2))
    X[3] = [1e200, 0.0]
    np.save(tmp_path / "big.npy", X)
    finished = cli("--data", "big.npy", "--n-clusters", "2", *stream)
    assert finished.returncode == 2
    lines = error_lines(finished.stderr)
    assert len(lines) == 1 and "float32" in lines[0] and "big.npy" in lines[0], finished.stderr


def test_values_near_float32s_limit_are_clustered_exactly_and_written_as_strict_json(cli, tmp_path):
    """Squares of 1e19 overflow float32: the run computes in float64, the inertia stays finite
    and the JSON strict (it once held Infinity)."""
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(-1, 0.1, (50, 2)), rng.normal(1, 0.1, (50, 2))]) * 1e19
    np.save(tmp_path / "huge.npy", X.astype(np.float32))
    finished = cli(
        "--data", "huge.npy", "--n-clusters", "2", "--init", "k-means++", "--output", "h.json", "--save", "h.png"
    )
    assert finished.returncode == 0, finished.stderr
    result = strict_json(tmp_path / "h.json")
    assert all(np.isfinite(result["inertia"])) and result["inertia"][-1] > 0
    labels = np.array(result["nearest_indices"])
    assert sorted(np.bincount(labels).tolist()) == [50, 50] and len(set(labels[:50])) == 1


# --- every count checked before any work ---------------------------------------------------------


@pytest.fixture
def nothing_runs(monkeypatch):
    """The command's work (generating blobs, reading the data, clustering) fails the test if
    it starts: what is refused must be refused while the command line is checked."""
    from tfkmeans import _command

    def run(settings):
        raise AssertionError("the command started its work")

    monkeypatch.setattr(_command, "run", run)


COUNTS = [
    (["--n-clusters", "1000000000"], "the lesson's blobs would be 1,000,000,000 blobs (--n-clusters) x 500 samples"),
    (["--n-clusters", "2:1000000000"], "1500 generated samples is fewer than --n-clusters 1000000000"),
    (
        ["--n-clusters", "2:2000", "--n-samples-per-cluster", "10"],
        "30 generated samples is fewer than --n-clusters 2000",
    ),
    (["--n-samples-per-cluster", "100000000"], "= 600,000,000 values, more than the 67,108,864 the command generates"),
    (["--n-features", "100000000"], "x 100,000,000 features (--n-features) = 150,000,000,000 values"),
    (["--data", "five.npy", "--n-clusters", "6"], "five.npy: 5 samples is fewer than --n-clusters 6"),
    (
        ["--data", "five.npy", "--n-clusters", "2:1000000000"],
        "five.npy: 5 samples is fewer than --n-clusters 1000000000",
    ),
    (["--data", "five.npy", "--n-clusters", "6", "--stream"], "five.npy: 5 samples is fewer than --n-clusters 6"),
]


@pytest.mark.parametrize("args, message", COUNTS, ids=[" ".join(args) for args, _ in COUNTS])
def test_counts_are_refused_before_any_work(cli, tmp_path, nothing_runs, args, message):
    """A count larger than the samples there will be (generated, or the rows a .npy file's
    header gives) is refused at once: the blobs were generated first, and a range of a billion
    counts took 136 s to refuse."""
    np.save(tmp_path / "five.npy", np.zeros((5, 2), np.float32))
    finished = cli(*args)
    assert finished.returncode == 2
    (line,) = error_lines(finished.stderr)
    assert message in line, line


@pytest.mark.parametrize("args", [["--n-clusters", "4"], ["--data", "five.npy", "--n-clusters", "2:5"]])
def test_counts_that_fit_start_the_work(cli, tmp_path, nothing_runs, args):
    """The check above refuses only what does not fit (and the fixture does stop the work)."""
    np.save(tmp_path / "five.npy", np.zeros((5, 2), np.float32))
    with pytest.raises(AssertionError, match="the command started its work"):
        cli(*args)


# --- the figure's backend -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "backend, message",
    [
        ("nosuch", "MPLBACKEND='nosuch': not a matplotlib backend (agg, tkagg, qtagg, ...); unset MPLBACKEND"),
        ("module://no_such_module", "MPLBACKEND='module://no_such_module': there is no module 'no_such_module'"),
    ],
)
def test_an_unknown_mplbackend_is_one_line(cli, monkeypatch, nothing_runs, backend, message):
    monkeypatch.setenv("MPLBACKEND", backend)
    finished = cli("--iterations", "1")
    assert finished.returncode == 2
    (line,) = error_lines(finished.stderr)
    assert line.startswith(f"tfkmeans: error: {message}"), line


def test_an_unknown_mplbackend_in_a_fresh_process(tmp_path):
    """Where matplotlib is not yet imported, it refused MPLBACKEND=nosuch with a traceback as it
    was imported; a known backend is still the one used."""
    code = (
        "import sys\n"
        "from tfkmeans.cli import main, parse\n"
        "if sys.argv[1] == 'bad':\n"
        "    print(main(['--iterations', '1']))\n"
        "else:\n"
        "    parse(['--iterations', '1'])\n"
        "    import matplotlib\n"
        "    print(matplotlib.get_backend().lower(), 'tensorflow' in sys.modules)\n"
    )
    for backend, argument, expected in (("nosuch", "bad", "2"), ("svg", "good", "svg False")):
        environment = dict(headless_environment(), MPLBACKEND=backend)
        finished = subprocess.run(
            [sys.executable, "-c", code, argument], cwd=tmp_path, env=environment, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        assert finished.stdout.split("\n")[0] == expected, finished.stderr
        assert "Traceback" not in finished.stderr
        if argument == "bad":
            assert error_lines(finished.stderr) == [
                "tfkmeans: error: MPLBACKEND='nosuch': not a matplotlib backend (agg, tkagg, qtagg, ...); unset "
                "MPLBACKEND or set it to one"
            ]


# --- what the command shows of a user's data ------------------------------------------------------


def test_a_file_name_that_is_not_utf8_prints_under_a_strict_utf8_stdout(cli, tmp_path):
    """The byte 0xff in a file's name crashed the printout (describe) under a strict UTF-8
    stdout, as pytest's capture and PYTHONIOENCODING=utf-8:strict are: every line printed shows
    such a byte as \\xff, and so does an error."""
    import os

    assert sys.stdout.errors == "strict"  # what the cli fixture captures with
    name = os.fsdecode(b"data\xff.csv")
    (tmp_path / name).write_text("x,y\n0,0\n0,1\n10,10\n10,11\n")
    figure, output = os.fsdecode(b"figure\xff.png"), os.fsdecode(b"out\xff.json")
    finished = cli("--data", name, "--n-clusters", "2", "--output", output, "--save", figure)
    assert finished.returncode == 0, finished.stderr
    assert "k-means on data\\xff.csv: 4 samples" in finished.stdout
    assert "Results written to out\\xff.json" in finished.stdout and "figure\\xff.png" in finished.stdout
    assert (tmp_path / output).exists() and (tmp_path / figure).exists()
    finished = cli("--data", name, "--n-clusters", "2:3", "--n-init", "1", "--save", "sweep.png")  # the title names it
    assert finished.returncode == 0, finished.stderr
    assert (tmp_path / "sweep.png").read_bytes().startswith(b"\x89PNG")
    (tmp_path / name).write_text("x,y\n0,0\n0,oops\n")
    finished = cli("--data", name, "--n-clusters", "1", "--save", "a.png")
    assert finished.returncode == 2
    assert error_lines(finished.stderr)[0].startswith("tfkmeans: error: --data data\\xff.csv, line 3, column 2")


HUGE = "x" * 5_000_000


@pytest.mark.parametrize(
    "files, args",
    [
        ({"cell.csv": f"a,b\n1,2\n3,{HUGE}\n"}, ["--data", "cell.csv"]),
        ({"text.csv": f"a,b\n1,{HUGE}\n3,{HUGE}\n"}, ["--data", "text.csv", "--columns", "a,b"]),
        ({"name.csv": f"a,{HUGE}\n1,2\n"}, ["--data", "name.csv", "--columns", "c"]),
        ({"name.csv": "a,b\n1,2\n"}, ["--data", "name.csv", "--columns", HUGE]),
        ({"name.csv": "a,b\n1,2\n"}, ["--data", "name.csv", "--missing", HUGE]),
        ({"name.csv": "a,b\n1,2\n"}, ["--data", "name.csv", "--delimiter", HUGE]),
        ({"name.csv": "a,b\n1,2\n"}, ["--data", "name.csv", "--encoding", HUGE]),
        ({}, ["--n-clusters", HUGE]),
        ({}, ["--init", HUGE]),
        ({}, [HUGE]),
        ({}, ["--data", "a/" * 3000 + "b.csv"]),
        ({}, ["--output", "d/" * 3000 + "o.json"]),
    ],
    ids=["cell", "text", "header name", "--columns", "--missing", "--delimiter", "--encoding", "--n-clusters",
         "--init", "argument", "--data path", "--output path"],
)  # fmt: skip
def test_an_error_quotes_a_bounded_part_of_what_it_was_given(cli, tmp_path, files, args):
    """An error line once echoed a 5 MB cell: every quote of a cell, a name, a flag's value or
    a path is cut short, with its length."""
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    finished = cli(*args)
    assert finished.returncode == 2
    (line,) = error_lines(finished.stderr)
    assert len(line) < 1000, line[:2000]
    assert "characters)" in line or "..." in line, line


# --- cosine geometry (--metric cosine) -------------------------------------------------------


def unit(rows):
    rows = np.asarray(rows, np.float64)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.mark.parametrize("init", ["random", "k-means++"])
def test_metric_cosine_converges_to_a_fixed_point_of_spherical_k_means(cli, tmp_path, init):
    """Run to convergence, the result is a fixed point of the paper's two steps, computed here by
    hand on the iris rows scaled to unit length: every row's cluster is its centroid of largest
    cosine similarity, and every centroid is its cluster's mean scaled to unit length. The
    inertia is the sum of 1 - cos."""
    finished = cli(
        "--data", REPO / "data" / "iris.csv", "--metric", "cosine", "--init", init, "--tolerance", "0",
        "--iterations", "100", "--output", "o.json", "--save", "f.png",
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    assert "Each row scaled to unit length (--metric cosine)" in finished.stdout
    result = strict_json(tmp_path / "o.json")
    assert result["settings"]["metric"] == "cosine" and result["converged"]
    X = unit(load_samples(REPO / "data" / "iris.csv"))
    centroids, labels = np.array(result["centroids"]), np.array(result["nearest_indices"])
    np.testing.assert_allclose(np.linalg.norm(centroids, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(labels, np.argmax(X @ centroids.T, axis=1))
    means = unit([X[labels == j].mean(axis=0) for j in range(3)])
    np.testing.assert_allclose(centroids, means, atol=1e-5)
    cosine_distances = 1.0 - np.sum(X * unit(centroids)[labels], axis=1)  # the cosine, not a float32 rounding of it
    assert result["inertia"][-1] == pytest.approx(cosine_distances.sum(), rel=1e-5)


def test_metric_cosine_streamed_is_spherical_k_means_from_the_same_start(cli, tmp_path):
    """A streamed file in cosine geometry gives SphericalKMeans' centres and labels from the
    start the stream chose (written in the JSON), and its labels file holds every row's."""
    from tfkmeans import SphericalKMeans

    rng = np.random.default_rng(3)
    directions = unit(rng.normal(size=(4, 5)))
    X = directions[rng.integers(0, 4, 6000)] * rng.uniform(1, 100, (6000, 1)) + rng.normal(0, 5, (6000, 5))
    np.save(tmp_path / "x.npy", X.astype(np.float32))
    finished = cli(
        "--data", "x.npy", "--stream", "--metric", "cosine", "--n-clusters", "4", "--tolerance", "0",
        "--iterations", "50", "--output", "o.json", "--labels", "l.npy", "--save", "f.png",
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    result = strict_json(tmp_path / "o.json")
    start = np.array(result["initial_centroids"], np.float32)
    model = SphericalKMeans(4, init=start, n_init=1, tol=0, max_iter=50).fit(X.astype(np.float32))
    np.testing.assert_allclose(result["centroids"], model.cluster_centers_, atol=1e-5)
    np.testing.assert_array_equal(np.load(tmp_path / "l.npy"), model.labels_)


def test_metric_cosine_chooses_k_by_the_cosine_silhouette(cli, tmp_path):
    from sklearn.metrics import silhouette_score

    finished = cli(
        "--data", REPO / "data" / "iris.csv", "--metric", "cosine", "--n-clusters", "2:3", "--n-init", "2",
        "--output", "o.json", "--labels", "l.npy", "--save", "f.png",
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    result = strict_json(tmp_path / "o.json")
    X = unit(load_samples(REPO / "data" / "iris.csv"))
    labels = np.load(tmp_path / "l.npy")
    chosen = [entry for entry in result["sweep"] if entry["n_clusters"] == result["chosen_n_clusters"]][0]
    assert chosen["silhouette"] == pytest.approx(silhouette_score(X, labels, metric="cosine"), abs=1e-6)
    assert chosen["silhouette"] != pytest.approx(silhouette_score(X, labels), abs=1e-3)  # not the Euclidean one
