"""Benchmark: sparse data, tfkmeans.KMeans against scikit-learn's KMeans.

The data is TF-IDF-like: 200,000 rows over a vocabulary of 50,000 terms, about 50 distinct terms
a row (10 million stored numbers), rows of unit length. Each row belongs to one of 50 topics and
draws 63 terms, half from the topic's own words and half from a Zipf-distributed common
vocabulary (repeats add up), so a few columns are dense and most are rare, as in real text. k=50, the same random start for
both, n_init=1, 10 iterations, tol=0, scikit-learn's algorithm="lloyd".

- **Speed**: both fitted in one fresh process, alternately, --repeats times after a warm-up; the
  median whole fit of each.
- **Peak memory**: each fitted once in a fresh process of its own that loads the matrix and fits
  it; the process's own VmHWM, which counts TensorFlow and the matrix itself (ru_maxrss would
  count the parent's too).

    python benchmarks/sparse.py [--quick] [--readme benchmarks/README.md docs/benchmarks.md]

--readme writes the table between <!-- sparse:start --> and <!-- sparse:end -->.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import scipy.sparse  # noqa: E402
from grid import publish  # noqa: E402


def tfidf_like(n_samples, n_terms, terms_per_row, n_topics, seed=0):
    """A float32 CSR matrix shaped like TF-IDF rows, as the module docstring describes."""
    rng = np.random.default_rng(seed)
    topic = rng.integers(n_topics, size=n_samples)
    own = terms_per_row // 2
    block = n_terms // n_topics
    topic_terms = topic[:, None] * block + rng.integers(block, size=(n_samples, own))
    # Zipf-distributed ranks folded into the vocabulary: term 0 is the most common.
    common_terms = (rng.zipf(1.3, size=(n_samples, terms_per_row - own)) - 1) % n_terms
    columns = np.concatenate([topic_terms, common_terms], axis=1).ravel()
    rows = np.repeat(np.arange(n_samples), terms_per_row)
    values = rng.exponential(size=rows.size).astype(np.float32)
    X = scipy.sparse.coo_matrix((values, (rows, columns)), shape=(n_samples, n_terms)).tocsr()
    X.sum_duplicates()
    lengths = np.sqrt(np.asarray(X.multiply(X).sum(axis=1), dtype=np.float32)).ravel()
    return (scipy.sparse.diags(1 / lengths) @ X).astype(np.float32).tocsr()


CHILD = """
import json, statistics, sys, time
import numpy as np, scipy.sparse

mode, path, n_clusters, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
X = scipy.sparse.load_npz(path).tocsr()
start = X[np.random.default_rng(1).choice(X.shape[0], n_clusters, replace=False)].toarray()
arguments = dict(n_clusters=n_clusters, init=start, n_init=1, max_iter=10, tol=0)

def ours():
    from tfkmeans import KMeans
    return KMeans(**arguments).fit(X)

def theirs():
    from sklearn.cluster import KMeans
    return KMeans(algorithm="lloyd", **arguments).fit(X)

def timed(fit):
    begin = time.perf_counter()
    model = fit()
    return time.perf_counter() - begin, model

result = {}
if mode == "speed":
    ours(), theirs()  # the warm-up: imports, and compilation for ours
    times = {"ours": [], "theirs": []}
    for _ in range(repeats):
        for name, fit in (("ours", ours), ("theirs", theirs)):
            seconds, model = timed(fit)
            times[name].append(seconds)
            result[name + "_inertia"] = float(model.inertia_)
            result[name + "_n_iter"] = int(model.n_iter_)
    result.update({name: statistics.median(values) for name, values in times.items()})
else:
    result["seconds"], _ = timed(ours if mode == "peak-ours" else theirs)
# VmHWM of this process itself: getrusage's ru_maxrss would include what the parent had.
with open("/proc/self/status") as status:
    result["peak_mib"] = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
print("RESULT", json.dumps(result))
"""


def child(mode, path, n_clusters, repeats):
    finished = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(path), str(n_clusters), str(repeats)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=3600,
    )
    line = next((line for line in finished.stdout.splitlines() if line.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"the {mode} process failed:\n{finished.stderr[-3000:]}")
    return json.loads(line[len("RESULT ") :])


def table(shape, nnz, n_clusters, results):
    speed, ours, theirs = results["speed"], results["peak-ours"], results["peak-sklearn"]
    n, d = shape
    return "\n".join(
        [
            f"{n:,} x {d:,} CSR, {nnz:,} stored numbers ({nnz / n:.0f} a row, rows of unit length), "
            f"k={n_clusters}, 10 iterations from the same start.",
            "",
            "| | tfkmeans | scikit-learn | scikit-learn / tfkmeans |",
            "|---|---:|---:|---:|",
            f"| whole fit, median of {results['repeats']} in one process (s) | {speed['ours']:.2f} | "
            f"{speed['theirs']:.2f} | {speed['theirs'] / speed['ours']:.2f}x |",
            f"| inertia | {speed['ours_inertia']:.6g} | {speed['theirs_inertia']:.6g} | "
            f"{speed['theirs_inertia'] / speed['ours_inertia']:.6f} |",
            f"| peak memory of a fresh process that loads and fits (MiB) | {ours['peak_mib']:.0f} | "
            f"{theirs['peak_mib']:.0f} | |",
        ]
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 x 5,000: does it run?")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json")
    parser.add_argument("--readme", nargs="*", default=[])
    args = parser.parse_args(argv)
    n_samples, n_terms = (20_000, 5_000) if args.quick else (200_000, 50_000)
    n_clusters = 50
    X = tfidf_like(n_samples, n_terms, terms_per_row=63, n_topics=50)
    results = {"repeats": args.repeats}
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "tfidf.npz"
        scipy.sparse.save_npz(path, X, compressed=False)
        for mode in ("speed", "peak-ours", "peak-sklearn"):
            results[mode] = child(mode, path, n_clusters, args.repeats)
    text = table(X.shape, X.nnz, n_clusters, results)
    publish(text, results, args, name="sparse")


if __name__ == "__main__":
    main()
