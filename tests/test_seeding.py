"""Seeding: random samples (the lesson's exercise 1) and k-means++."""

import contextlib
import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.cluster as skc
import tensorflow as tf

from conftest import REPO, headless_environment, run_python
from functions import choose_random_centroids, create_samples
from tfkmeans import (
    BisectingKMeans,
    KMeans,
    MiniBatchKMeans,
    _dense,
    _dispatch,
    _samples,
    _seeding,
    _sparse,
    kmeans_plusplus,
    random_centroids,
)


def plain(samples, n_clusters, seed):
    """The original k-means++ (one candidate per centre), as the command's --init k-means++."""
    return kmeans_plusplus(samples, n_clusters, random_state=seed, n_local_trials=1)[0]


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
    chosen = plain(samples, 10, 4)
    rows = {tuple(row) for row in samples}
    assert all(tuple(row) in rows for row in chosen)
    assert len({tuple(row) for row in chosen}) == 10
    np.testing.assert_array_equal(chosen, plain(samples, 10, 4))
    assert not np.array_equal(chosen, plain(samples, 10, 5))


def test_kmeans_plus_plus_spreads_out():
    """On well-separated blobs, k-means++ starts one centroid in each blob far more often than
    choosing samples at random does (seeded, so these counts are the same every run)."""
    true_centroids, samples = (tensor.numpy() for tensor in create_samples(3, 500, 2, 300, 700))
    hits = 0
    for seed in range(20):
        chosen = plain(samples, 3, seed)
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
        pair = tuple(sorted(plain([[0.0], [1.0], [3.0]], 2, seed).ravel()))
        counts[pair] += 1
    for pair, probability in expected.items():
        standard_error = np.sqrt(probability * (1 - probability) / draws)
        assert abs(counts[pair] / draws - probability) < 4 * standard_error, (pair, counts)


def test_kmeans_plus_plus_with_duplicate_samples():
    samples = [[1.0, 1.0]] * 5 + [[2.0, 2.0]]
    chosen = plain(samples, 3, 0)
    assert chosen.shape == (3, 2) and np.all(np.isfinite(chosen))
    assert {tuple(row) for row in chosen} == {(1.0, 1.0), (2.0, 2.0)}


@pytest.mark.slow  # fresh processes
def test_the_same_seed_gives_the_same_numbers_in_another_process(lesson_data, tmp_path):
    """The lesson's create_samples and seeded choose_random_centroids, kmeans_plusplus, and the
    estimators' fits with a random_state: the same numbers in a new process as in this one."""
    from tfkmeans import MiniBatchKMeans

    _, samples = lesson_data
    np.save(tmp_path / "samples.npy", samples)
    code = (
        "import numpy as np\n"
        "from functions import choose_random_centroids, create_samples\n"
        "from tfkmeans import KMeans, MiniBatchKMeans, kmeans_plusplus\n"
        "X = np.load('samples.npy')\n"
        "np.savez('there.npz', created=create_samples(3, 500, 2, 70, 700)[1].numpy(),\n"
        "    random=choose_random_centroids(X, 3, 700).numpy(), plusplus=kmeans_plusplus(X, 5, random_state=700)[0],\n"
        "    kmeans=KMeans(5, random_state=42).fit(X).cluster_centers_,\n"
        "    random_kmeans=KMeans(5, init='random', random_state=42).fit(X).cluster_centers_,\n"
        "    minibatch=MiniBatchKMeans(5, random_state=42, batch_size=256).fit(X).cluster_centers_)\n"
    )
    run_python(code, tmp_path, timeout=120, environment={**headless_environment(), "PYTHONPATH": str(REPO)})
    there = np.load(tmp_path / "there.npz")
    here = {
        "created": create_samples(3, 500, 2, 70, 700)[1].numpy(),
        "random": choose_random_centroids(samples, 3, 700).numpy(),
        "plusplus": kmeans_plusplus(samples, 5, random_state=700)[0],
        "kmeans": KMeans(5, random_state=42).fit(samples).cluster_centers_,
        "random_kmeans": KMeans(5, init="random", random_state=42).fit(samples).cluster_centers_,
        "minibatch": MiniBatchKMeans(5, random_state=42, batch_size=256).fit(samples).cluster_centers_,
    }
    for name, values in here.items():
        np.testing.assert_array_equal(there[name], values, err_msg=name)
    other = KMeans(5, init="random", random_state=43).fit(samples).cluster_centers_
    assert not np.allclose(other, here["random_kmeans"])


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: kmeans_plusplus([[0.0], [1.0], [2.0]], 5), ValueError, "n_samples=3 should be >= n_clusters=5"),
        (lambda: kmeans_plusplus([[0.0], [np.nan]], 1), ValueError, "Input contains NaN"),
        (lambda: kmeans_plusplus([[0.0], [1.0]], 1, x_squared_norms=[1.0]), ValueError, "length of x_squared_norms"),
        (
            lambda: kmeans_plusplus([[0.0], [1.0]], 1, random_state=-1),
            ValueError,
            "Seed must be between 0 and 2**32 - 1",
        ),
        (lambda: random_centroids([[0.0], [1.0]], 1, seed=-1), ValueError, "seed"),
        (lambda: random_centroids([[0.0], [1.0]], 0), ValueError, "n_clusters"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, words):
    with pytest.raises(error) as caught:
        call()
    assert words in str(caught.value)
    assert not isinstance(caught.value, tf.errors.OpError)


