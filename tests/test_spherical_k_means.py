"""tfkmeans.SphericalKMeans: Dhillon and Modha's two steps, written here in NumPy by hand, give the
same labels, centres, inertia and n_iter_ from the same start (dense and sparse, float32 and
float64, with and without weights); the objective never rises; empty clusters, centres without
direction and ties follow the stated rules; transform, predict and score are cosine's; rows of
zeros and NaN are refused in every method, and a failed fit changes nothing; a stream, a
strategy and a SavedModel give what the in-memory model gives."""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.exceptions import ConvergenceWarning

from conftest import run_python
from tfkmeans import KMeans, SphericalKMeans

# --- data and the reference -------------------------------------------------------------------


def directions(n_samples=300, n_features=5, n_directions=4, seed=0, dtype=np.float64):
    """Overlapping bundles of directions, each row of its own length (0.1 to 10): samples keep
    changing cluster for about 30 iterations, and a row's length must not count."""
    rng = np.random.default_rng(seed)
    axes = rng.normal(size=(n_directions, n_features))
    X = axes[rng.integers(0, n_directions, n_samples)] + rng.normal(size=(n_samples, n_features)) * 0.8
    return (X * rng.uniform(0.1, 10.0, (n_samples, 1))).astype(dtype)


def text_like(n_samples=200, n_features=300, seed=0, dtype=np.float64):
    """Sparse non-negative rows (TF-IDF-like counts), none of them empty, lengths unequal."""
    rng = np.random.default_rng(seed)
    X = sp.random(n_samples, n_features, density=0.03, format="lil", random_state=seed, dtype=np.float64)
    X[np.arange(n_samples), rng.integers(0, n_features, n_samples)] = 1.0  # no row of zeros
    X = X.tocsr()
    X.data = np.round(X.data * 5) + 1
    return X.astype(dtype)


def unit(X):
    """Each row over its length, in float64."""
    X = np.asarray(X, np.float64)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def spherical_by_hand(X, start, max_iter, sample_weight=None, tol=0.0):
    """Spherical k-means (Dhillon and Modha, 2001), in float64: the rows scaled to unit length,
    then (1) labels = argmax of X @ C.T, (2) C = the clusters' (weighted) sums over their
    lengths, stopping as scikit-learn's KMeans stops (the labels as the last iteration's, or
    the squared shifts summed at most tol x the mean variance of the unit rows' features) and
    counting the iterations as it does. No cluster may empty: the data is chosen so.

    Returns (centres, labels, inertia as the sum of 1 - cos, n_iter)."""
    X = unit(X.toarray() if sp.issparse(X) else X)
    C = unit(start)
    weights = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, np.float64)
    tol = tol * np.var(X, axis=0).mean()
    previous_labels, strict, iteration = None, False, 0
    while iteration < max_iter:
        iteration += 1
        labels = np.argmax(X @ C.T, axis=1)
        assert np.bincount(labels, minlength=len(C)).min() > 0, "the reference has no empty clusters"
        sums = np.zeros_like(C)
        np.add.at(sums, labels, X * weights[:, None])
        new = sums / np.linalg.norm(sums, axis=1, keepdims=True)
        shift = np.sum((new - C) ** 2)
        C = new
        if previous_labels is not None and np.array_equal(labels, previous_labels):
            strict = True
            break
        if shift <= tol:
            break
        previous_labels = labels
    if not strict:
        labels = np.argmax(X @ C.T, axis=1)
    inertia = float(np.sum(weights * (1.0 - np.sum(X * C[labels], axis=1))))
    return C, labels, inertia, iteration


def batches(X, rows=37):
    return tf.data.Dataset.from_tensor_slices(X).batch(rows)


def tolerances(dtype):
    """(centres, inertia) tolerances: float32 results to 1e-5, float64 ones to rounding."""
    return (1e-5, 1e-5) if dtype == np.float32 else (1e-12, 1e-12)


