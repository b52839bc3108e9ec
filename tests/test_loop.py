"""tfkmeans.kmeans, the compiled loop: the same answers as the lesson's loop, and its own rules."""

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.cluster as skc
import tensorflow as tf

from functions import assign_to_nearest, choose_random_centroids, create_samples, update_centroids
from tfkmeans import KMeans, kmeans


def lesson_loop(samples, centroids, iterations):
    """Exercise 2 as written in the lesson: alternate the two functions."""
    for _ in range(iterations):
        nearest = assign_to_nearest(samples, centroids)
        centroids = update_centroids(samples, nearest, centroids.shape[0])
    return centroids.numpy(), assign_to_nearest(samples, centroids).numpy()


def numpy_inertia(samples, centroids, nearest):
    return float(np.sum((np.asarray(samples, np.float64) - np.asarray(centroids, np.float64)[nearest]) ** 2))


@pytest.mark.parametrize(
    "n_clusters, n_features, offset",
    [
        (3, 2, 0.0),  # the lesson's shape: distances summed feature by feature
        (8, 8, 0.0),  # large enough for the matrix-product path
        (3, 2, 1e4),  # data far from the origin, where |x|^2 - 2 x.c + |c|^2 loses digits
        (8, 8, 1e4),
        (40, 8, 0.0),  # enough clusters for the chain of comparisons in the (clusters, samples) layout
        (40, 8, 1e4),
    ],
)
def test_same_centroids_as_the_lesson_loop(n_clusters, n_features, offset):
    _, samples = create_samples(n_clusters, 200, n_features, 100, 11)
    samples = samples + offset
    start = choose_random_centroids(samples, n_clusters, seed=3)
    expected_centroids, expected_nearest = lesson_loop(samples, start, 10)
    result = kmeans(samples, start, max_iterations=10, tolerance=None)
    assert result.n_iterations == 10
    assert result.centroids.dtype == np.float32 and result.centroids.shape == (n_clusters, n_features)
    assert result.nearest_indices.dtype == np.int64 and result.nearest_indices.shape == (samples.shape[0],)
    np.testing.assert_allclose(result.centroids, expected_centroids, rtol=1e-5, atol=1e-3 * (1 + offset / 100))
    np.testing.assert_array_equal(result.nearest_indices, expected_nearest)
    assert result.inertia == pytest.approx(numpy_inertia(samples, result.centroids, result.nearest_indices), rel=1e-6)


def test_inertia_history_never_rises_and_ends_at_the_inertia():
    _, samples = create_samples(5, 300, 3, 40, 2)
    result = kmeans(samples, choose_random_centroids(samples, 5, seed=1), max_iterations=30, tolerance=None)
    history = result.inertia_history
    assert len(history) == 30 and len(result.shift_history) == 30 and len(result.changed_history) == 30
    assert np.all(np.diff(history) <= 0)  # computed in float64 from the differences: it never rises
    assert history[-1] == result.inertia
    assert result.inertia == pytest.approx(numpy_inertia(samples, result.centroids, result.nearest_indices), rel=1e-6)


def test_the_printed_inertia_never_rises_on_a_million_samples():
    """The command prints this history; on 1M rows its float32 sums once rose at iteration 48."""
    rng = np.random.default_rng(5)
    samples = (rng.normal(size=(1_000_000, 2)) + rng.integers(0, 4, size=(1_000_000, 1)) * 1.5).astype(np.float32)
    result = kmeans(samples, samples[:8], max_iterations=60, tolerance=None)
    assert np.all(np.diff(result.inertia_history) <= 0), np.diff(result.inertia_history).max()


def test_tolerance_zero_stops_when_nothing_changes():
    _, samples = create_samples(3, 500, 2, 70, 700)
    start = choose_random_centroids(samples, 3, seed=700)
    result = kmeans(samples, start, max_iterations=100, tolerance=0.0)
    assert result.converged and result.n_iterations < 100
    assert result.changed_history[-1] == 0 and np.all(result.changed_history[:-1] > 0)
    # Nothing changes after that: more iterations give the same centroids.
    longer = kmeans(samples, start, max_iterations=100, tolerance=None)
    np.testing.assert_allclose(longer.centroids, result.centroids, atol=1e-5)


