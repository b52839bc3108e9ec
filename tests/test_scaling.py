"""Beyond memory and beyond one machine: tf.data streams, MiniBatchKMeans, tf.distribute."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from conftest import error_lines, localhost_workers, run_python
from tfkmeans import KMeans, kmeans


def separated_blobs(n_samples=20_000, n_features=4, n_centres=5, seed=0, spread=1.0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-20, 20, size=(n_centres, n_features))
    return (centres[rng.integers(0, n_centres, n_samples)] + rng.normal(size=(n_samples, n_features)) * spread).astype(
        np.float32
    )


def batches(X, rows):
    return tf.data.Dataset.from_tensor_slices(X).batch(rows)


# --- streaming ------------------------------------------------------------------------------


def test_the_command_streams_with_the_lessons_empty_cluster_rule():
    """The command's stream, like its in-memory run, keeps the lesson's rule: the empty
    clusters take the samples farthest from the new mean 5.5, 0 and 11."""
    from tfkmeans import _loop, _stream

    X = np.array([[0.0], [1.0], [10.0], [11.0]], np.float32)
    passes = _stream.Passes(batches(X, 3))
    offset = tf.constant([0.0])
    result = _loop.lloyd_passes(passes, offset, tf.constant([[5.0], [100.0], [200.0]]), 1)
    np.testing.assert_allclose(result.centroids.numpy().ravel(), [5.5, 0.0, 11.0])
    np.testing.assert_allclose(kmeans(X, [[5.0], [100.0], [200.0]], 1, None).centroids.ravel(), [5.5, 0.0, 11.0])


def test_command_streams_a_large_npy_and_writes_labels_to_a_file(cli, tmp_path):
    X = separated_blobs(30_000, spread=4.0)
    np.save(tmp_path / "data.npy", X)
    finished = cli(
        "--data", tmp_path / "data.npy", "--stream", "--n-clusters", "5", "--iterations", "8",
        "--labels", tmp_path / "labels.npy", "--output", tmp_path / "result.json",
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    assert "streamed: 30,000 samples" in finished.stdout
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["nearest_indices"] is None and result["labels_file"] == str(tmp_path / "labels.npy")
    expected = kmeans(X, np.array(result["initial_centroids"], np.float32), max_iterations=8, tolerance=None)
    np.testing.assert_allclose(result["centroids"], expected.centroids, rtol=1e-4, atol=1e-3)
    labels = np.load(tmp_path / "labels.npy")
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels, expected.nearest_indices)
    assert result["inertia"][-1] == pytest.approx(expected.inertia, rel=1e-5)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--stream"], "--stream reads your own data, so it goes with --data"),
        (["--stream", "--data", "x.csv"], "--stream reads a .npy file given with --data"),
        (["--stream", "--data", "x.npy", "--animate", "a.gif"], "--animate does not go with streaming"),
        (
            ["--stream", "--data", "x.npy", "--n-clusters", "2:4"],
            "a range of cluster counts does not go with streaming",
        ),
        (["--stream", "--data", "x.npy", "--missing", "drop"], "--missing drop does not go with streaming"),
        (["--stream", "--data", "nan.npy"], "NaN or infinite"),
        (["--stream", "--data", "x.npy", "--columns", "9"], "no column '9'"),
        (["--data", "x.npy", "--labels", "labels.txt"], "--labels labels.txt: the file name must end in .npy"),
    ],
)
def test_streaming_bad_input(cli, tmp_path, args, message):
    np.save(tmp_path / "x.npy", np.zeros((10, 2), np.float32))
    np.save(tmp_path / "nan.npy", np.array([[0.0, np.nan]] * 10, np.float32))
    before = sorted(path.name for path in tmp_path.iterdir())
    finished = cli(*args)
    assert finished.returncode == 2
    lines = error_lines(finished.stderr)
    assert len(lines) == 1 and message in lines[0], finished.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == before


# --- MiniBatchKMeans ------------------------------------------------------------------------


# --- tf.distribute --------------------------------------------------------------------------

MIRRORED = """
import sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tfkmeans import KMeans
import warnings
warnings.simplefilter("error")  # no warning in the middle of a fit (tf.data's, on options, was one)
X, start = np.load("X.npy"), np.load("start.npy")
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert strategy.num_replicas_in_sync == 2
model = KMeans(5, init=start, n_init=1, tol=0, strategy=strategy).fit(X)
np.save("mirrored.npy", model.cluster_centers_)
dataset = tf.data.Dataset.from_tensor_slices(X).batch(4000)
np.save("mirrored_stream.npy", KMeans(5, init=start, n_init=1, tol=0, strategy=strategy).fit(dataset).cluster_centers_)
# The caller's own array in small slices, each on a 64-byte boundary (so TensorFlow takes them
# without a copy): a replica's subtraction once wrote into them, changing the caller's rows.
rows = X[:3000]
raw = np.empty(rows.nbytes + 64, np.uint8)
own = raw[-raw.ctypes.data % 64 :][: rows.nbytes].view(rows.dtype).reshape(rows.shape)
own[...] = rows
def slices():
    for begin in range(0, len(own), 64):
        yield own[begin : begin + 64]
