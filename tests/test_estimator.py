"""tfkmeans.KMeans: scikit-learn's interface, scikit-learn's numbers from the same start."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from sklearn.base import clone
from sklearn.cluster import KMeans as ScikitKMeans
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conftest import run_python, same_message
from tfkmeans import KMeans


def blobs(n_samples=600, n_features=3, n_centres=4, seed=0, dtype=np.float64):
    """Overlapping Gaussian blobs: samples keep changing cluster for several iterations."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-5, 5, size=(n_centres, n_features))
    samples = centres[rng.integers(0, n_centres, n_samples)] + rng.normal(size=(n_samples, n_features)) * 2.0
    return samples.astype(dtype)


CONTAINERS = {
    "list": lambda X: X.tolist(),
    "numpy": lambda X: X,
    "dataframe": lambda X: pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])]),
    "tensor": lambda X: tf.constant(X),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("tol", [0.0, 1e-4])
def test_same_start_same_result_as_scikit_learn(dtype, container, tol):
    X = blobs(dtype=dtype)
    start = X[:4]
    ours = KMeans(4, init=start, n_init=1, max_iter=300, tol=tol).fit(CONTAINERS[container](X))
    # A list of float32 numbers is, to NumPy and scikit-learn, float64 data.
    expected_dtype = np.float64 if container == "list" else dtype
    theirs = ScikitKMeans(4, init=start, n_init=1, max_iter=300, tol=tol, algorithm="lloyd").fit(
        X.astype(expected_dtype)
    )
    assert ours.cluster_centers_.dtype == expected_dtype
    rtol = 1e-5 if expected_dtype == np.float32 else 1e-12
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=rtol, atol=rtol)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.labels_.dtype == np.int32
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=10 * rtol)
    assert ours.n_iter_ == theirs.n_iter_ > 3
    assert isinstance(ours.inertia_, float) and isinstance(ours.n_iter_, int)


@pytest.mark.parametrize("max_iter", [1, 2, 5])
def test_iteration_cap_counts_as_scikit_learn_counts(max_iter):
    X = blobs()
    ours = KMeans(4, init=X[:4], n_init=1, max_iter=max_iter).fit(X)
    theirs = ScikitKMeans(4, init=X[:4], n_init=1, max_iter=max_iter, algorithm="lloyd").fit(X)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-12)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.n_iter_ == theirs.n_iter_ == max_iter


def test_integer_input_is_computed_in_float64():
    X = np.round(blobs() * 10).astype(np.int64)
    model = KMeans(4, init=X[:4].astype(float), n_init=1).fit(X)
    assert model.cluster_centers_.dtype == np.float64
    reference = ScikitKMeans(4, init=X[:4].astype(float), n_init=1).fit(X)
    np.testing.assert_allclose(model.cluster_centers_, reference.cluster_centers_, rtol=1e-12)


