"""Command line and figure display shared by the four lesson scripts.

Nothing here is part of the lesson: it lets each script's settings be changed from the command
line, turns bad values into a one-line error (exit status 2), and shows the figure in a window
where there is a display, or saves it where there is none (a server, CI).
"""

import argparse
import math
import os
import sys


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        fail(message, prog=self.prog)


def fail(message, prog=None):
    """Print ``<script>: error: <message>`` on one line of stderr and exit with status 2."""
    prog = prog or os.path.basename(sys.argv[0])
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(2)


def integer_at_least(minimum):
    """An argparse type: an integer no smaller than ``minimum``."""

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


positive_int = integer_at_least(1)
non_negative_int = integer_at_least(0)


def non_negative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def lesson_parser(doc, n_features, n_clusters, n_samples_per_cluster, seed, embiggen_factor):
    """An argument parser with the lesson's settings as flags, their defaults the script's.

    ``doc`` (the script's docstring) becomes ``--help``'s description.
    """
    parser = _Parser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument(
        "--n-clusters",
        type=positive_int,
        default=n_clusters,
        help=f"number of clusters (default {n_clusters})",
    )
    parser.add_argument(
        "--n-features",
        type=positive_int,
        default=n_features,
        help=f"features (dimensions) of each generated sample; only the first two are plotted (default {n_features})",
    )
    parser.add_argument(
        "--n-samples-per-cluster",
        type=positive_int,
        default=n_samples_per_cluster,
        help=f"samples generated around each true centroid (default {n_samples_per_cluster})",
    )
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        default=seed,
        help=f"random seed: the same seed gives the same numbers every run (default {seed})",
    )
    parser.add_argument(
        "--embiggen-factor",
        type=non_negative_float,
        default=embiggen_factor,
        help="true centroids are drawn from [-embiggen_factor/2, embiggen_factor/2) in each feature; "
        f"larger spreads the clusters apart (default {embiggen_factor})",
    )
    parser.add_argument(
        "--save",
        metavar="PATH",
        help="write the figure to PATH (.png, .pdf, .svg, ...) instead of opening a window. "
        "Without a display the figure is saved as <script name>.png anyway",
    )
    return parser


def check_output_path(path, flag, extensions=None):
    """Fail (exit 2) now, before any work, if ``path`` cannot be written to."""
    if path is None:
        return
    directory = os.path.dirname(os.path.abspath(path))
    if extensions is not None and os.path.splitext(path)[1].lower() not in extensions:
        fail(f"{flag} {path}: the file name must end in {' or '.join(extensions)}")
    if os.path.isdir(path):
        fail(f"{flag} {path}: is a directory")
    if not os.path.isdir(directory):
        fail(f"{flag} {path}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        fail(f"{flag} {path}: cannot write to the directory {directory}")


def check_figure_path(path, flag="--save"):
    if path is None:
        return
    from matplotlib.figure import Figure

    supported = Figure().canvas.get_supported_filetypes()
    check_output_path(path, flag, extensions=[f".{extension}" for extension in sorted(supported)])


def has_display():
    """Whether ``plt.show()`` would open a window (or draw inline in a notebook)."""
    import matplotlib

    backend = matplotlib.get_backend().lower()
    if backend in ("agg", "pdf", "ps", "svg", "pgf", "cairo", "template"):
        return False
    if backend.startswith("module://"):  # e.g. a notebook's inline backend
        return True
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    return True


def show_or_save(figure, save_path, script_file):
    """The lesson's ``plt.show()``, made to work without a display.

    With ``save_path``, write the figure there. Otherwise open a window if there is a display,
    and if there is none, save ``<script name>.png`` in the current directory. Says where the
    figure went.
    """
    import matplotlib.pyplot as plt

    from functions import save_figure

    if save_path is None and has_display():
        plt.show()
        return
    if save_path is None:
        save_path = os.path.splitext(os.path.basename(script_file))[0] + ".png"
        save_figure(figure, save_path)
        print(f"No display to show the figure on, so it was saved to {os.path.abspath(save_path)}")
    else:
        save_figure(figure, save_path)
        print(f"Figure saved to {os.path.abspath(save_path)}")
    plt.close(figure)


def iterate_parser(doc, n_features, n_clusters, n_samples_per_cluster, seed, embiggen_factor, iterations):
    """``lesson_parser`` plus the flags of kmeans_iterate.py."""
    parser = lesson_parser(doc, n_features, n_clusters, n_samples_per_cluster, seed, embiggen_factor)
    parser.add_argument(
        "--iterations",
        type=positive_int,
        default=iterations,
        help=f"iterations to run; with --tolerance, the most to run (default {iterations}, as in exercise 2)",
    )
    parser.add_argument(
        "--tolerance",
        type=non_negative_float,
        metavar="T",
        help="stop as soon as no centroid moves farther than T (in data units) in an iteration, or no "
        "sample changes cluster. Without it, exactly --iterations iterations run",
    )
    parser.add_argument(
        "--init",
        choices=["random", "kmeans++"],
        default="random",
        help="how to choose the initial centroids: 'random' samples (the lesson's choose_random_centroids, "
        "default) or k-means++ seeding; both use --seed",
    )
    parser.add_argument(
        "--data",
        metavar="PATH",
        help="cluster this file instead of generated samples: CSV (numbers, an optional header line, every "
        "column used) or NumPy .npy (2-D)",
    )
    parser.add_argument(
        "--output",
        metavar="PATH.json",
        help="write the centroids, each sample's cluster, the inertia per iteration and the settings to this JSON file",
    )
    parser.add_argument(
        "--animate", metavar="PATH.gif", help="write an animation of the iterations, one frame per iteration"
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="run the loop compiled as one TensorFlow function (functions.kmeans) instead of the lesson's "
        "step-by-step loop; same results",
    )
    return parser


def flags_given():
    """The --flags written on the command line (not those left at their defaults)."""
    return {argument.split("=")[0] for argument in sys.argv[1:] if argument.startswith("--")}


def format_point(point):
    return "(" + ", ".join(f"{value:9.3f}" for value in point) + ")"


def print_centroids(centroids, true_centroids=None, indent="  "):
    """One line per centroid; with true centroids, the nearest one and how far it is."""
    import numpy as np

    for index, centroid in enumerate(centroids):
        line = f"{indent}centroid {index}: {format_point(centroid)}"
        if true_centroids is not None:
            distances = np.linalg.norm(np.asarray(true_centroids) - centroid, axis=1)
            nearest = int(np.argmin(distances))
            line += f"   nearest true centroid: {nearest}, {distances[nearest]:.3f} away"
        print(line)


def print_iteration_header():
    print(f"{'iteration':>9}  {'inertia':>16}  {'largest shift':>13}  {'changed':>8}")


def print_iteration(iteration, inertia, shift, changed):
    print(f"{iteration:>9}  {inertia:>16,.3f}  {shift:>13.4f}  {changed:>8}")
