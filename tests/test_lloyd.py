"""When Lloyd's loop stops: n_iter_ (and MiniBatchKMeans' n_steps_) against scikit-learn's from
the same start, at tolerance 0 and above, dense, sparse and streamed, float32 and float64,
including a start that is already the means of its clusters (where the shift is exactly 0 and
"at most tol" must stop at once)."""

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.cluster as skc
import tensorflow as tf

from tfkmeans import KMeans, MiniBatchKMeans

# Four clusters of four points on a cross around integer centres, all shifted so the data's mean
# is an integer too: every mean and every shifted value is exact in float32, so a start on the
# centres moves by exactly 0 however the sums are ordered.
CENTRES = np.array([[0, 0], [8, 0], [0, 8], [8, 8]], float) + [3, 5]
CROSS = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], float)
CONVERGED = (CENTRES[:, None, :] + CROSS[None]).reshape(-1, 2)


def overlapping(n_samples=300, seed=0, dtype=np.float64):
    """Overlapping blobs, positive (a sparse copy holds the same numbers): several iterations."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 6, size=(4, 3))
    X = centres[rng.integers(0, 4, n_samples)] + rng.normal(size=(n_samples, 3))
    return np.abs(X).astype(dtype)


def as_kind(X, kind):
    if kind == "sparse":
        return sp.csr_matrix(X)
    if kind == "dataset":
        return tf.data.Dataset.from_tensor_slices(X).batch(64)
    return X


KINDS = ["dense", "sparse", "dataset"]
DTYPES = [np.float32, np.float64]


def grid(names, *axes, default):
    """Every combination of ``axes`` for ``parametrize(names, ...)``; those not in ``default``
    (a list of tuples) are marked slow, to keep the default suite's time."""
    return pytest.mark.parametrize(
        names,
        [pytest.param(*case, marks=() if case in default else pytest.mark.slow) for case in itertools.product(*axes)],
    )


@grid(
    "dtype, kind, tol",
    DTYPES,
    KINDS,
    [0.0, 1e-4],
    default=[(dtype, kind, 0.0) for dtype in DTYPES for kind in KINDS] + [(np.float32, "dense", 1e-4)],
)
def test_a_start_on_the_means_stops_after_one_iteration_as_in_scikit_learn(dtype, kind, tol):
    """The first update moves nothing (a total shift of exactly 0, at most any tol): one
    iteration, as scikit-learn counts it (a strict "<" ran a second)."""
    X = CONVERGED.astype(dtype)
    start = CENTRES.astype(dtype)
    theirs = skc.KMeans(4, init=start, n_init=1, tol=tol).fit(X)
    assert theirs.n_iter_ == 1  # scikit-learn's own count, not ours
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a dataset traced per call (not what is checked)
        ours = KMeans(4, init=start, n_init=1, tol=tol, max_iter=50).fit(as_kind(X, kind))
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_array_equal(ours.cluster_centers_, CENTRES)
    assert ours.inertia_ == pytest.approx(theirs.inertia_) == 16.0


def check_n_iter(X, kind, tol, start_rows):
    start = X[start_rows]
    theirs = skc.KMeans(4, init=start, n_init=1, tol=tol).fit(as_kind(X, "sparse") if kind == "sparse" else X)
    ours = KMeans(4, init=start, n_init=1, tol=tol).fit(as_kind(X, kind))
    assert ours.n_iter_ == theirs.n_iter_ > 1
    if kind != "dataset":  # a stream keeps no labels_
        np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    rtol = 1e-4 if X.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=rtol, atol=rtol)


@grid(
    "dtype, kind, tol",
    DTYPES,
    ["dense", "sparse"],
    [0.0, 1e-4, 0.05],
    default=[(np.float32, "dense", 0.0), (np.float64, "sparse", 1e-4), (np.float64, "dense", 0.05)],
)
def test_n_iter_is_scikit_learns_from_the_same_start(dtype, kind, tol):
    check_n_iter(overlapping(dtype=dtype), kind, tol, [0, 1, 2, 3])


@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("tol", [0.0, 1e-4, 1e-2, 0.05, 0.3])
@pytest.mark.parametrize("seed, start_rows", [(0, [10, 50, 150, 250]), (1, [0, 1, 2, 3]), (2, [5, 6, 7, 8])])
def test_n_iter_is_scikit_learns_over_more_data_starts_and_tolerances(dtype, kind, tol, seed, start_rows):
    check_n_iter(overlapping(seed=seed, dtype=dtype), kind, tol, start_rows)


