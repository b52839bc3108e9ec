"""The estimators' parameters and in-memory arrays at their limits: iteration caps far beyond
what a run needs (nothing is sized by them, no count wraps), booleans given for integers,
sparse matrices whose index arrays lie, sample weights near the ends of the float range, wide
data (the padding of rows is bounded), verbose output printed as a fit goes, and the SavedModel
serving what ``predict`` and ``transform`` give. Expected values come from scikit-learn, from
NumPy by hand, or from the same fit with ordinary parameters."""

import contextlib
import io

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.cluster
from sklearn.datasets import make_blobs

from conftest import error_lines
from tfkmeans import (
    BisectingKMeans,
    KMeans,
    MiniBatchKMeans,
    _dispatch,
    _loop,
    _minibatch,
    k_means,
    kmeans,
    kmeans_plusplus,
)
from tfkmeans._samples import Samples


def blobs(n_samples=3000, n_features=4, centers=6, seed=0, dtype=np.float64):
    X, _ = make_blobs(n_samples, n_features, centers=centers, cluster_std=1.5, random_state=seed)
    return X.astype(dtype)


def assert_same_fit(a, b, labels=True):
    """Two fitted models that must be the same to the bit."""
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    if labels:
        np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_ and getattr(a, "n_iter_", None) == getattr(b, "n_iter_", None)


class CallRecorder:
    """Wraps ``Samples.runner`` to record each compiled call's static arguments and how many
    of ``marker`` lines stdout held when the call began."""

    def __init__(self, monkeypatch, output=None, marker=None):
        self.calls, self.output, self.marker = [], output, marker
        runner = Samples.runner
        recorder = self

        def recording_runner(samples, weights, n_clusters):
            run = runner(samples, weights, n_clusters)

            def recorded(function, *arguments, **static):
                printed = recorder.output.getvalue().count(recorder.marker) if recorder.output else 0
                recorder.calls.append((function.__name__, static, printed))
                return run(function, *arguments, **static)

            return recorded

        monkeypatch.setattr(Samples, "runner", recording_runner)


# --- 1, 2: iteration caps -----------------------------------------------------------------


HUGE_CAPS = [2**31, 2**32 + 5, 2**63, 10**20]


@pytest.mark.parametrize("max_iter", HUGE_CAPS)
def test_kmeans_cap_beyond_int32_runs_to_convergence_as_scikit_learn(max_iter):
    """From the same start, a cap of 2**31 or more gives what a cap the run never reaches
    gives, and what scikit-learn gives (2**31 once ran 0 iterations; 2**32 + 5 ran 5)."""
    X = blobs()
    start = X[:6]
    model = KMeans(6, init=start, n_init=1, max_iter=max_iter).fit(X)
    reference = sklearn.cluster.KMeans(6, init=start, n_init=1, max_iter=300).fit(X)
    assert 1 < reference.n_iter_ < 300
    assert model.n_iter_ == reference.n_iter_
    np.testing.assert_array_equal(model.labels_, reference.labels_)
    np.testing.assert_allclose(model.cluster_centers_, reference.cluster_centers_, rtol=1e-10, atol=1e-10)
    assert_same_fit(model, KMeans(6, init=start, n_init=1, max_iter=300).fit(X))


@pytest.mark.parametrize("max_iter", HUGE_CAPS)
def test_kmeans_huge_cap_with_tol_zero_and_verbose_fits(max_iter):
    """``verbose`` keeps a history: it is never sized by the cap (10**9 once segfaulted after
    7 GB). The fit is the one a reachable cap gives."""
    X = blobs(1000, 3)
    with contextlib.redirect_stdout(io.StringIO()) as output:
        model = KMeans(5, n_init=2, max_iter=max_iter, tol=0.0, verbose=1, random_state=3).fit(X)
    assert_same_fit(model, KMeans(5, n_init=2, max_iter=1000, tol=0.0, random_state=3).fit(X))
    assert output.getvalue().count("strict convergence") == 2


def test_history_buffers_are_sized_by_a_chunk_not_by_the_cap(monkeypatch):
    """Every compiled call of a verbose fit with a cap of 10**9 keeps at most
    ``HISTORY_CHUNK`` iterations."""
    recorder = CallRecorder(monkeypatch)
    X = blobs(500, 2)
    with contextlib.redirect_stdout(io.StringIO()):
        KMeans(4, n_init=1, max_iter=10**9, verbose=1, random_state=0).fit(X)
    loops = [static for name, static, _ in recorder.calls if name == "lloyd_loop"]
    assert loops and all(0 < static["capacity"] <= _loop.HISTORY_CHUNK for static in loops)


