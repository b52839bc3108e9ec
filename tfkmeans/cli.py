"""The ``tfkmeans`` command: k-means on your own data, or on the lesson's generated blobs.

Everything that can be wrong with the command line or the data is found before any k-means
work starts, and reported as one line on stderr with exit status 2. ``--help`` answers without
importing TensorFlow.
"""

import argparse
import math
import os
import sys

PROG = "tfkmeans"

DESCRIPTION = """\
k-means with TensorFlow 2: cluster your own data (a CSV, TSV or text table, or a NumPy .npy
file), or, with no --data, the blobs of the lesson "Clustering and k-means".

Each iteration prints the inertia (the within-cluster sum of squared distances, which k-means
makes smaller), how far the centroids moved and how many samples changed cluster. The figure
shows the samples coloured by cluster beside the inertia per iteration. With a range of cluster
counts (--n-clusters 2:10) it fits each and compares them instead.

examples:
  tfkmeans                                        # the lesson's blobs, 10 iterations
  tfkmeans --tolerance 0 --iterations 100         # stop once converged
  tfkmeans --data data/iris.csv --init kmeans++ --output iris.json
  tfkmeans --data measurements.csv --columns height,weight --missing drop --standardize
  tfkmeans --data data/iris.csv --n-clusters 2:10 # how many clusters?
  tfkmeans --animate kmeans.gif                   # watch it work
"""


