"""tf.data streams that lie: infinite ones, ones that change between passes or are reshuffled,
wide rows, every .npy type, a file cut short under the reader, and what many fits cost."""

import itertools
import os
import textwrap
import warnings

import numpy as np
import pytest
import tensorflow as tf
from sklearn.cluster import KMeans as ScikitKMeans
from sklearn.exceptions import ConvergenceWarning

from conftest import error_lines, run_python
from tfkmeans import KMeans, MiniBatchKMeans, _loop, _stream
from tfkmeans._input import BATCH_BYTES, DataError, npy_dataset


def blobs(n_samples=200, n_features=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, size=(4, n_features))
    return (centres[rng.integers(0, 4, n_samples)] + rng.normal(size=(n_samples, n_features))).astype(np.float32)


def batches(X, rows=50):
    return tf.data.Dataset.from_tensor_slices(X).batch(rows)


def fitted(Estimator=KMeans):
    return Estimator(3, random_state=0, n_init=1).fit(blobs())


# --- infinite datasets --------------------------------------------------------------------

METHODS = {
    "KMeans.fit": lambda ds: KMeans(3, random_state=0).fit(ds),
    "KMeans.fit_predict": lambda ds: KMeans(3, random_state=0).fit_predict(ds),
    "KMeans.fit_transform": lambda ds: KMeans(3, random_state=0).fit_transform(ds),
    "KMeans.predict": lambda ds: fitted().predict(ds),
    "KMeans.transform": lambda ds: fitted().transform(ds),
    "MiniBatchKMeans.fit": lambda ds: MiniBatchKMeans(3, random_state=0).fit(ds),
    "MiniBatchKMeans.fit_predict": lambda ds: MiniBatchKMeans(3, random_state=0).fit_predict(ds),
    "MiniBatchKMeans.predict": lambda ds: fitted(MiniBatchKMeans).predict(ds),
    "MiniBatchKMeans.transform": lambda ds: fitted(MiniBatchKMeans).transform(ds),
}


@pytest.mark.parametrize("method", METHODS.values(), ids=METHODS.keys())
def test_every_method_refuses_an_infinite_dataset(method):
    """repeat() with no count: no pass ends (fit, predict and transform hung)."""
    with pytest.raises(ValueError, match=r"infinite \(repeat\(\) with no count\?\).*take\(n\)"):
        method(batches(blobs()).repeat())


def guarded(dataset, at_most=400):
    """``dataset``, whose batches stop with an error after ``at_most``: a method that iterates
    an endless dataset it should have refused fails instead of hanging."""
    calls = itertools.count()

    def guard(batch):
        if next(calls) >= at_most:
            raise RuntimeError("an endless dataset was iterated")
        return batch

    n_features = dataset.element_spec.shape[1]
    return dataset.map(
        lambda batch: tf.ensure_shape(tf.numpy_function(guard, [batch], batch.dtype), [None, n_features])
    )


# Endless datasets whose cardinality TensorFlow cannot tell (UNKNOWN, not INFINITE).
ENDLESS_UNKNOWN = {
    "repeat().filter()": lambda ds: ds.repeat().filter(lambda batch: True),
    "repeat(-1).filter()": lambda ds: ds.repeat(-1).filter(lambda batch: True),
    "repeat().rebatch()": lambda ds: ds.repeat().rebatch(20),
    "flat_map(repeat())": lambda ds: tf.data.Dataset.range(2).flat_map(lambda i: ds.repeat()),
}


