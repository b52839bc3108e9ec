"""Property-based tests (hypothesis): inputs nobody thought of, for the readers and for
``fit``/``predict``. The promise under test: a clear ``DataError``/``ValueError``/``TypeError``
or a correct answer, never another exception, a hang, a silent NaN, or a half-changed estimator."""

import math
import string
import warnings

import numpy as np
import pytest
import scipy.sparse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.cluster import KMeans as ScikitKMeans

from tfkmeans import BisectingKMeans, KMeans, MiniBatchKMeans
from tfkmeans._input import DataError, npy_header, read_table

# Few examples each, so that the suite stays within its time budget; the seed is fixed by
# hypothesis' database-free default in CI (derandomize), so a failure repeats.
QUICK = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False, width=32)


@QUICK
@given(
    rows=st.lists(st.lists(finite, min_size=2, max_size=3), min_size=1, max_size=12).filter(
        lambda rows: len({len(row) for row in rows}) == 1
    ),
    delimiter=st.sampled_from([",", ";", "\t", "|", " "]),
    header=st.booleans(),
    blank_lines=st.lists(st.integers(0, 13), max_size=4),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_tables_of_numbers_read_back_as_written(tmp_path_factory, rows, delimiter, header, blank_lines, newline):
    """Every delimiter, drawn evenly, with blank lines anywhere (before the header too)."""
    path = tmp_path_factory.mktemp("tables") / "t.txt"
    names = ["a", "b", "c"][: len(rows[0])]
    lines = ([delimiter.join(names)] if header else []) + [delimiter.join(repr(value) for value in row) for row in rows]
    for position in sorted(blank_lines, reverse=True):
        lines.insert(min(position, len(lines)), "")
    path.write_bytes((newline.join(lines) + newline).encode())
    table = read_table(path)
    np.testing.assert_array_equal(table.samples, np.array(rows, np.float32))
    assert table.feature_names == (names if header else [f"column {j + 1}" for j in range(len(names))])
    assert table.delimiter == ("whitespace" if delimiter == " " else delimiter)


@QUICK
@given(text=st.text(alphabet=string.printable + "\u00e9\ufeff\x00", max_size=200))
def test_any_text_is_read_or_refused_clearly(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("text") / "any.csv"
    path.write_text(text)
    try:
        table = read_table(path, missing="drop")
    except DataError as error:
        assert str(error).startswith(str(path))
        return
    assert table.samples.dtype == np.float32 and np.all(np.isfinite(table.samples))
    assert table.samples.shape[0] >= 1


@QUICK
@given(data=st.binary(max_size=300))
def test_any_bytes_as_npy_are_read_or_refused_clearly(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "any.npy"
    path.write_bytes(b"\x93NUMPY" + data)
    try:
        table = read_table(path, missing="drop")
    except DataError:
        return
    assert np.all(np.isfinite(table.samples))


shapes = st.tuples(
    st.one_of(st.integers(-3, 6), st.integers(2**31, 2**63)), st.one_of(st.integers(-3, 6), st.integers(2**31, 2**63))
)


@QUICK
@given(
    shape=st.one_of(
        shapes, st.tuples(st.integers(0, 5)), st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3))
    ),
    descr=st.sampled_from(["<f4", ">f8", "<i2", "|u1", "|b1", "<c8", "|O", "<U2", "|V8", "<f2"]),
    fortran=st.booleans(),
    extra=st.integers(-64, 64),
)
def test_npy_headers_are_checked_against_the_file(tmp_path_factory, shape, descr, fortran, extra):
    """Whatever a header claims, the reader refuses it or returns exactly what the file holds,
    sized from the file, not from the claim."""
    header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape!r}, }}"
    itemsize = np.dtype(descr).itemsize if descr != "|O" else 8
    claimed = math.prod(shape) * itemsize if all(extent >= 0 for extent in shape) else 0
    body = bytes(max(0, min(claimed, 4096) + extra))
    text = header.encode("latin1")
    text += b" " * ((64 - (10 + len(text) + 1) % 64) % 64) + b"\n"
    path = tmp_path_factory.mktemp("npy") / "h.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + body)
    try:
        checked = npy_header(path)
    except DataError:
        return
    assert checked.shape == shape and len(shape) == 2
    assert math.prod(shape) * checked.dtype.itemsize == len(body)
    assert np.dtype(descr).kind in "iuf"
    try:
        table = read_table(path, missing="drop")
    except DataError:
        return  # empty, or NaN in every row
    assert table.samples.shape[1] == shape[1] and np.all(np.isfinite(table.samples))


