"""The command's figures and what its report says of them: every figure is drawn in the space
k-means fitted (standardized values with --standardize), its principal components are found in
memory that grows as samples + features, and --true-labels compares the clusters with a column
of known labels (the adjusted Rand index). Expected values are computed here by hand: pandas or
the csv module to read, NumPy's SVD for the components, scikit-learn's adjusted_rand_score."""

import csv
import json
import tracemalloc

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

matplotlib.use("Agg")

from conftest import REPO, error_lines  # noqa: E402
from tfkmeans import _report, plotting  # noqa: E402
from tfkmeans.plotting import Projection, principal_components  # noqa: E402

IRIS = REPO / "data" / "iris.csv"
SPECIES = REPO / "data" / "iris_species.csv"


def strict_json(path):
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(path.read_text(), parse_constant=refuse)


@pytest.fixture
def figures(monkeypatch):
    """The figures the command draws, by kind: "result" and "sweep" (matplotlib Figures), and
    "animation" (the arguments the animation was drawn from)."""
    drawn = {}
    result_figure, sweep_figure, animate = (
        _report.Reporter.result_figure,
        _report.Reporter.sweep_figure,
        plotting.animate,
    )

    def record_result(self, *args, **kwargs):
        drawn["result"] = result_figure(self, *args, **kwargs)
        return drawn["result"]

    def record_sweep(self, *args, **kwargs):
        drawn["sweep"] = sweep_figure(self, *args, **kwargs)
        return drawn["sweep"]

    def record_animation(path, samples, centroid_history, label_history, inertias, **kwargs):
        drawn["animation"] = dict(
            samples=np.asarray(samples),
            centroids=[np.asarray(c) for c in centroid_history],
            labels=[np.asarray(labels) for labels in label_history],
            **kwargs,
        )
        return animate(path, samples, centroid_history, label_history, inertias, **kwargs)

    monkeypatch.setattr(_report.Reporter, "result_figure", record_result)
    monkeypatch.setattr(_report.Reporter, "sweep_figure", record_sweep)
    monkeypatch.setattr(plotting, "animate", record_animation)
    return drawn


def standardized(values):
    values = np.asarray(values, np.float64)
    return (values - values.mean(axis=0)) / values.std(axis=0)


def svd_by_hand(samples):
    """NumPy's SVD of the centred samples: (the first two coordinates of each sample, the share
    of the variance of each of the first two components)."""
    centred = samples - samples.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    return u[:, :2] * s[:2], (s**2 / np.sum(s**2))[:2]


def assert_equal_up_to_sign(ours, theirs, **tolerance):
    """Columns equal, each up to its sign (a principal component's sign is arbitrary)."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    for j in range(theirs.shape[1]):
        sign = np.sign(np.dot(ours[:, j], theirs[:, j])) or 1.0
        np.testing.assert_allclose(ours[:, j] * sign, theirs[:, j], **tolerance)


def cluster_points(ax, n_clusters):
    """The samples drawn on the cluster axes, one array per cluster (its scatter call)."""
    return [ax.collections[i].get_offsets().data for i in range(n_clusters)]


def centroid_crosses(ax):
    """Each centroid's (x, y) on the cluster axes (a black X under a magenta X)."""
    return np.array([line.get_xydata()[0] for line in ax.lines if line.get_color() == "m"])


def penguin_like(path, seed=0):
    """Three well-separated groups in two lengths (millimetres) and a body mass in grams that
    does not tell them apart: in raw units the mass is nearly all the variance."""
    rng = np.random.default_rng(seed)
    group = np.repeat([0, 1, 2], 60)
    centres = np.array([[38.0, 18.0], [48.0, 15.0], [47.0, 19.0]])
    lengths = centres[group] + rng.normal(scale=0.6, size=(180, 2))
    mass = rng.normal(4200.0, 800.0, size=180)
    table = pd.DataFrame({"bill_length_mm": lengths[:, 0], "bill_depth_mm": lengths[:, 1], "body_mass_g": mass})
    table.to_csv(path, index=False)
    return group


# --- item 1: the figure is drawn in the space that was fitted ---------------------------------