def test_predict_transform_score_against_numpy():
    X = blobs()
    model = KMeans(4, random_state=0).fit(X)
    new = blobs(200, seed=1)
    squared = ((new[:, None, :] - model.cluster_centers_[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(model.predict(new), squared.argmin(axis=1))
    np.testing.assert_allclose(model.transform(new), np.sqrt(squared), rtol=1e-10, atol=1e-10)
    assert model.score(new) == pytest.approx(-squared.min(axis=1).sum(), rel=1e-12)
    weights = np.arange(200.0)
    assert model.score(new, sample_weight=weights) == pytest.approx(-(squared.min(axis=1) * weights).sum(), rel=1e-12)
    # fit_predict and fit_transform: the fitted labels and the distances from the fitted centres.
    np.testing.assert_array_equal(KMeans(4, random_state=0).fit_predict(X), model.labels_)
    np.testing.assert_allclose(KMeans(4, random_state=0).fit_transform(X), model.transform(X))
    assert model.get_feature_names_out().tolist() == ["kmeans0", "kmeans1", "kmeans2", "kmeans3"]


def test_the_inertia_is_that_of_the_fitted_centres_and_labels():
    X = blobs()
    model = KMeans(4, random_state=1).fit(X)
    centres = model.cluster_centers_
    np.testing.assert_array_equal(model.labels_, ((X[:, None] - centres[None]) ** 2).sum(2).argmin(1))
    assert model.inertia_ == pytest.approx(((X - centres[model.labels_]) ** 2).sum(), rel=1e-12)
    # A converged Lloyd fit: each centre is the mean of its cluster.
    np.testing.assert_allclose(centres, [X[model.labels_ == j].mean(axis=0) for j in range(4)], rtol=1e-6)


def test_restarts_keep_the_lowest_inertia():
    """A callable init hands out three starts in turn; n_init=3 keeps the best of the three
    fits from those starts, each made on its own."""
    X = blobs(seed=3)
    starts = [X[[0, 1, 2, 3]], X[:400:100], X[[5, 6, 7, 8]] * 0 + X[5]]  # the last: all in one place
    starts[2] = starts[2] + np.arange(4)[:, None] * 1e-3
    inertias = [KMeans(4, init=start, n_init=1).fit(X).inertia_ for start in starts]
    handed_out = iter(starts)
    model = KMeans(4, init=lambda X, k, random_state: next(handed_out), n_init=3).fit(X)
    assert model.inertia_ == pytest.approx(min(inertias), rel=1e-12)
    assert len(set(np.round(inertias, 6))) > 1  # the starts do lead to different results


def test_n_init_auto_as_in_scikit_learn():
    X = blobs()
    calls = []

    def init(X, k, random_state):
        calls.append(1)
        return X[:k]

    KMeans(4, init=init).fit(X)
    assert len(calls) == 10  # "auto": 10 for a callable (and for "random"), 1 for k-means++
    with pytest.warns(RuntimeWarning, match="performing only one init"):
        KMeans(4, init=X[:4], n_init=5).fit(X)


def test_integer_weights_are_repeated_samples():
    X = blobs(300)
    weights = np.random.default_rng(0).integers(1, 4, size=300)
    start = X[:4]
    weighted = KMeans(4, init=start, n_init=1).fit(X, sample_weight=weights)
    repeated = KMeans(4, init=start, n_init=1).fit(np.repeat(X, weights, axis=0))
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=1e-10)
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=1e-10)
    reference = ScikitKMeans(4, init=start, n_init=1).fit(X, sample_weight=weights)
    np.testing.assert_allclose(weighted.cluster_centers_, reference.cluster_centers_, rtol=1e-10)


def test_equal_weights_change_nothing_but_the_inertia():
    X = blobs()
    plain = KMeans(4, random_state=0).fit(X)
    weighted = KMeans(4, random_state=0).fit(X, sample_weight=np.full(len(X), 2.5))
    np.testing.assert_array_equal(weighted.cluster_centers_, plain.cluster_centers_)
    assert weighted.inertia_ == pytest.approx(2.5 * plain.inertia_)


def test_feature_names_from_a_dataframe():
    X = pd.DataFrame(blobs(), columns=["height", "weight", "age"])
    model = KMeans(3, random_state=0).fit(X)
    assert model.feature_names_in_.tolist() == ["height", "weight", "age"] and model.n_features_in_ == 3
    with pytest.raises(ValueError, match="feature names"):
        model.predict(X.rename(columns={"age": "years"}))


@pytest.mark.parametrize("max_iter", [1, 2, 3, 10])
@pytest.mark.parametrize("weighted", [False, True])
def test_empty_clusters_are_relocated_by_scikit_learns_rule(max_iter, weighted):
    """Centres at 5 (all samples), 100 and 200 (none): the empty ones take the samples farthest
    from the centre they were assigned to, which leave their old cluster; the numbers,
    iteration by iteration, are scikit-learn's."""
    X = np.array([[0.0], [1.0], [10.0], [11.0], [12.0]])
    weights = np.array([1.0, 3.0, 0.5, 2.0, 1.0]) if weighted else None
    start = np.array([[5.0], [100.0], [200.0]])
    ours = KMeans(3, init=start, n_init=1, max_iter=max_iter, tol=0).fit(X, sample_weight=weights)
    theirs = ScikitKMeans(3, init=start, n_init=1, max_iter=max_iter, tol=0).fit(X, sample_weight=weights)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-12)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.n_iter_ == theirs.n_iter_ and ours.inertia_ == pytest.approx(theirs.inertia_)