class UsageError(Exception):
    """A problem with the command line or its data: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _integer_at_least(minimum):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            kind = "positive" if minimum == 1 else "non-negative"
            raise argparse.ArgumentTypeError(f"expected a {kind} integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _non_negative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def _cluster_counts(text):
    """K, or A:B for every count from A to B."""
    first, colon, last = text.partition(":")
    parse = _integer_at_least(1)
    if not colon:
        return parse(first)
    low, high = parse(first), parse(last)
    if high <= low:
        raise argparse.ArgumentTypeError(f"a range A:B needs A < B, got {text!r}")
    return range(low, high + 1)


# A .npy file larger than this (as float32) is streamed rather than loaded.
STREAM_ABOVE_BYTES = 512 * 2**20

GENERATION_DEFAULTS = {"n_features": 2, "n_samples_per_cluster": 500, "embiggen_factor": 70}


def build_parser():
    parser = _Parser(
        prog=PROG, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    add = parser.add_argument
    add(
        "--data",
        metavar="PATH",
        help="cluster this file: a table (.csv, .tsv, .txt; a header line is recognised) or a NumPy .npy "
        "array (2-D). Without it, the lesson's generated blobs are clustered",
    )
    add(
        "--n-clusters",
        type=_cluster_counts,
        default=3,
        metavar="K or A:B",
        help="number of clusters (default 3); A:B fits every count from A to B and compares them "
        "(inertia and silhouette score)",
    )
    add(
        "--init",
        choices=["random", "kmeans++"],
        default="random",
        help="initial centroids: 'random' samples (the lesson's choose_random_centroids, default) or "
        "k-means++ seeding; both use --seed",
    )
    add(
        "--seed",
        type=_integer_at_least(0),
        default=700,
        help="random seed: the same seed, the same numbers (default 700)",
    )
    add(
        "--iterations",
        type=_integer_at_least(1),
        default=10,
        help="iterations to run; with --tolerance, the most to run (default 10, as in the lesson's exercise 2; "
        "with --n-clusters A:B, the most per fit, default 300)",
    )
    add(
        "--tolerance",
        type=_non_negative_float,
        metavar="T",
        help="stop as soon as no centroid moves farther than T in an iteration (in the data's units, or in "
        "standard deviations with --standardize), or no sample changes cluster. Without it, exactly "
        "--iterations iterations run",
    )
    add(
        "--output",
        metavar="PATH.json",
        help="write the centroids, each sample's cluster, the inertia per iteration and the settings to this JSON file",
    )
    add(
        "--animate",
        metavar="PATH.gif",
        help="write an animation of the iterations: one frame for the start, then one per iteration",
    )
    add(
        "--fast",
        action="store_true",
        help="run all iterations as one compiled TensorFlow function instead of one compiled step per iteration; "
        "same results (not with --animate, which needs every iteration's centroids)",
    )
    add(
        "--save",
        metavar="PATH",
        help="write the figure to PATH (.png, .pdf, .svg, ...) instead of opening a window. Without a display "
        "it is saved as tfkmeans.png (or tfkmeans-2.png, ..., never replacing a file) anyway",
    )
    add(
        "--labels",
        metavar="PATH.npy",
        help="write each sample's cluster (int32, in the data's order) to this NumPy file: for data too large "
        "for one JSON list",
    )
    data = parser.add_argument_group("your own data (with --data)")
    data.add_argument(
        "--columns",
        metavar="A,B,...",
        help="the columns to cluster, by name (from the header) or by number (1 is the first); "
        "default: all. Leave out ids and labels",
    )
    data.add_argument(
        "--delimiter", metavar="CHAR", help="the table's delimiter (default: a tab for .tsv, else detected)"
    )
    data.add_argument("--decimal", default=".", metavar="CHAR", help="the decimal mark (default '.'; ',' for 1,5)")
    data.add_argument(
        "--missing",
        choices=["error", "drop"],
        default="error",
        help="an empty cell (NaN in .npy) in a column used: stop with an error (default), or leave the "
        "row out (--output then has null for its cluster)",
    )
    data.add_argument(
        "--standardize",
        action="store_true",
        help="scale each column to mean 0 and standard deviation 1 before clustering, so that no column "
        "weighs more for its units; centroids are reported in the data's own units",
    )
    data.add_argument(
        "--stream",
        action="store_true",
        help="read a .npy file a batch at a time on every pass instead of loading it (the default for files over "
        f"{STREAM_ABOVE_BYTES // 2**20} MiB as float32): the data never has to fit in memory",
    )
    sweep = parser.add_argument_group("comparing cluster counts (--n-clusters A:B)")
    sweep.add_argument(
        "--n-init",
        type=_integer_at_least(1),
        default=10,
        help="starts per cluster count; the one with the lowest inertia is kept (default 10)",
    )
    generated = parser.add_argument_group("the lesson's generated blobs (without --data)")
    generated.add_argument(
        "--n-features",
        type=_integer_at_least(1),
        help=f"features of each sample (default {GENERATION_DEFAULTS['n_features']})",
    )
    generated.add_argument(
        "--n-samples-per-cluster",
        type=_integer_at_least(1),
        help=f"samples around each true centroid (default {GENERATION_DEFAULTS['n_samples_per_cluster']})",
    )
    generated.add_argument(
        "--embiggen-factor",
        type=_non_negative_float,
        help="true centroids are drawn from [-embiggen_factor/2, embiggen_factor/2) in each feature "
        f"(default {GENERATION_DEFAULTS['embiggen_factor']})",
    )
    return parser


def main(argv=None):
    """Run the command; returns its exit status (0, or 2 for bad input)."""
    try:
        return _run(sys.argv[1:] if argv is None else list(argv))
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2


def _run(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    args.flags_given = {argument.split("=")[0] for argument in argv if argument.startswith("--")}
    _check_arguments(args)
    if args.streaming:
        _stream_run(args)
        return 0
    data = _load(args)
    if isinstance(args.n_clusters, range):
        _sweep(args, data)
    else:
        _single_run(args, data)
    return 0


class _Data:
    """The samples to cluster, as k-means sees them, and how to report back in the data's terms."""

    def __init__(self, samples, feature_names, rows=None, n_rows=None, true_centroids=None, settings=None):
        self.samples = samples  # float32, standardized if asked
        self.feature_names = feature_names
        self.rows = rows  # the file's data rows kept (None: all)
        self.n_rows = n_rows
        self.true_centroids = true_centroids
        self.settings = settings or {}
        self.mean, self.scale, self.standardized = 0.0, 1.0, False

    def standardize(self):
        import numpy as np

        self.mean = self.samples.mean(axis=0, dtype=np.float64)
        scale = self.samples.std(axis=0, dtype=np.float64)
        self.scale = np.where(scale > 0, scale, 1.0)  # a constant column stays as it is
        self.samples = ((self.samples - self.mean) / self.scale).astype(np.float32)
        self.standardized = True

    def in_units(self, points):
        """Points from k-means' space back into the data's own units (as they are, unless
        standardized)."""
        import numpy as np

        if self.standardized:
            return np.asarray(points, np.float64) * self.scale + self.mean
        return np.asarray(points)


