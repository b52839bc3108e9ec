"""tfkmeans._dense: the kernels of a pass over dense samples, against the lesson's loop and NumPy."""

import numpy as np
import pytest

from functions import assign_to_nearest, choose_random_centroids, create_samples, update_centroids
from tfkmeans import _dense, _dispatch, assign, inertia, kmeans


def test_blocked_passes_give_the_same_answer(monkeypatch):
    """Large data is processed in blocks of rows; force small blocks (and a short last block)."""
    monkeypatch.setattr(_dense, "DISTANCE_BLOCK_BYTES", 4 * 8 * 100)  # 100 rows of 8 distances
    monkeypatch.setattr(_dense, "SUM_ROWS", 64)  # sums: runs of 64 rows, then a short one
    monkeypatch.setattr(_dispatch, "GENERIC_MAX_ROWS", 0)  # compiled for this shape, so the blocks apply
    monkeypatch.setattr(_dispatch, "_compiled", {})  # trace anew with the small blocks
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


def lesson_loop(samples, centroids, iterations):
    """Exercise 2 as written in the lesson: alternate the two functions."""
    for _ in range(iterations):
        nearest = assign_to_nearest(samples, centroids)
        centroids = update_centroids(samples, nearest, centroids.shape[0])
    return centroids.numpy(), assign_to_nearest(samples, centroids).numpy()


def numpy_inertia(samples, centroids, nearest):
    return float(np.sum((np.asarray(samples, np.float64) - np.asarray(centroids, np.float64)[nearest]) ** 2))
