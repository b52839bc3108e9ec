"""tfkmeans._precision, the one precision policy: float32 stays float32 until its squared
distances could overflow, then float64; float64 that could overflow is refused. Checked against
the bound computed here from float32's and float64's largest numbers, and through the estimators."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.cluster

from tfkmeans import BisectingKMeans, KMeans, MiniBatchKMeans, SphericalKMeans, _precision, kmeans_plusplus


def bound(n_features, dtype):
    """The largest distance from the origin whose squared distances (at most 4 x features x
    largest**2 between two points, with 16 times headroom) stay within ``dtype``."""
    return float(np.sqrt(float(np.finfo(dtype).max) / (4 * 16 * n_features)))


@pytest.mark.parametrize("n_features", [1, 3, 300])
def test_float32_becomes_float64_at_the_bound(n_features):
    limit = bound(n_features, np.float32)
    assert _precision.largest_safe(n_features) == pytest.approx(limit, rel=1e-12)
    assert _precision.compute_dtype(np.float32, limit * 0.999, n_features) == np.float32
    assert _precision.compute_dtype(np.float32, limit * 1.001, n_features) == np.float64
    assert _precision.compute_dtype(np.float64, limit * 1.001, n_features) == np.float64


@pytest.mark.parametrize("n_features", [1, 64])
def test_float64_beyond_its_bound_is_refused_naming_where_from(n_features):
    limit = bound(n_features, np.float64)
    assert _precision.compute_dtype(np.float64, limit * 0.999, n_features) == np.float64
    with pytest.raises(ValueError, match=r"lie up to .* from zero, and squared distances .* overflow float64"):
        _precision.compute_dtype(np.float64, limit * 1.001, n_features, origin="zero")
    # float32 far beyond its own bound still fits in float64: never refused
    assert _precision.compute_dtype(np.float32, 3e38, n_features) == np.float64


def test_results_go_back_to_the_data_dtype_or_are_refused():
    fits = np.array([[1.0, 3e38]])
    assert _precision.in_dtype(fits, np.float32).dtype == np.float32
    np.testing.assert_array_equal(_precision.in_dtype(fits, np.float64), fits)
    with pytest.raises(ValueError, match="exceed float32's range; pass X as float64"):
        _precision.in_dtype(np.array([[4e38]]), np.float32)


def test_the_largest_distance_from_a_centre_of_each_features_range():
    low, high = np.array([-5.0, 0.0]), np.array([1.0, 10.0])
    assert _precision.largest_from(low, high, np.array([0.0, 0.0])) == 10.0
    assert _precision.largest_from(low, high, np.array([-5.0, 5.0])) == 6.0
    assert _precision.sparse_largest(sp.csr_matrix(np.array([[0.0, -7.0], [2.0, 0.0]]))) == 7.0
    assert _precision.sparse_largest(sp.csr_matrix((3, 3))) == 0.0


@pytest.mark.parametrize("sparse", [False, True])
def test_the_estimators_follow_the_policy(sparse):
    """float32 data whose squares overflow float32 is fitted in float64 (finite inertia, float32
    centres); float64 data beyond float64's bound is refused with the policy's message."""
    rng = np.random.default_rng(0)
    X = (np.abs(rng.normal(size=(60, 3))) + 1.0) * 1e19
    X[:30] *= 3.0
    data = sp.csr_matrix(X.astype(np.float32)) if sparse else X.astype(np.float32)
    model = KMeans(2, n_init=1, random_state=0).fit(data)
    assert model.cluster_centers_.dtype == np.float32 and np.isfinite(model.inertia_)
    reference = np.array([X[:30].mean(axis=0), X[30:].mean(axis=0)])
    order = np.argsort(model.cluster_centers_[:, 0])[::-1]
    np.testing.assert_allclose(model.cluster_centers_[order], reference, rtol=1e-5)
    huge = X * 1e140
    with pytest.raises(ValueError, match="overflow float64; rescale the data"):
        KMeans(2, n_init=1).fit(sp.csr_matrix(huge) if sparse else huge)


# --- sample weights whose span float32 cannot carry -------------------------------------------


def test_weights_spanning_more_than_2_to_the_100_are_computed_in_float64():
    """The bound: once the largest weight is rescaled into [1, 2), the smallest must stay 2**26
    times above the dtype's smallest normal number (2**-126 for float32, 2**-1022 for float64)."""
    assert _precision.weight_span_limit(np.float32) == 2.0**100
    assert _precision.weight_span_limit(np.float64) == 2.0**996
    assert _precision.weights_dtype(np.float32, 1.0, 2.0**100) == np.float32
    assert _precision.weights_dtype(np.float32, 1.0, np.nextafter(2.0**100, np.inf)) == np.float64
    assert _precision.weights_dtype(np.float32, 1e-40, 1.0) == np.float64
    assert _precision.weights_dtype(np.float64, 1e-40, 1.0) == np.float64
    assert _precision.weights_dtype(np.float64, 1.0, 2.0**996) == np.float64
    for smallest, largest in ((1.0, np.nextafter(2.0**996, np.inf)), (5e-324, 1.0), (1e-300, 1e300)):
        for dtype in (np.float32, np.float64):
            with pytest.raises(ValueError, match=r"sample_weight holds positive weights from .* more than float64"):
                _precision.weights_dtype(dtype, smallest, largest)