def _load(args):
    """The samples: the lesson's generated blobs, or your own data; a summary line printed."""
    from . import _input

    largest = max(args.n_clusters) if isinstance(args.n_clusters, range) else args.n_clusters
    if args.data is None:
        from .datasets import lesson_blobs

        settings = {
            name: getattr(args, name) if getattr(args, name) is not None else default
            for name, default in GENERATION_DEFAULTS.items()
        }
        blob_count = 3 if isinstance(args.n_clusters, range) else args.n_clusters
        true_centroids, samples = lesson_blobs(
            blob_count,
            settings["n_samples_per_cluster"],
            settings["n_features"],
            settings["embiggen_factor"],
            args.seed,
        )
        if samples.shape[0] < largest:
            raise UsageError(f"{samples.shape[0]} generated samples is fewer than --n-clusters {largest}")
        names = [f"feature {j}" for j in range(samples.shape[1])]
        data = _Data(samples, names, true_centroids=true_centroids, settings=settings)
        print(
            f"k-means on {samples.shape[0]} generated samples, {settings['n_features']} features, "
            f"{blob_count} blobs, seed {args.seed}"
        )
    else:
        columns = None if args.columns is None else args.columns.split(",")
        try:
            table = _input.read_table(args.data, columns, args.delimiter, args.decimal, args.missing)
        except _input.DataError as error:
            raise UsageError(f"--data {error}") from None
        samples = table.samples
        if samples.shape[0] < largest:
            raise UsageError(f"--data {args.data}: {samples.shape[0]} samples is fewer than --n-clusters {largest}")
        data = _Data(samples, table.feature_names, table.rows, table.n_rows)
        left_out = table.n_rows - samples.shape[0]
        print(
            f"k-means on {args.data}: {samples.shape[0]} samples"
            + (f" ({left_out} rows with gaps left out)" if left_out else "")
            + f", {samples.shape[1]} features: {', '.join(table.feature_names)}"
        )
        if columns is None:
            for j, name in enumerate(table.feature_names):
                if _input.looks_like_an_id(samples[:, j]):
                    print(
                        f"Note: {name!r} counts 1, 2, 3, ...: an id rather than a measurement? --columns leaves it out."
                    )
    if args.standardize:
        data.standardize()
        print("Each column standardized to mean 0 and standard deviation 1; centroids below are in the data's units.")
    return data