def quietly(fit):
    """``fit()`` with ConvergenceWarning (fewer distinct clusters than asked) silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit()


# --- 1. the paper's two steps -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("container", ["dense", "csr"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("max_iter", [10, 300])  # cut off mid-run; run to convergence
def test_the_two_steps_of_the_paper_from_the_same_start(dtype, container, weighted, max_iter):
    X = directions(dtype=dtype)
    start = X[:4] * 3.0  # given centres are scaled to unit length
    weights = np.random.default_rng(1).integers(1, 4, len(X)) if weighted else None
    data = sp.csr_matrix(X) if container == "csr" else X
    model = SphericalKMeans(4, init=start, n_init=1, max_iter=max_iter, tol=0).fit(data, sample_weight=weights)
    centres, labels, inertia, n_iter = spherical_by_hand(X, start, max_iter, weights)
    assert (n_iter == 10) if max_iter == 10 else (10 < n_iter < max_iter)  # the cap matters, or convergence
    centre_tol, inertia_tol = tolerances(dtype)
    assert model.cluster_centers_.dtype == dtype
    np.testing.assert_allclose(model.cluster_centers_, centres, rtol=0, atol=centre_tol)
    np.testing.assert_allclose(np.linalg.norm(model.cluster_centers_, axis=1), 1.0, rtol=centre_tol)
    np.testing.assert_array_equal(model.labels_, labels)
    assert model.labels_.dtype == np.int32
    assert isinstance(model.inertia_, float) and model.inertia_ == pytest.approx(inertia, rel=inertia_tol)
    assert isinstance(model.n_iter_, int) and model.n_iter_ == n_iter
    assert model.n_features_in_ == X.shape[1]
    if weighted:  # integer weights are repeated rows
        repeated = np.repeat(X, weights, axis=0)
        repeated = sp.csr_matrix(repeated) if container == "csr" else repeated
        plain = SphericalKMeans(4, init=start, n_init=1, max_iter=max_iter, tol=0).fit(repeated)
        np.testing.assert_allclose(plain.cluster_centers_, model.cluster_centers_, rtol=0, atol=centre_tol)
        np.testing.assert_array_equal(plain.labels_, np.repeat(model.labels_, weights))
        assert plain.inertia_ == pytest.approx(model.inertia_, rel=inertia_tol)
        assert plain.n_iter_ == model.n_iter_


@pytest.mark.parametrize("tol", [1e-2, 1e-3])
@pytest.mark.parametrize("container", ["dense", "csr", "stream"])
def test_tol_is_relative_to_the_variance_of_the_unit_rows(tol, container):
    """The rows are 0.1 to 10 long: a tolerance taken relative to the raw rows' variance would
    stop these runs after 3 and 5 iterations instead of 8 and 33."""
    X = directions()
    start = X[:4]
    raw_scale = np.var(X, axis=0).mean() / np.var(unit(X), axis=0).mean()
    assert spherical_by_hand(X, start, 300, tol=tol * raw_scale)[3] < spherical_by_hand(X, start, 300, tol=tol)[3]
    data = {"dense": X, "csr": sp.csr_matrix(X), "stream": batches(X)}[container]
    model = SphericalKMeans(4, init=start, n_init=1, tol=tol).fit(data)
    centres, labels, _, n_iter = spherical_by_hand(X, start, 300, tol=tol)
    assert model.n_iter_ == n_iter
    np.testing.assert_allclose(model.cluster_centers_, centres, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(model.labels_, labels)


# --- 2. the objective never rises ----------------------------------------------------------------

SHAPES = [(12, 2, 3), (30, 3, 4), (40, 5, 2), (25, 8, 5)]  # (n_samples, n_features, n_clusters)


@st.composite
def problems(draw):
    """Bounded rows of one of SHAPES, none of zeros (a row whose largest value is under 1e-3
    gets a 1 in one place), and k."""
    n_samples, n_features, n_clusters = draw(st.sampled_from(SHAPES))
    X = draw(arrays(np.float64, (n_samples, n_features), elements=st.floats(-100, 100, allow_subnormal=False)))
    small = np.abs(X).max(axis=1) < 1e-3
    X[small, np.flatnonzero(small) % n_features] = 1.0
    return X, n_clusters


# The inertia after each iteration may rise by rounding only: 1e-6 of it (float64), and 1e-12
# absolute (an inertia of 0, every sample on its centre, comes back as 0 or about 1e-31).
SLACK, ABSOLUTE_SLACK = 1e-6, 1e-12


@settings(max_examples=40, deadline=None, derandomize=True)
@given(problems())
def test_the_objective_never_rises_from_one_iteration_to_the_next(problem):
    """The same start, stopped after 1, 2, ..., 6 iterations: the sum of cosine distances never
    rises (empty clusters, relocated by the stated rule, included)."""
    X, n_clusters = problem
    start = X[:n_clusters]

    def inertia_after(max_iter):
        return quietly(lambda: SphericalKMeans(n_clusters, init=start, n_init=1, max_iter=max_iter, tol=0).fit(X))

    inertias = [inertia_after(max_iter).inertia_ for max_iter in range(1, 7)]
    for earlier, later in zip(inertias, inertias[1:]):
        assert later <= earlier * (1 + SLACK) + ABSOLUTE_SLACK, inertias


# --- 3. empty clusters, centres without direction, ties ---------------------------------------------


def at_angles(degrees):
    radians = np.deg2rad(np.asarray(degrees, np.float64))
    return np.stack([np.cos(radians), np.sin(radians)], axis=-1)


# Unit rows at 0, 10, 20, 90 and 100 degrees, of lengths 1, 3, 0.5, 2 and 7; centres at 5, 95 and
# 270 degrees: every sample goes to one of the first two, the third cluster is empty.
EMPTY_X = at_angles([0, 10, 20, 90, 100]) * np.array([[1.0], [3.0], [0.5], [2.0], [7.0]])
EMPTY_START = at_angles([5, 95, 270])


@pytest.mark.parametrize(
    "container, weighted", [("dense", False), ("csr", False), ("stream", False), ("dense", True), ("csr", True)]
)  # a stream takes no weights
@pytest.mark.parametrize("max_iter", [1, 300])
def test_an_empty_cluster_takes_the_sample_farthest_from_its_centre(container, weighted, max_iter):
    """By hand: the cosine distances to the centres assigned are 5, 5, 15, 5 and 5 degrees' worth,
    so the sample at 20 degrees (farthest) becomes the empty cluster's centre and leaves
    cluster 0, whose centre becomes the (weighted) mean direction of the samples at 0 and 10
    degrees, not of all three. Then the sample at 10 degrees stays nearer cluster 0 than 2."""
    weights = np.array([1.0, 2.0, 3.0, 1.0, 1.0]) if weighted else np.ones(5)
    data = {"dense": EMPTY_X, "csr": sp.csr_matrix(EMPTY_X), "stream": batches(EMPTY_X, 2)}[container]
    model = SphericalKMeans(3, init=EMPTY_START, n_init=1, max_iter=max_iter, tol=0).fit(
        data, sample_weight=weights if weighted else None
    )
    rows = at_angles([0, 10, 20, 90, 100])
    expected = unit([weights[0] * rows[0] + weights[1] * rows[1], rows[3] + rows[4], rows[2]])
    np.testing.assert_allclose(model.cluster_centers_, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(model.labels_, [0, 0, 2, 1, 1])
    cosines = np.sum(rows * expected[[0, 0, 2, 1, 1]], axis=1)
    assert model.inertia_ == pytest.approx(np.sum(weights * (1 - cosines)), rel=1e-12, abs=1e-15)
    # The first update relocates and moves a label; the second moves none, and the run stops
    # there (2) if its centres are the first's to the last bit (the relocated sums were taken
    # apart, the second's added up: rounding may differ), else after a third (scikit-learn's count).
    assert model.n_iter_ == 1 if max_iter == 1 else model.n_iter_ in (2, 3)


@pytest.mark.parametrize("container", ["dense", "csr", "stream"])
def test_a_cluster_whose_samples_cancel_out_keeps_its_centre(container):
    """Four samples, two opposite pairs, in one cluster: their mean has length 0 and no
    direction, so the centre stays where it started (scaled to unit length)."""
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]])
    data = {"dense": X, "csr": sp.csr_matrix(X), "stream": batches(X, 3)}[container]
    model = SphericalKMeans(1, init=[[3.0, 4.0]], n_init=1, max_iter=5, tol=0).fit(data)
    np.testing.assert_allclose(model.cluster_centers_, [[0.6, 0.8]], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(model.labels_, [0, 0, 0, 0])
    assert model.inertia_ == pytest.approx(4.0)  # the cosines sum to 0
    assert np.all(np.isfinite(model.transform(X)))


@pytest.mark.parametrize("centres", [[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
@pytest.mark.parametrize("container", ["dense", "csr"])
def test_a_tie_goes_to_the_lowest_index(centres, container):
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    model = SphericalKMeans(2, init=centres, n_init=1, tol=0).fit(X)
    np.testing.assert_allclose(model.cluster_centers_, centres, atol=1e-15)
    halfway = np.array([[1.0, 1.0], [5.0, 5.0], [0.1, 0.1]])
    halfway = sp.csr_matrix(halfway) if container == "csr" else halfway
    np.testing.assert_array_equal(model.predict(halfway), [0, 0, 0])


# --- 4. transform, predict, score, fit_predict -------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("container", ["dense", "csr"])
def test_transform_predict_and_score_are_cosines(dtype, container):
    X = directions(dtype=dtype)
    new = directions(120, seed=5, dtype=dtype)
    wrap = sp.csr_matrix if container == "csr" else np.asarray
    model = SphericalKMeans(4, random_state=0).fit(wrap(X))
    centres = model.cluster_centers_.astype(np.float64)
    cosines = unit(new) @ centres.T
    atol = 1e-6 if dtype == np.float32 else 1e-12
    distances = model.transform(wrap(new))
    assert distances.dtype == dtype and distances.shape == (120, 4)
    np.testing.assert_allclose(distances, 1.0 - cosines, rtol=0, atol=atol)
    np.testing.assert_array_equal(model.predict(wrap(new)), cosines.argmax(axis=1))
    assert model.score(wrap(new)) == pytest.approx(-(1.0 - cosines.max(axis=1)).sum(), rel=10 * atol)
    weights = np.arange(120.0)
    assert model.score(wrap(new), sample_weight=weights) == pytest.approx(
        -((1.0 - cosines.max(axis=1)) * weights).sum(), rel=10 * atol
    )
    # On the data fitted: the labels are predict's, the score is minus the inertia.
    np.testing.assert_array_equal(model.predict(wrap(X)), model.labels_)
    assert model.score(wrap(X)) == pytest.approx(-model.inertia_, rel=10 * atol)
    np.testing.assert_array_equal(SphericalKMeans(4, random_state=0).fit_predict(wrap(X)), model.labels_)
    np.testing.assert_allclose(SphericalKMeans(4, random_state=0).fit_transform(wrap(X)), model.transform(wrap(X)))
    assert model.get_feature_names_out().tolist() == [f"sphericalkmeans{j}" for j in range(4)]


def test_a_weighted_fit_scores_minus_its_weighted_inertia():
    X = directions()
    weights = np.random.default_rng(2).uniform(0.5, 3.0, len(X))
    model = SphericalKMeans(4, random_state=0).fit(X, sample_weight=weights)
    assert model.score(X, sample_weight=weights) == pytest.approx(-model.inertia_, rel=1e-12)


def test_every_start_gives_unit_centres_and_a_row_s_length_does_not_count():
    """k-means++, random and a callable: unit centres; rows scaled by any positive factor (1e-200
    to 1e200) give the same fit."""
    X = directions(100)
    lengths = 10.0 ** np.random.default_rng(3).uniform(-200, 200, (100, 1))
    for init in ("k-means++", "random", lambda X, k, random_state: np.asarray(X[:k]) * 7.0):
        model = SphericalKMeans(4, init=init, n_init=2, random_state=0).fit(X)
        np.testing.assert_allclose(np.linalg.norm(model.cluster_centers_, axis=1), 1.0, rtol=1e-12)
        stretched = SphericalKMeans(4, init=init, n_init=2, random_state=0).fit(X * lengths)
        np.testing.assert_allclose(stretched.cluster_centers_, model.cluster_centers_, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(stretched.labels_, model.labels_)


# --- 5. bad input ---------------------------------------------------------------------------------

ZERO_ROW = r"X has 1 row of zeros \(row 3, counting from 0\): a row of zeros has no direction"
CONTAINERS = {"dense": np.asarray, "csr": sp.csr_matrix, "csc": sp.csc_matrix, "dataframe": pd.DataFrame}


def fitted():
    return SphericalKMeans(4, random_state=0).fit(directions())


METHODS = {
    "fit": lambda X: SphericalKMeans(2).fit(X),
    "fit_predict": lambda X: SphericalKMeans(2).fit_predict(X),
    "fit_transform": lambda X: SphericalKMeans(2).fit_transform(X),
    "predict": lambda X: fitted().predict(X),
    "transform": lambda X: fitted().transform(X),
    "score": lambda X: fitted().score(X),
}


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("method", METHODS)
def test_a_row_of_zeros_is_refused_by_name_in_every_method(container, method):
    X = directions(10)
    X[3] = 0.0
    with pytest.raises(ValueError, match=ZERO_ROW):
        METHODS[method](CONTAINERS[container](X))


def stored_twice(X):
    """``X`` as a CSR matrix that stores each value of its even rows as two halves in the same
    place: not in canonical format, and the matrix scipy means is their sum, ``X``."""
    data, indices, indptr = [], [], [0]
    for i, row in enumerate(sp.csr_matrix(X)):
        times = 2 if i % 2 == 0 else 1
        data.extend(np.repeat(row.data / times, times))
        indices.extend(np.repeat(row.indices, times))
        indptr.append(len(data))
    duplicated = sp.csr_matrix((data, indices, indptr), shape=X.shape)
    assert not duplicated.has_canonical_format
    np.testing.assert_array_equal(duplicated.toarray(), X)
    return duplicated


@pytest.mark.parametrize("method", METHODS)
def test_a_row_whose_stored_values_add_up_to_zero_is_refused(method):
    """Row 3 stores 1 and -1 in one place (duplicate entries, which scipy sums): a row of zeros."""
    X = directions(10)
    X[3] = 0.0
    canonical = sp.csr_matrix(X)
    data = np.concatenate([canonical.data[: canonical.indptr[3]], [1.0, -1.0], canonical.data[canonical.indptr[3] :]])
    indices = np.concatenate(
        [canonical.indices[: canonical.indptr[3]], [2, 2], canonical.indices[canonical.indptr[3] :]]
    )
    indptr = canonical.indptr + 2 * (np.arange(11) > 3)
    duplicated = sp.csr_matrix((data, indices, indptr), shape=X.shape)
    assert duplicated.nnz == canonical.nnz + 2
    np.testing.assert_array_equal(duplicated.toarray(), X)
    with pytest.raises(ValueError, match=ZERO_ROW):
        METHODS[method](duplicated)


def test_duplicate_entries_of_a_sparse_matrix_count_as_their_sum():
    X = directions(60)
    model = SphericalKMeans(3, init=X[:3], n_init=1, tol=0).fit(X)
    sparse = SphericalKMeans(3, init=X[:3], n_init=1, tol=0).fit(stored_twice(X))
    np.testing.assert_allclose(sparse.cluster_centers_, model.cluster_centers_, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(sparse.labels_, model.labels_)
    assert sparse.inertia_ == pytest.approx(model.inertia_, rel=1e-12)
    np.testing.assert_allclose(model.transform(stored_twice(X)), model.transform(X), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(model.predict(stored_twice(X)), model.labels_)


@pytest.mark.parametrize("method", ["fit", "predict", "transform"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_or_infinity_in_sparse_data_is_refused(method, value):
    X = directions(10)
    X[4, 2] = value
    with pytest.raises(ValueError, match="NaN" if np.isnan(value) else "infinity"):
        METHODS[method](sp.csr_matrix(X))


STREAM_MESSAGE = r"batch 1 of the dataset \(counting from 0\) holds NaN or infinite values, or a row of zeros"


@pytest.mark.parametrize("bad", ["nan", "zero row"])
@pytest.mark.parametrize("method", ["fit", "predict", "transform"])
def test_a_stream_whose_batch_holds_nan_or_a_row_of_zeros_is_refused_by_batch(bad, method):
    X = directions(20, dtype=np.float32)
    if bad == "nan":
        X[6, 1] = np.nan
    else:
        X[6] = 0.0
    with pytest.raises(ValueError, match=STREAM_MESSAGE):
        METHODS[method](batches(X, 4))


def test_an_init_with_a_row_of_zeros_is_refused():
    X = directions(20)
    with pytest.raises(ValueError, match="row of zeros"):
        SphericalKMeans(2, init=[[0.0] * 5, [1.0] * 5], n_init=1).fit(X)
    with pytest.raises(ValueError, match="row of zeros"):
        SphericalKMeans(2, init=lambda X, k, random_state: np.zeros((k, X.shape[1])), n_init=1).fit(X)


def state(model):
    return copy.deepcopy({key: value for key, value in vars(model).items()})


def same_state(before, after):
    assert before.keys() == after.keys()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[key], value, err_msg=key)
            assert after[key].dtype == value.dtype, key
        else:
            assert after[key] == value, key


BAD_FITS = {
    "zero row": lambda X: X * (np.arange(len(X)) != 7)[:, None],
    "sparse zero row": lambda X: sp.csr_matrix(X * (np.arange(len(X)) != 7)[:, None]),
    "sparse NaN": lambda X: sp.csr_matrix(np.where(np.arange(len(X))[:, None] == 7, np.nan, X)),
    "stream NaN": lambda X: batches(np.where(np.arange(len(X))[:, None] == 7, np.nan, X).astype(np.float32), 50),
    "stream zero row": lambda X: batches((X * (np.arange(len(X)) != 7)[:, None]).astype(np.float32), 50),
    "fewer samples than clusters": lambda X: X[:3],
}


@pytest.mark.parametrize("bad", BAD_FITS)
def test_a_failed_fit_leaves_the_estimator_as_it_was(bad):
    X = pd.DataFrame(directions(), columns=list("abcde"))
    model = SphericalKMeans(4, random_state=0).fit(X)
    before = state(model)
    with pytest.raises(ValueError):
        model.fit(BAD_FITS[bad](directions(seed=1)))
    same_state(before, state(model))
    np.testing.assert_array_equal(model.predict(X), model.labels_)


# --- 6. streams, sparse input, copy_x ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("max_iter", [5, 300])
def test_a_stream_gives_the_in_memory_result_from_the_same_start(dtype, max_iter):
    X = directions(dtype=dtype)
    start = X[:4]
    memory = SphericalKMeans(4, init=start, n_init=1, max_iter=max_iter, tol=0).fit(X)
    stream = SphericalKMeans(4, init=start, n_init=1, max_iter=max_iter, tol=0).fit(batches(X))
    centre_tol, inertia_tol = tolerances(dtype)
    assert stream.cluster_centers_.dtype == dtype
    np.testing.assert_allclose(stream.cluster_centers_, memory.cluster_centers_, rtol=0, atol=centre_tol)
    np.testing.assert_array_equal(stream.labels_, memory.labels_)
    assert stream.inertia_ == pytest.approx(memory.inertia_, rel=inertia_tol)
    assert stream.n_iter_ == memory.n_iter_
    # predict and transform of a stream: those of the array.
    np.testing.assert_array_equal(memory.predict(batches(X)), memory.labels_)
    np.testing.assert_allclose(memory.transform(batches(X)), memory.transform(X), rtol=0, atol=10 * centre_tol)


@pytest.mark.parametrize("scale", [1e30, 1e-30, 1e-40])
def test_a_stream_of_rows_far_from_length_1_is_scaled_as_an_array_is(scale):
    """float32 rows scaled by 1e30, by 1e-30, and by 1e-40 (subnormal values: such a row has a
    direction too, and the array's fit places it): each batch is scaled to unit rows."""
    X = directions(100, dtype=np.float32)
    X[::3] *= np.float32(scale)
    start = directions(4, seed=1)
    memory = SphericalKMeans(4, init=start, n_init=1, tol=0).fit(X)
    stream = SphericalKMeans(4, init=start, n_init=1, tol=0).fit(batches(X))
    np.testing.assert_allclose(stream.cluster_centers_, memory.cluster_centers_, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(stream.labels_, memory.labels_)
    np.testing.assert_array_equal(memory.predict(batches(X)), memory.labels_)


def test_a_stream_takes_no_sample_weights():
    X = directions(50)
    with pytest.raises(TypeError, match="sample_weight is not supported"):
        SphericalKMeans(2).fit(batches(X), sample_weight=np.ones(50))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csc_matrix, sp.csr_array])
