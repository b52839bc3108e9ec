"""Sparse samples give the numbers dense ones give, and both the numbers NumPy gives by hand: the
nearest centre's squared distance (which mini-batch inertia and early stopping are made of), and
inertia_ and n_steps_ of every estimator."""

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf
from sklearn.cluster import KMeans as ScikitKMeans

from tfkmeans import BisectingKMeans, KMeans, MiniBatchKMeans, _dispatch, _samples, _sparse
from tfkmeans._samples import Samples


def grid(names, *axes, default):
    """Every combination of ``axes`` for ``parametrize(names, ...)``; those not in ``default``
    (a list of tuples) are marked slow, to keep the default suite's time."""
    return pytest.mark.parametrize(
        names,
        [pytest.param(*case, marks=() if case in default else pytest.mark.slow) for case in itertools.product(*axes)],
    )


def positive_blobs(n_samples=1500, n_features=4, n_centres=5, seed=0, dtype=np.float64):
    """Positive blobs (a sparse copy holds the same numbers) away from the origin, so that |x|^2
    is large beside the distances: a distance that left it out is far off."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(5, 15, size=(n_centres, n_features))
    X = centres[rng.integers(0, n_centres, n_samples)] + rng.normal(size=(n_samples, n_features))
    return np.abs(X).astype(dtype)


def nearest_by_hand(X, centres):
    """Each row's nearest centre and squared distance to it, from the differences."""
    squared = np.sum((X[:, None, :].astype(np.float64) - centres[None].astype(np.float64)) ** 2, axis=2)
    return squared.argmin(axis=1), squared.min(axis=1)


def inertia_by_hand(X, centres, labels, weights=None):
    squared = np.sum((X.astype(np.float64) - centres[labels].astype(np.float64)) ** 2, axis=1)
    return float(np.sum(squared if weights is None else squared * weights))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_clusters", [3, 40])
def test_the_nearest_centre_and_its_squared_distance_are_numpys(dtype, n_clusters):
    X = positive_blobs(300, dtype=dtype)
    rng = np.random.default_rng(1)
    centres = X[rng.choice(len(X), n_clusters, replace=False)] + rng.normal(size=(n_clusters, X.shape[1])).astype(dtype)
    labels, distances = nearest_by_hand(X, centres)
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    for kind in ("dense", "sparse"):
        samples = Samples(sp.csr_matrix(X) if kind == "sparse" else X)
        ours_labels, ours_distances = samples.run(
            _nearest,
            None,
            samples.relative(centres),
            n_clusters=n_clusters,
            allow_xla=False,
        )
        np.testing.assert_array_equal(ours_labels.numpy(), labels, err_msg=kind)
        np.testing.assert_allclose(
            ours_distances.numpy(), distances, rtol=rtol, atol=rtol * distances.max(), err_msg=kind
        )


def _nearest(data, weights, centres):
    return data.nearest(centres)


def test_the_mini_batch_update_reports_the_batch_inertia_numpy_gives():
    """One mini-batch step on all the samples: its inertia (what the smoothed inertia of early
    stopping averages) is the batch's squared distances to the centres it started from."""
    X = positive_blobs(200)
    centres = X[:5] + 0.5
    _, distances = nearest_by_hand(X, centres)
    for data in (X, sp.csr_matrix(X)):
        samples = Samples(data)
        _, _, batch_inertia, _ = samples.run(
            _partial_step,
            None,
            samples.relative(centres),
            n_clusters=5,
            allow_xla=False,
        )
        assert float(batch_inertia) == pytest.approx(distances.sum(), rel=1e-10)


def _partial_step(data, weights, centres):
    from tfkmeans import _minibatch
    from tfkmeans._tensorflow import tf

    counts = tf.zeros(tf.shape(centres)[:1], centres.dtype)
    return _minibatch.update(data, weights, centres, counts, tf.constant(False), tf.constant([0, 0], tf.int64), 0.0)


@grid(
    "dtype, compute_labels",
    [np.float32, np.float64],
    [True, False],
    default=[(np.float64, False), (np.float32, True)],
)
def test_minibatch_early_stopping_and_inertia_are_the_same_dense_and_sparse(dtype, compute_labels):
    """The same seed draws the same batches, dense or sparse, so the smoothed inertia stops the
    run at the same step, and inertia_ is the same (without labels, the smoothed inertia times
    the samples; with them, the inertia NumPy gives for labels_). A start in one corner makes the
    smoothed inertia improve for many steps before it stalls."""
    X = positive_blobs(dtype=dtype)
    start = np.sort(X, axis=0)[:5]  # the smallest values: far from most samples
    results = []
    for data in (X, sp.csr_matrix(X)):
        model = MiniBatchKMeans(
            5,
            init=start,
            n_init=1,
            batch_size=64,
            max_no_improvement=3,
            max_iter=30,
            random_state=0,
            compute_labels=compute_labels,
        ).fit(data)
        results.append(model)
        if compute_labels:
            by_hand = inertia_by_hand(X, model.cluster_centers_, model.labels_)
            assert model.inertia_ == pytest.approx(by_hand, rel=1e-5 if dtype == np.float32 else 1e-10)
            np.testing.assert_array_equal(model.labels_, nearest_by_hand(X, model.cluster_centers_)[0])
    dense, sparse = results
    n_steps_all = 30 * len(X) // 64
    assert 3 + 2 < dense.n_steps_ < n_steps_all  # improved for a while, then stopped early
    assert sparse.n_steps_ == dense.n_steps_
    rtol = 1e-4 if dtype == np.float32 else 1e-9
    assert sparse.inertia_ == pytest.approx(dense.inertia_, rel=rtol)
    np.testing.assert_allclose(sparse.cluster_centers_, dense.cluster_centers_, rtol=rtol)
    if not compute_labels:
        # A rough check that does not hang on the batches drawn: the smoothed inertia per sample
        # is of the order of the final centres' inertia per sample (a distance without |x|^2
        # would be far off, or clipped to 0).
        per_sample = inertia_by_hand(X, dense.cluster_centers_, nearest_by_hand(X, dense.cluster_centers_)[0]) / len(X)
        assert 0.2 * per_sample < dense.inertia_ / len(X) < 5 * per_sample


