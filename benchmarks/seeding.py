"""Benchmark: k-means|| against k-means++ on a sample, as starts for a stream with many small clusters.

The data: ``--rows`` rows (16,000,000 by default) of 8 features in 1,000 clusters whose sizes
fall as a power law (the largest holds thousands of times as many rows as the smallest, which
holds about 20), written to a ``.npy`` file and streamed from it a batch at a time. Each start
is fitted by ``tfkmeans.KMeans`` over the stream, ``n_init=1``, 10 iterations, ``tol=0``:

- ``k-means++``: greedy k-means++ on a uniform sample of 100,000 rows (the stream's default);
- ``k-means||``: Bahmani et al.'s rounds over the whole stream (``init="k-means||"``, 5 rounds,
  oversampling factor 2), then weighted k-means++ and Lloyd on the candidates.

For each of ``--seeds`` seeds: the final inertia, and the wall time of the start (from the fit's
call to its first Lloyd pass: the stream's survey, and the seeding). Medians and spreads.

    python benchmarks/seeding.py [--quick] [--rows N] [--seeds S] [--readme docs/benchmarks.md benchmarks/README.md]

--readme writes the table between <!-- seeding:start --> and <!-- seeding:end -->.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from grid import publish  # noqa: E402


def power_law_clusters(n_rows, n_clusters, n_features, path, seed=0, chunk=1_000_000):
    """Rows in ``n_clusters`` well-separated Gaussian clusters whose sizes fall as rank**-1.5
    (the smallest about 20 rows), shuffled, written to ``path`` a chunk at a time."""
    rng = np.random.default_rng(seed)
    weights = np.arange(1, n_clusters + 1, dtype=np.float64) ** -1.5
    sizes = np.maximum(20, np.floor(weights / weights.sum() * n_rows)).astype(np.int64)
    sizes[0] += n_rows - sizes.sum()
    centres = rng.uniform(-100, 100, size=(n_clusters, n_features)).astype(np.float32)
    labels = rng.permutation(np.repeat(np.arange(n_clusters), sizes))
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_rows, n_features))
    for begin in range(0, n_rows, chunk):
        part = labels[begin : begin + chunk]
        out[begin : begin + len(part)] = centres[part] + rng.standard_normal((len(part), n_features), dtype=np.float32)
    out.flush()
    del out
    return sizes


def fit(path, init, seed):
    """One fit over the stream: (final inertia, seconds of the start, seconds in all)."""
    from tfkmeans import KMeans, _loop
    from tfkmeans._input import npy_dataset

    dataset, _, _ = npy_dataset(path)
    original, started = _loop.lloyd_passes, []

    def timed(*arguments, **keywords):
        started.append(time.perf_counter())
        return original(*arguments, **keywords)

    _loop.lloyd_passes = timed
    try:
        begin = time.perf_counter()
        model = KMeans(1000, init=init, n_init=1, max_iter=10, tol=0, random_state=seed).fit(dataset)
        end = time.perf_counter()
    finally:
        _loop.lloyd_passes = original
    return model.inertia_, started[0] - begin, end - begin


def spread(values, digits):
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200,000 rows, 2 seeds: does it run?")
    parser.add_argument("--rows", type=int, default=16_000_000)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--json")
    parser.add_argument("--readme", nargs="*", default=[])
    args = parser.parse_args(argv)
    rows, seeds = (200_000, 2) if args.quick else (args.rows, args.seeds)
    results = {"k-means++": [], "k-means||": []}
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "clusters.npy"
        sizes = power_law_clusters(rows, 1000, 8, path)
        for seed in range(seeds):
            for init in results:
                results[init].append(fit(path, init, seed))
                inertia, start, total = results[init][-1]
                print(f"seed {seed} {init}: inertia {inertia:.6g}, start {start:.1f} s, fit {total:.1f} s", flush=True)
    lines = [
        f"{rows:,} rows x 8 features in 1,000 clusters of {sizes.min():,} to {sizes.max():,} rows, streamed from a "
        f".npy file; each start then 10 iterations, tol=0; medians over {seeds} seeds (lowest-highest).",
        "",
        "| start | final inertia | start's wall time (s) | whole fit (s) | passes over the data for the start |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| k-means++ on a 100,000-row sample | {spread([r[0] for r in results['k-means++']], 0)} | "
        f"{spread([r[1] for r in results['k-means++']], 1)} | {spread([r[2] for r in results['k-means++']], 1)} | 2 |",
        f"| k-means\\|\\| (5 rounds, oversampling 2) | {spread([r[0] for r in results['k-means||']], 0)} | "
        f"{spread([r[1] for r in results['k-means||']], 1)} | {spread([r[2] for r in results['k-means||']], 1)} | 2 + 11 |",
    ]
    publish("\n".join(lines), {"rows": rows, "seeds": seeds, "results": results}, args, name="seeding")


if __name__ == "__main__":
    main()