# --- fit and predict ----------------------------------------------------------------------------

elements = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(min_value=-1e3, max_value=1e3, width=64),
    # Near float32's limit, where float64's squares overflow, and a subnormal.
    st.sampled_from([0.0, 1e19, -1e19, 3e38, 1.9e154, -1e300, 1e-300]),
)
array_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=8)


def _cast(pair):
    array, dtype = pair
    with np.errstate(over="ignore"):  # beyond float32's range: infinite, which fit must refuse
        return array.astype(dtype)


# float64 values cast to the dtype drawn (hypothesis refuses to draw a float32 array from
# float64 values it cannot represent, and under NumPy 1.x it compares them in float64).
arrays = st.one_of(
    st.tuples(
        hnp.arrays(dtype=np.float64, shape=array_shapes, elements=elements), st.sampled_from([np.float32, np.float64])
    ).map(_cast),
    hnp.arrays(dtype=np.int64, shape=array_shapes, elements=st.integers(-(2**62), 2**62)),
)


@QUICK
@given(X=arrays, n_clusters=st.integers(1, 4), minibatch=st.booleans())
def test_fit_and_predict_on_anything(X, n_clusters, minibatch):
    """A clear error, or finite centres that are the means of their clusters' samples; and a
    fit that fails leaves the estimator as it was."""
    model = (
        MiniBatchKMeans(n_clusters, random_state=0, n_init=1)
        if minibatch
        else KMeans(n_clusters, tol=0, random_state=0)
    )
    fitted = model.fit(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]))
    before = {key: value.copy() if isinstance(value, np.ndarray) else value for key, value in vars(fitted).items()}
    try:
        with np.errstate(all="ignore"):
            model.fit(X)
    except (ValueError, TypeError) as error:
        assert "Traceback" not in str(error)
        after = vars(model)
        assert after.keys() == before.keys()
        for key, value in before.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(after[key], value)
        return
    assert X.ndim == 2 and X.shape[0] >= n_clusters and np.all(np.isfinite(X))
    centres = model.cluster_centers_
    assert np.all(np.isfinite(centres)) and np.isfinite(model.inertia_)
    assert model.predict(X).tolist() == model.labels_.tolist()
    if not minibatch:
        data = X.astype(np.float64)
        for j in np.unique(model.labels_):
            expected = data[model.labels_ == j].mean(axis=0)
            # Up to rounding at the data's scale: the data are shifted to their centre, as
            # scikit-learn shifts them ([[33554436], [1]] in float32 gives a centre of 2 there too).
            scale = 1e-4 * (1 + np.abs(expected).max()) + 8 * np.finfo(centres.dtype).eps * np.abs(data).max()
            np.testing.assert_allclose(centres[j], expected, rtol=1e-4, atol=scale)


@QUICK
@given(X=arrays)
def test_predict_on_anything(X):
    model = KMeans(2, random_state=0).fit(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]))
    try:
        labels = model.predict(X)
    except (ValueError, TypeError):
        return
    assert labels.shape == (X.shape[0],) and set(labels.tolist()) <= {0, 1}