def three_blobs():
    """Three blobs far apart, in float32's values; the first sample is the one weighted apart."""
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(centre, 0.5, (50, 2)) for centre in ([0, 0], [10, 0], [0, 10])])
    return X.astype(np.float32)


def weighted_inertia(X, weights, centres, labels):
    """NumPy's inertia, in float64: each sample's weight times its squared distance to the
    centre it is labelled with."""
    X, centres = np.asarray(X, np.float64), np.asarray(centres, np.float64)
    return float(np.sum(weights * np.sum((X - centres[labels]) ** 2, axis=1)))


def blob_of(points, X):
    """Which of ``three_blobs``' three blobs each point is nearest the middle of."""
    middles = np.array([X[i * 50 : (i + 1) * 50].mean(axis=0) for i in range(3)], np.float64)
    return np.argmin(((np.asarray(points, np.float64)[:, None] - middles[None]) ** 2).sum(-1), axis=1)


# One weight 1e40 among ones, and one 1 among weights of 1e-40: the same span, from both ends.
SPANS = {"1e40 among ones": (0, 1e40, 1.0), "1 among 1e-40": (0, 1.0, 1e-40)}


def span_weights(name, n_samples):
    index, apart, rest = SPANS[name]
    weights = np.full(n_samples, rest)
    weights[index] = apart
    return weights


@pytest.mark.parametrize("span", SPANS)
@pytest.mark.parametrize("sparse", [False, True])
def test_kmeans_with_weights_beyond_float32s_span_is_scikit_learns_fit_in_float64(span, sparse):
    """A weight 2**133 times the others once put every centre on the heavy sample, with inertia
    0: the others' weights, cast to float32, were subnormal, which TensorFlow's CPU kernels take
    as 0. The fit is now scikit-learn's of the same data in float64 (centres, labels, inertia,
    score)."""
    X = three_blobs()
    weights = span_weights(span, X.shape[0])
    reference = sklearn.cluster.KMeans(3, init=X[[0, 60, 110]].astype(np.float64), n_init=1, tol=0)
    reference.fit(X.astype(np.float64), sample_weight=weights)
    data = sp.csr_matrix(X) if sparse else X
    for init in (X[[0, 60, 110]], "k-means++"):
        model = KMeans(3, init=init, n_init=1, random_state=0, tol=0).fit(data, sample_weight=weights)
        assert model.cluster_centers_.dtype == np.float32
        order = np.argsort(blob_of(model.cluster_centers_, X))
        np.testing.assert_allclose(model.cluster_centers_[order], reference.cluster_centers_, rtol=1e-6, atol=1e-6)
        assert _same_partition(model.labels_, reference.labels_)
        np.testing.assert_allclose(model.inertia_, reference.inertia_, rtol=1e-5)
        np.testing.assert_allclose(-model.score(data, sample_weight=weights), reference.inertia_, rtol=1e-5)


