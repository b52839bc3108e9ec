"""The lesson's five functions: values against NumPy, the lesson's data, empty clusters, bad input."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from functions import assign_to_nearest, choose_random_centroids, create_samples, update_centroids

# The lesson's settings.
N_FEATURES, N_CLUSTERS, N_SAMPLES_PER_CLUSTER, SEED, EMBIGGEN_FACTOR = 2, 3, 500, 700, 70


@pytest.fixture(scope="module")
def lesson_data():
    centroids, samples = create_samples(N_CLUSTERS, N_SAMPLES_PER_CLUSTER, N_FEATURES, EMBIGGEN_FACTOR, SEED)
    return centroids.numpy(), samples.numpy()


def numpy_nearest(samples, centroids):
    """Nearest centroid of each sample, by explicit loops over NumPy rows."""
    samples, centroids = np.asarray(samples, np.float64), np.asarray(centroids, np.float64)
    nearest = []
    for sample in samples:
        distances = [np.sum((sample - centroid) ** 2) for centroid in centroids]
        nearest.append(int(np.argmin(distances)))
    return np.array(nearest)


def numpy_means(samples, nearest, n_clusters):
    return np.array([np.asarray(samples, np.float64)[nearest == j].mean(axis=0) for j in range(n_clusters)])


def numpy_inertia(samples, centroids, nearest):
    return float(np.sum((np.asarray(samples, np.float64) - np.asarray(centroids, np.float64)[nearest]) ** 2))


# --- create_samples -------------------------------------------------------------------------


def test_create_samples_shapes_and_dtypes(lesson_data):
    centroids, samples = create_samples(4, 25, 3, 10.0, 1)
    assert centroids.shape == (4, 3) and samples.shape == (100, 3)
    assert centroids.dtype == tf.float32 and samples.dtype == tf.float32


def test_create_samples_returns_the_lessons_centres(lesson_data):
    """The lesson seeds NumPy's global generator and draws each centre with np.random.random."""
    centroids, _ = lesson_data
    state = np.random.get_state()
    try:
        np.random.seed(SEED)
        expected = [
            np.random.random((1, N_FEATURES)) * EMBIGGEN_FACTOR - EMBIGGEN_FACTOR / 2 for _ in range(N_CLUSTERS)
        ]
    finally:
        np.random.set_state(state)
    np.testing.assert_array_equal(centroids, np.concatenate(expected).astype(np.float32))
    # The lesson's seed 700 puts them here (as printed by the lesson's own run).
    np.testing.assert_allclose(centroids, [[-24.042, -5.819], [-30.324, 25.578], [-13.840, 16.888]], atol=1e-3)


def test_create_samples_leaves_numpys_global_generator_alone():
    np.random.seed(1)
    expected = np.random.random(3)
    np.random.seed(1)
    create_samples(3, 10, 2, 70, 700)
    np.testing.assert_array_equal(np.random.random(3), expected)


def test_create_samples_draws_blobs_around_centres_in_range(lesson_data):
    centroids, samples = lesson_data
    assert np.all(centroids >= -EMBIGGEN_FACTOR / 2) and np.all(centroids < EMBIGGEN_FACTOR / 2)
    blobs = samples.reshape(N_CLUSTERS, N_SAMPLES_PER_CLUSTER, N_FEATURES)
    for blob, centre in zip(blobs, centroids):
        # Mean within 4 standard errors of the centre, spread close to stddev 5.0.
        assert np.all(np.abs(blob.mean(axis=0) - centre) < 4 * 5.0 / np.sqrt(N_SAMPLES_PER_CLUSTER))
        assert np.all(np.abs(blob.std(axis=0) - 5.0) < 0.5)


def test_create_samples_blobs_are_independent_draws(lesson_data):
    centroids, samples = lesson_data
    offsets = samples.reshape(N_CLUSTERS, N_SAMPLES_PER_CLUSTER, N_FEATURES) - centroids[:, np.newaxis, :]
    # In TF 1 every blob was the same draw shifted; here no two blobs share their offsets.
    for a, b in itertools.combinations(range(N_CLUSTERS), 2):
        assert not np.allclose(offsets[a], offsets[b])


def test_same_seed_same_numbers_in_the_same_process():
    first = create_samples(3, 50, 2, 70, 5)
    second = create_samples(3, 50, 2, 70, 5)
    other = create_samples(3, 50, 2, 70, 6)
    np.testing.assert_array_equal(first[1].numpy(), second[1].numpy())
    assert not np.allclose(first[1].numpy(), other[1].numpy())