def test_tolerance_stops_once_no_centroid_moves_farther():
    _, samples = create_samples(3, 500, 2, 70, 700)
    start = choose_random_centroids(samples, 3, seed=700)
    loose = kmeans(samples, start, max_iterations=100, tolerance=1.0)
    assert loose.converged
    assert loose.shift_history[-1] <= 1.0 or loose.changed_history[-1] == 0
    assert np.all(loose.shift_history[:-1] > 1.0)
    capped = kmeans(samples, start, max_iterations=1, tolerance=0.0)
    assert capped.n_iterations == 1 and not capped.converged


@pytest.mark.parametrize("tolerance, iterations", [(0.4, 2), (0.5, 1), (0.6, 1)])
def test_the_tolerance_is_a_distance_and_a_shift_equal_to_it_stops(tolerance, iterations):
    """From centroids 4 and 8, the first update moves them by 1/3 and exactly 0.5 (to 11/3 and
    7.5) and one sample changes cluster; the second changes none. A tolerance of 0.4 does not
    stop after the first (0.5 > 0.4, though 0.5 squared is below 0.4); 0.5 and 0.6 do."""
    samples = [[2.0], [3.0], [6.0], [7.0], [8.0]]
    result = kmeans(samples, [[4.0], [8.0]], max_iterations=10, tolerance=tolerance)
    assert result.shift_history[0] == 0.5 and result.changed_history[0] == 1
    assert result.n_iterations == iterations and result.converged


def test_empty_cluster_example_from_the_issue():
    samples = [[0, 0], [0.5, 0], [0.5, 1], [1, 1]]
    result = kmeans(samples, [[0.5, 0.5], [3, 3]], max_iterations=10)
    assert sorted(map(tuple, result.centroids.tolist())) == [(0.25, 0.0), (0.75, 1.0)]


def test_empty_clusters_relocated_as_in_update_centroids():
    samples = np.array([[0.0], [1.0], [10.0], [11.0]])
    # One iteration from centroids that leave clusters 1 and 2 empty: the same rule as
    # update_centroids, then each sample joins its nearest centroid.
    result = kmeans(samples, [[5.0], [100.0], [200.0]], max_iterations=1, tolerance=None)
    np.testing.assert_allclose(result.centroids, update_centroids(samples, [0, 0, 0, 0], 3).numpy())
    # New centroids 5.5, 0 and 11: samples 0 and 1 are nearest 0, samples 10 and 11 nearest 11.
    assert result.nearest_indices.tolist() == [1, 1, 2, 2]


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(max_iterations=0), ValueError, "max_iterations"),
        (dict(max_iterations=2.5), TypeError, "max_iterations"),
        (dict(tolerance=-0.1), ValueError, "tolerance"),
        (dict(tolerance=float("nan")), ValueError, "tolerance"),
        (dict(initial_centroids=[[0.0, 0.0, 0.0]]), ValueError, "initial_centroids has 3 features"),
        (dict(initial_centroids=[[0.0, 0.0]] * 4), ValueError, "more than the 3 samples"),
        (dict(samples=[[0.0, np.nan], [1.0, 1.0], [2.0, 2.0]]), ValueError, "samples contains NaN"),
    ],
)
def test_bad_input_gets_a_clear_error(kwargs, error, words):
    arguments = dict(samples=[[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], initial_centroids=[[0.0, 0.0]])
    arguments.update(kwargs)
    with pytest.raises(error) as caught:
        kmeans(**arguments)
    assert words in str(caught.value)


# Four clusters of four points on a cross around integer centres, all shifted so the data's mean
# is an integer too: every mean and every shifted value is exact in float32, so a start on the
# centres moves by exactly 0 however the sums are ordered.
CENTRES = np.array([[0, 0], [8, 0], [0, 8], [8, 8]], float) + [3, 5]


CROSS = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], float)


