"""tfkmeans.kmeans, the compiled loop: the same answers as the lesson's loop, and its own rules."""

import numpy as np
import pytest

import tfkmeans._lloyd
from functions import assign_to_nearest, choose_random_centroids, create_samples, update_centroids
from tfkmeans import assign, inertia, kmeans


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


def test_blocked_passes_give_the_same_answer(monkeypatch):
    """Large data is processed in blocks of rows; force small blocks (and a short last block)."""
    lloyd = tfkmeans._lloyd
    monkeypatch.setattr(lloyd, "DISTANCE_BLOCK_BYTES", 4 * 8 * 100)  # 100 rows of 8 distances
    monkeypatch.setattr(lloyd, "SUM_ROWS", 64)  # sums: runs of 64 rows, then a short one
    monkeypatch.setattr(lloyd, "XLA_MIN_WORK", 0)  # compiled for this shape, so the blocks apply
    monkeypatch.setattr(lloyd, "_compiled", {})  # trace anew with the small blocks
    _, samples = create_samples(8, 201, 8, 100, 5)  # 1,608 samples: 16 blocks and 8 rows over
    start = choose_random_centroids(samples, 8, seed=2)
    expected_centroids, expected_nearest = lesson_loop(samples, start, 10)
    result = kmeans(samples, start, max_iterations=10, tolerance=None)
    np.testing.assert_allclose(result.centroids, expected_centroids, rtol=1e-5, atol=1e-3)
    np.testing.assert_array_equal(result.nearest_indices, expected_nearest)
    assert result.inertia == pytest.approx(numpy_inertia(samples, result.centroids, result.nearest_indices), rel=1e-6)


def test_inertia_and_assign_match_numpy():
    _, samples = create_samples(4, 100, 3, 50, 8)
    samples = samples.numpy()
    centroids = samples[[0, 100, 200, 300]]
    expected = ((samples[:, None, :].astype(np.float64) - centroids[None]) ** 2).sum(axis=2)
    labels, total = assign(samples, centroids)
    np.testing.assert_array_equal(labels, expected.argmin(axis=1))
    assert total == pytest.approx(expected.min(axis=1).sum(), rel=1e-6)
    assert inertia(samples, centroids, labels) == pytest.approx(expected.min(axis=1).sum(), rel=1e-6)
    with pytest.raises(ValueError, match=r"nearest_indices must lie in \[0, 4\)"):
        inertia(samples, centroids, np.full(len(samples), 4))


def test_cluster_sums_do_not_drift_over_many_samples():
    """Two far-apart clusters of 200,000 samples each: a float32 running sum of the samples
    (the old way) put the centroids off by 7e-3; the means must match float64 ones."""
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(400_000, 2)).astype(np.float32)
    samples[:200_000, 0] += 1000.0
    samples[200_000:, 0] -= 1000.0
    result = kmeans(samples, samples[[0, -1]], max_iterations=2, tolerance=None)
    expected = [
        samples[:200_000].astype(np.float64).mean(axis=0),
        samples[200_000:].astype(np.float64).mean(axis=0),
    ]
    np.testing.assert_allclose(result.centroids, expected, atol=1e-3)


@pytest.mark.parametrize("n_features", [1, 2, 3, 16, 70])  # narrow rows are subtracted several to a line
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_centred_data_is_the_data_minus_the_offset(n_features, dtype, order):
    rng = np.random.default_rng(n_features)
    samples = np.asarray(rng.normal(50.0, 3.0, size=(1_001, n_features)), dtype=dtype, order=order)  # 1,001: rows over
    tensor, offset = tfkmeans._lloyd.centred(samples)
    assert tensor.dtype.as_numpy_dtype == dtype and offset.dtype == dtype
    # Fewer than 2 x OFFSET_SAMPLE rows: the offset is the mean of them all.
    np.testing.assert_allclose(offset, samples.astype(np.float64).mean(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(tensor.numpy(), samples - offset)
    given = np.arange(n_features, dtype=dtype)
    tensor, offset = tfkmeans._lloyd.centred(samples, given)
    np.testing.assert_array_equal(offset, given)
    np.testing.assert_array_equal(tensor.numpy(), samples - given)


def test_the_offset_of_many_samples_lies_near_their_mean():
    """Beyond 2 x OFFSET_SAMPLE rows the offset is the mean of a strided sample: near the mean,
    not at it, which keeps the precision (the results do not depend on it)."""
    rng = np.random.default_rng(1)
    samples = rng.normal([1e4, -5.0], [2.0, 0.5], size=(100_003, 2)).astype(np.float32)
    _, offset = tfkmeans._lloyd.centred(samples)
    assert np.all(np.abs(offset - samples.mean(axis=0, dtype=np.float64)) < 0.1 * samples.std(axis=0))


@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (1_000, 64)])
def test_aligned_buffers_start_on_64_byte_boundaries(shape):
    for _ in range(5):  # several allocations, so that at least one did not come aligned by chance
        array = tfkmeans._lloyd._aligned_empty(shape, np.float32)
        assert array.shape == shape and array.flags.c_contiguous and array.ctypes.data % 64 == 0


@pytest.mark.parametrize("n_clusters", [4, 30])  # tf.argmin, and the chain of comparisons
def test_a_tie_goes_to_the_lower_index(n_clusters):
    rng = np.random.default_rng(n_clusters)
    samples = rng.normal(size=(5_000, 4)).astype(np.float32)
    centroids = rng.normal(size=(n_clusters, 4)).astype(np.float32)
    centroids[1::2] = centroids[::2]  # every odd centroid repeats the one before it
    labels, _ = assign(samples, centroids)
    expected = ((samples[:, None, :].astype(np.float64) - centroids[None]) ** 2).sum(axis=2).argmin(axis=1)
    assert np.all(labels % 2 == 0)
    np.testing.assert_array_equal(labels, expected)