@pytest.mark.parametrize(
    "X, start, n_iter",
    [
        ([[0, 0], [0.5, 0], [0.5, 1], [1, 1]], [[0.5, 0.5], [3, 3]], 3),
        ([[0, 0], [1, 1], [1, 1], [1, 0], [0, 1]], "X", 1),  # more clusters than distinct samples
    ],
)
def test_n_iter_with_an_empty_cluster_is_scikit_learns(X, start, n_iter):
    X = np.array(X, dtype=float)
    start = X if isinstance(start, str) else np.array(start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = KMeans(len(start), init=start, n_init=1).fit(X)
        theirs = ScikitKMeans(len(start), init=start, n_init=1).fit(X)
    assert ours.n_iter_ == theirs.n_iter_ == n_iter
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_)


def test_works_in_pipelines_grid_search_clone_and_pickle():
    X = blobs()
    pipeline = make_pipeline(StandardScaler(), KMeans(4, random_state=0)).fit(X)
    assert pipeline.predict(X).shape == (len(X),)
    search = GridSearchCV(KMeans(random_state=0), {"n_clusters": [2, 4, 6]}, cv=3).fit(X)
    assert search.best_params_["n_clusters"] == 6  # -inertia on held-out data rises with k
    copy = clone(KMeans(5, tol=0.01))
    assert copy.get_params()["n_clusters"] == 5 and not hasattr(copy, "cluster_centers_")
    model = KMeans(4, random_state=0).fit(X)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))


@pytest.mark.slow  # every one of scikit-learn's estimator checks: 15-20 s
def test_passes_scikit_learns_estimator_checks_as_far_as_scikit_learns_kmeans_does():
    from sklearn.utils.estimator_checks import check_estimator

    def failures(estimator):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = check_estimator(estimator, on_fail=None)
        return {result["check_name"] for result in results if result["status"] == "failed"}

    ours, theirs = failures(KMeans()), failures(ScikitKMeans())
    assert ours <= theirs, ours - theirs
    # Different starts after reweighting, as for scikit-learn's own KMeans:
    assert ours <= {"check_sample_weight_equivalence_on_dense_data", "check_sample_weight_equivalence_on_sparse_data"}


@pytest.mark.slow
def test_predict_and_transform_never_build_the_n_by_k_by_d_tensor(tmp_path):
    """200,000 x 64 samples and 100 centres: an n x k x d float32 tensor would take 4.8 GiB.
    A fresh process predicts and transforms them and stays far below that."""
    code = (
        "import numpy as np\n"
        "from tfkmeans import KMeans\n"
        "rng = np.random.default_rng(0)\n"
        "model = KMeans(100, n_init=1, max_iter=2, random_state=0).fit(rng.standard_normal((1000, 64), dtype=np.float32))\n"
        "X = rng.standard_normal((200_000, 64), dtype=np.float32)\n"
        "labels = model.predict(X)\n"
        "distances = model.transform(X)\n"
        "assert labels.shape == (200_000,) and distances.shape == (200_000, 100)\n"
        "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')) // 1024)\n"
    )
    peak_mib = int(run_python(code, tmp_path).split()[-1])
    # TensorFlow itself, the data (49 MiB), the distances (76 MiB) and blocks of working space.
    assert peak_mib < 2048, peak_mib


BAD_FITS = [
    (dict(n_clusters=0), {}, ValueError, "n_clusters"),
    (dict(n_clusters=2.5), {}, ValueError, "n_clusters"),
    (dict(init="best"), {}, ValueError, "init"),
    (dict(tol=-1.0), {}, ValueError, "tol"),
    (dict(n_init=0), {}, ValueError, "n_init"),
    (dict(max_iter=0), {}, ValueError, "max_iter"),
    (dict(n_clusters=2, init=[[0.0, 0.0, 0.0]] * 2), {}, ValueError, "does not match the number of features"),
    (dict(n_clusters=3, init=[[0.0, 0.0]] * 2), {}, ValueError, "does not match the number of clusters"),
    (dict(algorithm="full"), {}, ValueError, "The 'algorithm' parameter of KMeans must be a str among"),
    (dict(copy_x="no"), {}, ValueError, "The 'copy_x' parameter"),
    (dict(n_clusters=20), {}, ValueError, "n_samples=10 should be >= n_clusters=20"),
    (dict(n_clusters=2), dict(X=[[0.0, np.nan]] * 10), ValueError, "Input X contains NaN"),
    (dict(n_clusters=2), dict(X=[[0.0, np.inf]] * 10), ValueError, "Input X contains infinity"),
    (dict(n_clusters=2), dict(X=[1.0, 2.0, 3.0]), ValueError, "Expected 2D array"),
    (dict(n_clusters=2), dict(X=[["a", "b"]] * 10), ValueError, "could not convert string to float"),
    (dict(n_clusters=2), dict(sample_weight=[-1.0] + [1.0] * 9), ValueError, "non-negative"),
    (dict(n_clusters=2), dict(sample_weight=[1.0] * 3), ValueError, "sample_weight.shape"),
]


