"""tfkmeans._precision, the one precision policy: float32 stays float32 until its squared
distances could overflow, then float64; float64 that could overflow is refused. Checked against
the bound computed here from float32's and float64's largest numbers, and through the estimators."""

import numpy as np
import pytest
import scipy.sparse as sp

from tfkmeans import KMeans, _precision


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
