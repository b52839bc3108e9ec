"""scikit-learn's k-means family as a drop-in: the parameters, semantics, messages and numbers of
KMeans, MiniBatchKMeans, BisectingKMeans, k_means and kmeans_plusplus, dense and sparse, checked
against scikit-learn itself. (scikit-learn's own test modules also run against these classes:
tests/sklearn_suite, run by CI.)"""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.cluster as skc
import tensorflow as tf
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import v_measure_score

import tfkmeans
from conftest import same_message
from tfkmeans import BisectingKMeans, KMeans, MiniBatchKMeans, k_means


def blobs(n_samples=400, n_features=5, n_centres=4, seed=0, dtype=np.float64, spread=1.5):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-6, 6, size=(n_centres, n_features))
    return (centres[rng.integers(0, n_centres, n_samples)] + rng.normal(size=(n_samples, n_features)) * spread).astype(
        dtype
    )


def tf_idf_like(n_samples=300, n_features=200, seed=0, dtype=np.float64):
    """Sparse rows of unit length, as TF-IDF rows are."""
    rng = np.random.default_rng(seed)
    X = sp.random(n_samples, n_features, density=0.05, format="csr", random_state=seed, dtype=dtype)
    X.data = np.abs(X.data) + 0.1
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    return sp.diags(1 / np.maximum(norms, 1e-12)).dot(X).tocsr().astype(dtype), rng


SPARSE_CONTAINERS = [sp.csr_matrix, sp.csr_array, sp.csc_matrix, sp.csc_array]


# --- KMeans -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("container", SPARSE_CONTAINERS)
def test_sparse_results_are_scikit_learns_from_the_same_start(container, dtype):
    X, _ = tf_idf_like(dtype=dtype)
    X = container(X)
    start = X[:6].toarray()
    weights = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0])
    ours = KMeans(6, init=start, n_init=1, tol=0).fit(X, sample_weight=weights)
    theirs = skc.KMeans(6, init=start, n_init=1, tol=0).fit(X, sample_weight=weights)
    tolerance = 1e-5 if dtype == np.float32 else 1e-10
    assert ours.cluster_centers_.dtype == dtype
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, atol=tolerance)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.n_iter_ == theirs.n_iter_ and ours.inertia_ == pytest.approx(theirs.inertia_, rel=10 * tolerance)
    other = container(tf_idf_like(100, seed=2, dtype=dtype)[0])
    np.testing.assert_array_equal(ours.predict(other), theirs.predict(other))
    np.testing.assert_allclose(ours.transform(other), theirs.transform(other), atol=10 * tolerance)
    assert ours.score(other) == pytest.approx(theirs.score(other), rel=10 * tolerance)
    np.testing.assert_array_equal(
        KMeans(6, init=start, n_init=1, tol=0).fit_predict(X, sample_weight=weights), ours.labels_
    )