def test_verbose_zero_runs_each_start_in_one_compiled_call(monkeypatch):
    """Without a history nothing is chunked: one call per start, as before (no slower)."""
    recorder = CallRecorder(monkeypatch)
    KMeans(4, n_init=3, max_iter=10**9, random_state=0).fit(blobs(500, 2))
    loops = [static for name, static, _ in recorder.calls if name == "lloyd_loop"]
    assert len(loops) == 3 and all(static["capacity"] == 0 for static in loops)


@pytest.mark.parametrize("max_iterations", [300, 2**31, 10**9, 10**20])
def test_lesson_kmeans_huge_cap(max_iterations):
    """``kmeans`` keeps its history always: a cap of 10**9 once allocated it up front."""
    X = blobs(2000, 3)
    result = kmeans(X, X[:6], max_iterations=max_iterations, tolerance=0.0)
    reference = kmeans(X, X[:6], max_iterations=1000, tolerance=0.0)
    assert result.converged and result.n_iterations == reference.n_iterations < 300
    np.testing.assert_array_equal(result.centroids, reference.centroids)
    np.testing.assert_array_equal(result.inertia_history, reference.inertia_history)


@pytest.mark.parametrize("max_iter", [2**31, 2**40, 10**20])
def test_minibatch_cap_beyond_int32(max_iter):
    """MiniBatchKMeans took 0 steps at 2**31; with a cap it never reaches, it takes the steps a
    smaller unreachable cap takes (the draws are the same), to the bit."""
    X = blobs(2000, 3)
    model = MiniBatchKMeans(6, batch_size=100, max_iter=max_iter, random_state=0, n_init=1).fit(X)
    reference = MiniBatchKMeans(6, batch_size=100, max_iter=1000, random_state=0, n_init=1).fit(X)
    assert 0 < reference.n_steps_ < 1000 * 20
    assert model.n_steps_ == reference.n_steps_
    assert_same_fit(model, reference)


def test_minibatch_verbose_huge_cap_and_patience(monkeypatch):
    """A verbose mini-batch fit keeps a trace: never sized by the steps allowed (10**9 passes),
    and max_no_improvement beyond int64 is accepted."""
    recorder = CallRecorder(monkeypatch)
    X = blobs(1000, 2)
    with contextlib.redirect_stdout(io.StringIO()) as output:
        model = MiniBatchKMeans(4, batch_size=50, max_iter=10**9, verbose=1, random_state=1, tol=1e-3).fit(X)
    traced = [static for name, static, _ in recorder.calls if name == "loop"]
    assert traced and all(0 < static["capacity"] <= _minibatch.TRACE_CHUNK for static in traced)
    assert output.getvalue().splitlines()[-1].endswith(f"at step {model.n_steps_}/{10**9 * 1000 // 50}")
    patient = MiniBatchKMeans(4, batch_size=50, max_iter=3, max_no_improvement=2**70, random_state=1).fit(X)
    assert patient.n_steps_ == 3 * 1000 // 50


def test_bisecting_cap_beyond_int32():
    X = blobs(1500, 3)
    model = BisectingKMeans(5, max_iter=2**31, random_state=0).fit(X)
    assert_same_fit(model, BisectingKMeans(5, max_iter=1000, random_state=0).fit(X))


@pytest.mark.parametrize("iterations", ["2147483648", "100000000000000000000", "1e20", "2**31"])
def test_command_refuses_iterations_beyond_int32(cli, iterations):
    finished = cli("--iterations", iterations)
    assert finished.returncode == 2
    assert "Traceback" not in finished.stderr
    lines = error_lines(finished.stderr)
    assert len(lines) == 1 and lines[0].startswith("tfkmeans: error: argument --iterations: "), finished.stderr


@pytest.mark.parametrize("n_init", ["100000", "100000000000", "2147483648", "1" + "0" * 30])
@pytest.mark.parametrize("clusters", ["3", "2:4"])
def test_command_refuses_n_init_that_would_never_end_before_any_work(cli, monkeypatch, n_init, clusters):
    """--n-init had no bound: 100000000000 starts, each a whole fit, would run for ever (and
    draw every start's centroids first). Fewer than 100,000, as --iterations is bounded; one
    line, before the data is generated or read."""
    import tfkmeans._command

    monkeypatch.setattr(tfkmeans._command, "load", lambda settings: pytest.fail("the data was loaded"))
    finished = cli("--n-init", n_init, "--n-clusters", clusters)
    assert finished.returncode == 2
    shown = f"{int(n_init):,}" if len(n_init) <= 30 else None
    expected = f"must be below 100,000, got {shown}" if shown else "far too large"
    (line,) = error_lines(finished.stderr)
    assert line.startswith("tfkmeans: error: argument --n-init: ") and expected in line, line