@pytest.mark.parametrize("standardize", [True, False], ids=["standardized", "raw"])
def test_the_figure_plots_the_fitted_space_on_its_principal_components(cli, tmp_path, figures, standardize):
    """With --standardize the principal components are those of the standardized values (NumPy's
    SVD by hand), every sample and centroid is drawn at its coordinates on them, and the labels
    say so; without it, those of the raw values. Raw, the body mass is nearly all the variance."""
    penguin_like(tmp_path / "penguins.csv")
    flags = ["--standardize"] if standardize else []
    finished = cli("--data", "penguins.csv", "--init", "k-means++", *flags, "--output", "o.json", "--save", "f.png")
    assert finished.returncode == 0, finished.stderr
    raw = pd.read_csv(tmp_path / "penguins.csv").to_numpy(np.float64)
    space = standardized(raw) if standardize else raw
    coordinates, shares = svd_by_hand(space)
    result = strict_json(tmp_path / "o.json")
    labels = np.array(result["nearest_indices"])
    ax, inertia_axes = figures["result"].axes
    for cluster, drawn in enumerate(cluster_points(ax, 3)):
        assert_equal_up_to_sign(drawn, coordinates[labels == cluster], rtol=1e-4, atol=1e-4)
    # The centroids, from the JSON (in the data's units), put into the fitted space by hand.
    centroids = np.array(result["centroids"])
    if standardize:
        centroids = (centroids - raw.mean(axis=0)) / raw.std(axis=0)
    centred = space - space.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    assert_equal_up_to_sign(centroid_crosses(ax), (centroids - space.mean(axis=0)) @ vt[:2].T, rtol=1e-4, atol=1e-4)
    of = " of the standardized features" if standardize else ""
    assert (ax.get_xlabel(), ax.get_ylabel()) == tuple(
        f"principal component {i + 1}{of} ({shares[i]:.0%} of the variance)" for i in range(2)
    )
    if not standardize:
        assert shares[0] > 0.99  # the grams: why the figure must not be drawn in raw units
    # The inertia panel: the last value is the inertia of those centroids in the fitted space.
    inertia = np.sum((space - centroids[labels]) ** 2)
    np.testing.assert_allclose(inertia_axes.lines[0].get_ydata()[-1], inertia, rtol=1e-4)
    assert ("standardized" in inertia_axes.get_ylabel()) is standardize


@pytest.mark.parametrize(
    "flags, columns",
    [(["--columns", "bill_length_mm,body_mass_g"], [0, 2]), (["--plot-columns", "body_mass_g,1"], [2, 0])],
    ids=["two-features", "plot-columns"],
)
def test_standardized_features_are_plotted_as_standardized_values(cli, tmp_path, figures, flags, columns):
    """Two features (or the two --plot-columns) are plotted as themselves: standardized values,
    with axis labels that say so."""
    penguin_like(tmp_path / "penguins.csv")
    finished = cli("--data", "penguins.csv", "--standardize", *flags, "--output", "o.json", "--save", "f.png")
    assert finished.returncode == 0, finished.stderr
    table = pd.read_csv(tmp_path / "penguins.csv")
    clustered = table.columns if "--plot-columns" in flags else table.columns[columns]
    space = standardized(table[clustered])
    shown = space[:, columns] if "--plot-columns" in flags else space
    labels = np.array(strict_json(tmp_path / "o.json")["nearest_indices"])
    ax = figures["result"].axes[0]
    for cluster, drawn in enumerate(cluster_points(ax, 3)):
        np.testing.assert_allclose(drawn, shown[labels == cluster], rtol=1e-5, atol=1e-5)
    names = table.columns[columns]
    assert (ax.get_xlabel(), ax.get_ylabel()) == (f"{names[0]} (standardized)", f"{names[1]} (standardized)")


def test_the_animation_is_drawn_in_the_fitted_space(cli, tmp_path, figures):
    """Every frame's samples, centroids and labels are in the standardized space, and the
    projection the animation draws them with is the standardized values' principal components."""
    penguin_like(tmp_path / "penguins.csv")
    finished = cli(
        "--data", "penguins.csv", "--standardize", "--iterations", "4", "--animate", "a.gif", "--output", "o.json"
    )
    assert finished.returncode == 0, finished.stderr
    raw = pd.read_csv(tmp_path / "penguins.csv").to_numpy(np.float64)
    space = standardized(raw)
    drawn = figures["animation"]
    np.testing.assert_allclose(drawn["samples"], space, atol=1e-5)
    result = strict_json(tmp_path / "o.json")
    final = (np.array(result["centroids"]) - raw.mean(axis=0)) / raw.std(axis=0)
    np.testing.assert_allclose(drawn["centroids"][-1], final, atol=1e-4)
    np.testing.assert_array_equal(drawn["labels"][-1], result["nearest_indices"])
    coordinates, shares = svd_by_hand(space)
    projection = drawn["projection"]
    assert_equal_up_to_sign(np.column_stack(projection(drawn["samples"])), coordinates, rtol=1e-4, atol=1e-4)
    assert (
        projection.labels[0] == f"principal component 1 of the standardized features ({shares[0]:.0%} of the variance)"
    )