def test_kmeans_plusplus_returns_scikit_learns_centers_and_indices(lesson_data):
    _, samples = lesson_data
    centers, indices = kmeans_plusplus(samples, 6, random_state=3)
    assert indices.shape == (6,) and len(set(indices.tolist())) == 6
    np.testing.assert_array_equal(centers, samples[indices])
    sparse_centers, sparse_indices = kmeans_plusplus(__import__("scipy").sparse.csr_matrix(samples), 6, random_state=3)
    np.testing.assert_array_equal(sparse_centers, samples[sparse_indices])


def test_zero_weights_are_never_chosen():
    """Half the samples weigh nothing: no start, k-means++ or random, is ever one of them."""
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(200, 2))
    samples[::2] += 50  # the zero-weight half lies far away, where k-means++ would like to go
    weights = np.where(np.arange(200) % 2 == 0, 0.0, rng.uniform(0.5, 2.0, 200))
    for seed in range(10):
        _, indices = kmeans_plusplus(samples, 5, sample_weight=weights, random_state=seed)
        assert np.all(indices % 2 == 1), indices
        chosen = random_centroids(samples, 5, seed, sample_weight=weights)
        assert np.all(chosen[:, 0] < 25), chosen


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_kmeans_chooses_its_start_with_the_sample_weights(init):
    """KMeans' start is the weighted seeding's: one iteration from it gives scikit-learn's
    iteration from that same start; without the weights the start would differ."""
    from sklearn.cluster import KMeans as ScikitKMeans

    rng = np.random.default_rng(1)
    samples = rng.normal(size=(300, 3)) + rng.integers(0, 6, size=(300, 1)) * 4
    weights = rng.uniform(0, 1, 300) ** 4
    model = KMeans(5, init=init, n_init=1, max_iter=1, random_state=42).fit(samples, sample_weight=weights)
    start = KMeans(5, init=init)._init_centroids(samples, None, init, np.random.RandomState(42), weights)
    unweighted = KMeans(5, init=init)._init_centroids(samples, None, init, np.random.RandomState(42), None)
    assert not np.array_equal(start, unweighted)
    reference = ScikitKMeans(5, init=start, n_init=1, max_iter=1).fit(samples, sample_weight=weights)
    np.testing.assert_allclose(model.cluster_centers_, reference.cluster_centers_, rtol=1e-10)
    if init == "k-means++":
        centers, _ = kmeans_plusplus(samples, 5, sample_weight=weights, random_state=42)
        np.testing.assert_array_equal(centers, start)


def grid(names, *axes, default):
    """Every combination of ``axes`` for ``parametrize(names, ...)``; those not in ``default``
    (a list of tuples) are marked slow, to keep the default suite's time."""
    return pytest.mark.parametrize(
        names,
        [pytest.param(*case, marks=() if case in default else pytest.mark.slow) for case in itertools.product(*axes)],
    )


