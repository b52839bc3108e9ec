"""Benchmark: tfkmeans.KMeans against scikit-learn's KMeans on a grid of everyday sizes.

Each cell: float32 Gaussian blobs (n samples, k centres, d features, overlapping, so that
samples keep changing cluster), the same random start for all, n_init=1, 10 iterations, tol=0,
scikit-learn's algorithm="lloyd"; all fitted in this one process, in turn, --repeats times
after a warm-up (which pays for compilation); the median whole fit of each. Intel's oneDAL
(scikit-learn-intelex) and faiss are measured too where installed (benchmarks/requirements-peers.txt). "vs scikit-learn" is
scikit-learn's time divided by ours: above 1x is faster. The floor is what no fit of 11 passes
(the first assignment and 10 updates) can beat on this machine: 11 distance products (2 n k d
flops each) at the CPU's best matrix-product rate (measured on 2,048 x 2,048 matrices), or 11
reads of the data at its measured memory bandwidth, whichever is longer.

    python benchmarks/grid.py                        # the grid (about 15 minutes here)
    python benchmarks/grid.py --quick                # three small cells: does it run?
    python benchmarks/grid.py --readme benchmarks/README.md docs/benchmarks.md

--readme writes the table between the lines <!-- grid:start --> and <!-- grid:end --> of each
file given.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

GRID = [
    # (n_samples, n_clusters, n_features): from 100K to 5M samples, 3 to 1,024 clusters, 2 to 300
    # features; the three cells the earlier work was tuned on first.
    (1_000_000, 3, 2),
    (1_000_000, 16, 16),
    (200_000, 100, 64),
    (100_000, 3, 2),
    (5_000_000, 3, 2),
    (3_000_000, 8, 8),
    (5_000_000, 16, 8),
    (100_000, 32, 300),
    (1_000_000, 100, 64),
    (2_000_000, 64, 64),
    (500_000, 256, 32),
    (100_000, 512, 300),
    (200_000, 1024, 128),
    (1_000_000, 1024, 16),
]
QUICK_GRID = [(20_000, 3, 2), (20_000, 100, 16), (5_000, 300, 32)]


def blobs(n_samples, n_clusters, n_features, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, size=(n_clusters, n_features)).astype(np.float32)
    samples = rng.standard_normal((n_samples, n_features), dtype=np.float32)
    samples *= 3.0 * np.sqrt(n_features / 2)
    labels = rng.integers(0, n_clusters, n_samples)
    for begin in range(0, n_samples, 65_536):
        samples[begin : begin + 65_536] += centres[labels[begin : begin + 65_536]]
    start = samples[rng.choice(n_samples, n_clusters, replace=False)]
    return samples, start


def machine_rates():
    """The best matrix-product rate (GFLOP/s, 2,048-square float32, NumPy's BLAS or TensorFlow's
    oneDNN) and the memory read bandwidth (GB/s, TensorFlow's sum over 1 GiB)."""
    from tfkmeans._tensorflow import tf  # TensorFlow, loaded without its log lines

    rng = np.random.default_rng(0)
    a = rng.standard_normal((2048, 2048), dtype=np.float32)
    ta = tf.constant(a)
    product = tf.function(lambda x: tf.matmul(x, x))
    rates = []
    for run in (lambda: a @ a, lambda: product(ta).numpy()):
        run()
        seconds = statistics.median(_time(run) for _ in range(5))
        rates.append(2 * 2048**3 / seconds / 1e9)
    array = tf.constant(np.ones(2**28, np.float32))
    tf.reduce_sum(array).numpy()
    seconds = statistics.median(_time(lambda: tf.reduce_sum(array).numpy()) for _ in range(5))
    return max(rates), 2**30 / seconds / 1e9


def _time(run):
    begin = time.perf_counter()
    run()
    return time.perf_counter() - begin


def optional_peers():
    """The peers measured when installed: Intel's oneDAL through scikit-learn-intelex, and faiss
    (every point used: ``max_points_per_centroid`` large). Their versions, and a fit of each."""
    peers, versions = {}, {}
    try:
        import sklearnex
        from sklearnex.cluster import KMeans as OneDALKMeans

        versions["oneDAL"] = getattr(sklearnex, "__version__", "installed")
        peers["oneDAL"] = lambda samples, start: OneDALKMeans(
            n_clusters=len(start), init=start, n_init=1, max_iter=10, tol=0
        ).fit(samples)
    except ImportError:
        pass
    try:
        import faiss

        versions["faiss"] = faiss.__version__

        def faiss_fit(samples, start):
            model = faiss.Kmeans(samples.shape[1], len(start), niter=10, max_points_per_centroid=10**9, seed=1)
            model.train(samples, init_centroids=start)
            return model

        peers["faiss"] = faiss_fit
    except ImportError:
        pass
    return peers, versions


def cell(n_samples, n_clusters, n_features, repeats, gflops, bandwidth, peers=None):
    from sklearn.cluster import KMeans as ScikitKMeans

    from tfkmeans import KMeans

    peers = peers or {}
    samples, start = blobs(n_samples, n_clusters, n_features)
    arguments = dict(n_clusters=n_clusters, init=start, n_init=1, max_iter=10, tol=0)
    ours, theirs = KMeans(**arguments), ScikitKMeans(**arguments)
    warm_up = _time(lambda: ours.fit(samples))
    for fit in peers.values():
        fit(samples, start)  # their warm-up
    ours_times, theirs_times, peer_times = [], [], {name: [] for name in peers}
    for _ in range(repeats):
        ours_times.append(_time(lambda: ours.fit(samples)))
        theirs_times.append(_time(lambda: theirs.fit(samples)))
        for name, fit in peers.items():
            peer_times[name].append(_time(lambda fit=fit: fit(samples, start)))
    ours_seconds, theirs_seconds = statistics.median(ours_times), statistics.median(theirs_times)
    passes = ours.n_iter_ + 1
    floor = passes * max(2.0 * n_samples * n_clusters * n_features / (gflops * 1e9), samples.nbytes / (bandwidth * 1e9))
    return {
        "n_samples": n_samples,
        "n_clusters": n_clusters,
        "n_features": n_features,
        "ours_seconds": ours_seconds,
        "sklearn_seconds": theirs_seconds,
        "ours_runs": ours_times,
        "sklearn_runs": theirs_times,
        "speed_vs_sklearn": theirs_seconds / ours_seconds,
        "warm_up_extra_seconds": max(warm_up - ours_seconds, 0.0),
        "floor_seconds": floor,
        "times_floor": ours_seconds / floor,
        "iterations": [int(ours.n_iter_), int(theirs.n_iter_)],
        "inertia_vs_sklearn": ours.inertia_ / theirs.inertia_ - 1.0,
        "peers": {name: statistics.median(times) / ours_seconds for name, times in peer_times.items()},
        "peer_runs": peer_times,
    }


def table(results, gflops, bandwidth, versions=None):
    peers = sorted(results[0].get("peers", {})) if results else []
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; best matrix product "
        f"{gflops:.0f} GFLOP/s, memory read {bandwidth:.1f} GB/s. Whole fits, median of the runs, 10 iterations "
        "from the same start (scikit-learn's lloyd"
        + "".join(f", {name} {versions[name]}" for name in peers)
        + " in the same process).",
        "",
        "| n | k | d | tfkmeans (s) | scikit-learn (s) | vs scikit-learn | "
        + "".join(f"vs {name} | " for name in peers)
        + "floor (s) | x floor | inertia vs scikit-learn |",
        "|---:|---:|---:|---:|---:|---:|" + "---:|" * len(peers) + "---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['n_samples']:,} | {r['n_clusters']:,} | {r['n_features']} | {r['ours_seconds']:.3f} | "
            f"{r['sklearn_seconds']:.3f} | {r['speed_vs_sklearn']:.2f}x | "
            + "".join(f"{r['peers'][name]:.2f}x | " for name in peers)
            + f"{r['floor_seconds']:.3f} | {r['times_floor']:.1f} | {r['inertia_vs_sklearn']:+.1e} |"
        )
    speeds = [r["speed_vs_sklearn"] for r in results]
    geometric = float(np.exp(np.mean(np.log(speeds))))
    lines += ["", f"Slowest cell {min(speeds):.2f}x, geometric mean {geometric:.2f}x against scikit-learn."]
    for name in peers:
        ratios = [r["peers"][name] for r in results]
        lines[-1] += (
            f" Against {name}: slowest {min(ratios):.2f}x, geometric mean {np.exp(np.mean(np.log(ratios))):.2f}x."
        )
    return "\n".join(lines)