def test_sparse_data_is_never_made_dense(monkeypatch):
    """Only the few rows that become centres are ever densified."""
    X, _ = tf_idf_like()
    largest = []
    original = sp.csr_matrix.toarray

    def recording_toarray(self, *args, **kwargs):
        largest.append(self.shape[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sp.csr_matrix, "toarray", recording_toarray)
    model = KMeans(5, random_state=0, n_init=3).fit(X)
    model.predict(X), model.transform(X), model.score(X)
    MiniBatchKMeans(5, random_state=0, batch_size=64).fit(X).partial_fit(X)
    BisectingKMeans(4, random_state=0).fit(X)
    assert max(largest) <= 5, largest


def test_elkan_is_the_same_exact_computation_as_lloyd():
    X = blobs()
    for data in (X, sp.csr_matrix(np.where(X > 2, X, 0))):
        lloyd = KMeans(4, algorithm="lloyd", random_state=0, n_init=3).fit(data)
        elkan = KMeans(4, algorithm="elkan", random_state=0, n_init=3).fit(data)
        np.testing.assert_array_equal(elkan.cluster_centers_, lloyd.cluster_centers_)
        np.testing.assert_array_equal(elkan.labels_, lloyd.labels_)
        assert elkan.n_iter_ == lloyd.n_iter_ and elkan.inertia_ == lloyd.inertia_
    with pytest.warns(RuntimeWarning, match="algorithm='elkan' doesn't make sense for a single cluster"):
        KMeans(1, algorithm="elkan").fit(X)


def test_copy_x_false_shifts_the_data_in_place_and_back(monkeypatch):
    """copy_x=False saves the copy (no new buffer is made for aligned data) and puts the data
    back, to rounding; copy_x=True leaves it untouched, bit for bit."""
    from tfkmeans import _samples

    X = _samples._aligned_empty((1000, 5), np.float64)  # aligned, as TensorFlow wants memory it shares
    X[:] = blobs(1000) + 1e4
    assert _samples.can_centre_in_place(X)
    original = X.copy()
    KMeans(4, random_state=0).fit(X)
    np.testing.assert_array_equal(X, original)

    def no_copies(shape, dtype, alignment=64):
        raise AssertionError("a copy of the data was made")

    monkeypatch.setattr(_samples, "_aligned_empty", no_copies)
    model = KMeans(4, random_state=0, copy_x=False).fit(X)
    np.testing.assert_allclose(X, original, rtol=1e-12)
    reference = skc.KMeans(4, init=model.cluster_centers_, n_init=1).fit(original)
    np.testing.assert_allclose(model.cluster_centers_, reference.cluster_centers_, rtol=1e-9)


def verbose_lines(capsys, model, X):
    capsys.readouterr()
    model.fit(X)
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("tol", [0, 1e-2])
def test_verbose_prints_scikit_learns_progress(capsys, tol):
    X = blobs(2000)
    start = X[:4]
    ours = verbose_lines(capsys, KMeans(4, init=start, n_init=1, tol=tol, verbose=1), X)
    theirs = verbose_lines(capsys, skc.KMeans(4, init=start, n_init=1, tol=tol, verbose=1), X)
    assert ours[0] == theirs[0] == "Initialization complete"
    assert len(ours) == len(theirs) > 3
    pattern = re.compile(r"Iteration (\d+), inertia (.*)\.")
    for mine, scikit in zip(ours[1:-1], theirs[1:-1]):
        a, b = pattern.fullmatch(mine), pattern.fullmatch(scikit)
        assert a.group(1) == b.group(1) and float(a.group(2)) == pytest.approx(float(b.group(2)), rel=1e-9)
    kind = "strict convergence" if tol == 0 else "within tolerance"
    assert kind in ours[-1] and kind in theirs[-1] and ours[-1].split(":")[0] == theirs[-1].split(":")[0]


@pytest.mark.parametrize("tol", [0, 1e-2])
def test_verbose_prints_scikit_learns_progress_for_a_stream(capsys, tol):
    """A stream's pass after each update measures the inertia of the new centres, scikit-learn's
    next iteration's: the lines agree from iteration 1 on, and on where the run converged."""
    X = blobs(2000)
    start = X[:4]
    dataset = tf.data.Dataset.from_tensor_slices(X).batch(300)
    ours = verbose_lines(capsys, KMeans(4, init=start, n_init=1, tol=tol, verbose=1), dataset)
    theirs = verbose_lines(capsys, skc.KMeans(4, init=start, n_init=1, tol=tol, verbose=1), X)
    assert ours[0] == theirs[0] == "Initialization complete"
    pattern = re.compile(r"Iteration (\d+), inertia (.*)\.")
    mine = {int(m.group(1)): float(m.group(2)) for m in map(pattern.fullmatch, ours[1:-1])}
    scikit = {int(m.group(1)): float(m.group(2)) for m in map(pattern.fullmatch, theirs[1:-1])}
    assert sorted(mine) == list(range(1, max(scikit) + 2)), ours
    for iteration in range(1, max(scikit) + 1):
        assert mine[iteration] == pytest.approx(scikit[iteration], rel=1e-9)
    kind = "strict convergence" if tol == 0 else "within tolerance"
    assert kind in ours[-1] and kind in theirs[-1] and ours[-1].split(":")[0] == theirs[-1].split(":")[0]


def test_minibatch_verbose_and_its_warnings(capsys):
    X, _, centres = __import__("sklearn.datasets").datasets.make_blobs(centers=3, random_state=0, return_centers=True)
    MiniBatchKMeans(3, init=centres, batch_size=20, max_iter=10, n_init=1, verbose=1, random_state=0).fit(X)
    printed = capsys.readouterr().out
    assert "Minibatch step 1/50: mean batch inertia:" in printed and ", ewa inertia: " in printed
    assert "Converged (lack of improvement in inertia) at step" in printed
    with pytest.warns(RuntimeWarning, match=r"init_size=3 should be larger than n_clusters=5"):
        model = MiniBatchKMeans(5, init_size=3, random_state=0).fit(X)
    assert model._init_size == 15


@pytest.mark.parametrize("max_no_improvement", [3, 20, 40])  # stops in pass 1, in pass 3, never
def test_minibatch_verbose_on_a_stream_prints_a_line_a_pass(capsys, max_no_improvement):
    X = blobs(3000)
    dataset = tf.data.Dataset.from_tensor_slices(X).batch(100)
    model = MiniBatchKMeans(3, random_state=0, max_iter=30, verbose=1, max_no_improvement=max_no_improvement)
    model.fit(dataset)
    lines = capsys.readouterr().out.splitlines()
    passes = [re.fullmatch(r"Minibatch pass (\d+)/30: (\d+) steps, ewa inertia: (.*)", line) for line in lines]
    passes = [found for found in passes if found]
    assert [int(found.group(1)) for found in passes] == list(range(1, len(passes) + 1)) and passes
    steps = [int(found.group(2)) for found in passes]
    assert steps == sorted(steps) and steps[-1] == model.n_steps_
    # 30 batches a pass: the steps allowed are known once a pass is whole.
    allowed = "/900" if model.n_steps_ > 30 else ""
    if model.n_steps_ < 900:
        assert lines[-1] == f"Converged (lack of improvement in inertia) at step {model.n_steps_}{allowed}"
    else:
        assert lines[-1] == passes[-1].group(0) and len(passes) == 30


def test_minibatch_caps_its_batch_at_the_number_of_samples():
    """100 samples, the default batch of 1024: as in scikit-learn, a batch is all 100 samples
    and the steps are max_iter passes' worth (they used to be none at all)."""
    X = blobs(100)
    ours = MiniBatchKMeans(3, random_state=0, max_no_improvement=None).fit(X)
    theirs = skc.MiniBatchKMeans(3, random_state=0, max_no_improvement=None).fit(X)
    assert ours._batch_size == theirs._batch_size == 100
    assert ours.n_steps_ == theirs.n_steps_ == 100 and ours.n_iter_ == theirs.n_iter_ == 100


@pytest.mark.parametrize("Estimator", [KMeans, MiniBatchKMeans, BisectingKMeans])
def test_transform_of_the_centres_is_exactly_zero_on_the_diagonal(Estimator):
    model = Estimator(4, random_state=0).fit(blobs(dtype=np.float32))
    from sklearn.metrics import pairwise_distances

    distances = model.transform(model.cluster_centers_)
    np.testing.assert_array_equal(np.diag(distances), 0)
    np.testing.assert_allclose(distances, pairwise_distances(model.cluster_centers_.astype(np.float64)), rtol=1e-5)


def test_minibatch_draws_batches_in_proportion_to_the_weights():
    """Samples of weight 0 are never drawn: a far group of them pulls no centre."""
    X = blobs(600, n_features=2)
    X[:200] += 100
    weights = np.ones(600)
    weights[:200] = 0
    model = MiniBatchKMeans(3, random_state=0, batch_size=50, init="random", max_no_improvement=None, max_iter=5)
    model.fit(X, sample_weight=weights)
    assert np.all(model.cluster_centers_ < 50)


def test_k_means_is_scikit_learns_function():
    X = blobs()
    ours = k_means(X, 4, init=X[:4], n_init=1, return_n_iter=True)
    theirs = skc.k_means(X, 4, init=X[:4], n_init=1, return_n_iter=True)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    np.testing.assert_array_equal(ours[1], theirs[1])
    assert ours[2] == pytest.approx(theirs[2]) and ours[3] == theirs[3]
    assert len(k_means(X, 4, random_state=0)) == 3


BAD_PARAMETERS = [
    ("KMeans", {"n_clusters": 0}),
    ("KMeans", {"algorithm": "full"}),
    ("KMeans", {"init": "best"}),
    ("KMeans", {"tol": -1}),
    ("KMeans", {"n_init": 0}),
    ("KMeans", {"copy_x": 2}),
    ("KMeans", {"verbose": "loud"}),
    ("MiniBatchKMeans", {"batch_size": 0}),
    ("MiniBatchKMeans", {"reassignment_ratio": -1.0}),
    ("MiniBatchKMeans", {"init_size": 0}),
    ("BisectingKMeans", {"bisecting_strategy": "smallest"}),
    ("BisectingKMeans", {"init": np.zeros((2, 5))}),
    ("BisectingKMeans", {"n_init": "auto"}),
]


@pytest.mark.parametrize("name, parameters", BAD_PARAMETERS)
def test_bad_parameters_get_scikit_learns_messages(name, parameters):
    X = blobs(50)
    with pytest.raises(ValueError) as ours:
        getattr(tfkmeans, name)(**parameters).fit(X)
    with pytest.raises(ValueError) as theirs:
        getattr(skc, name)(**parameters).fit(X)
    assert same_message(ours.value, theirs.value)


@pytest.mark.parametrize(
    "name, parameters, X",
    [
        ("KMeans", {"n_clusters": 60}, blobs(50)),
        ("KMeans", {"n_clusters": 2, "init": np.zeros((3, 5))}, blobs(50)),
        ("KMeans", {"n_clusters": 2}, np.array([[0.0, np.nan]] * 5)),
        ("MiniBatchKMeans", {"n_clusters": 60}, blobs(50)),
        ("BisectingKMeans", {"n_clusters": 2}, np.array([[np.inf, 0.0]] * 5)),
    ],
)
def test_bad_data_gets_scikit_learns_messages(name, parameters, X):
    with pytest.raises(ValueError) as ours:
        getattr(tfkmeans, name)(**parameters).fit(X)
    with pytest.raises(ValueError) as theirs:
        getattr(skc, name)(**parameters).fit(X)
    assert same_message(ours.value, theirs.value)


# --- BisectingKMeans --------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["biggest_inertia", "largest_cluster"])
@pytest.mark.parametrize("sparse", [False, True])
def test_bisecting_finds_scikit_learns_clusters(strategy, sparse):
    """Well-separated groups: the same clusters and centres as scikit-learn's bisection."""
    X = blobs(600, n_features=3, n_centres=6, spread=0.3, seed=4)
    shift = X.min() - 1
    X -= shift  # positive, so that a sparse copy holds the same numbers
    data = sp.csr_matrix(X) if sparse else X
    ours = BisectingKMeans(6, bisecting_strategy=strategy, random_state=0, n_init=3).fit(data)
    theirs = skc.BisectingKMeans(6, bisecting_strategy=strategy, random_state=0, n_init=3).fit(data)
    assert v_measure_score(theirs.labels_, ours.labels_) == pytest.approx(1.0)
    order = lambda centres: centres[np.lexsort(centres.T[::-1])]  # noqa: E731
    np.testing.assert_allclose(order(ours.cluster_centers_), order(theirs.cluster_centers_), rtol=1e-9)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-9)
    new = blobs(200, n_features=3, n_centres=6, spread=0.3, seed=4) - shift
    assert v_measure_score(theirs.predict(new), ours.predict(new)) == pytest.approx(1.0)


