"""Benchmark: tfkmeans.SphericalKMeans (cosine geometry) against what users run today.

Two cells, each from the same start for every method, n_init=1, 10 iterations, tol=0:

- **Sparse text**: the TF-IDF-like matrix of ``sparse.py`` (200,000 x 50,000, about 10 million
  stored numbers, rows of unit length), k=50, against scikit-learn's ``KMeans``
  (algorithm="lloyd") on the same unit rows: the workaround for cosine geometry that
  scikit-learn offers. Also the peak memory of a fresh process that loads the matrix and fits
  it with ``SphericalKMeans``: its own VmHWM.
- **Dense embeddings**: 1,000,000 x 128 float32 rows of unit length around 256 directions,
  k=256, against faiss' ``Kmeans(spherical=True)`` with every point used
  (``max_points_per_centroid`` large), when faiss is installed.

Speed: each method fitted in one fresh process, in turn, ``--repeats`` times after a warm-up (which
pays for compilation); the median whole fit of each, and its spread (lowest to highest). Ratios
above 1x mean ``SphericalKMeans`` is faster. The objective of each result is reported as the
mean cosine similarity of the rows to their centres (``SphericalKMeans`` maximises it).

    python benchmarks/spherical.py [--quick] [--repeats N] [--readme benchmarks/README.md docs/benchmarks.md]

--readme writes the table between <!-- spherical:start --> and <!-- spherical:end -->.
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
from sparse import tfidf_like  # noqa: E402

CHILD = """
import json, statistics, sys, time
import numpy as np, scipy.sparse

mode, path, n_clusters, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
X = scipy.sparse.load_npz(path).tocsr() if path.endswith(".npz") else np.load(path)
start = X[np.random.default_rng(1).choice(X.shape[0], n_clusters, replace=False)]
start = start.toarray() if scipy.sparse.issparse(start) else start
arguments = dict(n_clusters=n_clusters, init=start, n_init=1, max_iter=10, tol=0)


def cohesion(centres, labels):
    unit = (centres / np.linalg.norm(centres, axis=1, keepdims=True)).astype(np.float64)
    if scipy.sparse.issparse(X):  # nonzero by nonzero: never the n x d matrix of centres
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        return float(np.dot(X.data.astype(np.float64), unit[labels[rows], X.indices]) / X.shape[0])
    return float(np.einsum("ij,ij->", X, unit[labels], dtype=np.float64) / X.shape[0])


def ours():
    from tfkmeans import SphericalKMeans
    model = SphericalKMeans(**arguments).fit(X)
    return model.cluster_centers_, model.labels_


def scikit_learn():
    from sklearn.cluster import KMeans
    model = KMeans(algorithm="lloyd", **arguments).fit(X)
    return model.cluster_centers_, model.labels_


def faiss_spherical():
    import faiss
    model = faiss.Kmeans(X.shape[1], n_clusters, niter=10, spherical=True, max_points_per_centroid=10**9, seed=1)
    model.train(X, init_centroids=start)
    return model.centroids, model.index.search(X, 1)[1][:, 0]


peers = {"sparse": [("scikit-learn", scikit_learn)], "dense": []}
try:
    import faiss
    peers["dense"].append(("faiss", faiss_spherical))
    faiss_version = faiss.__version__
except ImportError:
    faiss_version = None
result = {"faiss_version": faiss_version}
if mode.startswith("peak"):
    begin = time.perf_counter()
    ours()
    result["seconds"] = time.perf_counter() - begin
else:
    methods = [("ours", ours)] + peers[mode]
    for _, fit in methods:
        fit()  # the warm-up: imports, and compilation for ours
    times = {name: [] for name, _ in methods}
    for _ in range(repeats):
        for name, fit in methods:
            begin = time.perf_counter()
            fit()
            times[name].append(time.perf_counter() - begin)
    for name, fit in methods:
        centres, labels = fit()
        result[name] = {"median": statistics.median(times[name]), "low": min(times[name]), "high": max(times[name]),
                        "cohesion": cohesion(centres, labels)}
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


def embeddings(n_samples, n_features, n_directions, seed=0):
    """float32 rows of unit length scattered around ``n_directions`` random directions."""
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(n_directions, n_features)).astype(np.float32)
    X = directions[rng.integers(0, n_directions, n_samples)]
    X += rng.normal(scale=1.5, size=(n_samples, n_features)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X


def rows(cell, peers):
    lines = []
    ours = cell["ours"]
    for name in peers:
        theirs = cell[name]
        lines.append(
            f"| {cell['title']} | {ours['median']:.2f} ({ours['low']:.2f}-{ours['high']:.2f}) | {name}: "
            f"{theirs['median']:.2f} ({theirs['low']:.2f}-{theirs['high']:.2f}) | {theirs['median'] / ours['median']:.2f}x "
            f"| {ours['cohesion']:.4f} / {theirs['cohesion']:.4f} |"
        )
    return lines


def table(sparse, dense, repeats, faiss_version):
    lines = [
        f"10 iterations from the same start, n_init=1, tol=0; medians of {repeats} fits in one process, in turn, "
        "lowest to highest in brackets.",
        "",
        "| cell | SphericalKMeans (s) | peer (s) | peer / ours | mean cosine similarity, ours / peer |",
        "| --- | ---: | ---: | ---: | ---: |",
        *rows(sparse, ["scikit-learn"]),
    ]
    if "faiss" in dense:
        lines += rows(dense, ["faiss"])
    else:
        lines.append(f"| {dense['title']} | {dense['ours']['median']:.2f} | faiss not installed | | |")
    lines += [
        "",
        f"Peak memory of a fresh process that loads the sparse matrix and fits it with SphericalKMeans: "
        f"{sparse['peak_mib']:,.0f} MiB (VmHWM). faiss {faiss_version or 'not installed'}.",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: does it run?")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json")
    parser.add_argument("--readme", nargs="*", default=[])
    args = parser.parse_args(argv)
    n_docs, n_terms = (20_000, 5_000) if args.quick else (200_000, 50_000)
    n_rows, n_features, k = (20_000, 32, 16) if args.quick else (1_000_000, 128, 256)
    with tempfile.TemporaryDirectory() as scratch:
        text_path = Path(scratch) / "tfidf.npz"
        X = tfidf_like(n_docs, n_terms, terms_per_row=63, n_topics=50)
        scipy.sparse.save_npz(text_path, X, compressed=False)
        sparse = child("sparse", text_path, 50, args.repeats)
        sparse["peak_mib"] = child("peak-sparse", text_path, 50, 1)["peak_mib"]
        sparse["title"] = f"sparse text, {n_docs:,} x {n_terms:,} CSR, {X.nnz:,} stored numbers, k=50"
        del X
        dense_path = Path(scratch) / "embeddings.npy"
        np.save(dense_path, embeddings(n_rows, n_features, k))
        dense = child("dense", dense_path, k, args.repeats)
        dense["title"] = f"dense embeddings, {n_rows:,} x {n_features} float32, k={k}"
    text = table(sparse, dense, args.repeats, sparse["faiss_version"])
    publish(text, {"sparse": sparse, "dense": dense}, args, name="spherical")


if __name__ == "__main__":
    main()