def test_command_takes_n_init_up_to_its_bound():
    from tfkmeans.cli import parse

    assert parse(["--n-init", "99999", "--save", "x.png"]).n_init == 99_999


# --- 1, 8: chunked runs are the same run ------------------------------------------------------


def dense_or_sparse(kind):
    X = blobs(3000, 6)
    if kind == "sparse":
        X = sp.random(1500, 40, density=0.2, format="csr", random_state=0) * 10
    elif kind == "small":
        X = X[:200, :2]
    elif kind == "float32":
        X = X.astype(np.float32)
    return X


@pytest.mark.parametrize(
    "kind, weighted",
    [
        ("dense", True),
        ("small", False),
        ("sparse", True),
        pytest.param("dense", False, marks=pytest.mark.slow),
        pytest.param("float32", False, marks=pytest.mark.slow),
        pytest.param("float32", True, marks=pytest.mark.slow),
        pytest.param("small", True, marks=pytest.mark.slow),
        pytest.param("sparse", False, marks=pytest.mark.slow),
    ],
)
def test_verbose_fit_in_one_iteration_chunks_is_the_same_fit(monkeypatch, kind, weighted):
    """With ``REPORT_SECONDS`` 0 every compiled call runs one iteration, resuming where the
    last stopped: the centres, labels, inertia and iterations are those of one call
    (``verbose=0``), to the bit. Dense data runs under XLA with padded rows; sparse stays
    sparse."""
    monkeypatch.setattr(_loop, "REPORT_SECONDS", 0.0)
    X = dense_or_sparse(kind)
    weights = np.random.default_rng(1).uniform(0.5, 3.0, X.shape[0]) if weighted else None
    recorder = CallRecorder(monkeypatch)
    with contextlib.redirect_stdout(io.StringIO()):
        chunked = KMeans(5, n_init=1, random_state=2, tol=0.0, verbose=1).fit(X, sample_weight=weights)
    whole = KMeans(5, n_init=1, random_state=2, tol=0.0).fit(X, sample_weight=weights)
    assert_same_fit(chunked, whole)
    calls = [name for name, _, _ in recorder.calls if name == "lloyd_loop"]
    assert len(calls) >= 3  # chunked indeed


def test_lesson_history_in_chunks_is_the_same_history(monkeypatch):
    """Chunks of 3 iterations give ``kmeans`` the same history as one call, centroids too."""
    from tfkmeans import _functions

    X = blobs(1500, 4)
    whole = _functions.lloyd_with_history(X, X[:7], 40, None, keep_centroids=True)
    monkeypatch.setattr(_loop, "HISTORY_CHUNK", 3)
    chunked = _functions.lloyd_with_history(X, X[:7], 40, None, keep_centroids=True)
    assert len(chunked.inertias) == 40
    for field in ("centroids", "labels", "start_inertia", "inertias", "shifts", "changes", "centroid_history"):
        np.testing.assert_array_equal(getattr(chunked, field), getattr(whole, field), err_msg=field)


def verbose_output(monkeypatch, module, seconds, fit):
    """What ``fit()`` prints with ``module.REPORT_SECONDS`` set to ``seconds`` (0: calls of one
    iteration or step each; huge: calls of 1, 2, 4, ...), and the fitted model."""
    monkeypatch.setattr(module, "REPORT_SECONDS", seconds)
    with contextlib.redirect_stdout(io.StringIO()) as output:
        model = fit()
    return output.getvalue(), model


def test_minibatch_in_one_step_chunks_is_the_same_fit(monkeypatch):
    X = blobs(2000, 3)

    def fit():
        return MiniBatchKMeans(5, batch_size=64, random_state=4, verbose=1).fit(X)

    ones, chunked = verbose_output(monkeypatch, _minibatch, 0.0, fit)
    doubling, _ = verbose_output(monkeypatch, _minibatch, 1e9, fit)
    whole = MiniBatchKMeans(5, batch_size=64, random_state=4).fit(X)
    assert_same_fit(chunked, whole)
    assert chunked.n_steps_ == whole.n_steps_ > 8
    assert ones.count("Minibatch step ") == whole.n_steps_
    assert ones == doubling  # every step's batch inertia, whatever the calls


def test_kmeans_verbose_lines_do_not_depend_on_the_calls(monkeypatch):
    X = blobs(1000, 4)

    def fit():
        return KMeans(6, init=X[:6], n_init=1, tol=0.0, verbose=1).fit(X)

    ones, model = verbose_output(monkeypatch, _loop, 0.0, fit)
    doubling, _ = verbose_output(monkeypatch, _loop, 1e9, fit)
    assert model.n_iter_ >= 4 and ones.count("Iteration ") == model.n_iter_
    assert ones == doubling