@pytest.mark.parametrize("method", METHODS.values(), ids=METHODS.keys())
@pytest.mark.parametrize("endless", ENDLESS_UNKNOWN.values(), ids=ENDLESS_UNKNOWN.keys())
def test_every_method_refuses_an_endless_dataset_of_unknown_cardinality(endless, method):
    """A repeat() with no count behind a filter (or inside a flat_map) has cardinality UNKNOWN,
    not INFINITE: fit, predict and transform hung on it. Its graph shows the repeat."""
    dataset = endless(batches(blobs()))
    assert int(dataset.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    with pytest.raises(ValueError, match=r"infinite \(repeat\(\) with no count\?\).*take\(n\)"):
        method(guarded(dataset))


# Datasets of unknown cardinality that end, though a repeat() with no count is in their graph.
ENDING_UNKNOWN = {
    "repeat().take(8).filter()": lambda ds: ds.repeat().take(8).filter(lambda batch: True),
    "flat_map(repeat().take(4))": lambda ds: tf.data.Dataset.range(2).flat_map(lambda i: ds.repeat().take(4)),
    "zip(repeat(), finite).map()": lambda ds: tf.data.Dataset.zip((ds.repeat(), ds.filter(lambda b: True))).map(
        lambda a, b: a
    ),
    "repeat().take_while()": lambda ds: ds.repeat().enumerate().take_while(lambda i, b: i < 8).map(lambda i, b: b),
}


@pytest.mark.parametrize("ending", ENDING_UNKNOWN.values(), ids=ENDING_UNKNOWN.keys())
def test_an_unknown_cardinality_that_ends_is_not_refused(ending):
    """An endless repeat() that something after it ends (take, zip with a finite dataset,
    take_while, which may end) is not refused: the fit is scikit-learn's on the rows it gives."""
    X = blobs()
    dataset = ending(batches(X))
    rows = np.concatenate(list(dataset.as_numpy_iterator()))
    model = KMeans(3, init=X[:3], n_init=1).fit(dataset)
    reference = ScikitKMeans(3, init=X[:3], n_init=1).fit(rows)
    np.testing.assert_array_equal(model.labels_, reference.labels_)
    np.testing.assert_array_equal(model.predict(dataset), reference.labels_)


def test_where_the_graph_cannot_be_read_the_check_is_the_cardinalitys(monkeypatch):
    """A TensorFlow whose datasets do not serialize as 2.16 to 2.21 do: nothing crashes, the
    INFINITE check stands, and finite datasets of unknown cardinality are fitted as before."""

    def unreadable(self, **kwargs):
        raise AttributeError("no _as_serialized_graph here")

    monkeypatch.setattr(tf.data.Dataset, "_as_serialized_graph", unreadable)
    X = blobs()
    assert not _stream.repeats_endlessly(batches(X).repeat().filter(lambda batch: True))
    with pytest.raises(ValueError, match="infinite"):
        KMeans(3).fit(batches(X).repeat())
    model = KMeans(3, init=X[:3], n_init=1).fit(batches(X).filter(lambda batch: True))
    np.testing.assert_array_equal(model.labels_, ScikitKMeans(3, init=X[:3], n_init=1).fit(X).labels_)


def test_an_endless_generator_cannot_be_told_from_a_finite_one():
    """What the graph cannot show (docs/scale.md says so): a Python generator's end is the
    generator's own; from_generator looks the same whether it ends or not."""

    def endless():
        while True:
            yield np.zeros((5, 3), np.float32)

    spec = tf.TensorSpec((None, 3), tf.float32)
    assert not _stream.repeats_endlessly(tf.data.Dataset.from_generator(endless, output_signature=spec))


def test_a_finite_repeat_is_its_rows_twice():
    X = blobs()
    model = KMeans(3, init=X[:3], n_init=1).fit(batches(X).repeat(2))
    reference = ScikitKMeans(3, init=X[:3], n_init=1).fit(np.concatenate([X, X]))
    np.testing.assert_array_equal(model.labels_, reference.labels_)
    np.testing.assert_array_equal(model.predict(batches(X).repeat(2)), reference.labels_)


# --- the same rows, in the same order, on every pass ----------------------------------------


def changing(X, first, later, from_pass, rows=50):
    """Batches of the first ``first`` rows of ``X`` on the passes before ``from_pass``, of the
    first ``later`` after (a table growing or shrinking under the reader)."""
    passes = [0]

    def generate():
        passes[0] += 1
        data = X[: first if passes[0] < from_pass else later]
        for begin in range(0, len(data), rows):
            yield data[begin : begin + rows]

    return tf.data.Dataset.from_generator(generate, output_signature=tf.TensorSpec((None, X.shape[1]), tf.float32))


# Passes: 1 counts, 2 draws the sample, 3 on are Lloyd's, the last the labels.
@pytest.mark.parametrize("from_pass", [2, 3, 4])
@pytest.mark.parametrize("later", [150, 250])
def test_a_dataset_whose_rows_change_between_passes_is_refused(from_pass, later):
    """labels_ had 150 labels for 200 rows."""
    X = blobs(250)
    model = KMeans(3, init=X[:3], n_init=1, tol=0, max_iter=10)
    with pytest.raises(ValueError, match=rf"changed between passes: a pass gave 200 rows, a later one {later};"):
        model.fit(changing(X, 200, later, from_pass))
    assert not hasattr(model, "labels_")


def test_the_last_pass_of_a_fit_is_checked_too():
    """The labels pass (the 5th: the count, the sample, and two of Lloyd's, the start being converged)."""
    X = blobs(250)
    start = ScikitKMeans(3, init=X[:3], n_init=1).fit(X[:200]).cluster_centers_
    model = KMeans(3, init=start, n_init=1, max_iter=10)
    with pytest.raises(ValueError, match="a pass gave 200 rows, a later one 150"):
        model.fit(changing(X, 200, 150, 5))
    assert KMeans(3, init=start, n_init=1, max_iter=10).fit(changing(X, 200, 200, 5)).n_iter_ == 1


def test_minibatch_refuses_a_dataset_whose_rows_change():
    X = blobs()
    dataset = changing(X, 200, 150, 3)
    model = MiniBatchKMeans(3, random_state=0, max_iter=4, max_no_improvement=None, tol=0, compute_labels=False)
    with pytest.raises(ValueError, match="a pass gave 200 rows, a later one 150"):
        model.fit(dataset)
    assert not hasattr(model, "cluster_centers_")


def reshuffled(X, rows=50):
    return tf.data.Dataset.from_tensor_slices(X).shuffle(len(X), seed=0).batch(rows)


@pytest.mark.parametrize("rows", [50, 200])  # several batches, and one batch reshuffled within
def test_kmeans_refuses_a_dataset_reshuffled_on_every_pass(rows):
    """Its labels agreed with predict 38% of the time."""
    with pytest.raises(ValueError, match=r"same 200 rows, but other values or in another order.*reshuffle_each"):
        KMeans(3, random_state=0).fit(reshuffled(blobs(), rows))


def test_a_dataset_shuffled_once_gives_labels_in_its_order():
    X = blobs()
    dataset = tf.data.Dataset.from_tensor_slices(X).shuffle(200, seed=0, reshuffle_each_iteration=False).batch(50)
    order = np.concatenate([batch.numpy() for batch in dataset])
    assert not np.array_equal(order, X)  # shuffled, the same way on every pass
    model = KMeans(3, random_state=0).fit(dataset)
    nearest = ((order[:, None, :] - model.cluster_centers_[None]) ** 2).sum(axis=2).argmin(axis=1)
    np.testing.assert_array_equal(model.labels_, nearest)
    np.testing.assert_array_equal(model.predict(dataset), model.labels_)


def test_minibatch_takes_a_reshuffled_dataset_only_without_labels():
    X = blobs()
    with pytest.raises(ValueError, match="another order"):
        MiniBatchKMeans(3, random_state=0).fit(reshuffled(X))
    model = MiniBatchKMeans(3, random_state=0, compute_labels=False).fit(reshuffled(X))
    reference = ScikitKMeans(3, random_state=0, n_init=10).fit(X)
    assert -model.score(X) <= reference.inertia_ * 1.25  # mini-batch steps: near the full fit


def pass_fingerprint(dataset):
    """The fingerprint of one pass over ``dataset``, as the survey's first pass takes it."""
    return _stream._moments_pass(dataset, n_features=dataset.element_spec.shape[1])[-1].numpy()


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("rows", [1, 7, 64])
def test_the_fingerprint_of_a_pass_changes_when_two_rows_swap(seed, rows):
    """Any two different rows swapped, in one batch or across batches, change the pass's
    fingerprint by far more than its tolerance; the same values in float64 do not."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    i, j = rng.choice(200, size=2, replace=False)
    swapped = X.copy()
    swapped[[i, j]] = swapped[[j, i]]

    original = pass_fingerprint(batches(X, rows))
    assert _stream._differ(original, pass_fingerprint(batches(swapped, rows)))
    assert not _stream._differ(original, pass_fingerprint(batches(X.astype(np.float64), rows)))


def other_batchings(X):
    """The rows of ``X`` in their order, in batches of other sizes, even and uneven."""
    return {
        "1": batches(X, 1),
        "7": batches(X, 7),
        "64": batches(X, 64),
        "all": batches(X, len(X)),
        "rebatch([3, 50, 1, 80])": batches(X, 64).rebatch([3, 50, 1, 80]),
        "unbatch().batch(13)": batches(X, 64).unbatch().batch(13),
    }


@pytest.mark.parametrize("seed", range(3))
def test_the_fingerprint_of_a_pass_does_not_depend_on_its_batching(seed):
    """Only each row's position in the pass weighs it (a re-batched stream was refused as
    changed): the same rows in the same order fingerprint the same in any batches, while a
    changed value, rows in another order, shifted by one, or one dropped and another added,
    differ in every batching."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    reference = pass_fingerprint(batches(X, 50))
    changed = X.copy()
    changed[rng.integers(200), rng.integers(3)] += np.float32(1e-3)
    replaced = np.concatenate([X[1:], X[:1] * 2])  # one row dropped, another added: the same count
    others = {"changed": changed, "reversed": X[::-1], "rotated": np.roll(X, 1, axis=0), "replaced": replaced}
    for name, dataset in other_batchings(X).items():
        assert not _stream._differ(reference, pass_fingerprint(dataset)), name
        for other, data in others.items():
            assert _stream._differ(reference, pass_fingerprint(other_batchings(data)[name])), (name, other)


