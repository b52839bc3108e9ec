"""How good a k-means++ start is, not only which samples it may pick: greedy k-means++ draws
2 + int(log k) candidates for each centre (scikit-learn's rule) and keeps the best, and its
starts are as good on average as scikit-learn's; with one candidate they are measurably worse."""

import contextlib
import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.cluster as skc

from tfkmeans import BisectingKMeans, KMeans, MiniBatchKMeans, _lloyd, _seeding, _sparse, kmeans_plusplus


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


@pytest.fixture
def drawn(monkeypatch):
    """Records, for each k-means++ seeding run from here on, the candidates per centre it is
    given and the number of candidates its traced graph draws and measures (the rows it takes
    for them). The seeding function is wrapped anew, so it is traced again for each call."""
    records = []
    original = _seeding._plusplus
    current = None

    def rows_at(original_rows_at):
        def spy(self, indices):
            if current is not None:
                current["shapes"].append(tuple(indices.shape))
            return original_rows_at(self, indices)

        return spy

    monkeypatch.setattr(_lloyd.DenseSamples, "rows_at", rows_at(_lloyd.DenseSamples.rows_at))
    monkeypatch.setattr(_sparse.SparseSamples, "rows_at", rows_at(_sparse.SparseSamples.rows_at))

    def wrapped(*arguments, **static):
        nonlocal current
        current = {"trials": static["trials"], "k": static["k"], "shapes": []}
        records.append(current)
        try:
            return original(*arguments, **static)
        finally:
            current = None

    @contextlib.contextmanager
    def fresh():
        # A new function object for each use: a new key in the compiled functions' caches.
        monkeypatch.setattr(_seeding, "_plusplus", lambda *a, **s: wrapped(*a, **s))
        yield records

    return fresh


def expected_trials(k):
    return 2 + int(np.log(k))  # scikit-learn's rule


@grid("k, sparse", [1, 2, 3, 8, 21], [False, True], default=[(1, False), (8, False), (3, True), (21, True)])
def test_kmeans_plusplus_draws_two_plus_log_k_candidates_a_centre(drawn, k, sparse):
    X = np.abs(tight_blobs(n_clusters=5, n_samples=200))
    data = sp.csr_matrix(X) if sparse else X
    with drawn() as records:
        kmeans_plusplus(data, k, random_state=0)
    (record,) = records
    assert record["trials"] == expected_trials(k)
    # The first centre alone, then one set of candidates of that size (the loop's body is traced
    # once, even for k = 1, when it never runs).
    assert record["shapes"] == [(1,), (expected_trials(k),)]


@pytest.mark.parametrize("n_local_trials", [1, pytest.param(3, marks=pytest.mark.slow), 7])
def test_kmeans_plusplus_draws_the_candidates_it_is_asked_for(drawn, n_local_trials):
    X = tight_blobs(n_samples=200)
    with drawn() as records:
        kmeans_plusplus(X, 6, random_state=0, n_local_trials=n_local_trials)
    assert records[0]["trials"] == n_local_trials
    assert records[0]["shapes"] == [(1,), (n_local_trials,)]


ESTIMATORS = {
    "KMeans": lambda: KMeans(8, init="k-means++", n_init=1, random_state=0),
    "MiniBatchKMeans": lambda: MiniBatchKMeans(8, init="k-means++", n_init=1, random_state=0),
    "BisectingKMeans": lambda: BisectingKMeans(3, init="k-means++", random_state=0),  # splits of 2
}


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
        assert record["shapes"] == [(1,), (expected_trials(record["k"]),)]