def _single_run(args, data):
    from . import _kmeans, _output, _seeding, plotting

    samples, true_centroids = data.samples, data.true_centroids
    if true_centroids is not None:
        print("True centroids:")
        _print_centroids(true_centroids, data.feature_names)
    choose = _seeding.random_centroids if args.init == "random" else _seeding.kmeans_plusplus
    initial_centroids = choose(samples, args.n_clusters, args.seed)
    print(f"Initial centroids ({args.init}, seed {args.seed}):")
    _print_centroids(data.in_units(initial_centroids), data.feature_names, true_centroids)
    print()

    print(f"{'iteration':>9}  {'inertia':>16}  {'largest shift':>13}  {'changed':>8}")
    if args.fast:
        result = _kmeans.kmeans(samples, initial_centroids, max_iterations=args.iterations, tolerance=args.tolerance)
        for iteration in range(result.n_iterations):
            _print_iteration(
                iteration + 1,
                result.inertia_history[iteration],
                result.shift_history[iteration],
                result.changed_history[iteration],
            )
        centroids, labels = result.centroids, result.nearest_indices
        inertias, changes = list(result.inertia_history), list(result.changed_history)
        shifts = list(result.shift_history)
    else:
        # One compiled step per iteration, driven from here, so every iteration can be kept.
        centroids = initial_centroids
        labels, starting_inertia = _kmeans.assign(samples, centroids)
        centroid_history, label_history = [data.in_units(centroids)], [labels]
        inertias, shifts, changes = [], [], []
        for iteration in range(1, args.iterations + 1):
            step = _kmeans.kmeans(samples, centroids, max_iterations=1, tolerance=None)
            centroids, labels = step.centroids, step.nearest_indices
            centroid_history.append(data.in_units(centroids))
            label_history.append(labels)
            inertias.append(step.inertia)
            shifts.append(float(step.shift_history[0]))
            changes.append(int(step.changed_history[0]))
            _print_iteration(iteration, inertias[-1], shifts[-1], changes[-1])
            if args.n_clusters <= 10:
                _print_centroids(data.in_units(centroids), data.feature_names, true_centroids, indent=" " * 11)
            if args.tolerance is not None and (shifts[-1] <= args.tolerance or changes[-1] == 0):
                break

    n_run = len(inertias)
    converged = shifts[-1] <= (args.tolerance or 0.0) or changes[-1] == 0
    print()
    if converged:
        print(f"converged after {n_run} iterations")
        settled = n_run
        while settled > 1 and changes[settled - 2] == 0:
            settled -= 1
        if args.tolerance is None and settled < n_run:
            print(f"(no sample has changed cluster since iteration {settled}: --tolerance 0 would have stopped there)")
    else:
        print(f"stopped after {n_run} iterations without converging")
    print("Final centroids:")
    final_centroids = data.in_units(centroids)
    _print_centroids(final_centroids, data.feature_names, true_centroids)

    if args.output is not None:
        _output.write_json(
            args.output,
            {
                "centroids": final_centroids.tolist(),
                "initial_centroids": data.in_units(initial_centroids).tolist(),
                "feature_names": data.feature_names,
                "nearest_indices": _per_row(data, labels),
                "inertia": [float(value) for value in inertias],
                "iterations": n_run,
                "converged": bool(converged),
                "true_centroids": None if true_centroids is None else true_centroids.tolist(),
                "settings": _settings(args, data),
            },
        )
        print(f"Results written to {args.output}")
    if args.labels is not None:
        _output.write_npy(args.labels, labels.astype("int32"))
        print(f"Labels written to {args.labels}")

    # The figures show at most PLOT_SAMPLES samples: a scatter of millions of points takes
    # gigabytes and shows no more.
    shown = _plot_selection(len(samples), args.seed)
    sample_values = data.in_units(samples[shown])
    if args.animate is not None:
        plotting.animate(
            args.animate,
            sample_values,
            centroid_history,
            [frame_labels[shown] for frame_labels in label_history],
            [starting_inertia, *inertias],
            true_centroids=true_centroids,
            feature_names=data.feature_names,
        )
        print(f"Animation written to {args.animate} ({len(centroid_history)} frames)")

    figure = plotting.plot_result(
        sample_values,
        final_centroids,
        labels[shown],
        inertias,
        true_centroids=true_centroids,
        feature_names=data.feature_names,
        title=f"k-means after {n_run} iterations ({args.init} start)"
        + ("" if len(sample_values) == len(samples) else f"; {len(sample_values):,} of {len(samples):,} samples shown"),
    )
    _show_or_save(figure, args.save)


# The most samples a figure shows (a uniform random selection of them, when there are more).
PLOT_SAMPLES = 100_000


def _plot_selection(n_samples, seed):
    """All samples, or a sorted uniform random PLOT_SAMPLES of them."""
    import numpy as np

    if n_samples <= PLOT_SAMPLES:
        return slice(None)
    return np.sort(np.random.default_rng(seed).choice(n_samples, PLOT_SAMPLES, replace=False))