def potential(X, centres):
    """The inertia of a start: each sample's squared distance to its nearest centre, summed."""
    return float(np.sum(np.min(np.sum((X[:, None, :] - centres[None]) ** 2, axis=2), axis=1)))


def tight_blobs(n_clusters=10, spread=0.3, n_samples=2000, seed=0):
    """Many small, well-separated blobs: a start that leaves one out pays for it, and greedy
    k-means++ leaves fewer out than one candidate a centre (scikit-learn's own starts: about 630
    against 1,200 here)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 50, size=(n_clusters, 2))
    return centres[rng.integers(0, n_clusters, n_samples)] + rng.normal(size=(n_samples, 2)) * spread


SEEDS = range(60)


def mean_potential(X, choose):
    return np.mean([potential(X, choose(seed)) for seed in SEEDS])


@pytest.fixture
def drawn(monkeypatch):
    """Records, for each k-means++ seeding run from here on, the centres and candidates per
    centre it is asked for, and the rows its graph takes as it runs: the first centre's, then
    each next centre's candidates. Functions traced before are set aside, so that the seeding
    is traced anew with the spy in it."""
    records = []
    current = None

    def rows_at(original_rows_at):
        def spy(self, indices):
            def record(shape):
                if current is not None:  # (not the rows other steps take, a reassignment's)
                    current["shapes"].append(tuple(shape.numpy()))
                return 0

            token = tf.py_function(record, [tf.shape(indices)], tf.int32)
            with tf.control_dependencies([token]):
                return original_rows_at(self, tf.identity(indices))

        return spy

    def wrapped(original_plusplus):
        def plusplus(self, weights, seed, n_clusters, trials):
            nonlocal current
            current = {"trials": trials, "k": n_clusters, "shapes": []}
            records.append(current)
            try:
                return original_plusplus(self, weights, seed, n_clusters, trials)
            finally:
                current = None

        return plusplus

    @contextlib.contextmanager
    def fresh():
        monkeypatch.setattr(_dispatch, "_compiled", {})
        monkeypatch.setattr(_dense.DenseSamples, "rows_at", rows_at(_dense.DenseSamples.rows_at))
        monkeypatch.setattr(_sparse.SparseSamples, "rows_at", rows_at(_sparse.SparseSamples.rows_at))
        monkeypatch.setattr(_samples.Samples, "plusplus", wrapped(_samples.Samples.plusplus))
        yield records

    return fresh


def expected_trials(k):
    return 2 + int(np.log(k))  # scikit-learn's rule


ESTIMATORS = {
    "KMeans": lambda: KMeans(8, init="k-means++", n_init=1, random_state=0),
    "MiniBatchKMeans": lambda: MiniBatchKMeans(8, init="k-means++", n_init=1, random_state=0),
    "BisectingKMeans": lambda: BisectingKMeans(3, init="k-means++", random_state=0),  # splits of 2
}


def test_greedy_starts_are_as_good_as_scikit_learns_and_better_than_one_candidate():
    X, k = tight_blobs(), 10
    theirs = mean_potential(X, lambda seed: skc.kmeans_plusplus(X, k, random_state=seed)[0])
    theirs_one = mean_potential(X, lambda seed: skc.kmeans_plusplus(X, k, random_state=seed, n_local_trials=1)[0])
    assert theirs_one > 1.4 * theirs  # the data tells the two apart
    ours = mean_potential(X, lambda seed: kmeans_plusplus(X, k, random_state=seed)[0])
    ours_one = mean_potential(X, lambda seed: kmeans_plusplus(X, k, random_state=seed, n_local_trials=1)[0])
    # Different random streams: the averages of 60 starts agree within their spread (about 2% for
    # greedy starts; one candidate's potentials have a long tail, so only their gap is checked).
    assert ours == pytest.approx(theirs, rel=0.15)
    assert ours_one > 1.4 * ours
    # The estimators' own starts (KMeans's, as fit chooses it) are the same greedy ones.
    model = KMeans(k, init="k-means++")
    starts = mean_potential(
        X, lambda seed: model._init_centroids(X, None, "k-means++", np.random.RandomState(seed), None)
    )
    assert starts == pytest.approx(theirs, rel=0.15)


@grid("k, sparse", [1, 2, 3, 8, 21], [False, True], default=[(1, False), (8, False), (3, True), (21, True)])
def test_kmeans_plusplus_draws_two_plus_log_k_candidates_a_centre(drawn, k, sparse):
    X = np.abs(tight_blobs(n_clusters=5, n_samples=200))
    data = sp.csr_matrix(X) if sparse else X
    with drawn() as records:
        kmeans_plusplus(data, k, random_state=0)
    (record,) = records
    assert record["trials"] == expected_trials(k)
    # The first centre alone, then a set of candidates of that size for each next centre.
    assert record["shapes"] == [(1,)] + [(expected_trials(k),)] * (k - 1)


@pytest.mark.parametrize("n_local_trials", [1, pytest.param(3, marks=pytest.mark.slow), 7])
def test_kmeans_plusplus_draws_the_candidates_it_is_asked_for(drawn, n_local_trials):
    X = tight_blobs(n_samples=200)
    with drawn() as records:
        kmeans_plusplus(X, 6, random_state=0, n_local_trials=n_local_trials)
    assert records[0]["trials"] == n_local_trials
    assert records[0]["shapes"] == [(1,)] + [(n_local_trials,)] * 5


@grid(
    "estimator, sparse",
    ESTIMATORS,
    [False, True],
    default=[("KMeans", False), ("MiniBatchKMeans", True), ("BisectingKMeans", False)],
)
def test_the_estimators_seed_greedily_as_scikit_learn_does(drawn, estimator, sparse):
    X = np.abs(tight_blobs(n_samples=300))
    data = sp.csr_matrix(X) if sparse else X
    with drawn() as records:
        ESTIMATORS[estimator]().fit(data)
    assert records
    for record in records:  # a bisection seeds each split of 2
        assert record["trials"] == expected_trials(record["k"])
        assert record["shapes"] == [(1,)] + [(expected_trials(record["k"]),)] * (record["k"] - 1)


# --- k-means|| ----------------------------------------------------------------------------------


class NumpyPasses:
    """The passes k-means|| makes, over an array in NumPy: an independent stand-in for
    ``_stream.Passes`` that also counts them."""

    def __init__(self, X):
        self.X, self.dtype, self.passes = X, tf.as_dtype(X.dtype), []
        self.consistency = type("Consistency", (), {"n_samples": len(X)})()

    def nearest_distances(self, offset, points):
        self.passes.append("distances")
        squared = ((self.X[:, None, :] - np.asarray(offset) - points.numpy()[None]) ** 2).sum(axis=2)
        return squared.min(axis=1).astype(np.float64)

    def rows_at(self, positions):
        self.passes.append("rows")
        assert np.all(np.diff(positions) > 0)  # sorted, as the stream's pass takes them
        return self.X[positions]

    def labels(self, offset, centroids):
        self.passes.append("labels")
        squared = ((self.X[:, None, :] - np.asarray(offset) - centroids.numpy()[None]) ** 2).sum(axis=2)
        return squared.argmin(axis=1), float(squared.min(axis=1).sum())


@pytest.mark.parametrize("rounds", [1, 3, 5])
def test_k_means_parallel_makes_two_passes_a_round_and_weighs_each_candidate_by_its_rows(rounds):

    X = tight_blobs(n_clusters=6, n_samples=300)
    passes = NumpyPasses(X)
    offset = X.mean(axis=0)
    points, weights = _seeding.parallel_candidates(passes, offset, X[0] - offset, len(X), 6, rounds, 2.0, seed=1)
    assert passes.passes.count("labels") == 1 and len(passes.passes) == 2 * rounds + 1
    np.testing.assert_allclose(points[0], X[0] - offset, rtol=1e-6)
    nearest = (((X - offset)[:, None, :] - points[None]) ** 2).sum(axis=2).argmin(axis=1)
    np.testing.assert_array_equal(weights, np.bincount(nearest, minlength=len(points)))
    assert weights.sum() == len(X)
    assert len(points) >= 6  # at least k, made up with uniform rows where the rounds drew fewer


def test_k_means_parallel_draws_each_row_in_proportion_to_its_squared_distance():
    """One round from the first row: a row is drawn with probability min(1, l * d(x)^2 / phi),
    l = oversampling x k (k=1 here, so that no uniform row ever makes up a short count). Over
    4,000 seeds the frequencies match (3 standard errors)."""

    X = np.array([[0.0], [1.0], [2.0], [4.0], [8.0], [0.5], [3.0]], np.float64)
    squared = (X[:, 0] - X[0, 0]) ** 2
    expected = np.minimum(1.0, 1.5 * squared / squared.sum())  # l = 1.5 x k=1: the farthest row always
    drawn = np.zeros(len(X))
    for seed in range(4000):
        passes = NumpyPasses(X)
        points, _ = _seeding.parallel_candidates(passes, np.zeros(1), X[0], len(X), 1, 1, 1.5, seed=seed)
        rows = [int(np.flatnonzero(X[:, 0] == value)[0]) for value in points[1:, 0]]
        drawn[rows] += 1
    frequency = drawn / 4000
    tolerance = 3 * np.sqrt(expected * (1 - expected) / 4000) + 1e-9
    assert np.all(np.abs(frequency[1:] - expected[1:]) <= tolerance[1:]), (frequency, expected)


def test_k_means_parallel_finds_small_clusters_a_sample_misses(monkeypatch):
    """A stream whose start k-means++ draws from a sample of 400 of its rows: 30 clusters of 40
    rows beside 4 of 10,000 are mostly missing from the sample, so k-means++ cannot start on
    them; k-means|| visits every row and does. After 10 iterations its inertia is far lower."""
    from tfkmeans import _stream

    monkeypatch.setattr(_stream, "SEED_SAMPLE_ROWS", 400)
    rng = np.random.default_rng(0)
    centres = rng.uniform(-1000, 1000, size=(34, 2))
    sizes = [10_000] * 4 + [40] * 30
    X = np.concatenate([c + rng.normal(size=(s, 2)) for c, s in zip(centres, sizes)]).astype(np.float32)
    X = X[rng.permutation(len(X))]
    dataset = tf.data.Dataset.from_tensor_slices(X).batch(4096)
    sampled, parallel = [], []
    for seed in range(3):
        sampled.append(KMeans(34, n_init=1, max_iter=10, random_state=seed).fit(dataset).inertia_)
        parallel.append(KMeans(34, init="k-means||", n_init=1, max_iter=10, random_state=seed).fit(dataset).inertia_)
    assert np.median(parallel) < 0.2 * np.median(sampled), (parallel, sampled)


@pytest.mark.parametrize("weighted", [False, True])
def test_k_means_parallel_in_memory_starts_as_well_as_k_means_plus_plus(weighted):
    X = tight_blobs(n_clusters=10, n_samples=2000)
    weights = np.random.default_rng(2).uniform(0.5, 2.0, len(X)) if weighted else None
    ours = [
        KMeans(10, init="k-means||", n_init=1, max_iter=1, random_state=seed).fit(X, sample_weight=weights).inertia_
        for seed in range(4)
    ]
    plain = [
        KMeans(10, init="k-means++", n_init=1, max_iter=1, random_state=seed).fit(X, sample_weight=weights).inertia_
        for seed in range(4)
    ]
    assert np.median(ours) <= 1.1 * np.median(plain)
    again = KMeans(10, init="k-means||", n_init=1, random_state=3).fit(X, sample_weight=weights)
    np.testing.assert_array_equal(
        again.cluster_centers_,
        KMeans(10, init="k-means||", n_init=1, random_state=3).fit(X, sample_weight=weights).cluster_centers_,
    )


def test_k_means_parallel_refuses_sparse_data_and_bad_parameters():
    X = tight_blobs(n_clusters=3, n_samples=60)
    with pytest.raises(TypeError, match=r"init='k-means\|\|' takes dense data"):
        KMeans(3, init="k-means||").fit(sp.csr_matrix(np.abs(X)))
    with pytest.raises(ValueError, match="oversampling_factor"):
        KMeans(3, init="k-means||", oversampling_factor=0).fit(X)
    with pytest.raises(ValueError, match="init_rounds"):
        KMeans(3, init="k-means||", init_rounds=0).fit(X)