# --- 8: verbose prints as it goes -----------------------------------------------------------


def test_kmeans_verbose_prints_each_chunk_before_the_next_runs(monkeypatch):
    """Each compiled call starts with the previous calls' iterations printed; all of the
    lines are scikit-learn's (the same count, the same stopping line)."""
    monkeypatch.setattr(_loop, "REPORT_SECONDS", 0.0)
    X = blobs(1000, 4)
    start = X[:6]
    with contextlib.redirect_stdout(io.StringIO()) as output:
        recorder = CallRecorder(monkeypatch, output, "Iteration ")
        model = KMeans(6, init=start, n_init=1, tol=0.0, verbose=1).fit(X)
    printed = [count for name, _, count in recorder.calls if name == "lloyd_loop"]
    assert printed == list(range(len(printed))) and len(printed) >= 3
    with contextlib.redirect_stdout(io.StringIO()) as reference_output:
        reference = sklearn.cluster.KMeans(6, init=start, n_init=1, tol=0.0, verbose=1).fit(X)
    ours, theirs = output.getvalue().splitlines(), reference_output.getvalue().splitlines()
    assert model.n_iter_ == reference.n_iter_
    assert [line.split(",")[0] for line in ours] == [line.split(",")[0] for line in theirs]
    assert ours[-1] == theirs[-1]


def test_minibatch_verbose_prints_each_chunk_before_the_next_runs(monkeypatch):
    monkeypatch.setattr(_minibatch, "REPORT_SECONDS", 0.0)
    X = blobs(2000, 3)
    with contextlib.redirect_stdout(io.StringIO()) as output:
        recorder = CallRecorder(monkeypatch, output, "Minibatch step ")
        model = MiniBatchKMeans(5, batch_size=64, random_state=4, verbose=1).fit(X)
    printed = [count for name, _, count in recorder.calls if name == "loop"]
    assert printed == list(range(model.n_steps_))


# --- 3: booleans are not integers -----------------------------------------------------------


INTEGER_PARAMETERS = [
    (KMeans, "n_clusters"),
    (KMeans, "max_iter"),
    (KMeans, "n_init"),
    (KMeans, "random_state"),
    (MiniBatchKMeans, "n_clusters"),
    (MiniBatchKMeans, "max_iter"),
    (MiniBatchKMeans, "n_init"),
    (MiniBatchKMeans, "batch_size"),
    (MiniBatchKMeans, "max_no_improvement"),
    (MiniBatchKMeans, "init_size"),
    (MiniBatchKMeans, "random_state"),
    (BisectingKMeans, "n_clusters"),
    (BisectingKMeans, "max_iter"),
    (BisectingKMeans, "n_init"),
    (BisectingKMeans, "random_state"),
]


@pytest.mark.parametrize("value", [True, False, np.True_])
@pytest.mark.parametrize("estimator, name", INTEGER_PARAMETERS)
def test_bool_is_not_an_integer_parameter(estimator, name, value):
    """scikit-learn raises TypeError for KMeans(True) (from deep inside, "an integer is
    required") but takes True for 1 as max_iter, n_init and others; here every integer
    parameter refuses a bool up front, naming it."""
    with pytest.raises(TypeError, match=f"'{name}' parameter of {estimator.__name__} must be an int, not a bool"):
        estimator(**{name: value}).fit(blobs(100, 2))


@pytest.mark.parametrize("name", ["n_clusters", "batch_size"])
def test_scikit_learn_refuses_these_bools_too(name):
    with pytest.raises(TypeError):
        sklearn.cluster.MiniBatchKMeans(**{name: True}).fit(blobs(100, 2))


def test_partial_fit_and_functions_refuse_bools():
    X = blobs(100, 2)
    with pytest.raises(TypeError, match="n_clusters"):
        MiniBatchKMeans(True).partial_fit(X)
    with pytest.raises(TypeError, match="n_clusters"):
        k_means(X, True)
    with pytest.raises(TypeError, match="max_iter"):
        k_means(X, 2, max_iter=True)
    with pytest.raises(TypeError, match="n_clusters"):
        kmeans_plusplus(X, True)
    with pytest.raises(TypeError, match="n_local_trials"):
        kmeans_plusplus(X, 2, n_local_trials=True)
    with pytest.raises(TypeError, match="max_iterations"):
        kmeans(X, X[:2], max_iterations=True)


# --- 4: sparse matrices whose index arrays lie ----------------------------------------------


