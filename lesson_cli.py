"""Plumbing for the four lesson scripts; nothing here is part of the lesson.

``command_line`` lets a script's settings be changed from the command line
(``python kmeans_step.py --n-clusters 5``), turning a bad value into a one-line error with exit
status 2. ``show_or_save`` is the lesson's ``plt.show()``, made to work where there is no
display (a server, CI): there the figure is saved instead, and the script says where.

The scripts import this file before TensorFlow, so that ``--help`` and a bad setting answer at
once: on import, with anything on the command line, it reads the script's settings from its
source and checks the command line without waiting for TensorFlow to load.

Then it loads TensorFlow itself, so that the learner sees only the lesson's output: TensorFlow's
C++ libraries print a dozen log lines to stderr ("oneDNN custom operations", "Could not find cuda
drivers", "cpu_feature_guard", "failed call to cuInit" ...), some while they load, before any
setting reaches them. ``TF_CPP_MIN_LOG_LEVEL=3`` (unless it is set already) hides the later
ones, and stderr points at a scratch file while TensorFlow loads; if loading fails, what it
printed is shown with the error. ``TF_CPP_MIN_LOG_LEVEL=0`` shows everything.
"""

import argparse
import ast
import contextlib
import math
import os
import sys
import tempfile

SETTINGS = ("n_features", "n_clusters", "n_samples_per_cluster", "seed", "embiggen_factor")
SEED_LIMIT = 2**63  # TensorFlow's stateless seeds are int64
FLOAT32_MAX = 3.4028234663852886e38


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def _integer_at_least(minimum, below=None):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        if below is not None and value >= below:
            raise argparse.ArgumentTypeError(f"must be below 2**63, got {value}")
        return value

    return parse


