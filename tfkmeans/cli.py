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
k-means with TensorFlow 2: cluster your own data (CSV or .npy), or, with no --data, the blobs
of the lesson "Clustering and k-means".

Each iteration prints the inertia (the within-cluster sum of squared distances, which k-means
makes smaller), how far the centroids moved and how many samples changed cluster. The figure
shows the samples coloured by cluster beside the inertia per iteration.

examples:
  tfkmeans                                        # the lesson's blobs, 10 iterations
  tfkmeans --tolerance 0 --iterations 100         # stop once converged
  tfkmeans --data data/iris.csv --init kmeans++ --output iris.json
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


GENERATION_DEFAULTS = {"n_features": 2, "n_samples_per_cluster": 500, "embiggen_factor": 70}


def build_parser():
    parser = _Parser(
        prog=PROG, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    add = parser.add_argument
    add(
        "--data",
        metavar="PATH",
        help="cluster this file: CSV (numbers, an optional header line, every column used) or NumPy .npy "
        "(2-D). Without it, the lesson's generated blobs are clustered",
    )
    add("--n-clusters", type=_integer_at_least(1), default=3, help="number of clusters (default 3)")
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
        help="iterations to run; with --tolerance, the most to run (default 10, as in the lesson's exercise 2)",
    )
    add(
        "--tolerance",
        type=_non_negative_float,
        metavar="T",
        help="stop as soon as no centroid moves farther than T (in data units) in an iteration, or no sample "
        "changes cluster. Without it, exactly --iterations iterations run",
    )
    add(
        "--output",
        metavar="PATH.json",
        help="write the centroids, each sample's cluster, the inertia per iteration and the settings to this JSON file",
    )
    add("--animate", metavar="PATH.gif", help="write an animation of the iterations, one frame per iteration")
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
    _check_arguments(args)

    import numpy as np

    from . import _input, _kmeans, _output, _seeding, plotting
    from .datasets import lesson_blobs

    # The samples: the lesson's generated blobs, or your own data.
    if args.data is None:
        settings = {
            name: getattr(args, name) if getattr(args, name) is not None else default
            for name, default in GENERATION_DEFAULTS.items()
        }
        true_centroids, samples = lesson_blobs(
            args.n_clusters,
            settings["n_samples_per_cluster"],
            settings["n_features"],
            settings["embiggen_factor"],
            args.seed,
        )
        print(
            f"k-means on {samples.shape[0]} generated samples, {settings['n_features']} features, "
            f"{args.n_clusters} clusters, seed {args.seed}"
        )
        print("True centroids:")
        _print_centroids(true_centroids)
    else:
        settings = {}
        try:
            samples = _input.load_samples(args.data)
        except _input.DataError as error:
            raise UsageError(f"--data {error}") from None
        if samples.shape[0] < args.n_clusters:
            raise UsageError(
                f"--data {args.data}: {samples.shape[0]} samples is fewer than --n-clusters {args.n_clusters}"
            )
        true_centroids = None
        print(
            f"k-means on {args.data}: {samples.shape[0]} samples, {samples.shape[1]} features, {args.n_clusters} clusters"
        )

    choose = _seeding.random_centroids if args.init == "random" else _seeding.kmeans_plusplus
    initial_centroids = choose(samples, args.n_clusters, args.seed).numpy()
    print(f"Initial centroids ({args.init}, seed {args.seed}):")
    _print_centroids(initial_centroids, true_centroids)
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
        centroid_history, label_history = [centroids], [labels]
        inertias, shifts, changes = [], [], []
        for iteration in range(1, args.iterations + 1):
            step = _kmeans.kmeans(samples, centroids, max_iterations=1, tolerance=None)
            centroids, labels = step.centroids, step.nearest_indices
            centroid_history.append(centroids)
            label_history.append(labels)
            inertias.append(step.inertia)
            shifts.append(float(step.shift_history[0]))
            changes.append(int(step.changed_history[0]))
            _print_iteration(iteration, inertias[-1], shifts[-1], changes[-1])
            if args.n_clusters <= 10:
                _print_centroids(centroids, true_centroids, indent=" " * 11)
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
    _print_centroids(centroids, true_centroids)

    if args.output is not None:
        _output.write_json(
            args.output,
            {
                "centroids": np.asarray(centroids).tolist(),
                "nearest_indices": np.asarray(labels).tolist(),
                "inertia": [float(value) for value in inertias],
                "iterations": n_run,
                "converged": bool(converged),
                "true_centroids": None if true_centroids is None else true_centroids.tolist(),
                "settings": {
                    "n_clusters": args.n_clusters,
                    "init": args.init,
                    "seed": args.seed,
                    "iterations": args.iterations,
                    "tolerance": args.tolerance,
                    "fast": args.fast,
                    "data": args.data,
                    **settings,
                },
            },
        )
        print(f"Results written to {args.output}")

    if args.animate is not None:
        plotting.animate(
            args.animate,
            samples,
            centroid_history,
            label_history,
            [starting_inertia, *inertias],
            true_centroids=true_centroids,
        )
        print(f"Animation written to {args.animate} ({len(centroid_history)} frames)")

    figure = plotting.plot_result(
        samples,
        centroids,
        labels,
        inertias,
        true_centroids=true_centroids,
        title=f"k-means after {n_run} iterations ({args.init} start)",
    )
    _show_or_save(figure, args.save)
    return 0


def _check_arguments(args):
    """Everything that can be wrong with the command line, found before any work is done."""
    if args.save is not None:
        from matplotlib.figure import Figure

        supported = Figure().canvas.get_supported_filetypes()
        _check_output_path(args.save, "--save", [f".{extension}" for extension in sorted(supported)])
    _check_output_path(args.output, "--output", [".json"])
    _check_output_path(args.animate, "--animate", [".gif"])
    if args.fast and args.animate:
        raise UsageError("--animate draws every iteration, which --fast does not keep; use one or the other")
    if args.data is not None:
        for name in GENERATION_DEFAULTS:
            if getattr(args, name) is not None:
                raise UsageError(f"--{name.replace('_', '-')} sets up generated samples, so it does not go with --data")


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


def _format_point(point):
    return "(" + ", ".join(f"{value:9.3f}" for value in point) + ")"


def _print_centroids(centroids, true_centroids=None, indent="  "):
    """One line per centroid; with true centroids, the nearest one and how far it is."""
    import numpy as np

    for index, centroid in enumerate(np.asarray(centroids)):
        line = f"{indent}centroid {index}: {_format_point(centroid)}"
        if true_centroids is not None:
            distances = np.linalg.norm(np.asarray(true_centroids) - centroid, axis=1)
            nearest = int(np.argmin(distances))
            line += f"   nearest true centroid: {nearest}, {distances[nearest]:.3f} away"
        print(line)


def _print_iteration(iteration, inertia, shift, changed):
    print(f"{iteration:>9}  {inertia:>16,.3f}  {shift:>13.4f}  {changed:>8}")