CONVERGED = (CENTRES[:, None, :] + CROSS[None]).reshape(-1, 2)


def overlapping(n_samples=300, seed=0, dtype=np.float64):
    """Overlapping blobs, positive (a sparse copy holds the same numbers): several iterations."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 6, size=(4, 3))
    X = centres[rng.integers(0, 4, n_samples)] + rng.normal(size=(n_samples, 3))
    return np.abs(X).astype(dtype)


def as_kind(X, kind):
    if kind == "sparse":
        return sp.csr_matrix(X)
    if kind == "dataset":
        return tf.data.Dataset.from_tensor_slices(X).batch(64)
    return X


KINDS = ["dense", "sparse", "dataset"]


DTYPES = [np.float32, np.float64]


def grid(names, *axes, default):
    """Every combination of ``axes`` for ``parametrize(names, ...)``; those not in ``default``
    (a list of tuples) are marked slow, to keep the default suite's time."""
    return pytest.mark.parametrize(
        names,
        [pytest.param(*case, marks=() if case in default else pytest.mark.slow) for case in itertools.product(*axes)],
    )


@grid(
    "dtype, kind, tol",
    DTYPES,
    KINDS,
    [0.0, 1e-4],
    default=[(dtype, kind, 0.0) for dtype in DTYPES for kind in KINDS] + [(np.float32, "dense", 1e-4)],
)
def test_a_start_on_the_means_stops_after_one_iteration_as_in_scikit_learn(dtype, kind, tol):
    """The first update moves nothing (a total shift of exactly 0, at most any tol): one
    iteration, as scikit-learn counts it (a strict "<" ran a second)."""
    X = CONVERGED.astype(dtype)
    start = CENTRES.astype(dtype)
    theirs = skc.KMeans(4, init=start, n_init=1, tol=tol).fit(X)
    assert theirs.n_iter_ == 1  # scikit-learn's own count, not ours
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a dataset traced per call (not what is checked)
        ours = KMeans(4, init=start, n_init=1, tol=tol, max_iter=50).fit(as_kind(X, kind))
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_array_equal(ours.cluster_centers_, CENTRES)
    assert ours.inertia_ == pytest.approx(theirs.inertia_) == 16.0


def check_n_iter(X, kind, tol, start_rows):
    start = X[start_rows]
    theirs = skc.KMeans(4, init=start, n_init=1, tol=tol).fit(as_kind(X, "sparse") if kind == "sparse" else X)
    ours = KMeans(4, init=start, n_init=1, tol=tol).fit(as_kind(X, kind))
    assert ours.n_iter_ == theirs.n_iter_ > 1
    if kind != "dataset":  # a stream keeps no labels_
        np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    rtol = 1e-4 if X.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=rtol, atol=rtol)


@grid(
    "dtype, kind, tol",
    DTYPES,
    ["dense", "sparse"],
    [0.0, 1e-4, 0.05],
    default=[(np.float32, "dense", 0.0), (np.float64, "sparse", 1e-4), (np.float64, "dense", 0.05)],
)
def test_n_iter_is_scikit_learns_from_the_same_start(dtype, kind, tol):
    check_n_iter(overlapping(dtype=dtype), kind, tol, [0, 1, 2, 3])


@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("tol", [0.0, 1e-4, 1e-2, 0.05, 0.3])
@pytest.mark.parametrize("seed, start_rows", [(0, [10, 50, 150, 250]), (1, [0, 1, 2, 3]), (2, [5, 6, 7, 8])])
def test_n_iter_is_scikit_learns_over_more_data_starts_and_tolerances(dtype, kind, tol, seed, start_rows):
    check_n_iter(overlapping(seed=seed, dtype=dtype), kind, tol, start_rows)