def _non_negative_number(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def _parser(description, n_features, n_clusters, n_samples_per_cluster, seed, embiggen_factor):
    parser = _Parser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    add = parser.add_argument
    # Two features at least: plot_clusters draws the first two.
    add("--n-features", type=_integer_at_least(2), default=n_features, help=f"default {n_features}")
    add("--n-clusters", type=_integer_at_least(1), default=n_clusters, help=f"default {n_clusters}")
    add(
        "--n-samples-per-cluster",
        type=_integer_at_least(1),
        default=n_samples_per_cluster,
        help=f"default {n_samples_per_cluster}",
    )
    add("--seed", type=_integer_at_least(0, below=SEED_LIMIT), default=seed, help=f"default {seed}")
    add("--embiggen-factor", type=_non_negative_number, default=embiggen_factor, help=f"default {embiggen_factor}")
    add(
        "--save",
        metavar="PATH",
        help="write the figure to PATH (.png, .pdf, .svg, ...) instead of opening a window; "
        "without a display it is saved as <script name>.png anyway",
    )
    return parser


def command_line(n_features, n_clusters, n_samples_per_cluster, seed, embiggen_factor):
    """The lesson's five settings, each overridable by a flag, plus ``--save``.

    The arguments are the script's own values, which become the flags' defaults; the script's
    docstring (``__main__``'s) becomes ``--help``'s description.

    Returns
    -------
    (n_features, n_clusters, n_samples_per_cluster, seed, embiggen_factor, save_path)
        ``save_path`` is None unless ``--save PATH`` was given.
    """
    parser = _parser(
        sys.modules["__main__"].__doc__, n_features, n_clusters, n_samples_per_cluster, seed, embiggen_factor
    )
    args = _checked(parser, _assigns(_main_source()))
    return args.n_features, args.n_clusters, args.n_samples_per_cluster, args.seed, args.embiggen_factor, args.save


def _checked(parser, assigns):
    """The parsed command line, or a one-line error and exit status 2."""
    args = parser.parse_args()
    # The samples are float32: their squared distances (up to n_features x the spread squared)
    # must stay finite.
    largest = args.embiggen_factor / 2 + 200.0
    if 4 * args.n_features * largest * largest >= FLOAT32_MAX:
        limit = 2 * (math.sqrt(FLOAT32_MAX / (4 * args.n_features)) - 200.0)
        parser.error(
            f"--embiggen-factor {args.embiggen_factor:g}: at most {limit:.3g} for {args.n_features} features (float32)"
        )
    _check_memory(parser, args, assigns)
    if args.save is not None:
        _check_figure_path(parser, args.save)
    return args


def _memory_bytes():
    """This machine's physical memory in bytes, or None where it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


# Bytes a script holds per number of its samples (float32, with the copies create_samples and
# .numpy() make), per sample in the figure (matplotlib's points), and per number of
# assign_to_nearest's n_clusters x n_samples x n_features tensor (it and its square at once).
BYTES_PER_SAMPLE_NUMBER, BYTES_PER_PLOTTED_SAMPLE, BYTES_PER_ASSIGN_NUMBER = 12, 64, 8


def _check_memory(parser, args, assigns):
    """Refuse settings whose samples (and, where the script assigns, assign_to_nearest's
    tensor of every sample minus every centroid) would take over a quarter of the machine's
    memory, rather than run out of memory in TensorFlow minutes later."""
    n_samples = args.n_clusters * args.n_samples_per_cluster
    needed = n_samples * (BYTES_PER_SAMPLE_NUMBER * args.n_features + BYTES_PER_PLOTTED_SAMPLE)
    if assigns:
        needed += BYTES_PER_ASSIGN_NUMBER * args.n_clusters * n_samples * args.n_features
    memory = _memory_bytes()
    if memory is not None and needed > memory // 4:
        held = (
            f"assign_to_nearest's {args.n_clusters:,} x {n_samples:,} x {args.n_features} tensor and the samples"
            if assigns
            else f"{n_samples:,} samples of {args.n_features} features"
        )
        parser.error(
            f"--n-clusters {args.n_clusters} with {args.n_samples_per_cluster:,} samples each: {held} would take "
            f"about {needed / 2**30:.1f} GiB, more than a quarter of this machine's {memory / 2**30:.0f} GiB; "
            "use fewer clusters or samples (the tfkmeans package clusters large data)"
        )


def _main_source():
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, TypeError, ValueError):
        return ""


def _assigns(source):
    """Whether a script calls assign_to_nearest (and so holds its n_clusters x n_samples tensor)."""
    return "assign_to_nearest(" in source


def _check_before_tensorflow():
    """With anything on the command line, check it now (``--help`` answers), the script's
    settings read from its source: the script would otherwise load TensorFlow (seconds, with
    its start-up notices) before it reached ``command_line``."""
    if not sys.argv[1:]:
        return
    source = _main_source()
    try:
        tree = ast.parse(source)
        settings = {
            node.targets[0].id: ast.literal_eval(node.value)
            for node in tree.body
            if isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in SETTINGS
        }
    except (SyntaxError, ValueError):
        return  # not a lesson script as we know them: command_line answers later
    if set(settings) == set(SETTINGS):
        _checked(_parser(ast.get_docstring(tree, clean=False), **settings), _assigns(source))


def _check_figure_path(parser, path):
    from matplotlib.figure import Figure

    extension = os.path.splitext(path)[1].lstrip(".").lower()
    supported = Figure().canvas.get_supported_filetypes()
    if extension not in supported:
        parser.error(f"--save {path}: the file name must end in one of .{', .'.join(sorted(supported))}")
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path) or not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        parser.error(f"--save {path}: cannot write a file there")


def has_display():
    """Whether ``plt.show()`` would open a window (or draw inline in a notebook)."""
    import matplotlib

    backend = matplotlib.get_backend().lower()
    if backend in ("agg", "pdf", "ps", "svg", "pgf", "cairo", "template"):
        return False
    if backend.startswith("module://"):  # e.g. a notebook's inline backend
        return True
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    return True


def show_or_save(figure, save_path=None):
    """The lesson's ``plt.show()``, made to work without a display.

    With ``save_path``, write the figure there. Otherwise open a window if there is a display,
    and if there is none, save ``<script name>.png`` in the current directory. Says where the
    figure went. The file is written to a temporary name and renamed, so an interrupted run
    never leaves half a figure.
    """
    import matplotlib.pyplot as plt

    if save_path is None and has_display():
        plt.show()
        return
    if save_path is None:
        save_path = os.path.splitext(os.path.basename(sys.argv[0]))[0] + ".png"
        message = "No display to show the figure on, so it was saved to"
    else:
        message = "Figure saved to"
    extension = os.path.splitext(save_path)[1].lstrip(".").lower()
    temporary = os.path.join(os.path.dirname(os.path.abspath(save_path)), f".{os.getpid()}.tmp.{extension}")
    try:
        figure.savefig(temporary, format=extension, dpi=100, bbox_inches="tight")
        os.replace(temporary, save_path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    plt.close(figure)
    print(f"{message} {os.path.abspath(save_path)}")


@contextlib.contextmanager
def _stderr_set_aside():
    """Point file descriptor 2, where C++ libraries write, at a scratch file for a while; if the
    block raises, copy what was written there to stderr before the error shows."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real file descriptor 2 (an embedded interpreter)
        yield
        return
    with tempfile.TemporaryFile() as scratch:
        os.dup2(scratch.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            scratch.seek(0)
            os.write(2, scratch.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def load_tensorflow_quietly():
    """Import TensorFlow, its start-up log lines set aside, and set up its devices (the "failed
    call to cuInit" line of a machine without a GPU driver), unless TF_CPP_MIN_LOG_LEVEL=0 asks
    for everything or TensorFlow is loaded already."""
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _stderr_set_aside():
        import tensorflow

        tensorflow.config.list_logical_devices()


_check_before_tensorflow()
load_tensorflow_quietly()
