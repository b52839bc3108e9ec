"""The benchmark's sections beyond Lloyd's loop in memory: the machine's own rates (sgemm, memory
read bandwidth), mini-batch k-means against scikit-learn's, streaming a .npy file (throughput,
and the peak memory of the whole command), one worker process against two, and reading a CSV
against reading the same numbers from .npy. Each returns a dict for the report; benchmark_kmeans.py
runs them and writes the tables."""

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def median_time(function, repeats):
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        function()
        times.append(time.perf_counter() - begin)
    return statistics.median(times)


# --- the machine ----------------------------------------------------------------------------


def sgemm_rates(n, k, d, repeats=5):
    """GFLOP/s of the float32 product of an (n, d) by a (d, k) matrix: NumPy's (its BLAS) and
    XLA's (TensorFlow with jit_compile), each the median of ``repeats`` after a warm-up."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, d), dtype=np.float32)
    b = np.ascontiguousarray(rng.standard_normal((k, d), dtype=np.float32).T)
    out = np.empty((n, k), np.float32)
    np.matmul(a, b, out=out)
    numpy_seconds = median_time(lambda: np.matmul(a, b, out=out), repeats)
    product = tf.function(lambda x, y: tf.matmul(x, y), jit_compile=True)
    ta, tb = tf.constant(a), tf.constant(b)
    product(ta, tb)
    xla_seconds = median_time(lambda: product(ta, tb), repeats)
    flops = 2.0 * n * k * d
    return {"numpy_gflops": flops / numpy_seconds / 1e9, "xla_gflops": flops / xla_seconds / 1e9}


def read_bandwidth(gib=1.0, repeats=5):
    """GB/s at which this machine reads memory: summing a float32 array of ``gib`` GiB, with
    NumPy (one thread) and with TensorFlow (all cores); the faster counts."""
    import tensorflow as tf

    array = np.ones(int(gib * 2**30 / 4), np.float32)
    numpy_seconds = median_time(lambda: np.add.reduce(array), repeats)
    tensor = tf.constant(array)
    tf.reduce_sum(tensor).numpy()
    tf_seconds = median_time(lambda: tf.reduce_sum(tensor).numpy(), repeats)
    return {"numpy_gbps": array.nbytes / numpy_seconds / 1e9, "tensorflow_gbps": array.nbytes / tf_seconds / 1e9}


# --- mini-batch -----------------------------------------------------------------------------


def minibatch(make_blobs, n_samples, repeats):
    """MiniBatchKMeans (ours and scikit-learn's) from the same start, batch size and pass limit,
    each with its default stopping rule; inertia against full k-means from that start."""
    from sklearn.cluster import KMeans as ScikitKMeans
    from sklearn.cluster import MiniBatchKMeans as ScikitMiniBatchKMeans
    from sklearn.cluster import kmeans_plusplus

    from tfkmeans import KMeans, MiniBatchKMeans

    samples, _ = make_blobs(n_samples, 16, 16)
    start, _ = kmeans_plusplus(samples, 16, random_state=0)
    full = KMeans(16, init=start, n_init=1).fit(samples)
    full_sklearn = ScikitKMeans(16, init=start, n_init=1).fit(samples)
    models = {
        "MiniBatchKMeans": lambda seed: MiniBatchKMeans(16, init=start, n_init=1, batch_size=1024, random_state=seed),
        "sklearn MiniBatchKMeans": lambda seed: ScikitMiniBatchKMeans(
            16, init=start, n_init=1, batch_size=1024, random_state=seed
        ),
    }
    runs = {name: [] for name in models}
    for make in models.values():
        make(0).fit(samples)  # warm-up: compilation
    for seed in range(repeats):
        for name, make in models.items():
            begin = time.perf_counter()
            model = make(seed).fit(samples)
            runs[name].append((time.perf_counter() - begin, model.inertia_, model.n_steps_, model.n_iter_))
    result = {"n_samples": n_samples, "full_inertia": full.inertia_, "full_inertia_sklearn": full_sklearn.inertia_}
    for name, values in runs.items():
        result[name] = {
            "seconds": statistics.median(v[0] for v in values),
            "inertia_vs_full": statistics.median(v[1] / full.inertia_ - 1 for v in values),
            "worst_inertia_vs_full": max(v[1] / full.inertia_ - 1 for v in values),
            "steps": statistics.median(v[2] for v in values),
            "passes": statistics.median(v[3] for v in values),
        }
    result["speed_vs_sklearn"] = result["sklearn MiniBatchKMeans"]["seconds"] / result["MiniBatchKMeans"]["seconds"]
    return result


# --- streaming ------------------------------------------------------------------------------

PASS_TIMER = """
import json, sys, time, statistics
import numpy as np, tensorflow as tf
from tfkmeans import _input, _stream
dataset, n, d = _input.npy_dataset(sys.argv[1])
passes = _stream.Passes(dataset)
offset = tf.zeros([d]); centroids = tf.constant(np.random.default_rng(0).standard_normal((int(sys.argv[2]), d), dtype=np.float32))
passes.statistics(offset, centroids)
times = []
for _ in range(int(sys.argv[3])):
    begin = time.perf_counter(); passes.statistics(offset, centroids)[0].numpy(); times.append(time.perf_counter() - begin)
print(json.dumps({"seconds_per_pass": statistics.median(times)}))
"""

COMMAND_WITH_PEAK = """
import sys, time
from tfkmeans.cli import main
begin = time.perf_counter()
status = main(sys.argv[1:])
seconds = time.perf_counter() - begin
# VmHWM of this process itself: getrusage's ru_maxrss would include what the parent had.
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) // 1024
print("RESULT", status, seconds, peak)
"""


def command_with_peak(arguments, cwd):
    """Run the tfkmeans command in a fresh process; (exit status, seconds, peak MiB) it reports."""
    finished = subprocess.run(
        [sys.executable, "-c", COMMAND_WITH_PEAK, *map(str, arguments)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    line = next((line for line in finished.stdout.splitlines() if line.startswith("RESULT")), None)
    if line is None:
        raise RuntimeError(f"tfkmeans {' '.join(map(str, arguments))} failed:\n{finished.stderr[-2000:]}")
    status, seconds, peak = line.split()[1:]
    return int(status), float(seconds), int(peak)


def write_npy_in_chunks(path, n_samples, n_features, chunk=1_000_000):
    """A float32 .npy file of Gaussian blobs, written a chunk at a time (never all in memory)."""
    rng = np.random.default_rng(0)
    centres = rng.uniform(-10, 10, size=(16, n_features)).astype(np.float32)
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_samples, n_features))
    for begin in range(0, n_samples, chunk):
        rows = min(chunk, n_samples - begin)
        block = rng.standard_normal((rows, n_features), dtype=np.float32) * 4.0
        block += centres[rng.integers(0, 16, rows)]
        array[begin : begin + rows] = block
    array.flush()
    del array


def streaming(n_samples, n_features, n_clusters, bandwidth_gbps, repeats):
    """Throughput of one pass over a streamed .npy file, and the whole command's peak memory."""
    with tempfile.TemporaryDirectory(prefix="benchmark-stream-") as scratch:
        path = Path(scratch) / "data.npy"
        write_npy_in_chunks(path, n_samples, n_features)
        nbytes = n_samples * n_features * 4
        finished = subprocess.run(
            [sys.executable, "-c", PASS_TIMER, str(path), str(n_clusters), str(repeats)],
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = json.loads(finished.stdout.splitlines()[-1])["seconds_per_pass"]
        status, wall, peak = command_with_peak(
            ["--data", path, "--n-clusters", n_clusters, "--iterations", 5, "--init", "kmeans++",
             "--labels", Path(scratch) / "labels.npy", "--save", Path(scratch) / "figure.png"],
            scratch,
        )  # fmt: skip
    return {
        "n_samples": n_samples,
        "n_features": n_features,
        "n_clusters": n_clusters,
        "file_gb": nbytes / 1e9,
        "seconds_per_pass": seconds,
        "gb_per_second": nbytes / seconds / 1e9,
        "share_of_read_bandwidth": nbytes / seconds / 1e9 / bandwidth_gbps,
        "command_status": status,
        "command_seconds": wall,
        "command_peak_mib": peak,
    }


# --- one worker against two -----------------------------------------------------------------

WORKER = """
import json, os, sys, time
import numpy as np, tensorflow as tf
strategy = tf.distribute.MultiWorkerMirroredStrategy() if os.environ.get("TF_CONFIG") else None
from tfkmeans import KMeans
X, start = np.load(sys.argv[1]), np.load(sys.argv[2])
KMeans(len(start), init=start, n_init=1, max_iter=1, tol=0, strategy=strategy).fit(X)  # warm-up: tracing
begin = time.perf_counter()
model = KMeans(len(start), init=start, n_init=1, max_iter=10, tol=0, strategy=strategy).fit(X)
print("RESULT", time.perf_counter() - begin, model.n_iter_)
"""


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for each in sockets:
        each.bind(("localhost", 0))
    ports = [each.getsockname()[1] for each in sockets]
    for each in sockets:
        each.close()
    return ports


def run_workers(count, data, start, scratch):
    """Seconds of a 10-iteration fit, the slowest worker's: 0 workers means no strategy at all."""
    processes = []
    workers = [f"localhost:{port}" for port in free_ports(max(count, 1))]
    try:
        for index in range(max(count, 1)):
            environment = dict(os.environ)
            if count:
                cluster = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
                environment["TF_CONFIG"] = json.dumps(cluster)
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-c", textwrap.dedent(WORKER), str(data), str(start)],
                    cwd=scratch,
                    env=environment,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        outputs = [process.communicate(timeout=600) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    seconds = []
    for stdout, stderr in outputs:
        line = next((line for line in stdout.splitlines() if line.startswith("RESULT")), None)
        if line is None:
            raise RuntimeError(f"a worker failed:\n{stderr[-2000:]}")
        seconds.append(float(line.split()[1]))
    return max(seconds)


def workers(make_blobs, n_samples, repeats):
    """A 10-iteration KMeans fit with no strategy, with one worker and with two worker
    processes of a MultiWorkerMirroredStrategy, on this one machine."""
    samples, start = make_blobs(n_samples, 16, 16)
    with tempfile.TemporaryDirectory(prefix="benchmark-workers-") as scratch:
        np.save(Path(scratch) / "X.npy", samples)
        np.save(Path(scratch) / "start.npy", start)
        timings = {label: [] for label in ("no strategy", "1 worker", "2 workers")}
        for _ in range(repeats):
            for label, count in (("no strategy", 0), ("1 worker", 1), ("2 workers", 2)):
                timings[label].append(run_workers(count, Path(scratch) / "X.npy", Path(scratch) / "start.npy", scratch))
    return {"n_samples": n_samples, **{label: statistics.median(values) for label, values in timings.items()}}


# --- reading a table ------------------------------------------------------------------------


def loading(n_samples, repeats):
    """``tfkmeans --data`` end to end, on a CSV file and on the same numbers in .npy."""
    import pandas as pd

    with tempfile.TemporaryDirectory(prefix="benchmark-load-") as scratch:
        samples = np.random.default_rng(0).standard_normal((n_samples, 8)).astype(np.float32)
        np.save(Path(scratch) / "data.npy", samples)
        frame = pd.DataFrame(samples, columns=[f"c{j}" for j in range(8)])
        frame.to_csv(Path(scratch) / "data.csv", index=False, float_format="%.7g")
        csv_mb = (Path(scratch) / "data.csv").stat().st_size / 1e6
        seconds = {"csv": [], "npy": []}
        for _ in range(repeats):
            for kind in seconds:
                figure = Path(scratch) / "figure.png"
                status, wall, _ = command_with_peak(
                    ["--data", Path(scratch) / f"data.{kind}", "--save", figure], scratch
                )
                seconds[kind].append(wall)
    csv, npy = statistics.median(seconds["csv"]), statistics.median(seconds["npy"])
    return {"n_samples": n_samples, "csv_mb": csv_mb, "csv_seconds": csv, "npy_seconds": npy, "ratio": csv / npy}