generated = tf.data.Dataset.from_generator(slices, output_signature=tf.TensorSpec((None, X.shape[1]), X.dtype))
model = KMeans(5, init=start, n_init=1, tol=0, strategy=strategy).fit(generated)
assert np.array_equal(own, rows), "the fit changed the caller's array"
np.save("mirrored_generated.npy", model.cluster_centers_)
np.save("generated_reference.npy", KMeans(5, init=start, n_init=1, tol=0).fit(rows).cluster_centers_)
# The same rows in the same order, batched otherwise on every pass: once refused as changed.
passes = [0]
def rebatched():
    size = (64, 100, 37)[passes[0] % 3]
    passes[0] += 1
    for begin in range(0, len(own), size):
        yield own[begin : begin + size]
rebatched = tf.data.Dataset.from_generator(rebatched, output_signature=tf.TensorSpec((None, X.shape[1]), X.dtype))
model = KMeans(5, init=start, n_init=1, tol=0, strategy=strategy).fit(rebatched)
np.save("mirrored_rebatched.npy", model.cluster_centers_)
"""

WORKER = """
import json, os
import numpy as np
import tensorflow as tf
strategy = tf.distribute.MultiWorkerMirroredStrategy()
from tfkmeans import KMeans
X, start = np.load("X.npy"), np.load("start.npy")
model = KMeans(5, init=start, n_init=1, tol=0, strategy=strategy).fit(X)
index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
np.save(f"worker{index}.npy", model.cluster_centers_)
print(strategy.num_replicas_in_sync, model.n_iter_)
"""


@pytest.fixture
def shared_data(tmp_path):
    X = separated_blobs(40_000, spread=4.0)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "start.npy", X[:5])
    return KMeans(5, init=X[:5], n_init=1, tol=0).fit(X)


@pytest.mark.slow
def test_mirrored_strategy_over_two_logical_cpus(tmp_path, shared_data):
    run_python(MIRRORED, tmp_path)
    for name in ("mirrored.npy", "mirrored_stream.npy"):
        np.testing.assert_allclose(np.load(tmp_path / name), shared_data.cluster_centers_, rtol=1e-5, atol=1e-4)
    reference = np.load(tmp_path / "generated_reference.npy")
    for name in ("mirrored_generated.npy", "mirrored_rebatched.npy"):
        np.testing.assert_allclose(np.load(tmp_path / name), reference, rtol=1e-5, atol=1e-4)


@pytest.mark.slow
def test_multi_worker_strategy_with_two_worker_processes(tmp_path, shared_data):
    results = localhost_workers(tmp_path, WORKER)
    for returncode, stdout, stderr in results:
        assert returncode == 0, stderr[-3000:]
        assert stdout.split()[0] == "2"  # two replicas in sync: one per worker
    for index in range(2):
        np.testing.assert_allclose(
            np.load(tmp_path / f"worker{index}.npy"), shared_data.cluster_centers_, rtol=1e-5, atol=1e-4
        )


def test_a_strategy_rejects_sample_weights():
    with pytest.raises(TypeError, match="sample_weight is not supported"):
        KMeans(2, strategy=tf.distribute.get_strategy()).fit(np.zeros((4, 2)), sample_weight=np.ones(4))
    assert os.environ.get("TF_CONFIG") is None


# --- nothing silent in a stream ---------------------------------------------------------------


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


def test_the_command_refuses_a_stream_that_turns_nan(cli, tmp_path):
    """NaN deep in a streamed .npy file: the pass that meets it stops the run, naming the
    batch, and writes nothing. (A stream that turns NaN on a later pass: the test above.)"""
    X = separated_blobs(300_000)
    X[250_000, 2] = np.nan
    np.save(tmp_path / "late.npy", X)
    finished = cli("--data", "late.npy", "--stream", "--n-clusters", "3", "--labels", "l.npy", "--save", "f.png")
    assert finished.returncode == 2, finished.stdout
    assert "batch 3 of the dataset (counting from 0) holds NaN or infinite values" in finished.stderr
    assert not (tmp_path / "l.npy").exists() and not (tmp_path / "f.png").exists()


FILES_WORKER = """
import collections, json, os
import numpy as np
import tensorflow as tf
strategy = tf.distribute.MultiWorkerMirroredStrategy()
from tfkmeans import KMeans