@grid(
    "Estimator, weighted",
    [KMeans, BisectingKMeans, MiniBatchKMeans],
    [False, True],
    default=[(KMeans, True), (BisectingKMeans, False), (MiniBatchKMeans, True)],
)
def test_inertia_is_the_same_dense_and_sparse_and_numpys(Estimator, weighted):
    X = positive_blobs(300)
    weights = np.random.default_rng(2).uniform(0.5, 2.0, len(X)) if weighted else None
    inertias = []
    for data in (X, sp.csr_matrix(X)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            model = Estimator(5, random_state=0).fit(data, sample_weight=weights)
        by_hand = inertia_by_hand(X, model.cluster_centers_, model.labels_, weights)
        assert model.inertia_ == pytest.approx(by_hand, rel=1e-9)
        inertias.append(model.inertia_)
    assert inertias[1] == pytest.approx(inertias[0], rel=1e-9)


def test_sparse_squared_distances_to_points_are_numpys():
    """The (samples x points) squared distances the k-means++ seeding draws from."""
    X = positive_blobs(100)
    points = X[[3, 50, 70]] + 0.25
    parts = _samples.sparse_parts(sp.csr_matrix(X))
    ours = _dispatch.run_sparse(lambda data, weights, points: data.distances(points), parts, None, tf_constant(points))
    by_hand = np.sum((X[:, None, :] - points[None]) ** 2, axis=2)
    np.testing.assert_allclose(ours.numpy(), by_hand, rtol=1e-10)


def tf_constant(values):
    from tfkmeans._tensorflow import tf

    return tf.constant(values)


@pytest.mark.parametrize("weighted", [False, True])
def test_sums_over_many_nonzeros_are_compiled_and_give_scikit_learns_answer(monkeypatch, weighted):
    """From COMPILED_SUMS_MIN_NONZEROS nonzeros the per-cluster sums and the exact inertia's
    products are XLA's over the nonzeros a bucket holds, the rest TensorFlow's (here from 0, on a
    count no bucket holds exactly): the same fit as scikit-learn's from the same start, and the same sums as NumPy's."""
    monkeypatch.setattr(_sparse, "COMPILED_SUMS_MIN_NONZEROS", 0)
    monkeypatch.setattr(_sparse, "_compiled", {})
    monkeypatch.setattr(_dispatch, "_compiled", {})  # traced anew, with the lower threshold
    rng = np.random.default_rng(3)
    X = sp.random(1_003, 300, density=0.05, format="csr", random_state=4, dtype=np.float64)
    X.data += 1.0
    assert X.nnz % 512 and X.nnz > 2**13  # a bucket of 512s, and some left over
    weights = rng.uniform(0.5, 2.0, X.shape[0]) if weighted else None
    start = X[:7].toarray()
    ours = KMeans(7, init=start, n_init=1, max_iter=5, tol=0).fit(X, sample_weight=weights)
    theirs = ScikitKMeans(7, init=start, n_init=1, max_iter=5, tol=0).fit(X, sample_weight=weights)
    assert (_sparse.nonzero_sums, (True, weighted, True)) in _sparse._compiled  # the compiled sums ran
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-10, atol=1e-12)
    # The exact inertia's products of each sample and its centroid are compiled too.
    assert any(key[0] is _sparse.assigned_products for key in _sparse._compiled)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-10)
    dense, w = X.toarray(), np.ones(X.shape[0]) if weights is None else weights
    expected = np.array([(dense * w[:, None])[ours.labels_ == j].sum(axis=0) for j in range(7)])
    samples = Samples(X)
    sums, counts = samples.run(
        _cluster_sums, samples.weights(weights), tf.constant(ours.labels_, tf.int32), n_clusters=7
    )
    np.testing.assert_allclose(sums.numpy(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(counts.numpy(), [w[ours.labels_ == j].sum() for j in range(7)], rtol=1e-12)


def _cluster_sums(data, weights, labels):
    return data.cluster_sums(weights, labels, 7)
