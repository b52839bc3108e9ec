"""Benchmark: tfkmeans against the lesson's loop, scikit-learn and NumPy, and what scales past them.

Lloyd's loop in memory, per cell of the grid: every implementation gets the same float32 data
(Gaussian blobs), the same initial centroids and the same iteration limit, in this one process,
so that the ratios between them hold even on a busy machine:

- lesson:  the lesson's eager loop, ``assign_to_nearest`` then ``update_centroids``
           (skipped where its n x k x d tensor would pass --lesson-limit-gib)
- KMeans:  ``tfkmeans.KMeans(n_clusters=k, init=<same centroids>, n_init=1, max_iter=<same>, tol=0).fit(X)``
- sklearn: scikit-learn's ``KMeans`` with the same arguments and ``algorithm="lloyd"``
- elkan:   the same with ``algorithm="elkan"`` (triangle-inequality bounds skip distances)
- numpy:   a plain NumPy Lloyd loop (distances by matrix product, sums by ``np.bincount``)

Each stops early once no sample changes cluster (tol=0): times are per iteration actually run.
For each: the median of --repeats whole runs divided by their iterations ("ms / iteration",
everything a caller pays), the slope between runs of 1 and of --iterations iterations ("ms /
extra iteration", leaving out what a call costs once), the warm-up's extra time (compilation),
its speed relative to scikit-learn's lloyd, whether its centroids agree with a float64 NumPy
run from the same start (largest difference at most 1e-3 x the data's standard deviation), and
(not with --quick) the peak resident memory of a fresh process that makes the data and runs it
once. The floor of a cell is the time of its distance product (2 n k d flops) at the best
sgemm rate measured for that shape (NumPy's BLAS or XLA), or of reading the data once at the
measured memory bandwidth, whichever is longer: no Lloyd iteration can take less.

Then (see scaling.py): mini-batch k-means against scikit-learn's, one streamed pass's
throughput over a .npy file against the memory bandwidth and the whole command's peak memory,
one worker process against two, and a CSV file against the same numbers in .npy.

    pip install -r benchmarks/requirements.txt
    python benchmarks/benchmark_kmeans.py              # everything (about 40 minutes here)
    python benchmarks/benchmark_kmeans.py --quick      # a small slice of each, in a few minutes

Writes benchmark.md (the tables), benchmark.json and benchmark.png (time per iteration against
n, with the floor) to --output-dir.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import scaling  # noqa: E402

# TensorFlow and scikit-learn are imported where they are used, so that a memory probe (below)
# loads only the library it measures.

FULL_GRID = [
    # (n_samples, n_clusters, n_features)
    *[(n, 3, 2) for n in (1_500, 100_000, 1_000_000)],
    *[(n, 16, 16) for n in (1_500, 100_000, 1_000_000)],
    *[(n, 100, 64) for n in (1_500, 100_000, 200_000, 1_000_000)],
]
QUICK_GRID = [(1_500, 3, 2), (20_000, 3, 2), (20_000, 16, 16)]
# The sizes of the other sections, full and --quick.
SECTION_SIZES = {
    "minibatch": (1_000_000, 100_000),
    "stream": ((16_000_000, 64, 16), (500_000, 16, 8)),
    "workers": (2_000_000, None),
    "loading": (1_000_000, 100_000),
}
IMPLEMENTATIONS = ["lesson", "KMeans", "sklearn", "elkan", "numpy"]


# --- data and reference ---------------------------------------------------------------------


def make_blobs(n_samples, n_clusters, n_features, seed=0):
    """Overlapping Gaussian blobs around centres in [-10, 10)^d, float32.

    Their standard deviation, 8 x sqrt(d / 2), grows with the dimension so that the blobs
    overlap as much in 64 dimensions as in 2: samples keep changing cluster for many
    iterations, and the implementations that stop once nothing changes (scikit-learn, and
    ``kmeans`` with ``tolerance=0``) run all of them. The start is one random sample of each
    blob, so no cluster empties (scikit-learn's rule for empty clusters differs from ours).
    """
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, size=(n_clusters, n_features)).astype(np.float32)
    labels = np.arange(n_samples) % n_clusters
    rng.shuffle(labels)
    # Drawn in float32 and shifted in place: no float64 copy inflates the memory probes.
    samples = rng.standard_normal((n_samples, n_features), dtype=np.float32)
    samples *= 8.0 * np.sqrt(n_features / 2)
    for begin in range(0, n_samples, 65_536):
        samples[begin : begin + 65_536] += centres[labels[begin : begin + 65_536]]
    start = np.stack([samples[rng.choice(np.flatnonzero(labels == j))] for j in range(n_clusters)])
    return samples, start


def numpy_lloyd(samples, centroids, iterations, dtype, chunk=65_536):
    """Lloyd's algorithm in NumPy, empty clusters relocated as in functions.update_centroids."""
    samples = samples.astype(dtype, copy=False)
    centroids = centroids.astype(dtype)
    n_samples, n_clusters = len(samples), len(centroids)
    squared_norms = np.einsum("ij,ij->i", samples, samples)

    def assign(centroids):
        nearest = np.empty(n_samples, dtype=np.int64)
        centroid_norms = np.einsum("ij,ij->i", centroids, centroids)
        for begin in range(0, n_samples, chunk):  # bounded memory: chunk x k distances at a time
            block = samples[begin : begin + chunk]
            nearest[begin : begin + chunk] = np.argmin(centroid_norms - 2 * block @ centroids.T, axis=1)
        return nearest

    nearest = assign(centroids)
    for _ in range(iterations):
        counts = np.bincount(nearest, minlength=n_clusters)
        sums = np.stack(
            [np.bincount(nearest, weights=samples[:, j], minlength=n_clusters) for j in range(samples.shape[1])],
            1,
        )
        means = (sums / np.maximum(counts, 1)[:, None]).astype(dtype)
        empty = np.flatnonzero(counts == 0)
        if len(empty):
            distances = (
                squared_norms
                - 2 * np.einsum("ij,ij->i", samples, means[nearest])
                + np.einsum("ij,ij->i", means, means)[nearest]
            )
            farthest = np.argsort(-distances, kind="stable")[: len(empty)]
            means[empty] = samples[farthest]
        centroids = means
        nearest = assign(centroids)
    return centroids


# --- the implementations, each returning (centroids, iterations run) -------------------------


def run_lesson(samples, start, iterations):
    import tensorflow as tf

    import functions

    samples = tf.constant(samples)
    centroids = tf.constant(start)
    for _ in range(iterations):
        nearest = functions.assign_to_nearest(samples, centroids)
        centroids = functions.update_centroids(samples, nearest, centroids.shape[0])
    return centroids.numpy(), iterations


def run_kmeans(samples, start, iterations):
    from tfkmeans import KMeans

    # tol=0 stops when no sample changes cluster, as scikit-learn's tol=0 does.
    model = KMeans(n_clusters=len(start), init=start, n_init=1, max_iter=iterations, tol=0).fit(samples)
    return model.cluster_centers_, model.n_iter_


def run_sklearn(samples, start, iterations, algorithm="lloyd"):
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=len(start), init=start, n_init=1, max_iter=iterations, tol=0, algorithm=algorithm)
    model.fit(samples)
    return model.cluster_centers_, model.n_iter_