def _stream_run(args):
    """k-means on a .npy file read a batch at a time on every pass (the data never in memory)."""
    _fewer_malloc_arenas()
    import numpy as np
    import tensorflow as tf

    from . import _input, _output, _seeding, _stream, plotting

    try:
        names, positions = _stream_columns(args)
        dataset, n_samples, _ = _stream.npy_dataset(args.data, columns=positions)
        survey = _stream.survey(dataset, _stream.SEED_SAMPLE_ROWS, args.seed)
    except (OSError, ValueError) as error:
        raise UsageError(f"--data {args.data}: {_input.short_message(error)}") from None
    if n_samples < args.n_clusters:
        raise UsageError(f"--data {args.data}: {n_samples} samples is fewer than --n-clusters {args.n_clusters}")
    data = _Data(survey.sample, names, settings={"streamed": True})
    print(
        f"k-means on {args.data}, streamed: {n_samples:,} samples, {len(names)} features: {', '.join(names)} "
        f"(a uniform sample of {len(survey.sample):,} of them chooses the start and is plotted)"
    )
    if args.standardize:
        data.mean = survey.mean.astype(np.float64)
        scale = np.sqrt(survey.variance)
        data.scale = np.where(scale > 0, scale, 1.0)
        data.standardized = True
        mean, inverse = tf.constant(data.mean, tf.float32), tf.constant(1.0 / data.scale, tf.float32)
        dataset = dataset.map(lambda batch: (batch - mean) * inverse)
        data.samples = ((survey.sample - data.mean) / data.scale).astype(np.float32)
        print("Each column standardized to mean 0 and standard deviation 1; centroids below are in the data's units.")
    offset_values = data.samples.mean(axis=0)  # the sample's mean: close to the data's, for precision
    offset = tf.constant(offset_values)
    choose = _seeding.random_centroids if args.init == "random" else _seeding.kmeans_plusplus
    start = choose(data.samples, args.n_clusters, args.seed)
    print(f"Initial centroids ({args.init}, from the sample, seed {args.seed}):")
    _print_centroids(data.in_units(start), names)
    print()
    print(f"{'iteration':>9}  {'inertia':>16}  {'largest shift':>13}  {'changed':>8}")

    def report(iteration, inertia, shift, centroids):
        _print_iteration(iteration, inertia, shift, "-")
        if args.n_clusters <= 10:
            _print_centroids(data.in_units(centroids.numpy() + offset_values), names, indent=" " * 11)

    passes = _stream.Passes(dataset)
    tolerance = -1.0 if args.tolerance is None else args.tolerance
    result = _stream.lloyd(
        passes,
        offset,
        tf.constant(start - offset_values),
        args.iterations,
        tol_max_shift=tolerance,
        on_iteration=report,
    )
    centroids = result.centroids.numpy() + offset_values
    print()
    if result.tol_reached:
        print(f"converged after {result.n_updates} iterations")
    else:
        print(
            f"stopped after {result.n_updates} iterations" + ("" if args.tolerance is None else " without converging")
        )
    print("Final centroids:")
    final_centroids = data.in_units(centroids)
    _print_centroids(final_centroids, names)

    if args.labels is not None:
        _stream.write_labels(dataset, offset, result.centroids, args.labels)
        print(f"Labels written to {args.labels}")
    if args.output is not None:
        _output.write_json(
            args.output,
            {
                "centroids": final_centroids.tolist(),
                "initial_centroids": data.in_units(start).tolist(),
                "feature_names": names,
                "nearest_indices": None,
                "labels_file": args.labels,
                "inertia": result.inertias,
                "iterations": result.n_updates,
                "converged": bool(result.tol_reached),
                "settings": {**_settings(args, data), "n_samples": n_samples},
            },
        )
        print(f"Results written to {args.output}" + ("" if args.labels else " (--labels writes each sample's cluster)"))
    sample_labels = _stream_sample_labels(data.samples, centroids)
    figure = plotting.plot_result(
        data.in_units(data.samples),
        final_centroids,
        sample_labels,
        result.inertias,
        feature_names=names,
        title=f"k-means after {result.n_updates} iterations ({args.init} start; {len(data.samples):,} samples shown)",
    )
    _show_or_save(figure, args.save)