def test_the_lessons_true_centroids_are_drawn_in_the_standardized_space(cli, tmp_path, figures):
    """The generated blobs' true centres are in the data's units; standardized, the figure marks
    them where they are among the standardized samples."""
    from tfkmeans import lesson_blobs

    finished = cli("--standardize", "--save", "f.png")
    assert finished.returncode == 0, finished.stderr
    true_centroids, samples = lesson_blobs(3, 500, 2, 70, 700)
    samples = np.asarray(samples, np.float64)
    expected = (np.asarray(true_centroids) - samples.mean(axis=0)) / samples.std(axis=0)
    ax = figures["result"].axes[0]
    marked = next(c for c in ax.collections if c.get_label() == "true centroids")
    np.testing.assert_allclose(marked.get_offsets().data, expected, rtol=1e-4, atol=1e-4)


def test_the_sweep_figure_is_in_the_fitted_space(cli, tmp_path, figures):
    """The sweep's inertia at the chosen k is the chosen clusters' within-cluster sum of squares
    of the standardized values (by hand, from --labels), and the labels say standardized."""
    penguin_like(tmp_path / "penguins.csv")
    finished = cli(
        "--data",
        "penguins.csv",
        "--standardize",
        "--n-clusters",
        "2:4",
        "--n-init",
        "2",
        "--labels",
        "l.npy",
        "--save",
        "s.png",
    )
    assert finished.returncode == 0, finished.stderr
    space = standardized(pd.read_csv(tmp_path / "penguins.csv"))
    labels = np.load(tmp_path / "l.npy")
    inertia = sum(np.sum((space[labels == c] - space[labels == c].mean(axis=0)) ** 2) for c in np.unique(labels))
    inertia_axes, silhouette_axes = figures["sweep"].axes
    counts, values = inertia_axes.lines[0].get_data()
    chosen = len(np.unique(labels))
    np.testing.assert_allclose(values[list(counts).index(chosen)], inertia, rtol=1e-4)
    assert "standardized" in inertia_axes.get_ylabel() and "standardized" in silhouette_axes.get_ylabel()


def test_a_streamed_file_is_plotted_in_the_fitted_space(cli, tmp_path, figures):
    """--stream --standardize: the figure shows the standardized sample, not the raw one."""
    rng = np.random.default_rng(3)
    raw = np.column_stack([rng.normal(0, 1, 400), rng.normal(5000, 900, 400)]).astype(np.float32)
    np.save(tmp_path / "x.npy", raw)
    finished = cli("--data", "x.npy", "--stream", "--standardize", "--save", "f.png")
    assert finished.returncode == 0, finished.stderr
    expected = standardized(raw)
    ax = figures["result"].axes[0]
    drawn = np.concatenate([c.get_offsets().data for c in ax.collections])
    order = np.lexsort(drawn.T[::-1]), np.lexsort(expected.T[::-1])
    np.testing.assert_allclose(drawn[order[0]], expected[order[1]], rtol=1e-4, atol=1e-4)
    assert ax.get_xlabel() == "column 1 (standardized)"


# --- item 2: principal components in memory that grows as samples + features ------------------


def structured(n, d, seed=0):
    """Samples with two dominant directions (so the first two components are well defined)."""
    rng = np.random.default_rng(seed)
    directions = np.linalg.qr(rng.normal(size=(d, 2)))[0].T
    return (rng.normal(size=(n, 2)) * [30.0, 10.0]) @ directions + rng.normal(size=(n, d)) + 5.0