@pytest.mark.parametrize("parameters, arguments, error, words", BAD_FITS)
def test_bad_input_gets_a_clear_error(parameters, arguments, error, words):
    arguments = {"X": np.arange(20.0).reshape(10, 2), **arguments}
    with pytest.raises(error, match=words) as caught:
        KMeans(**parameters).fit(**arguments)
    assert not isinstance(caught.value, tf.errors.OpError)


def test_bad_sparse_input_gets_scikit_learns_errors():
    from scipy import sparse

    with pytest.raises(ValueError, match="Input X contains NaN"):
        KMeans(2).fit(sparse.csr_matrix(np.array([[0.0, np.nan], [1.0, 0.0], [2.0, 1.0]])))
    with pytest.raises(ValueError, match="The 'init' parameter of KMeans must be a str among") as ours:
        KMeans(2, init=sparse.csr_matrix(np.eye(2))).fit(np.eye(4)[:, :2])
    with pytest.raises(ValueError) as theirs:
        ScikitKMeans(2, init=sparse.csr_matrix(np.eye(2))).fit(np.eye(4)[:, :2])
    assert same_message(ours.value, theirs.value)  # scikit-learn's, with the start it lacks, "k-means||"
    with pytest.raises(ValueError, match="The 'algorithm' parameter of KMeans must be a str among"):
        KMeans(2, algorithm="auto").fit(np.eye(4))


def test_unfitted_and_wrong_width_input():
    with pytest.raises(NotFittedError):
        KMeans(2).predict([[0.0, 0.0]])
    model = KMeans(2, random_state=0).fit(np.arange(20.0).reshape(10, 2))
    with pytest.raises(ValueError, match="X has 3 features, but KMeans is expecting 2 features"):
        model.predict(np.zeros((4, 3)))


def test_n_iter_at_every_cap_up_to_convergence_is_scikit_learns():
    """The cap reached exactly as the labels stop changing must not count one more iteration
    (a bug once made it max_iter + 1): every cap from 1 to past convergence, as scikit-learn."""
    X = blobs(300, seed=5)
    start = X[:4]
    converged = ScikitKMeans(4, init=start, n_init=1, tol=0).fit(X).n_iter_
    assert 3 <= converged < 50
    for max_iter in range(1, converged + 2):
        ours = KMeans(4, init=start, n_init=1, tol=0, max_iter=max_iter).fit(X)
        theirs = ScikitKMeans(4, init=start, n_init=1, tol=0, max_iter=max_iter).fit(X)
        assert ours.n_iter_ == theirs.n_iter_ <= max_iter, max_iter
        np.testing.assert_array_equal(ours.labels_, theirs.labels_)


@pytest.mark.slow  # fresh processes, several
def test_python_fits_print_no_tensorflow_log_lines(tmp_path):
    """A float64 fit once printed TensorFlow's C++ warnings (36 in a small GridSearchCV). With
    tfkmeans loading TensorFlow, a fresh process prints nothing at all on stderr, with its
    compile cache filled or not, unless TF_CPP_MIN_LOG_LEVEL=0 asks for everything."""
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from sklearn.model_selection import GridSearchCV\n"
        "from tfkmeans import KMeans\n"
        "X = np.random.default_rng(0).normal(size=(3000, 4))\n"
        "GridSearchCV(KMeans(random_state=0), {'n_clusters': [2, 3]}, cv=2).fit(X)\n"
        "KMeans(3, random_state=0).fit(X.astype(np.float32) * 1e3)\n"
    )
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TF_")}
    for _ in range(2):  # the second reads what the first compiled, where the compile cache is on
        quiet = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120
        )
        assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    loud = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env={**environment, "TF_CPP_MIN_LOG_LEVEL": "0"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert loud.returncode == 0 and "I0000" in loud.stderr
