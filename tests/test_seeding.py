"""Seeding: random samples (the lesson's exercise 1) and k-means++."""

import numpy as np
import pytest
import tensorflow as tf

from conftest import run_python
from functions import choose_random_centroids, create_samples
from tfkmeans import kmeans_plusplus, random_centroids


@pytest.fixture(scope="module")
def lesson_data():
    centroids, samples = create_samples(3, 500, 2, 70, 700)
    return centroids.numpy(), samples.numpy()


def numpy_nearest(samples, centroids):
    distances = ((np.asarray(samples, np.float64)[:, None, :] - np.asarray(centroids, np.float64)[None]) ** 2).sum(2)
    return distances.argmin(axis=1)


def test_random_centroids_are_the_lessons_seeded_choice(lesson_data):
    _, samples = lesson_data
    for seed in (0, 700):
        np.testing.assert_array_equal(random_centroids(samples, 3, seed), choose_random_centroids(samples, 3, seed))


def test_kmeans_plus_plus_picks_distinct_samples_and_repeats(lesson_data):
    _, samples = lesson_data
    chosen = kmeans_plusplus(samples, 10, seed=4)
    rows = {tuple(row) for row in samples}
    assert all(tuple(row) in rows for row in chosen)
    assert len({tuple(row) for row in chosen}) == 10
    np.testing.assert_array_equal(chosen, kmeans_plusplus(samples, 10, seed=4))
    assert not np.array_equal(chosen, kmeans_plusplus(samples, 10, seed=5))


def test_kmeans_plus_plus_spreads_out():
    """On well-separated blobs, k-means++ starts one centroid in each blob far more often than
    choosing samples at random does (seeded, so these counts are the same every run)."""
    true_centroids, samples = (tensor.numpy() for tensor in create_samples(3, 500, 2, 300, 700))
    hits = 0
    for seed in range(20):
        chosen = kmeans_plusplus(samples, 3, seed=seed)
        hits += len(set(numpy_nearest(chosen, true_centroids))) == 3
    random_hits = sum(
        len(set(numpy_nearest(choose_random_centroids(samples, 3, seed=s), true_centroids))) == 3 for s in range(20)
    )
    assert hits >= 15 and hits > 2 * random_hits, (hits, random_hits)


def test_kmeans_plus_plus_draws_with_probability_proportional_to_squared_distance():
    # Samples 0, 1, 3 and two centroids. The first is uniform; then, after 0 the squared
    # distances are (0, 1, 9), so 1 follows with probability 1/10 and 3 with 9/10; after 1 they
    # are (1, 0, 4); after 3, (9, 4, 0). So the pair {0, 1} comes with probability
    # (1/10 + 1/5) / 3 = 0.1, {1, 3} with (4/5 + 4/13) / 3 and {0, 3} with (9/10 + 9/13) / 3.
    expected = {(0.0, 1.0): 0.1, (1.0, 3.0): (0.8 + 4 / 13) / 3, (0.0, 3.0): (0.9 + 9 / 13) / 3}
    draws = 1000
    counts = dict.fromkeys(expected, 0)
    for seed in range(draws):
        pair = tuple(sorted(kmeans_plusplus([[0.0], [1.0], [3.0]], 2, seed=seed).ravel()))
        counts[pair] += 1
    for pair, probability in expected.items():
        standard_error = np.sqrt(probability * (1 - probability) / draws)
        assert abs(counts[pair] / draws - probability) < 4 * standard_error, (pair, counts)


def test_kmeans_plus_plus_with_duplicate_samples():
    samples = [[1.0, 1.0]] * 5 + [[2.0, 2.0]]
    chosen = kmeans_plusplus(samples, 3, seed=0)
    assert chosen.shape == (3, 2) and np.all(np.isfinite(chosen))
    assert {tuple(row) for row in chosen} == {(1.0, 1.0), (2.0, 2.0)}


def test_kmeans_plusplus_same_seed_same_centroids_in_two_processes(lesson_data, tmp_path):
    _, samples = lesson_data
    np.save(tmp_path / "samples.npy", samples)
    code = (
        "import numpy as np\n"
        "from tfkmeans import kmeans_plusplus\n"
        "np.save('chosen.npy', kmeans_plusplus(np.load('samples.npy'), 5, seed=700))\n"
    )
    run_python(code, tmp_path, timeout=120)
    np.testing.assert_array_equal(np.load(tmp_path / "chosen.npy"), kmeans_plusplus(samples, 5, seed=700))


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: kmeans_plusplus([[0.0], [1.0], [2.0]], 5), ValueError, "more than the 3 samples"),
        (lambda: kmeans_plusplus([[0.0], [np.nan]], 1), ValueError, "samples contains NaN"),
        (lambda: kmeans_plusplus([[0.0], [1.0]], 1, seed=-1), ValueError, "seed"),
        (lambda: random_centroids([[0.0], [1.0]], 0), ValueError, "n_clusters"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, words):
    with pytest.raises(error) as caught:
        call()
    assert words in str(caught.value)
    assert not isinstance(caught.value, tf.errors.OpError)