def _same_partition(labels, other):
    pairs = set(zip(labels.tolist(), other.tolist()))
    return len(pairs) == len(set(labels.tolist())) == len(set(other.tolist()))


@pytest.mark.parametrize("span", SPANS)
def test_the_other_estimators_follow_the_weights_policy(span):
    """The same weights for the estimators whose draws are not scikit-learn's: each fit of the
    float32 data is its fit of the same values in float64, and its inertia NumPy's for its own
    labels and centres. BisectingKMeans against scikit-learn's too (from k-means++ starts,
    splitting the largest cluster: no rounding decides those); SphericalKMeans on points away from the origin;
    kmeans_plusplus starts in three different blobs."""
    X = three_blobs()
    weights = span_weights(span, X.shape[0])
    estimators = [
        # Its batches are drawn in proportion to the weights, so only the heavy sample is ever
        # drawn: without reassignments onto it, the centres the seeding put elsewhere stay there.
        (MiniBatchKMeans, {"batch_size": 30, "n_init": 1, "reassignment_ratio": 0.0}, X),
        (BisectingKMeans, {"bisecting_strategy": "largest_cluster"}, X),
        (BisectingKMeans, {}, X),
        (SphericalKMeans, {"n_init": 1}, X + np.float32(30.0)),
    ]
    for estimator, kwargs, data in estimators:
        model = estimator(3, random_state=0, **kwargs).fit(data, sample_weight=weights)
        reference = estimator(3, random_state=0, **kwargs).fit(data.astype(np.float64), sample_weight=weights)
        assert model.cluster_centers_.dtype == np.float32, estimator
        np.testing.assert_array_equal(model.labels_, reference.labels_)
        np.testing.assert_allclose(model.cluster_centers_, reference.cluster_centers_, rtol=1e-6, atol=1e-6)
        if estimator is SphericalKMeans:
            # (1 - cos for the heavy sample is 0 only for its own centre to the bit: NumPy's
            # rounding of it, times 1e40, would outweigh the rest.)
            np.testing.assert_allclose(model.inertia_, reference.inertia_, rtol=1e-5)
        else:
            expected = weighted_inertia(data, weights, model.cluster_centers_, model.labels_)
            np.testing.assert_allclose(model.inertia_, expected, rtol=1e-4)
    # (From random starts, as both draw them by default, a local optimum can differ.)
    kwargs = {"init": "k-means++", "bisecting_strategy": "largest_cluster", "random_state": 0}
    bisect = BisectingKMeans(3, **kwargs).fit(X, sample_weight=weights)
    scikit = sklearn.cluster.BisectingKMeans(3, **kwargs).fit(X.astype(np.float64), sample_weight=weights)
    assert _same_partition(bisect.labels_, scikit.labels_)
    np.testing.assert_allclose(bisect.inertia_, scikit.inertia_, rtol=1e-5)
    centres, indices = kmeans_plusplus(X, 3, sample_weight=weights, random_state=0)
    assert sorted(blob_of(centres, X).tolist()) == [0, 1, 2]
    np.testing.assert_array_equal(
        indices, kmeans_plusplus(X.astype(np.float64), 3, sample_weight=weights, random_state=0)[1]
    )


def test_weights_beyond_float64s_span_are_refused_by_every_estimator():
    """float64 has nothing wider: weights spanning more than 2**996 would leave the smallest
    subnormal after rescaling (0 to TensorFlow); they are refused, naming the span."""
    X = three_blobs().astype(np.float64)
    weights = np.full(X.shape[0], 1e-10)
    weights[0] = 1e300
    fits = [
        lambda: KMeans(3, n_init=1).fit(X, sample_weight=weights),
        lambda: KMeans(3, n_init=1).fit(X.astype(np.float32), sample_weight=weights),
        lambda: MiniBatchKMeans(3, n_init=1).fit(X, sample_weight=weights),
        lambda: BisectingKMeans(3).fit(X, sample_weight=weights),
        lambda: SphericalKMeans(3, n_init=1).fit(X, sample_weight=weights),
        lambda: kmeans_plusplus(X, 3, sample_weight=weights),
    ]
    for fit in fits:
        with pytest.raises(ValueError, match=r"positive weights from 1e-10 to 1e\+300: .* more than float64 carries"):
            fit()