def test_no_seed_draws_fresh_samples():
    first, second = create_samples(2, 10, 2, 70, None), create_samples(2, 10, 2, 70, None)
    assert not np.allclose(first[1].numpy(), second[1].numpy())


# --- choose_random_centroids ----------------------------------------------------------------


def test_choose_random_centroids_picks_distinct_samples(lesson_data):
    _, samples = lesson_data
    chosen = choose_random_centroids(samples, 5, seed=3).numpy()
    assert chosen.shape == (5, 2) and chosen.dtype == np.float32
    rows = {tuple(row) for row in samples}
    assert all(tuple(row) in rows for row in chosen)
    assert len({tuple(row) for row in chosen}) == 5


def test_choose_random_centroids_seeded_repeats_unseeded_varies(lesson_data):
    _, samples = lesson_data
    np.testing.assert_array_equal(
        choose_random_centroids(samples, 3, seed=1), choose_random_centroids(samples, 3, seed=1)
    )
    assert not np.array_equal(choose_random_centroids(samples, 3, seed=1), choose_random_centroids(samples, 3, seed=2))
    draws = {choose_random_centroids(samples, 3).numpy().tobytes() for _ in range(5)}
    assert len(draws) > 1


def test_choose_random_centroids_all_samples():
    samples = [[1.0], [2.0], [3.0]]
    chosen = choose_random_centroids(samples, 3, seed=0).numpy().ravel()
    assert sorted(chosen) == [1.0, 2.0, 3.0]


# --- assign_to_nearest and update_centroids -------------------------------------------------


def test_assign_to_nearest_hand_computed():
    samples = [[0.0, 0.0], [4.0, 0.0], [0.0, 3.0], [2.0, 0.1]]
    centroids = [[0.0, 0.0], [4.0, 0.0]]
    nearest = assign_to_nearest(samples, centroids)
    assert nearest.dtype == tf.int64 and nearest.shape == (4,)
    # (2, 0.1) is 4.01 from both centroids: a tie goes to the lower index, as with np.argmin.
    assert nearest.numpy().tolist() == [0, 1, 0, 0]


def test_assign_to_nearest_matches_numpy(lesson_data):
    _, samples = lesson_data
    centroids = np.random.default_rng(0).uniform(-35, 35, size=(7, 2)).astype(np.float32)
    np.testing.assert_array_equal(assign_to_nearest(samples, centroids).numpy(), numpy_nearest(samples, centroids))