reads = collections.Counter()

def log(name):
    reads[os.path.basename(name.numpy().decode())] += 1
    return name

def rows(name):
    lines = tf.data.TextLineDataset(name)
    return lines.map(lambda line: (tf.py_function(log, [name], tf.string), line))

files = tf.data.Dataset.list_files("part-*.csv", shuffle=False)
dataset = (
    files.interleave(rows, cycle_length=1)
    .map(lambda name, line: tf.stack(tf.io.decode_csv(line, [[0.0]] * 3)))
    .batch(100)
)
model = KMeans(4, init=np.load("start.npy"), n_init=1, tol=0, max_iter=10, strategy=strategy).fit(dataset)
index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
np.save(f"files-worker{index}.npy", model.cluster_centers_)
json.dump({"reads": dict(reads), "n_iter": int(model.n_iter_)}, open(f"reads{index}.json", "w"))
"""


@pytest.mark.slow
def test_two_workers_each_read_their_own_files_in_the_iterations(tmp_path):
    """Data in four files, two workers: tf.data shards a dataset of files by file, so in each
    iteration's pass a worker reads only its two files; every row counts once (the centres are
    those of one process over all four files). The survey's two passes and the last pass, for
    the labels, read every file on every worker."""
    X = separated_blobs(4_000, n_features=3, n_centres=4, spread=2.0)
    for part in range(4):
        np.savetxt(tmp_path / f"part-{part}.csv", X[part * 1000 : (part + 1) * 1000], delimiter=",", fmt="%.9g")
    np.save(tmp_path / "start.npy", X[:4])
    every = np.concatenate([np.loadtxt(tmp_path / f"part-{part}.csv", delimiter=",") for part in range(4)])
    alone = KMeans(4, init=X[:4], n_init=1, tol=0, max_iter=10).fit(every.astype(np.float32))
    results = localhost_workers(tmp_path, FILES_WORKER)
    for returncode, _, stderr in results:
        assert returncode == 0, stderr[-3000:]
    for index in range(2):
        np.testing.assert_allclose(
            np.load(tmp_path / f"files-worker{index}.npy"), alone.cluster_centers_, rtol=1e-5, atol=1e-4
        )
    records = [json.loads((tmp_path / f"reads{index}.json").read_text()) for index in range(2)]
    reads = [record["reads"] for record in records]
    for worker, record in zip(reads, records):
        counts = sorted(worker.values())
        assert len(worker) == 4
        # two files read on every pass (the worker's own), two only on the passes every worker
        # makes over all the data: their difference is the iterations' passes (the first
        # assignment, then one an iteration), a file's 1,000 rows each
        assert counts[0] == counts[1] and counts[2] == counts[3], worker
        assert counts[2] - counts[0] == (record["n_iter"] + 1) * 1000, (worker, record["n_iter"])
    own = [{name for name, count in worker.items() if count == max(worker.values())} for worker in reads]
    assert own[0].isdisjoint(own[1]) and own[0] | own[1] == {f"part-{p}.csv" for p in range(4)}