def test_float32_near_its_largest_number_is_measured_in_float64_not_refused():
    """A float32 sample near 3e38 on the far side of the centres' mean: its shift overflowed
    float32 to infinity, and predict, transform, score (and fit) refused it as values whose
    squares "would overflow float64", with a NumPy overflow warning. It is measured in float64:
    predict and score are NumPy's, and transform refuses only distances beyond float32."""
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(-2.5e38, 1e36, (30, 2)), rng.normal(2.5e38, 1e36, (90, 2))]).astype(np.float32)
    with warnings.catch_warnings():
        # No overflow warning from the shift either (scikit-learn's own finiteness check may
        # warn of its sum of such values: not ours).
        warnings.filterwarnings("error", message="overflow encountered in subtract")
        model = KMeans(2, init=X[[0, 30]], n_init=1).fit(X)
        np.testing.assert_allclose(
            model.cluster_centers_, [X[:30].mean(0, np.float64), X[30:].mean(0, np.float64)], rtol=1e-6
        )
        new = np.array([[-3.3e38, -3.3e38], [3.3e38, 3.3e38], [-3.3e38, 3.3e38], [1e37, -1e37]], np.float32)
        squared = ((new.astype(np.float64)[:, None] - model.cluster_centers_.astype(np.float64)[None]) ** 2).sum(-1)
        np.testing.assert_array_equal(model.predict(new), squared.argmin(axis=1))
        np.testing.assert_allclose(-model.score(new), squared.min(axis=1).sum(), rtol=1e-6)
        for row, distances in zip(new, np.sqrt(squared)):
            if distances.max() <= np.finfo(np.float32).max:
                np.testing.assert_allclose(model.transform(row[None])[0], distances, rtol=1e-6)
            else:
                with pytest.raises(ValueError, match="exceed float32's range; pass X as float64"):
                    model.transform(row[None])


def three_groups(scale, dtype, seed=12):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 4))
    X[:100] += 5
    X[100:200] -= 5
    return (X * scale).astype(dtype)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("scale, dtype", [(1e-20, np.float32), (1e-30, np.float32), (1e-100, np.float64)])
def test_data_whose_squared_distances_would_be_subnormal_is_computed_where_they_are_not(scale, dtype, sparse):
    """TensorFlow's CPU kernels flush subnormal numbers to zero: float32 data this close
    together had every distance 0, every sample in one cluster and an inertia of 0. It is
    computed in float64, and float64 data far from float64's subnormals as it is: three
    groups of 100, as NumPy's distances tell them apart."""
    X = three_groups(scale, dtype)
    if sparse:
        X = sp.csr_matrix(np.abs(X) + np.where(np.arange(300)[:, None] < 100, 5 * scale, 0).astype(dtype))
    model = KMeans(3, n_init=1, random_state=0).fit(X)
    assert sorted(np.bincount(model.labels_, minlength=3)) == [100, 100, 100]
    dense = X.toarray() if sparse else X
    by_hand = sum(((dense[model.labels_ == j] - dense[model.labels_ == j].mean(axis=0)) ** 2).sum() for j in range(3))
    assert model.inertia_ == pytest.approx(float(by_hand), rel=1e-4) and model.inertia_ > 0
    assert model.cluster_centers_.dtype == dtype


@pytest.mark.parametrize("estimator", [KMeans, MiniBatchKMeans, BisectingKMeans])
def test_float64_data_whose_squared_distances_would_be_subnormal_is_refused(estimator):
    with pytest.raises(ValueError, match="too close together .* below float64's normal numbers"):
        estimator(3, n_init=1, random_state=0).fit(three_groups(1e-155, np.float64))


def test_identical_rows_are_not_too_close_together():
    """All rows one point: their distances are 0 indeed, nothing to widen or refuse."""
    X = np.full((20, 3), 1e-200)
    assert _precision.compute_dtype(np.float64, 0.0, 3) == np.float64
    assert KMeans(1, n_init=1).fit(X).inertia_ == 0.0