def write_between_markers(path, text, name="grid"):
    path = Path(path)
    content = path.read_text()
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in content or end not in content:
        raise SystemExit(f"{path}: no {start} ... {end} lines to write between")
    before, rest = content.split(start, 1)
    after = rest.split(end, 1)[1]
    path.write_text(f"{before}{start}\n{text}\n{end}{after}")


def publish(text, record, args, name):
    """A benchmark's table printed, its figures written as JSON (``--json``) and the table put
    between the ``name`` markers of each page in ``--readme``."""
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=1))
    for path in args.readme:
        write_between_markers(path, text, name=name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three small cells")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cells", help="only these cells, as n,k,d;n,k,d")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--readme", nargs="*", default=[], help="write the table into these files")
    args = parser.parse_args(argv)
    grid = QUICK_GRID if args.quick else GRID
    if args.cells:
        grid = [tuple(int(v) for v in c.split(",")) for c in args.cells.split(";")]
    gflops, bandwidth = machine_rates()
    peers, versions = optional_peers()
    results = []
    for n_samples, n_clusters, n_features in grid:
        result = cell(n_samples, n_clusters, n_features, args.repeats, gflops, bandwidth, peers)
        results.append(result)
        print(
            f"n={n_samples:,} k={n_clusters} d={n_features}: ours {result['ours_seconds']:.3f} s, scikit-learn "
            f"{result['sklearn_seconds']:.3f} s, {result['speed_vs_sklearn']:.2f}x, {result['times_floor']:.1f} x floor",
            flush=True,
        )
    text = table(results, gflops, bandwidth, versions)
    publish(text, {"gflops": gflops, "bandwidth": bandwidth, "versions": versions, "cells": results}, args, name="grid")


if __name__ == "__main__":
    main()