@pytest.mark.parametrize(
    "shape, limit",
    [((500, 5), None), ((6, 300), None), ((6, 100_000), None), ((400, 300), 50), ((300, 400), 50)],
    ids=["tall-covariance", "wide-gram", "6x100000-gram", "tall-randomized", "wide-randomized"],
)
def test_principal_components_agree_with_numpys_svd(monkeypatch, shape, limit):
    """Each method (the covariance, the Gram matrix, the randomized SVD past the limit) gives
    NumPy's SVD's components, coordinates and shares of the variance."""
    if limit is not None:
        monkeypatch.setattr(plotting, "EXACT_PCA_LIMIT", limit)
    samples = structured(*shape).astype(np.float32)
    mean, components, shares = principal_components(samples)
    reference = samples.astype(np.float64)
    centred = reference - reference.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    np.testing.assert_allclose(mean, reference.mean(axis=0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(shares, (s**2 / np.sum(s**2))[:2], rtol=1e-5)
    assert_equal_up_to_sign(components.T, vt[:2].T, atol=1e-5)
    projection = Projection.choose(samples)
    assert_equal_up_to_sign(np.column_stack(projection(samples)), centred @ vt[:2].T, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("shape", [(6, 100_000), (3_000, 3_000)], ids=["6x100000-gram", "3000x3000-randomized"])
def test_principal_components_never_build_a_features_by_features_matrix(shape):
    """Peak memory (tracemalloc, which counts NumPy's arrays) stays far below a d x d float64
    matrix: 74.5 GiB for 100,000 features, 69 MiB for 3,000 (as would the 3,000 x 3,000 Gram
    matrix, or a float64 copy of the samples)."""
    samples = structured(*shape).astype(np.float32)
    tracemalloc.start()
    try:
        projection = Projection.choose(samples)
        projection(samples)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 2**20


@pytest.mark.parametrize(
    "samples",
    [np.zeros((4, 3)), np.array([[0.0, 1.0, 2.0], [2.0, 3.0, 4.0]]), np.ones((1, 5)), np.eye(3)[:2]],
    ids=["constant", "rank-1", "one-sample", "two-of-three"],
)
def test_degenerate_samples_give_zero_components_not_nan(samples):
    """No variance, or less rank than two components: the missing components are zero with a
    share of 0, never NaN; the shares still sum to at most 1."""
    with np.errstate(all="raise"):
        mean, components, shares = principal_components(samples)
        x, y = Projection.choose(samples)(samples)
    assert np.all(np.isfinite(components)) and np.all(np.isfinite(shares))
    assert np.all(np.isfinite(x)) and np.all(np.isfinite(y))
    centred = samples - samples.mean(axis=0)
    s = np.linalg.svd(centred, compute_uv=False)
    expected = s**2 / np.sum(s**2) if np.sum(s**2) > 0 else np.zeros_like(s)
    np.testing.assert_allclose(shares, np.pad(expected, (0, 2))[:2], atol=1e-12)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    samples=st.tuples(st.integers(1, 24), st.integers(1, 24)).flatmap(
        lambda shape: hnp.arrays(np.float64, shape, elements=st.floats(-1e3, 1e3, allow_subnormal=False))
    ),
    method=st.sampled_from(["exact", "randomized"]),
)
def test_principal_components_properties(samples, method):
    """Whatever the samples: the shares of the variance are NumPy's SVD's, each sample's
    coordinates have the component's variance, the components are orthonormal (or zero, past
    the rank) with their largest entry positive. The randomized SVD is exact where its sketch
    (2 + 10 columns) is as wide as the samples' rank."""
    n, d = samples.shape
    if method == "randomized" and min(n, d) > 12:
        samples = samples[:12]
    limit = 0 if method == "randomized" else plotting.EXACT_PCA_LIMIT
    original, plotting.EXACT_PCA_LIMIT = plotting.EXACT_PCA_LIMIT, limit
    try:
        mean, components, shares = principal_components(samples)
    finally:
        plotting.EXACT_PCA_LIMIT = original
    centred = samples - samples.mean(axis=0)
    s = np.linalg.svd(centred, compute_uv=False)
    total = np.sum(s**2)
    if total <= 1e-18 * max(1.0, np.max(np.abs(samples))) ** 2:  # no variance to speak of
        return
    expected = np.pad(s**2 / total, (0, 2))[:2]
    np.testing.assert_allclose(shares, expected, atol=1e-9)
    coordinates = (samples - mean) @ components.T
    np.testing.assert_allclose(np.sum(coordinates**2, axis=0), expected * total, rtol=1e-6, atol=1e-9 * total)
    kept = shares > 1e-12
    np.testing.assert_allclose(components[kept] @ components[kept].T, np.eye(int(kept.sum())), atol=1e-8)
    for component in components[kept]:
        assert component[np.argmax(np.abs(component))] > 0


def test_the_report_plots_a_wide_table_on_its_principal_components(tmp_path, monkeypatch, figures):
    """The command's figure of 6 samples x 100,000 features (it asked for 74.5 GiB), from its
    report alone (a clustering made up here, no TensorFlow): drawn and saved, at NumPy's SVD's
    coordinates."""
    from tfkmeans import _command, cli

    samples = structured(6, 100_000, seed=4).astype(np.float32)
    np.save(tmp_path / "wide.npy", samples)
    monkeypatch.chdir(tmp_path)
    settings = cli.parse(["--data", "wide.npy", "--n-clusters", "2", "--save", "f.png", "-q"])
    data = _command.load(settings)
    labels = np.array([0, 0, 0, 1, 1, 1])
    centroids = np.stack([samples[labels == c].mean(axis=0) for c in (0, 1)])
    run = _command.SingleRun(centroids, centroids, labels, 1.0, [1.0], [0.0], [0], True, 0, n_distinct=2)
    assert _report.Reporter(settings).write(data, run) == 0
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")
    coordinates, shares = svd_by_hand(samples.astype(np.float64))
    ax = figures["result"].axes[0]
    for cluster, drawn in enumerate(cluster_points(ax, 2)):
        assert_equal_up_to_sign(drawn, coordinates[labels == cluster], rtol=1e-4, atol=1e-3)
    assert_equal_up_to_sign(centroid_crosses(ax), [coordinates[labels == c].mean(axis=0) for c in (0, 1)], atol=1e-3)
    assert ax.get_xlabel() == f"principal component 1 ({shares[0]:.0%} of the variance)"


@pytest.mark.slow
def test_a_wide_table_is_plotted_on_its_principal_components(cli, tmp_path, figures):
    """6 samples x 100,000 features through the whole command: the figure is drawn and its
    coordinates are NumPy's SVD's."""
    samples = structured(6, 100_000, seed=4).astype(np.float32)
    np.save(tmp_path / "wide.npy", samples)
    finished = cli("--data", "wide.npy", "--n-clusters", "2", "--labels", "l.npy", "--save", "f.png")
    assert finished.returncode == 0, finished.stderr
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")
    coordinates, shares = svd_by_hand(samples.astype(np.float64))
    labels = np.load(tmp_path / "l.npy")
    ax = figures["result"].axes[0]
    for cluster, drawn in enumerate(cluster_points(ax, 2)):
        assert_equal_up_to_sign(drawn, coordinates[labels == cluster], rtol=1e-4, atol=1e-3)
    assert ax.get_xlabel() == f"principal component 1 ({shares[0]:.0%} of the variance)"


@pytest.mark.slow
def test_a_wide_csv_is_clustered_and_plotted(cli, tmp_path):
    """The issue's own case: a 6 x 100,000 CSV said "out of memory (try --stream)"."""
    samples = structured(6, 100_000, seed=5).round(3)
    np.savetxt(tmp_path / "wide.csv", samples, delimiter=",", fmt="%.3f")
    finished = cli("--data", "wide.csv", "--n-clusters", "2", "--save", "f.png")
    assert finished.returncode == 0, finished.stderr
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")


# --- item 3: --true-labels --------------------------------------------------------------------


def species_by_hand():
    with open(SPECIES, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["species"]
    return [row[0] for row in rows[1:]]


@pytest.fixture
def labelled_iris(tmp_path):
    """data/iris.csv with data/iris_species.csv as a fifth column, "species"."""
    table = pd.read_csv(IRIS)
    table["species"] = species_by_hand()
    table.to_csv(tmp_path / "iris_labelled.csv", index=False)
    return tmp_path / "iris_labelled.csv"


@pytest.mark.parametrize(
    "flags",
    [
        ["--true-labels", "species"],
        ["--true-labels", "5"],
        ["--true-labels", "species", "--standardize"],
        ["--true-labels", "species", "--columns", "petal_length_cm,petal_width_cm"],
    ],
    ids=["by-name", "by-number", "standardized", "with-columns"],
)
def test_the_adjusted_rand_index_against_a_label_column(cli, labelled_iris, flags):
    """The ARI of the clusters (the JSON's nearest_indices) against the species (read with the
    csv module) is scikit-learn's, printed and written; the species column is not clustered."""
    from sklearn.metrics import adjusted_rand_score

    finished = cli("--data", labelled_iris, "--init", "k-means++", *flags, "--output", "o.json", "--save", "f.png")
    assert finished.returncode == 0, finished.stderr
    result = strict_json(labelled_iris.parent / "o.json")
    expected = adjusted_rand_score(species_by_hand(), result["nearest_indices"])
    assert result["adjusted_rand_index"] == pytest.approx(expected, abs=1e-12)
    assert 0.4 < expected < 1.0  # iris: setosa apart, the other two mixed
    assert f"Adjusted Rand index against 'species': {expected:.3f}" in finished.stdout
    assert "species" not in result["feature_names"] and result["settings"]["true_labels"] == flags[1]
    assert len(result["centroids"][0]) == (2 if "--columns" in flags else 4)


def test_each_k_of_a_range_gets_its_adjusted_rand_index(cli, labelled_iris, monkeypatch):
    """Each k's index is scikit-learn's on that k's own clusters (recorded as the sweep fits
    them; the chosen k's also from --labels), printed in the table and written in the JSON."""
    from sklearn.metrics import adjusted_rand_score

    from tfkmeans import _command

    clusters, single_run = {}, _command.single_run

    def record(settings, data, n_clusters=None, **options):
        fit = single_run(settings, data, n_clusters, **options)
        clusters[n_clusters] = np.asarray(fit.labels)
        return fit

    monkeypatch.setattr(_command, "single_run", record)
    finished = cli(
        "--data", labelled_iris, "--true-labels", "species", "--n-clusters", "2:4", "--init", "k-means++",
        "--n-init", "3", "--output", "o.json", "--labels", "l.npy", "--save", "s.png",
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    result = strict_json(labelled_iris.parent / "o.json")
    indices = {entry["n_clusters"]: entry["adjusted_rand_index"] for entry in result["sweep"]}
    species = species_by_hand()
    assert sorted(indices) == sorted(clusters) == [2, 3, 4]
    for k, labels in clusters.items():
        assert indices[k] == pytest.approx(adjusted_rand_score(species, labels), abs=1e-12)
    assert len(set(indices.values())) == 3
    chosen = result["chosen_n_clusters"]
    assert indices[chosen] == pytest.approx(
        adjusted_rand_score(species, np.load(labelled_iris.parent / "l.npy")), abs=1e-12
    )
    rows = {int(line.split()[0]): line.split() for line in finished.stdout.splitlines() if line[:8].strip().isdigit()}
    assert [float(rows[k][-1]) for k in (2, 3, 4)] == [round(indices[k], 3) for k in (2, 3, 4)]


def test_rows_dropped_for_gaps_are_dropped_from_the_labels(cli, tmp_path):
    """--missing drop leaves out rows with an empty feature cell, and their labels with them; a
    row with no label is clustered but left out of the comparison (and the report says so)."""
    from sklearn.metrics import adjusted_rand_score

    table = pd.read_csv(IRIS)
    species = species_by_hand()
    table["species"] = species
    table.loc[[3, 60, 120], "sepal_width_cm"] = np.nan  # dropped rows
    table.loc[[10, 100], "species"] = ""  # rows without a label
    table.to_csv(tmp_path / "gaps.csv", index=False)
    finished = cli(
        "--data", "gaps.csv", "--true-labels", "species", "--missing", "drop", "--init", "k-means++",
        "--output", "o.json", "--labels", "l.npy", "--save", "f.png",
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    clusters = np.load(tmp_path / "l.npy")
    kept = [row for row in range(150) if clusters[row] >= 0 and row not in (10, 100)]
    assert len(kept) == 145 and clusters[10] >= 0
    expected = adjusted_rand_score([species[row] for row in kept], clusters[kept])
    result = strict_json(tmp_path / "o.json")
    assert result["adjusted_rand_index"] == pytest.approx(expected, abs=1e-12)
    assert "on the 145 samples that have a label" in finished.stdout
    assert "3 classes (2 samples have none)" in finished.stdout


def test_a_label_column_without_any_label_gives_no_index(cli, tmp_path):
    """Every label cell empty: nothing to compare, so the index is null in the JSON (strict),
    "-" in a sweep's table, and the report says why; the run itself succeeds."""
    table = pd.read_csv(IRIS)
    table["species"] = ""
    table.to_csv(tmp_path / "empty.csv", index=False)
    single = cli("--data", "empty.csv", "--true-labels", "species", "--output", "o.json", "--save", "f.png")
    assert single.returncode == 0, single.stderr
    assert strict_json(tmp_path / "o.json")["adjusted_rand_index"] is None
    assert "Adjusted Rand index against 'species': none (no sample has a label)" in single.stdout
    sweep = cli(
        "--data", "empty.csv", "--true-labels", "species", "--n-clusters", "2:3", "--n-init", "1",
        "--output", "s.json", "--save", "s.png",
    )  # fmt: skip
    assert sweep.returncode == 0, sweep.stderr
    assert [entry["adjusted_rand_index"] for entry in strict_json(tmp_path / "s.json")["sweep"]] == [None, None]
    assert [line.split()[-1] for line in sweep.stdout.splitlines() if line[:8].strip() in ("2", "3")] == ["-", "-"]


def test_a_numeric_label_column_is_never_clustered(cli, tmp_path):
    """Class numbers are numbers, so without --true-labels they would be clustered as a feature."""
    from sklearn.metrics import adjusted_rand_score

    table = pd.read_csv(IRIS)
    codes = {"setosa": 0, "versicolor": 1, "virginica": 2}
    table.insert(0, "class", [codes[name] for name in species_by_hand()])
    table.to_csv(tmp_path / "coded.csv", index=False)
    finished = cli("--data", "coded.csv", "--true-labels", "class", "--output", "o.json", "--save", "f.png")
    assert finished.returncode == 0, finished.stderr
    result = strict_json(tmp_path / "o.json")
    assert result["feature_names"] == list(pd.read_csv(IRIS).columns)
    assert result["adjusted_rand_index"] == pytest.approx(
        adjusted_rand_score(table["class"], result["nearest_indices"]), abs=1e-12
    )


@pytest.mark.parametrize(
    "arguments, words",
    [
        (["--data", "{labelled}", "--true-labels", "genus"], "--true-labels genus: no column 'genus'"),
        (["--data", "{labelled}", "--true-labels", "9"], "--true-labels 9: no column '9'"),
        (
            ["--data", "{labelled}", "--true-labels", "species", "--columns", "1,species"],
            "--true-labels species: is also a column to cluster (--columns)",
        ),
        (
            ["--data", "{labelled}", "--true-labels", "1", "--columns", "sepal_length_cm,2"],
            "--true-labels sepal_length_cm: is also a column to cluster",
        ),
        (["--data", "{only}", "--true-labels", "species"], "the table's only column; no column is left to cluster"),
        (["--data", "{npy}", "--true-labels", "1"], "--data x.npy is not one (a .npy array has no column names"),
        (["--data", "{npy}", "--stream", "--true-labels", "1"], "--data x.npy is not one"),
        (["--data", "{labelled}", "--stream", "--true-labels", "species"], "--stream reads a .npy file"),
        (["--true-labels", "species"], "--true-labels names a column of your data, so it goes with --data"),
        (["--data", "{labelled}", "--true-labels", " "], "--true-labels: give a column of the table"),
        (["--data", "{missing}", "--true-labels", "species"], "missing.csv: no such file"),
    ],
    ids=[
        "no-such-name", "no-such-number", "also-clustered", "also-clustered-by-number", "only-column", "npy",
        "stream-npy", "stream-table", "no-data", "blank", "no-file",
    ],
)  # fmt: skip
def test_true_labels_refused(cli, tmp_path, labelled_iris, arguments, words):
    """One line, exit status 2, no file written."""
    pd.DataFrame({"species": species_by_hand()}).to_csv(tmp_path / "only.csv", index=False)
    np.save(tmp_path / "x.npy", np.zeros((10, 3), np.float32))
    names = {"labelled": labelled_iris.name, "only": "only.csv", "npy": "x.npy", "missing": "missing.csv"}
    before = sorted(path.name for path in tmp_path.iterdir())
    finished = cli(*[argument.format(**names) for argument in arguments], "--output", "o.json", "--save", "f.png")
    assert finished.returncode == 2
    (line,) = error_lines(finished.stderr)
    assert words in line, line
    assert sorted(path.name for path in tmp_path.iterdir()) == before