def batched_anew(X, sizes):
    """The rows of ``X`` in the same order on every pass, in batches of ``sizes[k]`` rows on
    pass k (a reader whose batching follows what it has buffered, say)."""
    passes = [0]

    def generate():
        rows = sizes[passes[0] % len(sizes)]
        passes[0] += 1
        for begin in range(0, len(X), rows):
            yield X[begin : begin + rows]

    return tf.data.Dataset.from_generator(generate, output_signature=tf.TensorSpec((None, X.shape[1]), X.dtype))


def test_a_stream_batched_otherwise_on_every_pass_is_fitted_as_its_rows():
    """Once refused as "the dataset changed between passes": each pass batched otherwise, the
    same rows in the same order. The fit, labels and predictions are scikit-learn's on the rows."""
    X = blobs(300)
    dataset = batched_anew(X, [50, 7, 60])
    model = KMeans(3, init=X[:3], n_init=1, tol=0).fit(dataset)
    reference = ScikitKMeans(3, init=X[:3], n_init=1, tol=0).fit(X)
    np.testing.assert_array_equal(model.labels_, reference.labels_)
    np.testing.assert_allclose(model.cluster_centers_, reference.cluster_centers_, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(model.predict(dataset), reference.labels_)
    minibatch = MiniBatchKMeans(3, init=X[:3], n_init=1, max_iter=3, random_state=0).fit(dataset)
    np.testing.assert_array_equal(minibatch.labels_, minibatch.predict(X))


# --- clusters left empty -------------------------------------------------------------------


def test_a_stream_of_identical_points_warns_as_an_array_does():
    X = np.ones((50, 2), np.float32)
    for data in (X, batches(X, 16)):
        with pytest.warns(ConvergenceWarning, match=r"Number of distinct clusters \(1\) found smaller than n_clusters"):
            KMeans(3, random_state=0, n_init=1).fit(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        KMeans(3, random_state=0, n_init=1).fit(batches(blobs(), 16))


@pytest.mark.parametrize("stream", [[], ["--stream"]])
def test_the_command_warns_of_identical_points_streamed_or_not(cli, tmp_path, stream):
    np.save(tmp_path / "same.npy", np.ones((50, 2), np.float32))
    finished = cli("--data", "same.npy", *stream, "--n-clusters", "3", "--save", "f.png")
    assert finished.returncode == 0, finished.stderr
    assert "only 1 distinct clusters for --n-clusters 3" in finished.stderr


# --- batches by bytes -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype, rows", [("<f2", 3), ("<f4", 3), ("<f8", 1), ("<i1", 3)])
def test_a_streamed_batch_is_bounded_by_its_bytes(tmp_path, dtype, rows):
    """batch_bytes 48 over 4 features: 16 bytes a row as float32 (the decoded size, even for
    a narrower type), 32 as float64."""
    X = np.arange(7 * 4).reshape(7, 4).astype(dtype)
    np.save(tmp_path / "x.npy", X)
    dataset, _, _ = npy_dataset(tmp_path / "x.npy", batch_bytes=48)
    sizes = [len(batch) for batch in dataset]
    assert max(sizes) == rows and sum(sizes) == 7


def test_a_row_wider_than_a_batch_is_refused(tmp_path):
    np.save(tmp_path / "wide.npy", np.zeros((2, 13), np.float32))
    with pytest.raises(DataError, match=r"one row of 13 features is .* MiB, more than a streamed batch may take"):
        npy_dataset(tmp_path / "wide.npy", batch_bytes=48)


def test_the_command_refuses_a_row_wider_than_a_batch_in_one_line(cli, tmp_path):
    """1 x 20,000,000 aborted with std::bad_alloc."""
    features = BATCH_BYTES // 4 + 1
    np.lib.format.open_memmap(tmp_path / "wide.npy", mode="w+", dtype=np.float32, shape=(1, features)).flush()
    finished = cli("--data", "wide.npy", "--stream", "--n-clusters", "1")
    assert finished.returncode == 2
    lines = error_lines(finished.stderr)
    assert len(lines) == 1
    assert lines[0].startswith(f"tfkmeans: error: --data wide.npy: one row of {features:,} features is 64 MiB, more")


def test_the_seed_sample_is_bounded_by_its_bytes(monkeypatch):
    monkeypatch.setattr(_stream, "SAMPLE_BYTES", 10 * 3 * 4)
    survey = _stream.survey(batches(blobs()), 1000, seed=0)
    assert survey.sample.shape == (10, 3)
    assert _stream.survey(batches(blobs()), 1000, seed=0, at_least=25).sample.shape == (25, 3)


# --- every .npy type the loader takes --------------------------------------------------------

TYPES = ["i1", "<i2", ">i4", "<i8", "u1", ">u2", "<u4", "<u8", ">u8", "<f2", ">f4", "<f8", ">f8", np.longdouble]


@pytest.mark.parametrize("dtype", TYPES, ids=str)
def test_every_npy_type_streams_as_it_loads(tmp_path, dtype):
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(0)
    high = (
        100
        if dtype.kind in "iu" and dtype.itemsize == 1
        else 2**62
        if dtype.kind == "u" and dtype.itemsize == 8
        else 1000
    )
    X = rng.integers(0, high, size=(9, 3)).astype(dtype)
    if dtype.kind == "f":
        X = X / 7 - 50
    np.save(tmp_path / "x.npy", X)
    dataset, _, _ = npy_dataset(tmp_path / "x.npy", batch_bytes=4 * 3 * 16)
    streamed = np.concatenate([batch.numpy() for batch in dataset])
    np.testing.assert_array_equal(streamed, np.load(tmp_path / "x.npy").astype(np.float32))


@pytest.mark.parametrize("dtype", ["<u8", np.longdouble], ids=str)
def test_the_command_streams_every_type_it_loads(cli, tmp_path, dtype):
    """uint64 and float128 raised TensorFlow's TypeError with --stream."""
    X = (blobs(300) + 20).astype(dtype)
    np.save(tmp_path / "x.npy", X)
    results = []
    for stream in ([], ["--stream"]):
        finished = cli("--data", "x.npy", *stream, "--n-clusters", "4", "--init", "random", "--labels", "l.npy")
        assert finished.returncode == 0, finished.stderr
        results.append(np.load(tmp_path / "l.npy"))
    np.testing.assert_array_equal(*results)


# --- a file that changes under the reader -----------------------------------------------------


@pytest.mark.parametrize("when", [(_loop, "lloyd_passes"), (_stream.Passes, "label_batches")])
@pytest.mark.parametrize("cut", [1, 4096])
def test_a_file_truncated_during_a_stream_is_one_line(cli, tmp_path, monkeypatch, when, cut):
    """It gave tf.data's 'implementation error'. Cut short by a few bytes or by batches: during
    the iterations, or during the pass that writes the labels."""
    np.save(tmp_path / "x.npy", blobs(2000))
    owner, name = when
    original = getattr(owner, name)

    def truncate_then(*args, **kwargs):
        size = os.path.getsize(tmp_path / "x.npy")
        os.truncate(tmp_path / "x.npy", size - cut)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, truncate_then)
    finished = cli("--data", "x.npy", "--stream", "--n-clusters", "3", "--labels", "l.npy", "--save", "f.png")
    assert finished.returncode == 2
    lines = error_lines(finished.stderr)
    assert len(lines) == 1, finished.stderr
    assert "--data x.npy: the file changed during the run (truncated, or written to" in lines[0]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["x.npy"]


def test_a_file_rewritten_during_a_stream_is_one_line(cli, tmp_path, monkeypatch):
    """The same size, other values: the passes' fingerprints disagree."""
    X = blobs(2000)
    np.save(tmp_path / "x.npy", X)
    original = _loop.lloyd_passes

    def rewrite_then(*args, **kwargs):
        np.save(tmp_path / "x.npy", X[::-1].copy())
        return original(*args, **kwargs)

    monkeypatch.setattr(_loop, "lloyd_passes", rewrite_then)
    finished = cli("--data", "x.npy", "--stream", "--n-clusters", "3", "--labels", "l.npy")
    lines = error_lines(finished.stderr)
    assert finished.returncode == 2 and len(lines) == 1, finished.stderr
    assert "the file changed during the run" in lines[0] and "another order" in lines[0]
    assert not (tmp_path / "l.npy").exists()


# --- many fits in one process ----------------------------------------------------------------

MANY_FITS = """
import numpy as np, tensorflow as tf
from tfkmeans import KMeans, MiniBatchKMeans

def status():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024, int(fields["Threads"])

rng = np.random.default_rng(0)
def fit(index):
    n_features = 2 + index % SHAPES
    X = rng.normal(size=(600, n_features)).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices(X).batch(128).prefetch(2)
    model = KMeans(3, n_init=1, max_iter=20, tol=0, random_state=0).fit(dataset)
    model.predict(dataset)
    MiniBatchKMeans(3, n_init=1, max_iter=2, random_state=0).fit(dataset)
    KMeans(3, n_init=1, max_iter=5, random_state=0).fit(X)

for index in range(WARM):
    fit(index)
before = status()
for index in range(WARM, WARM + FITS):
    fit(index)
print(*before, *status())
"""


@pytest.mark.slow
def test_many_fits_in_one_process_keep_memory_and_threads_flat(tmp_path):
    """60 fits of one shape grew by 9 MB a fit; varying shapes added 2 threads a fit, and 500
    ended in "Thread tf_data_prefetch creation via pthread_create() failed". Here 40 fits
    (and 10 predictions) of 3 shapes in turn, after each shape's first."""
    code = MANY_FITS.replace("SHAPES", "3").replace("WARM", "6").replace("FITS", "10")
    rss, hwm, threads, rss_after, hwm_after, threads_after = map(
        int, run_python(textwrap.dedent(code), tmp_path).split()
    )
    assert threads_after <= threads, (threads, threads_after)
    assert rss_after - rss < 10 and hwm_after - hwm < 10, (rss, rss_after, hwm, hwm_after)


@pytest.mark.parametrize("rows", [999, 20_000])
def test_a_stream_gives_the_arrays_result_from_the_same_start(rows):
    X = separated_blobs(spread=4.0)  # overlapping: several iterations, many samples change cluster
    start = X[:5]
    in_memory = KMeans(5, init=start, n_init=1, tol=0).fit(X)
    streamed = KMeans(5, init=start, n_init=1, tol=0).fit(batches(X, rows))
    np.testing.assert_allclose(streamed.cluster_centers_, in_memory.cluster_centers_, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(streamed.labels_, in_memory.labels_)
    assert streamed.n_iter_ == in_memory.n_iter_ > 3
    assert streamed.inertia_ == pytest.approx(in_memory.inertia_, rel=1e-6)
    assert streamed.n_features_in_ == 4 and not hasattr(streamed, "feature_names_in_")
    np.testing.assert_array_equal(streamed.predict(batches(X, 4096)), in_memory.predict(X))


def test_a_stream_is_seeded_from_a_sample_of_it():
    """k-means++ on a uniform sample of the stream finds the five separated blobs."""
    X = separated_blobs()
    model = KMeans(5, random_state=0).fit(batches(X, 3000))
    reference = ScikitKMeans(5, random_state=0, n_init=10).fit(X)
    assert model.inertia_ == pytest.approx(reference.inertia_, rel=1e-4)
    same = KMeans(5, random_state=0).fit(batches(X, 3000))
    np.testing.assert_array_equal(same.cluster_centers_, model.cluster_centers_)


@pytest.mark.parametrize("max_iter", [1, 2, 5])
def test_a_stream_relocates_empty_clusters_as_in_memory(max_iter):
    """KMeans relocates by scikit-learn's rule, streamed or not, batches or one array."""
    X = np.array([[0.0], [1.0], [10.0], [11.0], [12.0]], np.float32)
    start = [[5.0], [100.0], [200.0]]
    in_memory = KMeans(3, init=start, n_init=1, max_iter=max_iter, tol=0).fit(X)
    streamed = KMeans(3, init=start, n_init=1, max_iter=max_iter, tol=0).fit(batches(X, 2))
    reference = ScikitKMeans(3, init=start, n_init=1, max_iter=max_iter, tol=0).fit(X)
    np.testing.assert_allclose(streamed.cluster_centers_, in_memory.cluster_centers_, rtol=1e-6)
    np.testing.assert_allclose(in_memory.cluster_centers_, reference.cluster_centers_, rtol=1e-6)
    np.testing.assert_array_equal(streamed.labels_, reference.labels_)


@pytest.mark.parametrize(
    "dataset, error, words",
    [
        (tf.data.Dataset.from_tensor_slices(np.zeros((10, 2), np.float32)), ValueError, "batch the dataset"),
        (tf.data.Dataset.from_tensor_slices(np.zeros((10, 2), np.int32)).batch(5), TypeError, "float32 or float64"),
        (tf.data.Dataset.from_tensor_slices((np.zeros((10, 2)), np.zeros(10))).batch(5), TypeError, "one float tensor"),
        (batches(np.array([[0.0, 1.0], [np.nan, 1.0]] * 5, np.float32), 4), ValueError, "NaN or infinite"),
        (batches(np.zeros((2, 2), np.float32), 4), ValueError, "n_samples=2 should be >= n_clusters=3"),
    ],
)
def test_bad_streams_get_clear_errors(dataset, error, words):
    with pytest.raises(error, match=words):
        KMeans(3).fit(dataset)


# Pass 1 counts the rows and takes their moments, 2 draws the sample the start is chosen from,
# 3 and on are Lloyd's iterations, the last one the labels.
@pytest.mark.parametrize(
    "bad_pass, words",
    [
        (1, "batch 3 of the dataset .* holds NaN or infinite values"),
        (2, "the dataset changed between passes: the sample drawn from it holds NaN"),
        (3, "batch 3 of the dataset .* holds NaN or infinite values"),
        (6, "batch 3 of the dataset .* holds NaN or infinite values"),
    ],
)
def test_nan_in_any_pass_of_a_stream_is_an_error_naming_the_batch(bad_pass, words):
    X = separated_blobs(5_000)
    with pytest.raises(ValueError, match=words):
        KMeans(5, init=X[:5], n_init=1, max_iter=10, tol=0).fit(changing_dataset(X, 1_000, bad_pass, 3))


def test_predict_and_transform_on_a_dataset_check_it_as_on_an_array():
    X = separated_blobs(5_000)
    model = KMeans(5, random_state=0).fit(X)
    bad = X.copy()
    bad[2_500, 0] = np.inf
    for method in (model.predict, model.transform):
        with pytest.raises(ValueError, match="batch 2 of the dataset"):
            method(batches(bad, 1_000))
        with pytest.raises(ValueError):
            method(bad)
    with pytest.raises(ValueError, match="the dataset holds no samples"):
        model.predict(batches(X[:0], 100))
    np.testing.assert_array_equal(model.predict(batches(X, 1_000)), model.predict(X))
    np.testing.assert_allclose(model.transform(batches(X, 1_000)), model.transform(X), rtol=1e-5)


def separated_blobs(n_samples=20_000, n_features=4, n_centres=5, seed=0, spread=1.0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-20, 20, size=(n_centres, n_features))
    return (centres[rng.integers(0, n_centres, n_samples)] + rng.normal(size=(n_samples, n_features)) * spread).astype(
        np.float32
    )


def changing_dataset(X, rows, bad_pass, bad_batch):
    """Batches of ``X``, finite but on pass ``bad_pass``, when batch ``bad_batch`` holds NaN:
    what a file changing under the reader would give. Each pass must check its batches."""
    passes = [0]

    def batches():
        passes[0] += 1
        for index, begin in enumerate(range(0, len(X), rows)):
            batch = X[begin : begin + rows].copy()
            if passes[0] == bad_pass and index == bad_batch:
                batch[3, 1] = np.nan
            yield batch

    signature = tf.TensorSpec((None, X.shape[1]), tf.float32)
    return tf.data.Dataset.from_generator(batches, output_signature=signature)