def corrupt(kind, fmt):
    """A sparse matrix of 40 x 6 in ``fmt`` with one lie in its index arrays."""
    X = sp.random(40, 6, density=0.4, format="csr", random_state=0, dtype=np.float64).asformat(fmt)
    X = X.copy()
    if fmt == "coo":
        if kind == "too large":
            X.col[2] = 6
        elif kind == "negative":
            X.row[2] = -1
        else:
            X.col = X.col[:-1]
        return X
    if kind == "too large":
        X.indices[2] = X.shape[1 if fmt == "csr" else 0]
    elif kind == "negative":
        X.indices[2] = -1
    elif kind == "indptr decreasing":
        X.indptr[3] = X.indptr[4] + 1
    elif kind == "indptr past the values":
        X.indptr[-1] = X.indices.size + 5
    return X


CORRUPTIONS = [
    ("csr", "too large"),
    ("csr", "negative"),
    ("csr", "indptr decreasing"),
    ("csr", "indptr past the values"),
    ("csc", "too large"),
    ("csc", "negative"),
    ("csc", "indptr decreasing"),
    ("csc", "indptr past the values"),
    ("coo", "too large"),
    ("coo", "negative"),
    ("coo", "lengths differ"),
]


@pytest.fixture(scope="module")
def fitted_on_sparse():
    X = sp.random(40, 6, density=0.4, format="csr", random_state=1)
    return {
        cls.__name__: cls(3, random_state=0, **({"n_init": 1} if cls is not BisectingKMeans else {})).fit(X)
        for cls in (KMeans, MiniBatchKMeans, BisectingKMeans)
    }


METHODS = [
    (estimator, method)
    for estimator in ("KMeans", "MiniBatchKMeans", "BisectingKMeans")
    for method in ("fit", "predict", "transform", "score")
] + [("MiniBatchKMeans", "partial_fit")]


@pytest.mark.parametrize("fmt, kind", CORRUPTIONS)
@pytest.mark.parametrize("estimator, method", METHODS)
def test_sparse_index_lies_are_refused(fitted_on_sparse, fmt, kind, estimator, method):
    """A column index out of range segfaulted KMeans.fit; a negative one gave "double free or
    corruption". Every method that takes X checks the index arrays first (O(nnz))."""
    model = fitted_on_sparse[estimator]
    X = corrupt(kind, fmt)
    with pytest.raises(ValueError, match=f"X is not a valid {fmt.upper()} matrix"):
        getattr(model, method)(X)


@pytest.mark.parametrize("fmt, kind", CORRUPTIONS)
def test_kmeans_plusplus_refuses_sparse_index_lies(fmt, kind):
    with pytest.raises(ValueError, match=f"X is not a valid {fmt.upper()} matrix"):
        kmeans_plusplus(corrupt(kind, fmt), 3, random_state=0)


def test_unsorted_and_duplicate_indices_are_not_lies():
    """A valid matrix that is not canonical (unsorted columns, a duplicate entry) is taken,
    and clusters as its canonical form does."""
    dense = blobs(60, 4)
    columns = np.tile([3, 1, 0, 2, 1], 60)  # column 1 twice in every row, out of order
    values = np.stack([dense[:, 3], dense[:, 1] / 2, dense[:, 0], dense[:, 2], dense[:, 1] / 2], axis=1).ravel()
    messy = sp.csr_matrix((values, columns, np.arange(0, 301, 5)), shape=(60, 4))
    assert not messy.has_canonical_format
    start = dense[:3]
    model = KMeans(3, init=start, n_init=1).fit(messy)
    reference = sklearn.cluster.KMeans(3, init=start, n_init=1).fit(dense)
    np.testing.assert_array_equal(model.labels_, reference.labels_)
    np.testing.assert_allclose(model.cluster_centers_, reference.cluster_centers_, rtol=1e-10)


# --- 5: sample weights near the ends of the float range -------------------------------------


WEIGHT_FACTORS = [
    (np.float64, 1e307),
    (np.float64, 1e-310),  # subnormal
    (np.float32, 3e38 / 2),
    (np.float32, 1e300),  # beyond float32 itself
    (np.float32, 1e-40),  # subnormal in float32
]


@pytest.mark.parametrize("dtype, factor", WEIGHT_FACTORS)
def test_extreme_weights_fit_as_scikit_learn_with_moderate_ones(dtype, factor):
    """Scaling every weight by one constant changes neither centres nor labels, and the
    inertia by that constant: weights of 1e300 (or 1.5e38 for float32) once gave NaN centres,
    subnormal ones collapsed every centre onto one point."""
    X = blobs(600, 3, centers=4, seed=2)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, X.shape[0])
    reference = sklearn.cluster.KMeans(4, init=X[:4], n_init=1).fit(X, sample_weight=weights)
    model = KMeans(4, init=X[:4], n_init=1).fit(X.astype(dtype), sample_weight=weights * factor)
    np.testing.assert_array_equal(model.labels_, reference.labels_)
    tolerance = 1e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(model.cluster_centers_, reference.cluster_centers_, rtol=tolerance, atol=tolerance)
    # The inertia scaled back: infinite where the true value is beyond float64 (1e307 here).
    np.testing.assert_allclose(model.inertia_, reference.inertia_ * factor, rtol=tolerance)