@pytest.mark.parametrize("Estimator", [KMeans, MiniBatchKMeans])
def test_values_near_float32s_limit_are_computed_in_float64(Estimator):
    """Squares of 1e19 overflow float32: the fit must still be right, not infinite or NaN."""
    rng = np.random.default_rng(0)
    X = (np.concatenate([rng.normal(-1, 0.1, (50, 2)), rng.normal(1, 0.1, (50, 2))]) * 1e19).astype(np.float32)
    model = Estimator(2, random_state=0, n_init=3).fit(X)
    assert model.cluster_centers_.dtype == np.float32 and np.all(np.isfinite(model.cluster_centers_))
    assert np.isfinite(model.inertia_) and model.inertia_ > 0
    assert sorted(np.bincount(model.labels_).tolist()) == [50, 50]
    expected = sorted(X.astype(np.float64).reshape(2, 50, 2).mean(axis=1)[:, 0].tolist())
    np.testing.assert_allclose(sorted(model.cluster_centers_[:, 0].tolist()), expected, rtol=1e-3)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("Estimator", [KMeans, MiniBatchKMeans, BisectingKMeans])
def test_float64_values_whose_squares_overflow_are_refused(Estimator, sparse):
    """Squared distances of values beyond about 1e153 overflow float64, and nothing is wider:
    refused with the reason, before any warning, rather than an infinite inertia."""
    X = np.array([[1.9e154, 0.0], [0.0, 1.0], [1.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="too large for k-means.*overflow float64"):
            Estimator(2, random_state=0).fit(scipy.sparse.csr_matrix(X) if sparse else X)
        model = Estimator(2, random_state=0).fit(np.eye(2))
        huge = np.array([[1e300, 0.0]])
        for method in (model.predict, model.transform, model.score):
            with pytest.raises(ValueError, match="overflow float64"):
                method(scipy.sparse.csr_matrix(huge) if sparse else huge)


def test_a_refused_fit_shifts_data_shifted_in_place_back():
    """copy_x=False shifts X in place while it is checked: a refusal must shift it back (up to
    the rounding that scikit-learn's copy_x=False also documents, at the data's scale)."""
    X = np.array([[1.9e154, 0.0], [0.0, 1.0], [1.0, 1.0]])
    before = X.copy()
    with pytest.raises(ValueError, match="overflow float64"):
        KMeans(2, copy_x=False).fit(X)
    np.testing.assert_allclose(X, before, rtol=0, atol=4 * np.finfo(np.float64).eps * 1.9e154)


def test_float64_values_just_inside_the_limit_give_the_means():
    """1e150 is inside the limit: the fit runs, its centres the means of their clusters and its
    inertia theirs (to float64's rounding at the data's scale)."""
    X = np.array([[1e150, 0.0], [1.1e150, 0.0], [0.0, 1.0], [1.0, 1.0]])
    model = KMeans(2, init=X[[0, 2]], n_init=1).fit(X)
    assert model.labels_.tolist() == [0, 0, 1, 1]
    scale = 4 * np.finfo(np.float64).eps * 1.1e150
    np.testing.assert_allclose(model.cluster_centers_, [[1.05e150, 0.0], [0.5, 1.0]], rtol=0, atol=scale)
    np.testing.assert_allclose(model.inertia_, 2 * (0.05e150) ** 2, rtol=1e-12)


def test_sparse_float32_near_its_limit_keeps_scikit_learns_tolerance():
    """The tolerance is the mean variance times tol; scikit-learn's sparse helper gives float32
    variances, infinite for values near 1e20, which would stop every fit after one step. The
    fit must go as scikit-learn's does on the same values in float64."""
    rng = np.random.default_rng(0)
    X = np.abs(rng.normal(size=(300, 3))) * 1e20  # variances near 1e40: beyond float32
    X[rng.random(X.shape) < 0.3] = 0.0
    arguments = dict(n_clusters=4, init=X[:4], n_init=1, tol=1e-4)
    theirs = ScikitKMeans(**arguments).fit(scipy.sparse.csr_matrix(X))
    assert theirs.n_iter_ > 2  # the data must need several steps for the test to tell
    ours = KMeans(**arguments).fit(scipy.sparse.csr_matrix(X.astype(np.float32)))
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.labels_.tolist() == theirs.labels_.tolist()
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-5)


def test_a_float64_stream_whose_squares_overflow_is_refused_from_its_first_pass(monkeypatch):
    """The refusal rests on every row's values (the first pass's lowest and highest), not on
    the sample the starts are drawn from, which here leaves the huge row out."""
    import tensorflow as tf

    from tfkmeans import _stream

    monkeypatch.setattr(_stream, "SEED_SAMPLE_ROWS", 5)
    X = np.random.default_rng(0).normal(size=(60, 2))
    X[37] = [1.9e154, 0.0]
    dataset = tf.data.Dataset.from_tensor_slices(X).batch(8)
    for Estimator in (KMeans, MiniBatchKMeans):
        with pytest.raises(ValueError, match="too large for k-means.*overflow float64"):
            Estimator(2, random_state=0).fit(dataset)
    model = KMeans(2, random_state=0).fit(np.eye(2))
    with pytest.raises(ValueError, match="batch 4 of the dataset .* or values too large for k-means"):
        model.predict(dataset)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("Estimator", [KMeans, MiniBatchKMeans, BisectingKMeans])
def test_transform_and_inertia_near_float32s_limit_are_finite_and_right(Estimator, sparse):
    """Distances of 1e20 fit float32, their squares do not: transform computes them in float64
    (it gave inf and NaN), and the inertia is the float64 sum (a sparse bisection's was inf)."""
    from scipy.spatial.distance import cdist

    X = (np.random.default_rng(0).normal(size=(60, 2)) * 1e20).astype(np.float32)
    data = scipy.sparse.csr_matrix(X) if sparse else X
    model = Estimator(3, random_state=0).fit(data)
    distances = model.transform(data)
    expected = cdist(X.astype(np.float64), model.cluster_centers_.astype(np.float64))
    assert distances.dtype == np.float32
    np.testing.assert_allclose(distances, expected, rtol=1e-5)
    np.testing.assert_allclose(Estimator(3, random_state=0).fit_transform(data), expected, rtol=1e-5)
    centres = model.cluster_centers_.astype(np.float64)

    def inertia(labels):
        return np.sum((X.astype(np.float64) - centres[labels]) ** 2)

    if Estimator is not MiniBatchKMeans:  # its inertia_ is of its last batches' centres, as scikit-learn's
        np.testing.assert_allclose(model.inertia_, inertia(model.labels_), rtol=1e-5)
    # score: each sample to its nearest centre (for a bisection, not always where predict's tree goes)
    np.testing.assert_allclose(-model.score(data), inertia(expected.argmin(axis=1)), rtol=1e-5)


@pytest.mark.parametrize(
    "call",
    [
        lambda ds, X: BisectingKMeans(2).fit(ds),
        lambda ds, X: BisectingKMeans(2, random_state=0).fit(X).predict(ds),
        lambda ds, X: KMeans(2, random_state=0).fit(X).score(ds),
        lambda ds, X: MiniBatchKMeans(2, random_state=0).partial_fit(ds),
    ],
    ids=["BisectingKMeans.fit", "BisectingKMeans.predict", "KMeans.score", "MiniBatchKMeans.partial_fit"],
)
def test_methods_that_take_no_dataset_say_so(call):
    """Only fit, predict and transform of KMeans and MiniBatchKMeans stream a dataset; the rest
    say that they take none (they said 'float() argument must be ... not _BatchDataset')."""
    import tensorflow as tf

    X = np.random.default_rng(0).normal(size=(100, 2)).astype(np.float32)
    with pytest.raises(TypeError, match=r"does not take a tf\.data\.Dataset; pass an array"):
        call(tf.data.Dataset.from_tensor_slices(X).batch(10), X)
