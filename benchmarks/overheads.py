"""Benchmark: what a user pays besides the iterations.

- **A new sample count**: a warm fit at 200,000 samples (200K x 16, 16 clusters), then fits at
  five counts in the same bucket of padded rows, and at three in new buckets (each compiled in
  this process), the median of each against the warm fit.
- **predict at a new length**: the first call at each of 5 lengths (from 20,000 to 238,000
  samples) against a second call at the same length (predict runs as a plain tf.function and
  compiles nothing); then 300 distinct lengths: the process's resident memory before and after, and TensorFlow's
  retracing warnings.
- **Everyday shapes** (a fresh process, an empty compile cache): from the process's start to
  the end of a ``GridSearchCV`` over ``n_clusters`` 2-10 with 3 folds on digits and three small
  pipelines, against importing TensorFlow alone (a process of its own) plus scikit-learn's time
  for the same work (in the same process, after ours); the first fit of each of seven data sets
  (iris to 16,384 x 32) against a second fit of the same; then resident memory before and after
  fits at 300 shapes the process has not seen.
- **The second process**: a fresh process fits once (compiling, and filling a compile cache of
  its own); a second fresh process's first fit at the same shape, against its own warm fit.
- **GridSearchCV(n_jobs=2)** against n_jobs=1 (7 values of k x 3 folds, 20,000 x 8 samples).
- **The command against the library**: a 2,000,000 x 64 .npy file, 64 clusters, 10 iterations:
  ``tfkmeans`` writing its JSON and figure, against a fresh ``python -c`` that imports the
  package, loads the file and fits, and against one that also writes the same JSON and figure.

    python benchmarks/overheads.py [--quick] [--readme benchmarks/README.md docs/benchmarks.md]

--readme writes the table between <!-- overheads:start --> and <!-- overheads:end -->.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from grid import publish  # noqa: E402


def _time(run):
    begin = time.perf_counter()
    run()
    return time.perf_counter() - begin


def _rss_mib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def new_shapes(n_samples):
    import logging

    from tfkmeans import KMeans

    rng = np.random.default_rng(0)
    X = rng.standard_normal((int(n_samples * 1.2), 16), dtype=np.float32)
    model = KMeans(16, init=X[:16], n_init=1, max_iter=10, tol=0)
    model.fit(X[:n_samples])
    warm = statistics.median(_time(lambda: model.fit(X[:n_samples])) for _ in range(5))
    # Counts this process has not seen: five in the warm fit's bucket of padded rows (within
    # 1/16 of it), and three in buckets of their own (each compiles once), the median of each.
    same_counts = [n_samples + step for step in (-1_013, -37, 11, 503, 1_009)]
    same_bucket = statistics.median(_time(lambda count=count: model.fit(X[:count])) for count in same_counts)
    new_counts = [int(n_samples * factor) for factor in (1.12, 1.16, 1.19)]
    new_bucket = statistics.median(_time(lambda count=count: model.fit(X[:count])) for count in new_counts)
    # predict at lengths it has not seen (the fits' counts are new to it too): the first call at
    # each length against a second call at the same length, the median of each.
    firsts, seconds = [], []
    for count in [n_samples // 10 + 7, n_samples // 7, *new_counts]:
        firsts.append(_time(lambda count=count: model.predict(X[:count])))
        seconds.append(_time(lambda count=count: model.predict(X[:count])))
    predict_new, predict_warm = statistics.median(firsts), statistics.median(seconds)
    warnings = []

    class Collect(logging.Handler):
        def emit(self, record):
            if "retracing" in record.getMessage():
                warnings.append(record)

    logging.getLogger("tensorflow").addHandler(Collect())
    lengths = np.unique(np.geomspace(1_000, len(X), 300).astype(int))
    before = _rss_mib()
    for length in lengths:
        model.predict(X[:length])
    after = _rss_mib()
    for length in lengths[::-1]:  # again: nothing new to compile, memory must not move
        model.predict(X[:length])
    again = _rss_mib()
    return {
        "n_samples": n_samples,
        "fit_warm": warm,
        "fit_same_bucket": same_bucket,
        "fit_new_bucket": new_bucket,
        "predict_warm": predict_warm,
        "predict_new": predict_new,
        "lengths": len(lengths),
        "rss_before_mib": before,
        "rss_after_mib": after,
        "rss_again_mib": again,
        "retracing_warnings": len(warnings),
    }


EVERYDAY = textwrap.dedent(
    """
    import time
    START = time.perf_counter()
    import json, statistics, numpy as np
    from sklearn.cluster import KMeans as ScikitKMeans
    from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
    from sklearn.decomposition import PCA
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from tfkmeans import KMeans

    digits, iris, wine = load_digits().data, load_iris().data, load_wine().data

    def work(estimator):
        search = GridSearchCV(estimator(n_init=1, random_state=0), {{"n_clusters": list(range(2, 11))}}, cv=3)
        search.fit(digits)
        for data, k in [(iris, 3), (wine, 3), (digits, 10)]:
            make_pipeline(StandardScaler(), PCA(2), estimator(k, n_init=1, random_state=0)).fit(data)

    work(KMeans)
    ours = time.perf_counter() - START
    begin = time.perf_counter()
    work(ScikitKMeans)
    theirs = time.perf_counter() - begin
    rng = np.random.default_rng(0)
    sets = [("breast cancer", load_breast_cancer().data, 2), ("4,000 x 6", rng.normal(size=(4_000, 6)), 5),
            ("iris, 5 clusters", iris, 5), ("digits, 16 clusters", digits, 16),
            ("10,000 x 20", rng.normal(size=(10_000, 20)), 12), ("wine in float32 (the first float32 fit: its trace)", wine.astype(np.float32), 4),
            ("16,384 x 32", rng.normal(size=(16_384, 32)), 16)]
    fits = []
    for name, X, k in sets:
        begin = time.perf_counter(); KMeans(k, n_init=1, random_state=0).fit(X); first = time.perf_counter() - begin
        warm = []
        for _ in range({repeats}):
            begin = time.perf_counter(); KMeans(k, n_init=1, random_state=0).fit(X); warm.append(time.perf_counter() - begin)
        fits.append([name, first, statistics.median(warm)])
    def rss():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
    shapes = [(int(n), int(d), int(k)) for n, d, k in zip(rng.integers(50, 8_000, 300), rng.integers(2, 40, 300), rng.integers(2, 20, 300))]
    before = rss()
    for n, d, k in shapes:
        KMeans(k, n_init=1, random_state=0, max_iter=20).fit(rng.normal(size=(n, d)))
    after = rss()
    print(json.dumps({{"ours": ours, "sklearn": theirs, "fits": fits, "rss": [before, after], "shapes": len(shapes)}}))
    """
)


FIRST_IRIS_FIT = (
    "from sklearn.datasets import load_iris\n"
    "from tfkmeans import KMeans\n"
    "KMeans(3, n_init=1, random_state=0).fit(load_iris().data)\n"
)


def everyday(repeats):
    """The everyday child's figures, and fresh processes' wall times (each with an empty compile
    cache, the median of ``repeats``): importing TensorFlow, a first fit on iris, the command on
    iris."""
    command = os.path.join(os.path.dirname(sys.executable), "tfkmeans")
    walls = {"import_tensorflow": [], "first_fit": [], "command": []}
    with tempfile.TemporaryDirectory() as scratch:
        environment = {**os.environ, "MPLBACKEND": "Agg"}
        environment.pop("TF_XLA_FLAGS", None)
        environment.pop("DISPLAY", None)
        runs = {
            "import_tensorflow": [sys.executable, "-c", "import tensorflow"],
            "first_fit": [sys.executable, "-c", FIRST_IRIS_FIT],
            "command": [command, "--data", str(REPO / "data" / "iris.csv"), "--output", "iris.json", "-q"],
        }
        for round_ in range(repeats):
            for name, arguments in runs.items():
                cache = os.path.join(scratch, f"cache-{name}-{round_}")
                begin = time.perf_counter()
                subprocess.run(
                    arguments, cwd=scratch, env={**environment, "TFKMEANS_COMPILE_CACHE": cache}, check=True,
                    capture_output=True,
                )  # fmt: skip
                walls[name].append(time.perf_counter() - begin)
        environment["TFKMEANS_COMPILE_CACHE"] = os.path.join(scratch, "cache")
        code = EVERYDAY.format(repeats=repeats)
        finished = subprocess.run(
            [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
        )
    medians = {name: statistics.median(values) for name, values in walls.items()}
    return {**json.loads(finished.stdout.splitlines()[-1]), **medians}


FIRST_FIT = textwrap.dedent(
    """
    import time, numpy as np
    from tfkmeans import KMeans
    X = np.random.default_rng(0).standard_normal(({n}, 16), dtype=np.float32)
    begin = time.perf_counter(); KMeans(16, init=X[:16], n_init=1, max_iter=10, tol=0).fit(X); first = time.perf_counter() - begin
    times = []
    for _ in range(5):
        begin = time.perf_counter(); KMeans(16, init=X[:16], n_init=1, max_iter=10, tol=0).fit(X); times.append(time.perf_counter() - begin)
    print(first, sorted(times)[2])
    """
)


def second_process(n_samples):
    with tempfile.TemporaryDirectory() as cache:
        environment = {**os.environ, "TFKMEANS_COMPILE_CACHE": cache}
        environment.pop("TF_XLA_FLAGS", None)  # this process's own setting names its own cache
        code = FIRST_FIT.format(n=n_samples)
        runs = []
        for _ in range(2):
            finished = subprocess.run(
                [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
            )
            runs.append([float(value) for value in finished.stdout.split()])
    (first_fresh, warm_fresh), (first_cached, warm_cached) = runs
    return {"first_process": [first_fresh, warm_fresh], "second_process": [first_cached, warm_cached]}


def grid_search(n_samples):
    from sklearn.model_selection import GridSearchCV

    from tfkmeans import KMeans

    X = np.random.default_rng(1).standard_normal((n_samples, 8), dtype=np.float32)
    grid = {"n_clusters": [2, 3, 4, 5, 6, 7, 8]}
    times = {}
    for jobs in (1, 2):
        search = GridSearchCV(KMeans(random_state=0, n_init=1), grid, cv=3, n_jobs=jobs)
        times[jobs] = _time(lambda search=search: search.fit(X))
    return {"n_jobs_1": times[1], "n_jobs_2": times[2]}


LIBRARY = textwrap.dedent(
    """
    import numpy as np
    from tfkmeans import KMeans
    X = np.load({path!r})
    start = X[:{k}]
    model = KMeans({k}, init=start, n_init=1, max_iter=10, tol=0).fit(X)
    """
)
WRITES = textwrap.dedent(
    """
    import json, matplotlib
    matplotlib.use("Agg")
    from tfkmeans.plotting import Projection, plot_result
    json.dump({"centroids": model.cluster_centers_.tolist(), "nearest_indices": model.labels_.tolist()}, open("lib.json", "w"))
    shown = np.sort(np.random.default_rng(0).choice(len(X), min(len(X), 100_000), replace=False))
    projection = Projection.choose(X[shown])
    plot_result(X[shown], model.cluster_centers_, model.labels_[shown], [model.inertia_], projection=projection).savefig("lib.png")
    """
)


def command_against_library(n_samples, n_clusters, n_features, repeats):
    rng = np.random.default_rng(2)
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "data.npy")
        centres = rng.uniform(-10, 10, (n_clusters, n_features)).astype(np.float32)
        X = (
            centres[rng.integers(0, n_clusters, n_samples)]
            + rng.standard_normal((n_samples, n_features), dtype=np.float32) * 8
        )
        np.save(path, X)
        del X
        environment = {**os.environ, "MPLBACKEND": "Agg"}
        environment.pop("DISPLAY", None)
        runs = {
            "command": [
                os.path.join(os.path.dirname(sys.executable), "tfkmeans"),
                "--data",
                path,
                "--n-clusters",
                str(n_clusters),
                "--iterations",
                "10",
                "--output",
                os.path.join(scratch, "out.json"),
                "--save",
                os.path.join(scratch, "out.png"),
                "-q",
            ],  # fmt: skip
            "library": [sys.executable, "-c", LIBRARY.format(path=path, k=n_clusters)],
            "library_with_writes": [sys.executable, "-c", LIBRARY.format(path=path, k=n_clusters) + WRITES],
        }
        for command in runs.values():  # a warm-up of each: the compile cache, the page cache
            subprocess.run(command, cwd=scratch, env=environment, check=True, capture_output=True)
        times = {name: [] for name in runs}
        for _ in range(repeats):
            for name, command in runs.items():
                begin = time.perf_counter()
                subprocess.run(command, cwd=scratch, env=environment, check=True, capture_output=True)
                times[name].append(time.perf_counter() - begin)
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {**medians, "n_samples": n_samples, "n_clusters": n_clusters}


def table(results):
    day = results["everyday"]
    rows = [
        (
            "GridSearchCV over n_clusters 2-10, 3 folds, digits, and 3 pipelines, from the process's start",
            f"{day['ours']:.2f} s",
            f"{day['ours'] / (day['import_tensorflow'] + day['sklearn']):.2f}x",
        ),
        (
            "importing TensorFlow alone + scikit-learn's time for the same work",
            f"{day['import_tensorflow']:.2f} s + {day['sklearn']:.2f} s",
            "1.00x",
        ),
    ]
    rows += [
        (
            "a fresh process's first fit (iris, k-means++) / importing TensorFlow alone",
            f"{day['first_fit']:.2f} s / {day['import_tensorflow']:.2f} s",
            f"+{day['first_fit'] - day['import_tensorflow']:.2f} s",
        ),
        (
            "`tfkmeans --data data/iris.csv` (its figure included) / importing TensorFlow alone",
            f"{day['command']:.2f} s / {day['import_tensorflow']:.2f} s",
            f"{day['command'] / day['import_tensorflow']:.2f}x",
        ),
    ]
    for name, first, warm in day["fits"]:
        rows.append(
            (f"first fit / second fit: {name}", f"{first * 1e3:.1f} ms / {warm * 1e3:.1f} ms", f"{first / warm:.2f}x")
        )
    rows.append(
        (
            f"fits at {day['shapes']} shapes not seen before: resident memory",
            f"{day['rss'][0]:.0f} -> {day['rss'][1]:.0f} MiB",
            "",
        )
    )
    return (
        "\n".join(["| what | time | ratio |", "|---|---:|---:|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows])
        + "\n\n"
        + per_shape_table(results)
    )


def per_shape_table(results):
    shapes, second, search, command = (
        results["new_shapes"],
        results["second_process"],
        results["grid_search"],
        results["command"],
    )
    rows = [
        (f"fit, warm ({shapes['n_samples']:,} x 16, k=16)", f"{shapes['fit_warm'] * 1e3:.0f} ms", "1.00x"),
        (
            "fit at a new sample count in a compiled bucket",
            f"{shapes['fit_same_bucket'] * 1e3:.0f} ms",
            f"{shapes['fit_same_bucket'] / shapes['fit_warm']:.2f}x",
        ),
        (
            "fit at a new sample count in a new bucket (compiles)",
            f"{shapes['fit_new_bucket'] * 1e3:.0f} ms",
            f"{shapes['fit_new_bucket'] / shapes['fit_warm']:.2f}x",
        ),
        (
            "predict at 5 lengths it has not seen: first call / second call (no compilation)",
            f"{shapes['predict_new'] * 1e3:.1f} ms / {shapes['predict_warm'] * 1e3:.1f} ms",
            f"{shapes['predict_new'] / shapes['predict_warm']:.2f}x",
        ),
        (
            f"predict at {shapes['lengths']} lengths: resident memory",
            f"{shapes['rss_before_mib']:.0f} -> {shapes['rss_after_mib']:.0f} -> {shapes['rss_again_mib']:.0f} MiB (the same lengths again)",
            "",
        ),
        ("retracing warnings over those lengths", str(shapes["retracing_warnings"]), ""),
        (
            "first process, first fit (compiling) / warm fit",
            f"{second['first_process'][0]:.2f} s / {second['first_process'][1]:.3f} s",
            "",
        ),
        (
            "second process, first fit (compile cache) / warm fit",
            f"{second['second_process'][0]:.2f} s / {second['second_process'][1]:.3f} s",
            f"+{second['second_process'][0] - second['second_process'][1]:.2f} s",
        ),
        (
            "GridSearchCV, 7 k x 3 folds: n_jobs=1 / n_jobs=2",
            f"{search['n_jobs_1']:.1f} s / {search['n_jobs_2']:.1f} s",
            "",
        ),
        (
            f"`tfkmeans` on a {command['n_samples']:,} x 64 .npy, k={command['n_clusters']}, 10 iterations, JSON and figure",
            f"{command['command']:.1f} s",
            f"{command['command'] / command['library']:.2f}x the library",
        ),
        ("the library: import, load, fit (fresh process)", f"{command['library']:.1f} s", "1.00x"),
        (
            "the library, writing the same JSON and figure",
            f"{command['library_with_writes']:.1f} s",
            f"{command['command'] / command['library_with_writes']:.2f}x (command / this)",
        ),
    ]
    lines = ["| what | time | ratio |", "|---|---:|---:|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json")
    parser.add_argument("--readme", nargs="*", default=[])
    args = parser.parse_args(argv)
    n = 20_000 if args.quick else 200_000
    # A compile cache of this run's own, so that "compiles" means compiling here, not loading
    # what an earlier run left in ~/.cache.
    scratch_cache = tempfile.TemporaryDirectory()
    os.environ["TFKMEANS_COMPILE_CACHE"] = scratch_cache.name
    results = {
        "everyday": everyday(args.repeats),
        "new_shapes": new_shapes(n),
        "second_process": second_process(n),
        "grid_search": grid_search(2_000 if args.quick else 20_000),
        "command": command_against_library(
            50_000 if args.quick else 2_000_000, 8 if args.quick else 64, 64, args.repeats
        ),
    }
    text = table(results)
    publish(text, results, args, name="overheads")


if __name__ == "__main__":
    main()