def _fewer_malloc_arenas():
    """Ask glibc for at most two malloc arenas. TensorFlow's threads each allocate a batch at a
    time, and with glibc's default of one arena per thread the freed batches stay in the
    process as fragmented arenas: streaming 8,000,000 x 64 samples peaked about 120 MiB higher.
    Elsewhere than glibc this does nothing."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def _stream_columns(args):
    """(names, 0-based positions or None) of the columns to stream."""
    from . import _input

    shape = _input.npy_header(args.data)[0]
    if len(shape) != 2:
        raise ValueError(f"expected a 2-D array (samples x features), got shape {shape}")
    names = [f"column {j + 1}" for j in range(shape[1])]
    if args.columns is None:
        return names, None
    try:
        positions = _input.choose_columns(args.data, names, args.columns.split(","))
    except _input.DataError as error:
        raise UsageError(f"--data {error}") from None
    return [names[p] for p in positions], positions


def _stream_sample_labels(sample, centroids):
    from ._kmeans import assign

    return assign(sample, centroids.astype(sample.dtype))[0]


def _sweep(args, data):
    """Fit every cluster count in the range (with restarts) and compare them."""
    import numpy as np
    from sklearn.metrics import silhouette_score

    from . import _output, plotting
    from ._kmeans import KMeans

    samples = data.samples
    sample_size = min(samples.shape[0], SILHOUETTE_SAMPLE)
    max_iter = args.iterations if args.iterations_given else 300
    init = "random" if args.init == "random" else "k-means++"
    print(
        f"Fitting k = {args.n_clusters.start} to {args.n_clusters.stop - 1}, {args.n_init} starts each "
        f"({init}, at most {max_iter} iterations, seed {args.seed}); the silhouette score on "
        + (
            f"all {samples.shape[0]} samples"
            if sample_size == samples.shape[0]
            else f"a random {sample_size:,} samples"
        )
    )
    print()
    print(f"{'clusters':>8}  {'inertia':>16}  {'silhouette':>10}")
    sweep = []
    for n_clusters in args.n_clusters:
        model = KMeans(n_clusters, init=init, n_init=args.n_init, max_iter=max_iter, random_state=args.seed)
        labels = model.fit_predict(samples)
        silhouette = None
        if 2 <= n_clusters < samples.shape[0] and len(np.unique(labels)) > 1:
            silhouette = float(silhouette_score(samples, labels, sample_size=sample_size, random_state=args.seed))
        sweep.append({"n_clusters": n_clusters, "inertia": model.inertia_, "silhouette": silhouette})
        shown = "-" if silhouette is None else f"{silhouette:.3f}"
        print(f"{n_clusters:>8}  {model.inertia_:>16,.3f}  {shown:>10}", flush=True)
    scored = [entry for entry in sweep if entry["silhouette"] is not None]
    print()
    if scored:
        best = max(scored, key=lambda entry: entry["silhouette"])
        print(
            f"The silhouette score is highest at k = {best['n_clusters']}. The inertia always falls as k grows; "
            "look for the elbow, where it stops falling fast."
        )
    if args.output is not None:
        _output.write_json(
            args.output,
            {
                "sweep": sweep,
                "feature_names": data.feature_names,
                "silhouette_sample_size": sample_size,
                "settings": _settings(args, data),
            },
        )
        print(f"Results written to {args.output}")
    _show_or_save(plotting.plot_sweep(sweep, title=_sweep_title(args)), args.save)


# The silhouette score costs n^2 distances: above this many samples it is computed on a random
# sample of this size (scikit-learn's sample_size).
SILHOUETTE_SAMPLE = 10_000


def _sweep_title(args):
    source = "the lesson's blobs" if args.data is None else os.path.basename(args.data)
    return f"Choosing k on {source}: {args.n_init} starts per k"


def _per_row(data, labels):
    """One cluster per data row of the file: null for rows left out (--missing drop)."""
    if data.rows is None or len(data.rows) == data.n_rows:
        return [int(label) for label in labels]
    per_row = [None] * data.n_rows
    for row, label in zip(data.rows.tolist(), labels.tolist()):
        per_row[row] = int(label)
    return per_row


def _settings(args, data):
    settings = {
        "n_clusters": args.n_clusters
        if isinstance(args.n_clusters, int)
        else [args.n_clusters.start, args.n_clusters.stop - 1],
        "init": args.init,
        "seed": args.seed,
        "iterations": args.iterations,
        "tolerance": args.tolerance,
        "fast": args.fast,
        "data": args.data,
        "columns": args.columns,
        "missing": args.missing,
        "standardize": args.standardize,
        **data.settings,
    }
    if isinstance(args.n_clusters, range):
        settings["n_init"] = args.n_init
    return settings


def _check_arguments(args):
    """Everything that can be wrong with the command line, found before any work is done."""
    if args.save is not None:
        from matplotlib.figure import Figure

        supported = Figure().canvas.get_supported_filetypes()
        _check_output_path(args.save, "--save", [f".{extension}" for extension in sorted(supported)])
    _check_output_path(args.output, "--output", [".json"])
    _check_output_path(args.animate, "--animate", [".gif"])
    _check_output_path(args.labels, "--labels", [".npy"])
    if args.fast and args.animate:
        raise UsageError("--animate draws every iteration, which --fast does not keep; use one or the other")
    args.iterations_given = "--iterations" in args.flags_given
    if isinstance(args.n_clusters, range):
        for flag in ("--animate", "--tolerance", "--fast"):
            if flag in args.flags_given:
                raise UsageError(
                    f"{flag} goes with one cluster count, not a range (--n-clusters {args.n_clusters.start}:{args.n_clusters.stop - 1})"
                )
    elif "--n-init" in args.flags_given:
        raise UsageError("--n-init goes with a range of cluster counts (--n-clusters A:B)")
    if args.data is None:
        for flag in ("--columns", "--delimiter", "--decimal", "--missing"):
            if flag in args.flags_given:
                raise UsageError(f"{flag} reads your own data, so it goes with --data")
    if args.delimiter is not None:
        args.delimiter = "\t" if args.delimiter in ("\\t", "tab") else args.delimiter
        if len(args.delimiter) != 1:
            raise UsageError(f"--delimiter {args.delimiter!r}: give one character (or \\t for a tab)")
    if len(args.decimal) != 1:
        raise UsageError(f"--decimal {args.decimal!r}: give one character")
    args.streaming = args.stream or _large_npy(args.data)
    if args.streaming:
        if args.data is None or not args.data.lower().endswith(".npy"):
            raise UsageError("--stream reads a .npy file given with --data (save a table as .npy to stream it)")
        for flag in ("--animate", "--fast", "--n-init", "--delimiter", "--decimal"):
            if flag in args.flags_given:
                raise UsageError(
                    f"{flag} does not go with streaming the data (--stream, or a .npy over {STREAM_ABOVE_BYTES // 2**20} MiB)"
                )
        if isinstance(args.n_clusters, range):
            raise UsageError("a range of cluster counts does not go with streaming the data; give one --n-clusters")
        if args.missing == "drop":
            raise UsageError("--missing drop does not go with streaming the data: a streamed file must have no gaps")
    if args.data is not None:
        for name in GENERATION_DEFAULTS:
            if getattr(args, name) is not None:
                raise UsageError(f"--{name.replace('_', '-')} sets up generated samples, so it does not go with --data")


def _large_npy(path):
    """Whether ``path`` is a .npy file whose array, as float32, is over STREAM_ABOVE_BYTES."""
    from ._input import npy_header

    if path is None or not path.lower().endswith(".npy") or not os.path.isfile(path):
        return False
    try:
        shape = npy_header(path)[0]
    except (ValueError, OSError):
        return False  # not a readable .npy: loading it reports the problem
    return len(shape) == 2 and shape[0] * shape[1] * 4 > STREAM_ABOVE_BYTES


def _check_output_path(path, flag, extensions):
    if path is None:
        return
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.splitext(path)[1].lower() not in extensions:
        raise UsageError(f"{flag} {path}: the file name must end in {' or '.join(extensions)}")
    if os.path.isdir(path):
        raise UsageError(f"{flag} {path}: is a directory")
    if not os.path.isdir(directory):
        raise UsageError(f"{flag} {path}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise UsageError(f"{flag} {path}: cannot write to the directory {directory}")


def _has_display():
    import matplotlib

    backend = matplotlib.get_backend().lower()
    if backend in ("agg", "pdf", "ps", "svg", "pgf", "cairo", "template"):
        return False
    if backend.startswith("module://"):
        return True
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    return True


def _unused_name(stem, extension):
    """``stem.extension`` in the current directory, or ``stem-2.extension``, ...: a name no file has."""
    candidate, number = f"{stem}{extension}", 1
    while os.path.exists(candidate):
        number += 1
        candidate = f"{stem}-{number}{extension}"
    return candidate


def _show_or_save(figure, save_path):
    import matplotlib.pyplot as plt

    from ._output import save_figure

    if save_path is None and _has_display():
        plt.show()
        return
    if save_path is None:
        save_path = _unused_name(PROG, ".png")
        message = "No display to show the figure on, so it was saved to"
    else:
        message = "Figure saved to"
    save_figure(figure, save_path)
    plt.close(figure)
    print(f"{message} {os.path.abspath(save_path)}")


def _print_centroids(centroids, feature_names=None, true_centroids=None, indent="  "):
    """One line per centroid, under a line of column names; with true centroids, the nearest
    one and how far it is."""
    import numpy as np

    centroids = np.asarray(centroids)
    widths = [max(9, len(name)) for name in feature_names] if feature_names else [9] * centroids.shape[1]
    if feature_names and indent == "  ":
        margin = " " * len(f"{indent}centroid 0: (")
        print(margin + ", ".join(f"{name:>{width}}" for name, width in zip(feature_names, widths)))
    for index, centroid in enumerate(centroids):
        point = "(" + ", ".join(f"{value:{w}.3f}" for value, w in zip(centroid, widths)) + ")"
        line = f"{indent}centroid {index}: {point}"
        if true_centroids is not None:
            distances = np.linalg.norm(np.asarray(true_centroids) - centroid, axis=1)
            nearest = int(np.argmin(distances))
            line += f"   nearest true centroid: {nearest}, {distances[nearest]:.3f} away"
        print(line)


def _print_iteration(iteration, inertia, shift, changed):
    print(f"{iteration:>9}  {inertia:>16,.3f}  {shift:>13.4f}  {changed:>8}")
