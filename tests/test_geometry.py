"""tfkmeans._geometry: squared Euclidean, and cosine on unit rows. Unit rows against NumPy by
hand, at magnitudes where a plain norm overflows or vanishes; rows of zeros refused by name;
centres that stay of unit length; cosine distance as 1 - x.c."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tfkmeans import _geometry
from tfkmeans._tensorflow import tf


def unit_by_hand(row):
    """A row divided by its length, the length taken exactly by math.hypot (no overflow)."""
    length = math.hypot(*(float(value) for value in row))
    return np.array([float(value) / length for value in row])


@pytest.mark.parametrize("scale", [1.0, 1e200, 1e-200])
@pytest.mark.parametrize("sparse", [False, True])
def test_unit_rows_are_each_row_over_its_length(scale, sparse):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 5)) * scale
    X[X > 1.2 * scale] = 0.0  # some zeros, which sparse input leaves out
    data = sp.csr_matrix(X) if sparse else X
    unit = _geometry.COSINE.prepare(data)
    unit = unit.toarray() if sparse else unit
    expected = np.array([unit_by_hand(row) for row in X])
    np.testing.assert_allclose(unit, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
def test_a_copy_unless_told_otherwise(sparse):
    X = np.arange(1.0, 13.0).reshape(4, 3)
    data = sp.csr_matrix(X) if sparse else X.copy()
    before = data.copy()
    unit = _geometry.COSINE.prepare(data)
    assert unit is not data
    same = (data != before).nnz == 0 if sparse else np.array_equal(data, before)
    assert same
    in_place = _geometry.COSINE.prepare(data, copy=False)
    assert in_place is data
    values = data.toarray() if sparse else data
    np.testing.assert_allclose(np.linalg.norm(values, axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_dtype_is_kept(dtype):
    X = np.array([[3.0, 4.0], [1.0, 0.0]], dtype)
    unit = _geometry.COSINE.prepare(X)
    assert unit.dtype == dtype
    np.testing.assert_allclose(unit, [[0.6, 0.8], [1.0, 0.0]], rtol=1e-6)


@pytest.mark.parametrize("sparse", [False, True])
def test_rows_of_zeros_are_refused_by_name(sparse):
    X = np.ones((8, 3))
    X[[2, 5]] = 0.0
    with pytest.raises(ValueError, match=r"X has 2 rows of zeros \(row 2, 5, counting from 0\).*no direction"):
        _geometry.COSINE.prepare(sp.csr_matrix(X) if sparse else X)


def test_finish_scales_each_mean_to_unit_length_and_keeps_a_centre_without_direction():
    means = tf.constant([[3.0, 4.0], [0.0, 0.0], [-2.0, 0.0]], tf.float64)
    previous = tf.constant([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], tf.float64)
    finished = _geometry.COSINE.finish(means, previous).numpy()
    np.testing.assert_allclose(finished, [[0.6, 0.8], [0.0, 1.0], [-1.0, 0.0]])
    assert _geometry.SQUARED_EUCLIDEAN.finish(means, previous) is means


def test_a_batch_of_unit_rows_and_a_zero_row_made_nan():
    batch = tf.constant([[3e30, 4e30], [0.0, 0.0], [0.0, -2.0]], tf.float32)
    unit = _geometry.COSINE.prepare_batch(batch).numpy()
    np.testing.assert_allclose(unit[[0, 2]], [[0.6, 0.8], [0.0, -1.0]], rtol=1e-6)
    assert np.all(np.isnan(unit[1]))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    arrays(np.float64, (2, 4), elements=st.floats(-1e6, 1e6, allow_nan=False)).filter(
        lambda pair: np.all(np.abs(pair).max(axis=1) > 1e-3)
    )
)
def test_cosine_distance_is_one_minus_the_cosine(pair):
    """On unit rows, half the squared Euclidean distance is 1 - cos: the distance the inertia
    of spherical k-means sums."""
    x, c = _geometry.COSINE.prepare(pair)
    squared = tf.constant(float(np.sum((x - c) ** 2)), tf.float64)
    cosine = float(np.dot(pair[0], pair[1]) / (np.linalg.norm(pair[0]) * np.linalg.norm(pair[1])))
    assert float(_geometry.COSINE.distance(squared)) == pytest.approx(1.0 - cosine, abs=1e-12)
    assert float(_geometry.COSINE.reported(squared)) == pytest.approx(1.0 - cosine, abs=1e-12)
    assert float(_geometry.SQUARED_EUCLIDEAN.reported(squared)) == pytest.approx(math.sqrt(float(squared)))