@grid(
    "dtype, sparse, tol, max_no_improvement",
    DTYPES,
    [False, True],
    [1e-4, 0.0],
    [None, 3],
    default=[(np.float64, False, 1e-4, None), (np.float32, True, 0.0, 3)],
)
def test_minibatch_stops_where_scikit_learn_does_on_a_start_that_never_moves(dtype, sparse, tol, max_no_improvement):
    """Each cluster is one point repeated (integers: every running mean is exact), and the start
    is on them: no step moves a centre and every batch's inertia is 0. With tol > 0 the second
    step stops on "moved at most tol" (the first never counts); with tol 0, only the lack of
    improvement stops it, after max_no_improvement more steps. Both as scikit-learn counts them
    (its batches are drawn differently, but here every batch gives the same numbers)."""
    X = np.repeat(CENTRES, 25, axis=0).astype(dtype)
    data = sp.csr_matrix(X) if sparse else X
    parameters = dict(
        init=CENTRES.astype(dtype),
        n_init=1,
        batch_size=20,
        tol=tol,
        max_no_improvement=max_no_improvement,
        max_iter=5,
        random_state=0,
    )
    theirs = skc.MiniBatchKMeans(4, **parameters).fit(data)
    ours = MiniBatchKMeans(4, **parameters).fit(data)
    assert ours.n_steps_ == theirs.n_steps_
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_array_equal(ours.cluster_centers_, CENTRES)
    assert ours.inertia_ == 0.0
    assert theirs.inertia_ == pytest.approx(0.0, abs=1e-6)  # its float32 expansion rounds


# One sample that batches can draw (weight 1), and three that only set the data's variance
# (weight 0: never drawn, as in scikit-learn, whose batches follow the weights). The variance is
# exactly 8, so tol=2 is a scaled tolerance of exactly 16.
TOLERANCE_X = np.array([[0.0], [4.0], [-4.0], [0.0]])
TOLERANCE_WEIGHTS = np.array([1.0, 0.0, 0.0, 0.0])
# Every batch is two copies of the sample 0. Step 1 (which never stops a run): centre 2 moves
# onto it; centre 0, with no sample, is reassigned onto it (the lowest index of the empty ones;
# a batch of 2 moves at most 1). Step 2: the batch goes to centre 0 (a tie, the lowest index),
# and centre 1, still empty, is reassigned from 4 onto 0: a squared shift of exactly 16. Step 3:
# nothing moves.
TOLERANCE_START = np.array([[-8.0], [4.0], [1.0]])


@grid(
    "dtype, sparse",
    DTYPES,
    [False, True],
    default=[(np.float64, False), (np.float32, True)],
)
def test_minibatch_stops_when_the_centres_moved_exactly_tol_as_scikit_learn_does(dtype, sparse):
    """scikit-learn stops once the centres moved (squared, summed) by at most tol: "<=". A start
    that never moves cannot tell "<=" from "<" (0 is below any tol > 0, and tol 0 turns the rule
    off), so here step 2 moves the centres by exactly the scaled tol: "<=" stops there, "<"
    would run a third step. Just below that tol, both run the third."""
    X = TOLERANCE_X.astype(dtype)
    data = sp.csr_matrix(X) if sparse else X
    parameters = dict(init=TOLERANCE_START.astype(dtype), n_init=1, batch_size=2, max_no_improvement=None, max_iter=5)
    for tol, steps in ((2.0, 2), (np.nextafter(2.0, 0.0), 3)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # one distinct cluster for three
            theirs = skc.MiniBatchKMeans(3, tol=tol, random_state=0, **parameters)
            theirs.fit(data, sample_weight=TOLERANCE_WEIGHTS)
            ours = MiniBatchKMeans(3, tol=tol, random_state=0, **parameters).fit(data, sample_weight=TOLERANCE_WEIGHTS)
        assert theirs._tol == ours._tol == tol * 8.0
        assert theirs.n_steps_ == steps  # scikit-learn's own count, not ours
        assert ours.n_steps_ == theirs.n_steps_
        np.testing.assert_array_equal(ours.cluster_centers_, np.zeros((3, 1)))