def test_a_sparse_fit_is_the_dense_fit(dtype, container):
    X = text_like(dtype=dtype)
    start = X[:5].toarray()
    weights = np.random.default_rng(4).uniform(0.5, 2.0, X.shape[0])
    sparse = SphericalKMeans(5, init=start, n_init=1, tol=0).fit(container(X), sample_weight=weights)
    dense = SphericalKMeans(5, init=start, n_init=1, tol=0).fit(X.toarray(), sample_weight=weights)
    centre_tol, inertia_tol = tolerances(dtype)
    assert sparse.cluster_centers_.dtype == dtype
    np.testing.assert_allclose(sparse.cluster_centers_, dense.cluster_centers_, rtol=0, atol=centre_tol)
    np.testing.assert_array_equal(sparse.labels_, dense.labels_)
    assert sparse.inertia_ == pytest.approx(dense.inertia_, rel=inertia_tol)
    assert sparse.n_iter_ == dense.n_iter_ > 1
    other = text_like(50, seed=1, dtype=dtype)
    np.testing.assert_allclose(sparse.transform(container(other)), dense.transform(other.toarray()), atol=centre_tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("container", ["dense", "csr"])
def test_the_users_data_is_untouched_by_default(dtype, container):
    X = directions(dtype=dtype)
    data = sp.csr_matrix(X) if container == "csr" else X.copy()
    model = SphericalKMeans(4, random_state=0).fit(data)
    model.predict(data), model.transform(data), model.score(data), model.fit_transform(data)
    values = data.toarray() if container == "csr" else data
    np.testing.assert_array_equal(values, X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_copy_x_false_scales_a_c_ordered_float_array_in_place(dtype):
    X = directions(dtype=dtype)
    data = X.copy()
    in_place = SphericalKMeans(4, init=X[:4], n_init=1, copy_x=False).fit(data)
    np.testing.assert_allclose(data, unit(X), rtol=0, atol=1e-6 if dtype == np.float32 else 1e-15)
    copied = SphericalKMeans(4, init=X[:4], n_init=1).fit(X)
    np.testing.assert_allclose(in_place.cluster_centers_, copied.cluster_centers_, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(in_place.labels_, copied.labels_)
    # Data that must be converted first (Fortran order, integers) is copied: the user's stays.
    for other in (np.asfortranarray(X), np.round(X * 100).astype(np.int64)):
        before = other.copy()
        SphericalKMeans(4, init=X[:4], n_init=1, copy_x=False).fit(other)
        np.testing.assert_array_equal(other, before)


# --- 7. slow: scikit-learn's checks, a strategy, a SavedModel -----------------------------------------


@pytest.mark.slow  # every one of scikit-learn's estimator checks, for two estimators: about 15 s
def test_passes_scikit_learns_estimator_checks_as_far_as_kmeans_does():
    from sklearn.utils.estimator_checks import check_estimator

    def failures(estimator):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = check_estimator(estimator, on_fail=None)
        return {
            result["check_name"]: repr(result["exception"].__cause__ or result["exception"])[:300]
            for result in results
            if result["status"] == "failed"
        }

    ours, theirs = failures(SphericalKMeans()), failures(KMeans())
    # These checks fit data with rows of zeros (integers drawn below 1, sparse rows left empty),
    # which spherical k-means refuses by design: a row of zeros has no direction. They fail
    # for that reason alone, and say so.
    zero_rows = {
        "check_estimators_dtypes",
        "check_estimator_sparse_tag",
        "check_estimator_sparse_matrix",
        "check_estimator_sparse_array",
    }
    assert set(ours) <= set(theirs) | zero_rows, {name: ours[name] for name in set(ours) - set(theirs)}
    for name in set(ours) - set(theirs):
        assert "rows of zeros" in ours[name] or "row of zeros" in ours[name], ours[name]


MIRRORED = """
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tfkmeans import SphericalKMeans
X, start = np.load("X.npy"), np.load("start.npy")
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert strategy.num_replicas_in_sync == 2
model = SphericalKMeans(4, init=start, n_init=1, tol=0, strategy=strategy).fit(X)
np.save("mirrored.npy", model.cluster_centers_)
np.save("mirrored_labels.npy", model.labels_)
dataset = tf.data.Dataset.from_tensor_slices(X).batch(1000)
stream = SphericalKMeans(4, init=start, n_init=1, tol=0, strategy=strategy).fit(dataset)
np.save("mirrored_stream.npy", stream.cluster_centers_)
"""


@pytest.mark.slow  # a fresh process with two logical CPUs
def test_a_mirrored_strategy_over_two_logical_cpus_gives_the_centres_of_none(tmp_path):
    X = directions(6000, dtype=np.float32)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "start.npy", X[:4])
    alone = SphericalKMeans(4, init=X[:4], n_init=1, tol=0).fit(X)
    run_python(MIRRORED, tmp_path)
    for name in ("mirrored.npy", "mirrored_stream.npy"):
        np.testing.assert_allclose(np.load(tmp_path / name), alone.cluster_centers_, rtol=0, atol=1e-5, err_msg=name)
    np.testing.assert_array_equal(np.load(tmp_path / "mirrored_labels.npy"), alone.labels_)


def serve(model, tmp_path, samples):
    model.export(tmp_path / "model")
    signature = tf.saved_model.load(str(tmp_path / "model")).signatures["serving_default"]
    return {name: value.numpy() for name, value in signature(samples=tf.constant(samples, tf.float32)).items()}


@pytest.mark.slow  # a SavedModel written and loaded
def test_the_saved_model_serves_predict_and_transform(tmp_path):
    model = SphericalKMeans(5, random_state=0).fit(directions(500, dtype=np.float32))
    new = directions(300, seed=7, dtype=np.float32)
    new[:100] *= np.float32(1e30)  # lengths far from 1
    new[5] = 0.0
    new[7, 2] = np.nan
    out = serve(model, tmp_path, new)
    assert {name: value.dtype for name, value in out.items()} == {
        "cluster_index": np.int64,
        "distance": np.float32,
        "similarity": np.float32,
    }
    bad = np.isin(np.arange(300), [5, 7])
    np.testing.assert_array_equal(out["cluster_index"][bad], [-1, -1])
    assert np.all(np.isnan(out["distance"][bad])) and np.all(np.isnan(out["similarity"][bad]))
    good = new[~bad]
    index = out["cluster_index"][~bad]
    np.testing.assert_array_equal(index, model.predict(good))
    np.testing.assert_allclose(out["distance"][~bad], model.transform(good)[np.arange(len(good)), index], atol=1e-6)
    np.testing.assert_allclose(out["similarity"][~bad], 1.0 - out["distance"][~bad], atol=1e-7)


@pytest.mark.slow  # a SavedModel written and loaded
def test_the_saved_model_serves_rows_of_subnormal_float32_values(tmp_path):
    """A row of values under 1.2e-38 has a direction, and predict places it; so must the
    SavedModel, which sees float32 values only."""
    model = SphericalKMeans(5, random_state=0).fit(directions(500, dtype=np.float32))
    tiny = directions(20, seed=8, dtype=np.float32) * np.float32(1e-40)
    np.testing.assert_array_equal(serve(model, tmp_path, tiny)["cluster_index"], model.predict(tiny))