@pytest.mark.parametrize("dtype, factor", WEIGHT_FACTORS)
@pytest.mark.parametrize("estimator", [MiniBatchKMeans, BisectingKMeans])
def test_extreme_weights_fit_as_moderate_ones(estimator, dtype, factor):
    """The same for the other estimators, against their own fit with moderate weights (their
    random draws are not scikit-learn's)."""
    X = blobs(600, 3, centers=4, seed=2).astype(dtype)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, X.shape[0])
    kwargs = {"batch_size": 100, "n_init": 1} if estimator is MiniBatchKMeans else {}
    reference = estimator(4, random_state=0, **kwargs).fit(X, sample_weight=weights)
    model = estimator(4, random_state=0, **kwargs).fit(X, sample_weight=weights * factor)
    assert np.all(np.isfinite(model.cluster_centers_))
    np.testing.assert_array_equal(model.labels_, reference.labels_)
    tolerance = 1e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(model.cluster_centers_, reference.cluster_centers_, rtol=tolerance, atol=tolerance)
    # The inertia scaled back: infinite where the true value is beyond float64 (1e307 here).
    np.testing.assert_allclose(model.inertia_, reference.inertia_ * factor, rtol=tolerance)


@pytest.mark.parametrize("exponent", [-1060, -1020, -600, -3, 0, 5, 900, 1023])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weights_are_rescaled_exactly_by_a_power_of_two(exponent, dtype):
    """What the kernels get: the weights divided by a power of two, in [1, 2) at the largest,
    from which the given weights come back exactly (for weights the dtype holds exactly); at
    2**1023 and beyond the scale once became 2**1024, infinite."""
    from tfkmeans._validation import check_weights

    X = np.zeros((200, 2), dtype)
    given = np.ldexp(np.random.default_rng(0).uniform(0.5, 1.99, 200).astype(dtype).astype(np.float64), exponent)
    weights, scale = check_weights(given, X)
    mantissa, power = np.frexp(scale)
    assert mantissa == 0.5 and weights.dtype == dtype
    assert 1.0 <= weights.max() < 2.0
    np.testing.assert_array_equal(weights.astype(np.float64) * scale, given)


@pytest.mark.parametrize("exponent", [-1020, -600, -3, 5, 900, 1020])
def test_weights_scaled_by_a_power_of_two_give_the_same_fit_to_the_bit(exponent):
    """The rescaling is by a power of two, so it is exact: weights times 2**e give the fit of
    the weights, the inertia times 2**e (KMeans, MiniBatchKMeans, the score)."""
    X = blobs(1500, 3)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, X.shape[0])
    scaled = np.ldexp(weights, exponent)
    for cls, kwargs in ((KMeans, {"n_init": 2}), (MiniBatchKMeans, {"batch_size": 100, "n_init": 1})):
        model = cls(5, random_state=0, **kwargs).fit(X, sample_weight=scaled)
        reference = cls(5, random_state=0, **kwargs).fit(X, sample_weight=weights)
        np.testing.assert_array_equal(model.cluster_centers_, reference.cluster_centers_)
        np.testing.assert_array_equal(model.labels_, reference.labels_)
        with np.errstate(over="ignore"):  # 2**1020 times the inertia is infinite, as it should be
            assert model.inertia_ == np.ldexp(reference.inertia_, exponent)
            expected_score = np.ldexp(reference.score(X, sample_weight=weights), exponent)
        assert model.score(X, sample_weight=scaled) == expected_score


def test_kmeans_plusplus_takes_extreme_weights():
    X = blobs(500, 2)
    weights = np.random.default_rng(0).uniform(0.5, 1.0, X.shape[0])
    _, reference = kmeans_plusplus(X, 6, sample_weight=weights, random_state=0)
    for exponent in (-1020, 1020):
        centres, indices = kmeans_plusplus(X, 6, sample_weight=np.ldexp(weights, exponent), random_state=0)
        np.testing.assert_array_equal(indices, reference)
        assert np.all(np.isfinite(centres))


