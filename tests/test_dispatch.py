"""A new sample count costs no compilation: data run under XLA is padded to a bucketed row count
with zero-weight rows, which must change nothing; compiled programs are kept on disk for the
next process. (What it saves in time is measured by the benchmark, not here.)"""

import json
import logging
import os

import numpy as np
import pytest
import scipy.sparse
from sklearn.cluster import KMeans as ScikitKMeans
from sklearn.cluster import MiniBatchKMeans as ScikitMiniBatchKMeans

from conftest import headless_environment, run_python
from tfkmeans import BisectingKMeans, KMeans, MiniBatchKMeans, SphericalKMeans, _dispatch, kmeans


def blobs(n_samples, n_features=8, n_centres=6, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-8, 8, size=(n_centres, n_features))
    return (centres[rng.integers(0, n_centres, n_samples)] + rng.normal(size=(n_samples, n_features)) * 2).astype(
        np.float32
    )


@pytest.mark.parametrize("n_samples", [1, 33, 100, 4097, 20_000, 200_037, 5_000_000])
def test_buckets_are_small_and_hold_their_count(n_samples):
    rows = _dispatch.padded_rows(n_samples)
    assert n_samples <= rows <= max(n_samples * 17 / 16, n_samples + 1023)
    assert _dispatch.padded_rows(rows) == rows  # a bucket is its own bucket


def test_counts_in_one_bucket_share_one_compiled_function(tmp_path):
    """Every count in a bucket, the bucket's own count included, runs the same compiled
    function, and XLA compiles nothing again (it would, were a slice's bounds taken from the
    count: XLA makes them compile-time constants). XLA's compilations are counted by the files
    of a compile cache of the test's own (in a fresh process, so that any TensorFlow version
    keeps one), which gets one per compiled program."""
    assert len({_dispatch.padded_rows(n) for n in range(200_000, 204_801)}) == 1
    cache = tmp_path / "cache"
    code = (
        "import json, os\n"
        "import numpy as np\n"
        "from tfkmeans import KMeans, _dispatch\n"
        "X = np.random.default_rng(0).normal(size=(20_480, 8)).astype(np.float32)\n"
        "model = KMeans(6, init=X[:6], n_init=1, max_iter=3, tol=0).fit(X[:20_000])\n"
        "model.predict(X[:20_000])\n"
        f"counts = [[len(_dispatch._compiled), len(os.listdir({str(cache)!r}))]]\n"
        "for n in (20_001, 20_037, 20_200, 20_480):\n"
        "    model.fit(X[:n])\n"
        "    model.predict(X[:n])\n"
        f"counts.append([len(_dispatch._compiled), len(os.listdir({str(cache)!r}))])\n"
        "print(json.dumps(counts))\n"
    )
    environment = {**headless_environment(), "TFKMEANS_COMPILE_CACHE": str(cache)}
    environment.pop("TF_XLA_FLAGS", None)
    before, after = json.loads(run_python(code, tmp_path, environment=environment))
    assert before[1] > 0  # the first fit did compile, and the cache counts it
    assert after == before


@pytest.mark.parametrize("n_samples", [20_003, 20_480])  # padded, and a bucket exactly
def test_padding_changes_nothing(n_samples):
    """From the same start, the same numbers as scikit-learn's, an empty cluster included, with
    and without sample weights; the padded rows are never labelled, relocated or drawn."""
    X = blobs(n_samples)
    assert _dispatch.uses_xla(n_samples, 8, 6)
    start = np.concatenate([X[:5], [[100.0] * 8]])  # the last centre starts far away: empty
    weights = np.random.default_rng(1).uniform(0.5, 2, n_samples)
    for sample_weight in (None, weights):
        ours = KMeans(6, init=start, n_init=1, tol=0, max_iter=50).fit(X, sample_weight=sample_weight)
        theirs = ScikitKMeans(6, init=start, n_init=1, tol=0, max_iter=50).fit(X, sample_weight=sample_weight)
        assert ours.labels_.shape == (n_samples,)
        np.testing.assert_array_equal(ours.labels_, theirs.labels_)
        np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-5, atol=1e-5)
        assert ours.n_iter_ == theirs.n_iter_ and ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-5)
        np.testing.assert_array_equal(ours.predict(X[:1234]), theirs.predict(X[:1234]))
    result = kmeans(X, start, max_iterations=20, tolerance=0.0)  # the lesson's rule, padded too
    assert result.nearest_indices.shape == (n_samples,) and np.all(np.isfinite(result.centroids))
    assert result.changed_history[-1] == 0 or result.n_iterations == 20


def test_minibatch_never_draws_padding():
    """Padded rows sit at the data's centre; drawn, they would pull a centre there."""
    X = blobs(20_003, n_centres=2)
    X[:, 0] += np.where(X[:, 0] > 0, 50, -50)  # two groups far apart, nothing near the centre
    model = MiniBatchKMeans(2, random_state=0, batch_size=256, max_no_improvement=None, max_iter=3).fit(X)
    assert np.all(np.abs(model.cluster_centers_[:, 0]) > 30), model.cluster_centers_
    reference = ScikitMiniBatchKMeans(2, random_state=0, batch_size=256).fit(X)
    assert model.inertia_ == pytest.approx(reference.inertia_, rel=0.05)


def test_predict_at_many_lengths_warns_of_no_retracing(caplog):
    model = KMeans(6, random_state=0, n_init=1).fit(blobs(30_000))
    X = blobs(60_000, seed=1)
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for n in range(9_000, 60_000, 1_700):
            labels = model.predict(X[:n])
            assert labels.shape == (n,)
    assert not [record for record in caplog.records if "retracing" in record.getMessage()]