def run_elkan(samples, start, iterations):
    return run_sklearn(samples, start, iterations, algorithm="elkan")


def run_numpy(samples, start, iterations):
    return numpy_lloyd(samples, start, iterations, np.float32), iterations


RUNNERS = {"lesson": run_lesson, "KMeans": run_kmeans, "sklearn": run_sklearn, "elkan": run_elkan, "numpy": run_numpy}


# --- measuring ------------------------------------------------------------------------------


def memory_probe(name, n_samples, n_clusters, n_features, iterations):
    """Peak resident memory (MiB) of a fresh process that makes the cell's data and runs one
    implementation once: the footprint of that library, its run and the data together."""
    finished = subprocess.run(
        [
            sys.executable,
            __file__,
            "--probe",
            name,
            str(n_samples),
            str(n_clusters),
            str(n_features),
            str(iterations),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    data_mib, peak_mib = map(float, finished.stdout.split()[-2:])
    return {"peak_mib": peak_mib, "data_mib": data_mib}


def probe(name, n_samples, n_clusters, n_features, iterations):
    """The body of a memory probe: prints the data's size and the process's peak RSS, in MiB."""
    samples, start = make_blobs(n_samples, n_clusters, n_features)
    RUNNERS[name](samples, start, iterations)
    # VmHWM, not getrusage's ru_maxrss: a child process inherits its parent's ru_maxrss.
    with open("/proc/self/status") as status:
        peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(samples.nbytes / 2**20, peak_kib / 1024)


def measure(name, samples, start, iterations, repeats):
    """Time per iteration as the slope between runs of 1 and of ``iterations`` iterations.

    Each implementation has a fixed cost per call besides its iterations (checking and
    copying the data, the first assignment, the final labels); the slope leaves that out of
    the time per iteration and it is reported on its own, as is the warm-up's extra time
    (compilation for ``kmeans``).
    """
    runner = RUNNERS[name]

    def timed(max_iterations):
        begin = time.perf_counter()
        centroids, iterations_run = runner(samples, start, max_iterations)
        return time.perf_counter() - begin, iterations_run, centroids

    warm_up, _, _ = timed(iterations)  # compiles kmeans, warms caches
    timed(1)  # and the 1-iteration variant (another trace for kmeans)
    if samples.size * len(start) < 10**8:
        repeats *= 10  # small cells: fast runs, noisy timings
    one = [timed(1) for _ in range(repeats)]
    full = [timed(iterations) for _ in range(repeats)]
    iterations_run = full[-1][1]
    one_time = statistics.median(t for t, _, _ in one)
    full_time = statistics.median(t for t, _, _ in full)
    steps = iterations_run - one[-1][1]
    slope = (full_time - one_time) / steps if steps > 0 else 0.0
    # Where the iterations are too quick for the slope to rise above the noise, fall back on
    # the whole run divided by its iterations (an upper bound).
    per_iteration = slope if slope > 0.05 * full_time / iterations_run else full_time / iterations_run
    return {
        "seconds_per_iteration": full_time / iterations_run,
        "seconds_per_extra_iteration": per_iteration,
        "seconds_per_call_fixed": max(one_time - per_iteration * one[-1][1], 0.0),
        "seconds_whole_run": full_time,
        "whole_runs": [t for t, _, _ in full],
        "iterations_run": iterations_run,
        "warm_up_extra_seconds": max(warm_up - full_time, 0.0),
        "centroids": np.asarray(full[-1][2], dtype=np.float64),
    }


def benchmark_cell(n_samples, n_clusters, n_features, iterations, repeats, lesson_limit_gib, memory, bandwidth_gbps):
    samples, start = make_blobs(n_samples, n_clusters, n_features)
    reference = numpy_lloyd(samples, start, iterations, np.float64)
    scale = float(np.std(samples))
    cell = {
        "n_samples": n_samples,
        "n_clusters": n_clusters,
        "n_features": n_features,
        "results": {},
        "notes": [],
    }
    lesson_gib = n_samples * n_clusters * n_features * 4 / 2**30
    for name in IMPLEMENTATIONS:
        if name == "lesson" and lesson_gib > lesson_limit_gib:
            cell["notes"].append(
                f"lesson skipped: its n x k x d tensor would take {lesson_gib:.1f} GiB (limit {lesson_limit_gib} GiB), "
                "several times over during a step"
            )
            continue
        result = measure(name, samples, start, iterations, repeats)
        deviation = float(np.max(np.abs(result.pop("centroids") - reference)))
        result["max_deviation_from_float64"] = deviation
        result["agrees"] = deviation <= 1e-3 * scale
        result["peak_mib"] = None
        if memory:
            result.update(memory_probe(name, n_samples, n_clusters, n_features, iterations))
        cell["results"][name] = result
        print(
            f"  {name:8s} {result['seconds_per_iteration'] * 1e3:10.3f} ms/iteration,"
            f" {result['seconds_per_extra_iteration'] * 1e3:.3f} ms/extra iteration"
            f"  (warm-up +{result['warm_up_extra_seconds']:.2f} s, {result['iterations_run']} iterations,"
            f" deviation {deviation:.1e}"
            + (f", peak {result['peak_mib']:.0f} MiB)" if result["peak_mib"] is not None else ")"),
            flush=True,
        )
    rates = scaling.sgemm_rates(n_samples, n_clusters, n_features, repeats=3 if n_samples > 200_000 else 7)
    cell["sgemm"] = rates
    product_seconds = 2.0 * n_samples * n_clusters * n_features / (max(rates.values()) * 1e9)
    read_seconds = samples.nbytes / (bandwidth_gbps * 1e9)
    cell["floor_seconds"] = max(product_seconds, read_seconds)
    cell["floor_bound"] = "product" if product_seconds >= read_seconds else "memory"
    sklearn = cell["results"]["sklearn"]
    for result in cell["results"].values():
        result["times_floor"] = result["seconds_per_iteration"] / cell["floor_seconds"]
        result["speed_vs_sklearn"] = sklearn["seconds_per_iteration"] / result["seconds_per_iteration"]
        result["extra_iteration_speed_vs_sklearn"] = (
            sklearn["seconds_per_extra_iteration"] / result["seconds_per_extra_iteration"]
        )
    return cell


def startup_check(repeats):
    """Wall time of ``python kmeans_iterate.py`` (headless) against importing TF and matplotlib."""
    environment = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    environment["MPLBACKEND"] = "Agg"
    scratch = Path(tempfile.mkdtemp(prefix="benchmark-kmeans-"))
    commands = {
        "import tensorflow, matplotlib.pyplot": [
            sys.executable,
            "-c",
            "import tensorflow, matplotlib.pyplot",
        ],
        "python kmeans_iterate.py": [
            sys.executable,
            str(REPO / "kmeans_iterate.py"),
            "--save",
            str(scratch / "figure.png"),
        ],
    }
    timings = {}
    for label, command in commands.items():
        runs = []
        for _ in range(repeats):
            begin = time.perf_counter()
            subprocess.run(command, env=environment, cwd=scratch, check=True, capture_output=True)
            runs.append(time.perf_counter() - begin)
        timings[label] = {"median_seconds": statistics.median(runs), "runs": runs}
    return timings


# --- reporting ------------------------------------------------------------------------------


def markdown_table(report):
    machine = report.get("rates", {})
    lines = []
    if machine:
        lines += [
            f"Machine: sgemm {machine['square']['numpy_gflops']:.0f} GFLOP/s with NumPy's BLAS and "
            f"{machine['square']['xla_gflops']:.0f} GFLOP/s with XLA (2,048 x 2,048 by 2,048 x 2,048, float32); "
            f"memory read {machine['bandwidth']['numpy_gbps']:.1f} GB/s with NumPy (one thread), "
            f"{machine['bandwidth']['tensorflow_gbps']:.1f} GB/s with TensorFlow (all cores).",
            "",
        ]
    lines += [
        "| n | k | d | implementation | iterations | ms / iteration | vs scikit-learn | ms / extra iteration "
        "| vs scikit-learn | floor (ms) | x floor | warm-up extra (s) | peak RSS (MiB) | agrees with float64 |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for cell in report["cells"]:
        for name in IMPLEMENTATIONS:
            if name not in cell["results"]:
                continue
            result = cell["results"][name]
            peak = "n/a" if result["peak_mib"] is None else f"{result['peak_mib']:,.0f}"
            floor = f"{cell['floor_seconds'] * 1e3:.3f} ({cell['floor_bound']})"
            lines.append(
                f"| {cell['n_samples']:,} | {cell['n_clusters']} | {cell['n_features']} | {name} "
                f"| {result['iterations_run']} | {result['seconds_per_iteration'] * 1e3:.3f} "
                f"| {result['speed_vs_sklearn']:.2f}x | {result['seconds_per_extra_iteration'] * 1e3:.3f} "
                f"| {result['extra_iteration_speed_vs_sklearn']:.2f}x | {floor} | {result['times_floor']:.1f} "
                f"| {result['warm_up_extra_seconds']:.2f} | {peak} | {'yes' if result['agrees'] else 'NO'} |"
            )
    notes = [
        f"- n={c['n_samples']:,}, k={c['n_clusters']}, d={c['n_features']}: {note}"
        for c in report["cells"]
        for note in c["notes"]
    ]
    notes += [
        f"- n={c['n_samples']:,}, k={c['n_clusters']}, d={c['n_features']}: the distance product ran at "
        f"{c['sgemm']['numpy_gflops']:.0f} GFLOP/s with NumPy, {c['sgemm']['xla_gflops']:.0f} with XLA"
        for c in report["cells"]
    ]
    text = "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"
    sections = report.get("sections", {})
    if "minibatch" in sections:
        m = sections["minibatch"]
        text += (
            f"\nMini-batch k-means, {m['n_samples']:,} x 16 blobs, 16 clusters, batch size 1,024, the same k-means++ "
            f"start, at most 100 passes, each with its default stopping rule (median of the runs):\n\n"
            "| implementation | seconds | vs scikit-learn | steps | passes | inertia vs full k-means | worst run |\n"
            "|---|---:|---:|---:|---:|---:|---:|\n"
        )
        for name in ("MiniBatchKMeans", "sklearn MiniBatchKMeans"):
            r = m[name]
            speed = m["speed_vs_sklearn"] if name == "MiniBatchKMeans" else 1.0
            text += (
                f"| {name} | {r['seconds']:.2f} | {speed:.2f}x | {r['steps']:,.0f} | {r['passes']:.0f} "
                f"| {r['inertia_vs_full']:+.2%} | {r['worst_inertia_vs_full']:+.2%} |\n"
            )
    if "stream" in sections:
        st = sections["stream"]
        text += (
            f"\nStreaming a .npy file of {st['n_samples']:,} x {st['n_features']} float32 ({st['file_gb']:.1f} GB), "
            f"{st['n_clusters']} clusters: one pass in {st['seconds_per_pass']:.2f} s, {st['gb_per_second']:.2f} GB/s, "
            f"{st['share_of_read_bandwidth']:.0%} of the machine's memory read bandwidth. The whole command "
            f"(`tfkmeans --data <file> --n-clusters {st['n_clusters']} --iterations 5 --init kmeans++ --labels ...`) "
            f"took {st['command_seconds']:.0f} s with a peak resident memory of {st['command_peak_mib']:,} MiB.\n"
        )
    if "workers" in sections:
        w = sections["workers"]
        text += (
            f"\nOne worker process against two on this machine ({w['n_samples']:,} x 16, 16 clusters, a 10-iteration "
            "KMeans fit after a warm-up fit, the slowest worker's time, median of the runs):\n\n"
            "| set-up | seconds |\n|---|---:|\n"
            + "".join(f"| {label} | {w[label]:.2f} |\n" for label in ("no strategy", "1 worker", "2 workers"))
        )
    if "loading" in sections:
        lo = sections["loading"]
        text += (
            f"\nReading your own data, `tfkmeans --data` end to end, {lo['n_samples']:,} x 8: a CSV file "
            f"({lo['csv_mb']:.0f} MB) {lo['csv_seconds']:.2f} s, the same numbers in .npy {lo['npy_seconds']:.2f} s: "
            f"{lo['ratio']:.2f}x.\n"
        )
    if report.get("startup"):
        text += "\n| command (headless) | median wall time (s) |\n|---|---:|\n"
        for label, timing in report["startup"].items():
            text += f"| `{label}` | {timing['median_seconds']:.2f} |\n"
    return text


def plot(report, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shapes = sorted({(c["n_clusters"], c["n_features"]) for c in report["cells"]})
    figure, axes = plt.subplots(1, len(shapes), figsize=(5 * len(shapes), 4.2), squeeze=False)
    for ax, (k, d) in zip(axes[0], shapes):
        cells = [c for c in report["cells"] if (c["n_clusters"], c["n_features"]) == (k, d)]
        for name in IMPLEMENTATIONS:
            points = [
                (c["n_samples"], c["results"][name]["seconds_per_iteration"] * 1e3)
                for c in cells
                if name in c["results"]
            ]
            if points:
                ax.plot(*zip(*points), "o-", label=name)
        floor = [(c["n_samples"], c["floor_seconds"] * 1e3) for c in cells]
        ax.plot(*zip(*floor), "k--", label="floor")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("samples (n)")
        ax.set_ylabel("ms per iteration")
        ax.set_title(f"k={k} clusters, d={d} features")
        ax.grid(alpha=0.3, which="both")
        ax.legend()
    figure.suptitle(
        f"k-means, time per iteration (median of {report['repeats']} runs) - {report['machine']['description']}"
    )
    figure.tight_layout()
    from tfkmeans._output import save_figure

    save_figure(figure, path)
    plt.close(figure)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small slice of the grid, in seconds (what CI runs)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per cell after the warm-up (default 5)")
    parser.add_argument("--iterations", type=int, default=10, help="Lloyd iterations per run (default 10)")
    parser.add_argument(
        "--lesson-limit-gib", type=float, default=2.0, help="skip the lesson loop above this n x k x d size"
    )
    parser.add_argument(
        "--output-dir", type=Path, default=REPO / "benchmarks" / "results", help="where to write the results"
    )
    parser.add_argument("--device-label", default=None, help="how to name this machine in the results")
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="only rewrite the table and the chart from an earlier benchmark.json",
    )
    parser.add_argument(
        "--sections",
        default="lloyd,minibatch,stream,workers,loading,startup",
        help="which parts to run (default all): lloyd (the grid), minibatch, stream, workers, loading, startup",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        metavar="JSON",
        help="start from an earlier benchmark.json and replace only the --sections run now",
    )
    parser.add_argument(
        "--readme",
        type=Path,
        metavar="PATH",
        help="also put the tables into this Markdown file, between its <!-- benchmark:start --> and "
        "<!-- benchmark:end --> lines",
    )
    parser.add_argument("--probe", nargs=5, metavar="ARG", help=argparse.SUPPRESS)  # internal: a memory probe
    args = parser.parse_args()
    if args.probe:
        name, *sizes = args.probe
        probe(name, *map(int, sizes))
        return
    if args.repeats < 1 or args.iterations < 1:
        parser.error("--repeats and --iterations must be at least 1")
    if not args.output_dir.parent.is_dir():
        parser.error(f"--output-dir {args.output_dir}: its parent directory does not exist")
    args.output_dir.mkdir(exist_ok=True)
    if args.readme is not None and "<!-- benchmark:start -->" not in args.readme.read_text():
        parser.error(f"--readme {args.readme}: it has no <!-- benchmark:start --> line")
    if args.render:
        write_results(json.loads(args.render.read_text()), args.output_dir, args.readme)
        return

    import sklearn
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    description = args.device_label or (f"{os.cpu_count()} CPU cores" + (f", {len(gpus)} GPU" if gpus else ", no GPU"))
    sections_asked = set(args.sections.split(","))
    unknown = sections_asked - {"lloyd", "minibatch", "stream", "workers", "loading", "startup"}
    if unknown:
        parser.error(f"--sections: unknown {', '.join(sorted(unknown))}")
    report = json.loads(args.merge.read_text()) if args.merge else {"cells": [], "sections": {}}
    report.update(
        machine={
            "description": description,
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "gpus": [gpu.name for gpu in gpus],
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
        },
        iterations=args.iterations,
        repeats=args.repeats,
        quick=args.quick,
    )
    if "lloyd" in sections_asked or "rates" not in report:
        print("machine rates", flush=True)
        report["rates"] = {
            "square": scaling.sgemm_rates(2048, 2048, 2048, repeats=3),
            "bandwidth": scaling.read_bandwidth(0.25 if args.quick else 1.0),
        }
    bandwidth = max(report["rates"]["bandwidth"].values())
    if "lloyd" in sections_asked:
        report["cells"] = []
        for n_samples, n_clusters, n_features in QUICK_GRID if args.quick else FULL_GRID:
            print(f"n={n_samples:,} k={n_clusters} d={n_features}", flush=True)
            report["cells"].append(
                benchmark_cell(
                    n_samples,
                    n_clusters,
                    n_features,
                    args.iterations,
                    args.repeats,
                    args.lesson_limit_gib,
                    memory=not args.quick,
                    bandwidth_gbps=bandwidth,
                )
            )
    pick = 1 if args.quick else 0
    sections = report.setdefault("sections", {})
    if "minibatch" in sections_asked:
        print("mini-batch", flush=True)
        sections["minibatch"] = scaling.minibatch(make_blobs, SECTION_SIZES["minibatch"][pick], repeats=3)
    if "stream" in sections_asked:
        print("streaming", flush=True)
        sections["stream"] = scaling.streaming(*SECTION_SIZES["stream"][pick], bandwidth_gbps=bandwidth, repeats=3)
    if "workers" in sections_asked and not args.quick:
        print("workers", flush=True)
        sections["workers"] = scaling.workers(make_blobs, SECTION_SIZES["workers"][0], repeats=3)
    if "loading" in sections_asked:
        print("loading", flush=True)
        sections["loading"] = scaling.loading(SECTION_SIZES["loading"][pick], repeats=3 if not args.quick else 1)
    if "startup" in sections_asked and not args.quick:
        print("start-up check", flush=True)
        report["startup"] = startup_check(repeats=5)

    write_results(report, args.output_dir, args.readme)


def write_results(report, output_dir, readme=None):
    """benchmark.md, benchmark.json and benchmark.png in ``output_dir``; the tables in ``readme``."""
    from tfkmeans._output import atomic_write

    table = markdown_table(report)
    print()
    print(table)
    for name, text in (("benchmark.md", table), ("benchmark.json", json.dumps(report, indent=1) + "\n")):
        with atomic_write(output_dir / name) as temporary:
            Path(temporary).write_text(text)
    plot(report, output_dir / "benchmark.png")
    if readme is not None:
        text = readme.read_text()
        before, rest = text.split("<!-- benchmark:start -->\n", 1)
        _, after = rest.split("<!-- benchmark:end -->", 1)
        with atomic_write(readme) as temporary:
            Path(temporary).write_text(f"{before}<!-- benchmark:start -->\n{table}<!-- benchmark:end -->{after}")
        print(f"Tables put into {readme}")
    print(f"Results written to {output_dir}/benchmark.md, benchmark.json and benchmark.png")


if __name__ == "__main__":
    main()