def test_update_centroids_hand_computed():
    samples = [[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [12.0, 14.0]]
    new = update_centroids(samples, [0, 0, 1, 1], 2)
    assert new.dtype == tf.float32 and new.shape == (2, 2)
    np.testing.assert_allclose(new.numpy(), [[1.0, 0.0], [11.0, 12.0]])


def test_update_centroids_matches_numpy(lesson_data):
    _, samples = lesson_data
    nearest = np.random.default_rng(1).integers(0, 4, size=len(samples))
    np.testing.assert_allclose(
        update_centroids(samples, nearest, 4).numpy(), numpy_means(samples, nearest, 4), rtol=1e-5, atol=1e-4
    )


def test_accepts_lists_arrays_and_tensors():
    samples = [[0.0, 0.0], [1.0, 1.0], [9.0, 9.0]]
    for form in (samples, np.array(samples), np.array(samples, dtype=np.int64), tf.constant(samples)):
        assert assign_to_nearest(form, [[0.0, 0.0], [9.0, 9.0]]).numpy().tolist() == [0, 0, 1]


def test_ten_iterations_converge_on_the_lesson_data(lesson_data):
    true_centroids, samples = lesson_data
    centroids = choose_random_centroids(samples, N_CLUSTERS, seed=SEED)
    inertias = []
    for _ in range(10):
        nearest = assign_to_nearest(samples, centroids)
        inertias.append(numpy_inertia(samples, centroids.numpy(), nearest.numpy()))
        centroids = update_centroids(samples, nearest, N_CLUSTERS)
        inertias.append(numpy_inertia(samples, centroids.numpy(), nearest.numpy()))
    # Lloyd's algorithm: neither step ever raises the within-cluster sum of squares.
    assert all(later <= earlier * (1 + 1e-6) for earlier, later in zip(inertias, inertias[1:]))
    # Each found centroid lies close to a true centroid, matched up to order.
    found = centroids.numpy()
    best = min(
        itertools.permutations(range(N_CLUSTERS)),
        key=lambda p: np.sum((found[list(p)] - true_centroids) ** 2),
    )
    distances = np.linalg.norm(found[list(best)] - true_centroids, axis=1)
    assert np.all(distances < 1.0), distances


# --- empty clusters -------------------------------------------------------------------------


def test_empty_cluster_example_from_the_issue():
    samples = [[0, 0], [0.5, 0], [0.5, 1], [1, 1]]
    centroids = [[0.5, 0.5], [3, 3]]
    for _ in range(5):
        nearest = assign_to_nearest(samples, centroids)
        centroids = update_centroids(samples, nearest, 2)
        assert np.all(np.isfinite(centroids.numpy()))
    assert sorted(map(tuple, centroids.numpy().tolist())) == [(0.25, 0.0), (0.75, 1.0)]


def test_empty_cluster_takes_the_farthest_sample():
    # Every sample is nearest the first centroid; its mean is 5.5 and the farthest samples are
    # 0 and 11 (5.5 away each: the lower index first), then 10 and 1 (4.5 away).
    samples = [[0.0], [1.0], [10.0], [11.0]]
    new = update_centroids(samples, [0, 0, 0, 0], 3)
    np.testing.assert_allclose(new.numpy(), [[5.5], [0.0], [11.0]])


def test_empty_cluster_with_two_groups():
    samples = [[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 4.0]]
    # Cluster 1 is empty. Cluster 0's mean is (0, 1): both its samples are 1 away. Cluster 2's
    # mean is (10, 2): both are 2 away, so the first of them, (10, 0), moves to cluster 1.
    new = update_centroids(samples, [0, 0, 2, 2], 3)
    np.testing.assert_allclose(new.numpy(), [[0.0, 1.0], [10.0, 0.0], [10.0, 2.0]])


# --- bad input ------------------------------------------------------------------------------

GOOD = [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]

BAD_CALLS = [
    # (call, error type, words the message must contain)
    (lambda: create_samples(0, 10, 2, 70, 1), ValueError, "n_clusters"),
    (lambda: create_samples(3, -1, 2, 70, 1), ValueError, "n_samples_per_cluster"),
    (lambda: create_samples(3, 10, 2.5, 70, 1), TypeError, "n_features"),
    (lambda: create_samples(3, 10, 2, float("nan"), 1), ValueError, "embiggen_factor"),
    (lambda: create_samples(3, 10, 2, 70, "seven"), TypeError, "seed"),
    (lambda: create_samples(3, 10, 2, 70, -1), ValueError, "seed"),
    (lambda: create_samples(True, 10, 2, 70, 1), TypeError, "n_clusters"),
    (lambda: choose_random_centroids(GOOD, 4), ValueError, "more than the 3 samples"),
    (lambda: choose_random_centroids(GOOD, 0), ValueError, "n_clusters"),
    (lambda: choose_random_centroids([1.0, 2.0, 3.0], 2), ValueError, "samples must be 2-D"),
    (lambda: choose_random_centroids(np.zeros((0, 2)), 1), ValueError, "samples is empty"),
    (lambda: choose_random_centroids([[0.0, np.nan], [1.0, 1.0]], 1), ValueError, "samples contains NaN"),
    (
        lambda: assign_to_nearest([[0.0, np.inf]], [[0.0, 0.0]]),
        ValueError,
        "samples contains NaN or infinite",
    ),
    (lambda: assign_to_nearest(GOOD, [[0.0, 0.0, 0.0]]), ValueError, "centroids has 3 features"),
    (lambda: assign_to_nearest(GOOD, [[np.nan, 0.0]]), ValueError, "centroids contains NaN"),
    (lambda: assign_to_nearest([[0.0, 1.0], [2.0]], [[0.0, 0.0]]), ValueError, "samples"),
    (lambda: assign_to_nearest([["a", "b"]], [[0.0, 0.0]]), TypeError, "samples must hold numbers"),
    (lambda: update_centroids(GOOD, [0, 1], 2), ValueError, "nearest_indices must have one entry per sample"),
    (lambda: update_centroids(GOOD, [0, 1, 2], 2), ValueError, "nearest_indices must lie in [0, 2)"),
    (lambda: update_centroids(GOOD, [0, -1, 1], 2), ValueError, "nearest_indices must lie in [0, 2)"),
    (lambda: update_centroids(GOOD, [0.0, 1.0, 1.0], 2), TypeError, "nearest_indices must hold integers"),
    (lambda: update_centroids(GOOD, [0, 1, 1], 4), ValueError, "more than the 3 samples"),
    (lambda: update_centroids(GOOD, [0, 1, 1], 0), ValueError, "n_clusters"),
]


@pytest.mark.parametrize("call, error, words", BAD_CALLS)
def test_bad_input_gets_a_clear_error(call, error, words):
    with pytest.raises(error) as caught:
        call()
    assert words in str(caught.value)
    assert not isinstance(caught.value, tf.errors.OpError)
