"""tfkmeans._minibatch, mini-batch k-means (Sculley, 2010): scikit-learn's rules and numbers."""

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.cluster as skc
import tensorflow as tf
from sklearn.cluster import KMeans as ScikitKMeans
from sklearn.cluster import MiniBatchKMeans as ScikitMiniBatchKMeans

from tfkmeans import MiniBatchKMeans

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


def test_minibatch_reaches_full_kmeans_inertia_and_matches_scikit_learns():
    X = separated_blobs(50_000, n_features=8, n_centres=8, spread=2.0)
    start = ScikitKMeans(8, n_init=1, random_state=0, max_iter=1).fit(X[:5000]).cluster_centers_.astype(np.float32)
    full = ScikitKMeans(8, init=start, n_init=1).fit(X)
    ours = MiniBatchKMeans(8, init=start, n_init=1, batch_size=1024, random_state=0).fit(X)
    theirs = ScikitMiniBatchKMeans(8, init=start, n_init=1, batch_size=1024, random_state=0).fit(X)
    assert ours.inertia_ <= full.inertia_ * 1.02
    assert ours.inertia_ <= theirs.inertia_ * 1.02
    assert ours.n_steps_ >= 10 and ours.n_iter_ == -(-ours.n_steps_ * 1024 // len(X))
    np.testing.assert_array_equal(ours.labels_, ours.predict(X))


def test_minibatch_update_is_the_running_mean():
    """One step on the whole data from given centres: each centre becomes the mean of the samples
    nearest to it (count 0 before), as in scikit-learn's update."""
    X = np.array([[0.0], [2.0], [10.0], [14.0]])
    model = MiniBatchKMeans(2, init=[[1.0], [11.0]], n_init=1, reassignment_ratio=0.0).partial_fit(X)
    np.testing.assert_allclose(model.cluster_centers_, [[1.0], [12.0]])
    # A second step with new samples: the running mean over all the samples each centre got.
    model.partial_fit(np.array([[4.0], [16.0]]))
    np.testing.assert_allclose(model.cluster_centers_, [[2.0], [40.0 / 3]])
    assert model.n_steps_ == 2 and model._counts.tolist() == [3.0, 3.0]


def test_minibatch_counts_passes_as_scikit_learn_does():
    X = separated_blobs(10_000)
    model = MiniBatchKMeans(5, batch_size=500, max_iter=2, max_no_improvement=None, random_state=0).fit(X)
    assert model.n_steps_ == 2 * 10_000 // 500 and model.n_iter_ == 2


def test_minibatch_from_a_stream():
    X = separated_blobs(20_000)
    model = MiniBatchKMeans(5, random_state=0, max_iter=5).fit(batches(X, 1000))
    reference = ScikitKMeans(5, random_state=0, n_init=10).fit(X)
    assert model.inertia_ <= reference.inertia_ * 1.02
    assert model.labels_.shape == (20_000,)


def test_minibatch_same_seed_same_result():
    X = separated_blobs(5_000, spread=4.0)
    first = MiniBatchKMeans(5, random_state=3, batch_size=256).fit(X)
    second = MiniBatchKMeans(5, random_state=3, batch_size=256).fit(X)
    np.testing.assert_array_equal(first.cluster_centers_, second.cluster_centers_)


def separated_blobs(n_samples=20_000, n_features=4, n_centres=5, seed=0, spread=1.0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-20, 20, size=(n_centres, n_features))
    return (centres[rng.integers(0, n_centres, n_samples)] + rng.normal(size=(n_samples, n_features)) * spread).astype(
        np.float32
    )


def batches(X, rows):
    return tf.data.Dataset.from_tensor_slices(X).batch(rows)


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


@pytest.mark.parametrize(
    "batches",
    [
        [(slice(10, 30), None), (slice(50, 53), [5.0, 5.0, 5.0])],  # equal weights, not 1
        [(slice(10, 30), None), (slice(60, 61), [0.3])],  # one row: its weight is all its weights
        [(slice(0, 20), [2.0] * 20), (slice(20, 40), None), (slice(40, 42), [0.5, 0.5])],
    ],
)
@pytest.mark.parametrize("sparse", [False, True])
def test_partial_fit_counts_equal_weights_as_scikit_learn_does(batches, sparse):
    """partial_fit's running counts carry every call's weights into the next: a batch of equal
    weights (a one-row batch has them) moves the centres as scikit-learn's does, not as weight 1."""
    X = np.random.default_rng(0).normal(size=(100, 3))
    ours = MiniBatchKMeans(4, init=X[:4], n_init=1, reassignment_ratio=0, random_state=0)
    theirs = ScikitMiniBatchKMeans(4, init=X[:4], n_init=1, reassignment_ratio=0, random_state=0)
    data = sp.csr_matrix(X) if sparse else X
    for rows, weights in batches:
        ours.partial_fit(data[rows], sample_weight=weights)
        theirs.partial_fit(data[rows], sample_weight=weights)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours._counts, theirs._counts, rtol=1e-12)


def _one_step(data, weights, centres, counts, tol):
    """One mini-batch step on all of ``data`` after the first: whether the tolerance stopped
    it, and the squared shift of the centres."""
    from tfkmeans import _minibatch

    state = _minibatch.start_state(centres, counts)._replace(step=tf.constant(1, tf.int64))
    seed = tf.constant(0, tf.int64)
    new, _, _ = _minibatch.step(state, data, None, seed, tol, tf.constant(2), None, 0.0)
    return new.stopped_by_tol, tf.reduce_sum(tf.square(new.centres - centres))


@pytest.mark.parametrize("tol, stops", [(0.5, True), (0.4999, False), (0.5001, True)])
def test_minibatch_stops_when_the_centres_move_by_at_most_tol(tol, stops):
    """scikit-learn stops when the squared shift is at most tol: here exactly 0.5 (each centre
    moves 0.5: (0 + 1) / 2 and (4 + 3) / 2), so tol = 0.5 stops it and a hair less does not."""
    from tfkmeans._samples import Samples

    samples = Samples(np.array([[1.0], [3.0]]), offset=np.zeros(1))
    stopped, shift = samples.run(
        _one_step,
        None,
        tf.constant([[0.0], [4.0]], tf.float64),
        tf.constant([1.0, 1.0], tf.float64),
        tf.constant(tol, tf.float64),
        n_clusters=2,
        allow_xla=False,
    )
    assert float(shift) == 0.5
    assert bool(stopped) is stops