@pytest.mark.parametrize("weights", [1e307, 1e-320, 3e38])
def test_partial_fit_refuses_weights_its_running_counts_cannot_carry(weights):
    """partial_fit's counts carry the weights from call to call, so they are not rescaled:
    weights whose sums would overflow, or so small they are not normal numbers, are refused."""
    X = blobs(200, 2).astype(np.float32)
    ragged = np.linspace(1.0, 2.0, X.shape[0]) * weights  # (summing 1e307s overflows: refused)
    with pytest.raises(ValueError, match="sample_weight .*partial_fit.*rescale them"):
        MiniBatchKMeans(3, random_state=0).partial_fit(X, sample_weight=ragged)
    model = MiniBatchKMeans(3, random_state=0).partial_fit(X, sample_weight=np.linspace(1.0, 2.0, X.shape[0]))
    assert np.all(np.isfinite(model.cluster_centers_))


@pytest.mark.parametrize(
    "weights, error",
    [
        (np.full(100, np.nan), "NaN"),
        (np.full(100, np.inf), "infinity"),
        (np.r_[np.ones(99), 1e309], "infinity"),
        (-np.ones(100), "non-negative"),
        (np.zeros(100), "at least one"),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bad_weights_are_refused(weights, error, dtype):
    X = blobs(100, 2).astype(dtype)
    for model in (KMeans(2, n_init=1), MiniBatchKMeans(2, n_init=1), BisectingKMeans(2)):
        with pytest.raises(ValueError, match=error):
            model.fit(X, sample_weight=weights)


# --- 7: the padding of rows is bounded --------------------------------------------------------


@pytest.mark.parametrize(
    "n_samples, row_bytes",
    [(10, 4_000_000), (1, 8), (33, 4_000), (1000, 1_000), (4097, 256), (20_000, 400_000), (200_037, 64), (10, 8)],
)
def test_padding_costs_at_most_a_small_fraction_of_the_data(n_samples, row_bytes):
    """The padded rows cost at most 1 MiB or 1/16 of the data (10 x 1,000,000 float32 once
    asked for 3.81 GiB, padded to 1,024 rows); narrow data keeps its buckets."""
    rows = _dispatch.padded_rows(n_samples, row_bytes)
    assert n_samples <= rows
    assert (rows - n_samples) * row_bytes <= max(_dispatch.PAD_FREE_BYTES, n_samples * row_bytes / 16)
    if row_bytes * 1024 <= _dispatch.PAD_FREE_BYTES:
        assert rows == _dispatch.padded_rows(n_samples)


def test_samples_of_wide_data_are_not_padded_beyond_the_bound():
    X = np.zeros((10, 300_000), np.float32)
    samples = Samples(X, n_clusters=3)
    assert samples.tensor.shape[0] * X.shape[1] * 4 <= X.nbytes + max(_dispatch.PAD_FREE_BYTES, X.nbytes / 16)


@pytest.mark.slow
def test_fit_of_wide_data_works_as_scikit_learn():
    """10 x 1,000,000 float32 (40 MB) fits, as scikit-learn fits it from the same start."""
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((10, 1_000_000)) + np.repeat([0.0, 3.0], 5)[:, None]).astype(np.float32)
    model = KMeans(2, init=X[[0, 9]], n_init=1).fit(X)
    reference = sklearn.cluster.KMeans(2, init=X[[0, 9]], n_init=1).fit(X)
    np.testing.assert_array_equal(model.labels_, reference.labels_)
    np.testing.assert_allclose(model.cluster_centers_, reference.cluster_centers_, rtol=1e-4, atol=1e-4)


# --- 6: the SavedModel serves what predict and transform give ---------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """For each scale of data: the model fitted on it and its served SavedModel."""
    import tensorflow as tf

    models = {}
    rng = np.random.default_rng(0)
    for scale in (1.0, 1e20, 1e30, 1e37):
        X = ((rng.standard_normal((900, 3)) + rng.integers(0, 3, (900, 1)) * 6) * scale).astype(np.float32)
        model = KMeans(3, random_state=0, n_init=1).fit(X)
        path = tmp_path_factory.mktemp("export") / "model"
        model.export(path)
        models[scale] = model, tf.saved_model.load(str(path)).signatures["serving_default"]
    return models


@pytest.mark.parametrize("scale", [1.0, 1e20, 1e30])
def test_saved_model_serves_predict_and_transform(served, scale):
    """At 1e20 the served distances were infinite and the clusters wrong where predict works:
    the SavedModel now measures in float64 where predict does."""
    import tensorflow as tf

    model, serve = served[scale]
    new = ((np.random.default_rng(1).standard_normal((400, 3)) * 8 + 6) * scale).astype(np.float32)
    out = serve(samples=tf.constant(new))
    np.testing.assert_array_equal(out["cluster_index"].numpy(), model.predict(new))
    np.testing.assert_allclose(out["distance"].numpy(), model.transform(new).min(axis=1), rtol=1e-5)
    squared = out["squared_distance"].numpy()
    by_hand = np.sum((new.astype(np.float64) - model.cluster_centers_[model.predict(new)]) ** 2, axis=1)
    # A squared distance beyond float32's range is NaN: no value, rather than an infinite one.
    expected = np.where(by_hand <= np.finfo(np.float32).max, by_hand, np.nan).astype(np.float32)
    np.testing.assert_allclose(squared, expected, rtol=1e-5)
    assert out["cluster_index"].dtype == tf.int64 and squared.dtype == np.float32


def test_saved_model_serves_nan_where_transform_refuses(served):
    """float32 samples near 3e38 can lie farther from a centre than float32 holds: transform
    refuses them, and the SavedModel served infinity. It serves NaN for every such distance
    (and never infinity), predict's cluster for every sample, and transform's distances for
    the samples transform takes."""
    import tensorflow as tf

    model, serve = served[1e37]
    new = np.random.default_rng(4).uniform(-3.3e38, 3.3e38, (80, 3)).astype(np.float32)
    out = serve(samples=tf.constant(new))
    centres = model.cluster_centers_.astype(np.float64)
    difference = new.astype(np.float64)[:, None, :] - centres[None]
    nearest = np.sqrt(np.min(np.sum(difference**2, axis=2), axis=1))  # NumPy, in float64
    largest = float(np.finfo(np.float32).max)
    np.testing.assert_array_equal(out["cluster_index"].numpy(), model.predict(new))
    distance, squared = out["distance"].numpy(), out["squared_distance"].numpy()
    assert not np.any(np.isinf(distance)) and not np.any(np.isinf(squared))
    assert np.array_equal(np.isnan(distance), nearest > largest)
    assert np.array_equal(np.isnan(squared), nearest**2 > largest)
    taken = 0
    for row, served_distance in zip(new, distance):
        try:
            distances = model.transform(row[None])
        except ValueError as error:
            assert "exceed float32's range" in str(error)
            continue
        taken += 1
        np.testing.assert_allclose(served_distance, distances.min(), rtol=1e-5)
    assert 0 < taken < len(new) and 0 < np.count_nonzero(np.isnan(distance)) < len(new)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("scale", [1.0, 1e20])
def test_saved_model_serves_non_finite_samples_as_no_cluster(served, bad, scale):
    """A NaN sample was served as cluster 0: a sample with a non-finite value gets -1 and NaN
    distances, and the others in its batch are served as predict serves them."""
    import tensorflow as tf

    model, serve = served[scale]
    new = ((np.random.default_rng(2).standard_normal((50, 3)) * 8) * scale).astype(np.float32)
    new[[3, 17], [1, 0]] = bad
    out = serve(samples=tf.constant(new))
    finite = np.isfinite(new).all(axis=1)
    labels = out["cluster_index"].numpy()
    assert labels[~finite].tolist() == [-1, -1]
    assert np.all(np.isnan(out["squared_distance"].numpy()[~finite]))
    assert np.all(np.isnan(out["distance"].numpy()[~finite]))
    np.testing.assert_array_equal(labels[finite], model.predict(new[finite]))
    with pytest.raises(ValueError):
        model.predict(new)  # predict refuses them outright


def test_saved_model_serves_an_empty_batch(served):
    import tensorflow as tf

    _, serve = served[1.0]
    out = serve(samples=tf.zeros((0, 3), tf.float32))
    assert out["cluster_index"].shape == (0,) and out["distance"].shape == (0,)


@pytest.mark.parametrize("name", ["batch_size", "init_size"])
def test_minibatch_sizes_beyond_int32_are_the_data_size(name):
    """A batch or an init sample beyond the data is the whole data, as in scikit-learn: 2**40
    reaches no TensorFlow shape (it would not fit an int32)."""
    X = blobs(500, 2)
    big = MiniBatchKMeans(3, random_state=0, n_init=1, **{name: 2**40}).fit(X)
    whole = MiniBatchKMeans(3, random_state=0, n_init=1, **{name: 500}).fit(X)
    assert_same_fit(big, whole)


@pytest.mark.parametrize("estimator", [KMeans, MiniBatchKMeans, BisectingKMeans])
def test_random_state_beyond_numpy_seeds_is_refused_as_in_scikit_learn(estimator):
    X = blobs(100, 2)
    message = f"'random_state' parameter of {estimator.__name__} must be an int in the range \\[0, 4294967295\\]"
    with pytest.raises(ValueError, match=message):
        getattr(sklearn.cluster, estimator.__name__)(2, random_state=2**40).fit(X)
    with pytest.raises(ValueError, match=message):
        estimator(2, random_state=2**40).fit(X)