def traces():
    """The traces of the dispatcher's functions so far, and how many functions it holds."""
    functions = list(_dispatch._compiled.values())
    return len(functions), sum(function.experimental_get_tracing_count() for function in functions)


@pytest.mark.parametrize("dtype, sparse", [(np.float32, False), (np.float64, False), (np.float64, True)])
def test_fits_at_everyday_shapes_the_process_has_not_seen_trace_nothing(dtype, sparse, caplog):
    """Up to GENERIC_MAX_ROWS samples and GENERIC_MAX_WORK samples x features x clusters (and
    sparse data of any size), one trace serves every shape of a dtype: after a first round
    (k-means++ and random starts, with and without weights, predict, transform, score, the
    other estimators), fits at sample, feature and cluster counts the process has not seen trace
    nothing and compile nothing, and still give scikit-learn's answer from the same start."""
    rng = np.random.default_rng(0)

    def everything(n_samples, n_features, n_clusters):
        X = rng.normal(size=(n_samples, n_features)).astype(dtype)
        if sparse:
            X = np.where(np.abs(X) > 1, np.abs(X), 0)
            X[:, 0] = 1.0  # no row of zeros: cosine geometry refuses those
            X = scipy.sparse.csr_matrix(X)
        weights = rng.uniform(0.5, 2, n_samples)
        model = KMeans(n_clusters, n_init=1, random_state=0).fit(X)
        KMeans(n_clusters, init="random", n_init=2, random_state=0).fit(X, sample_weight=weights)
        model.predict(X[: n_samples // 2 + 1]), model.transform(X[:7]), model.score(X)
        MiniBatchKMeans(n_clusters, n_init=1, random_state=0, batch_size=256).fit(X).predict(X[:5])
        BisectingKMeans(min(n_clusters, 4), random_state=0).fit(X)
        SphericalKMeans(n_clusters, n_init=1, random_state=0).fit(np.abs(X) + 0.1 if not sparse else X)
        start = X[:n_clusters].toarray() if sparse else X[:n_clusters]
        ours = KMeans(n_clusters, init=start, n_init=1, max_iter=5, tol=0).fit(X, sample_weight=weights)
        theirs = ScikitKMeans(n_clusters, init=start, n_init=1, max_iter=5, tol=0).fit(X, sample_weight=weights)
        np.testing.assert_array_equal(ours.labels_, theirs.labels_)
        assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-5)

    everything(150, 4, 3)
    before = traces()
    shapes = [(151, 4, 3), (569, 30, 2), (1797, 64, 10), (999, 13, 40), (5000, 10, 7), (16_384, 32, 16)]
    assert all(not _dispatch.per_shape(n, d, k) for n, d, k in shapes)  # all of them everyday sizes
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for shape in shapes:
            everything(*shape)
    assert traces() == before
    assert not [record for record in caplog.records if "retracing" in record.getMessage()]


def test_beyond_everyday_sizes_a_problem_is_traced_for_its_shape():
    """More samples than GENERIC_MAX_ROWS, or more work than GENERIC_MAX_WORK: traced (and
    compiled) for its shape, where a pass runs several times faster."""
    limit = _dispatch.GENERIC_MAX_ROWS
    assert not _dispatch.per_shape(limit, 64, 8) and _dispatch.per_shape(limit + 1, 64, 8)
    assert not _dispatch.per_shape(1024, 128, 128) and _dispatch.per_shape(1025, 128, 128)  # 2**24 = 1024 x 128 x 128
    assert not _dispatch.per_shape(limit + 1, 64, 8, allow_xla=False)


@pytest.mark.slow  # fresh processes, several
def test_compiled_programs_are_kept_on_disk_unless_turned_off(tmp_path):
    code = (
        "import numpy as np\n"
        "from tfkmeans import KMeans\n"
        "X = np.random.default_rng(0).normal(size=(20_000, 8)).astype(np.float32)\n"
        "KMeans(6, n_init=1, random_state=0).fit(X)\n"
    )
    cache = tmp_path / "cache"
    environment = {**headless_environment(), "TFKMEANS_COMPILE_CACHE": str(cache)}
    environment.pop("TF_XLA_FLAGS", None)
    run_python(code, tmp_path, environment=environment)
    assert any(name.startswith("xla_compile_cache") for name in os.listdir(cache))
    home = tmp_path / "home"
    environment = {**headless_environment(), "TFKMEANS_COMPILE_CACHE": "off", "XDG_CACHE_HOME": str(home)}
    run_python(code, tmp_path, environment=environment)
    assert not (home / "tfkmeans").exists()
    # By default: in the user's cache directory, a folder for this TensorFlow's version, from
    # TensorFlow 2.21 (before it, reading an entry prints a line, and the cache is off).
    environment = {**headless_environment(), "XDG_CACHE_HOME": str(home)}
    environment.pop("TFKMEANS_COMPILE_CACHE", None)
    environment.pop("TF_XLA_FLAGS", None)
    run_python(code, tmp_path, environment=environment)
    from tfkmeans._tensorflow import tf

    version = tf.__version__
    if tuple(int(part) for part in version.split(".")[:2]) >= (2, 21):
        assert os.listdir(home / "tfkmeans" / "xla") == [f"tensorflow-{version}"]
        folder = home / "tfkmeans" / "xla" / f"tensorflow-{version}"
        assert any(name.startswith("xla_compile_cache") for name in os.listdir(folder))
    else:
        assert not (home / "tfkmeans").exists()