def test_bisecting_uses_the_weights_and_walks_its_tree():
    X = blobs(300, n_features=2, seed=2)
    weights = np.random.default_rng(0).integers(1, 4, 300).astype(float)
    weighted = BisectingKMeans(4, random_state=0).fit(X, sample_weight=weights)
    manual = ((X - weighted.cluster_centers_[weighted.labels_]) ** 2).sum(axis=1) @ weights
    assert weighted.inertia_ == pytest.approx(manual, rel=1e-12)
    # Each centre is the weighted mean of its cluster; predict follows the tree to the same labels.
    for j in range(4):
        members = weighted.labels_ == j
        np.testing.assert_allclose(
            weighted.cluster_centers_[j], np.average(X[members], axis=0, weights=weights[members]), rtol=1e-9
        )
    np.testing.assert_array_equal(weighted.predict(X), weighted.labels_)


@pytest.mark.parametrize("Estimator", [MiniBatchKMeans, BisectingKMeans])
@pytest.mark.slow
def test_scikit_learns_estimator_checks_fail_nothing_they_do_not_fail_for_scikit_learn(Estimator):
    from sklearn.utils.estimator_checks import check_estimator

    def failures(estimator):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = check_estimator(estimator, on_fail=None)
        return {result["check_name"] for result in results if result["status"] == "failed"}

    ours, theirs = failures(Estimator()), failures(getattr(skc, Estimator.__name__)())
    assert ours <= theirs, ours - theirs


def test_a_failed_fit_leaves_the_estimator_as_it_was():
    from sklearn.exceptions import NotFittedError

    unfitted = KMeans(5)
    with pytest.raises(ValueError):
        unfitted.fit(blobs(3))  # fewer samples than clusters
    assert not hasattr(unfitted, "n_features_in_")
    with pytest.raises(NotFittedError):
        unfitted.predict(blobs(3))
    fitted = KMeans(2, random_state=0).fit(blobs(50))
    centres = fitted.cluster_centers_.copy()
    with pytest.raises(ValueError):
        fitted.fit(np.zeros((3, 7)) * np.nan)
    np.testing.assert_array_equal(fitted.cluster_centers_, centres)
    assert fitted.n_features_in_ == 5 and fitted.predict(blobs(10)).shape == (10,)


def test_warnings_point_at_the_callers_line():
    X = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        KMeans(3, random_state=0).fit(X)
    assert caught and caught[0].category is ConvergenceWarning and caught[0].filename == __file__
