"""The ``tfkmeans`` command: k-means on your own data, or on the lesson's generated blobs.

Three parts, each testable alone: this module turns the command line into checked
``Settings`` (``parse``, and ``main``, which runs the rest); ``_command`` turns settings into
results; ``_report`` prints them and writes the files. What the three share (``Settings``,
``UsageError``) is in ``_settings``, below them all. Everything that can be wrong with the command line is found here, before
any work starts, and reported as one line on stderr with exit status 2 (``main``); so is
whatever is wrong with the data, when it is read. ``--help`` answers without importing
TensorFlow.
"""

import argparse
import contextlib
import math
import os
import signal
import stat
import sys
import threading

from ._settings import PROG, Settings, UsageError
from ._text import INTEGER, NUMBER, QUOTE_LIMIT, quoted, shown_path

DESCRIPTION = """\
k-means with TensorFlow 2: cluster your own data (a CSV, TSV or text table, or a NumPy .npy
file), or, with no --data, the blobs of the lesson "Clustering and k-means".

It prints the inertia (the within-cluster sum of squared distances, which k-means makes
smaller) after the first and the last iteration (-v: after every one), how far the centroids
moved and how many samples changed cluster, and draws the samples coloured by cluster beside
the inertia per iteration. With a range of cluster counts (--n-clusters 2:10) it fits each and
compares them instead.

examples:
  tfkmeans                                        # the lesson's blobs, 10 iterations
  tfkmeans --tolerance 0 --iterations 100         # stop once converged
  tfkmeans --data data/iris.csv --init k-means++ --output iris.json
  tfkmeans --data measurements.csv --columns height,weight --missing drop --standardize
  tfkmeans --data data/iris.csv --n-clusters 2:10 # how many clusters?
  tfkmeans --animate kmeans.gif                   # watch it work
"""

# A .npy file larger than this (as float32) is streamed rather than loaded.
STREAM_ABOVE_BYTES = 512 * 2**20
GENERATION_DEFAULTS = {"n_features": 2, "n_samples_per_cluster": 500, "embiggen_factor": 70.0}
# Seeds are TensorFlow's stateless int64 seeds.
SEED_LIMIT = 2**63
# Without --tolerance the command runs exactly --iterations iterations and keeps every one's
# history (for --output and --animate): 2**31 of them would never finish, so they are refused.
ITERATION_LIMIT = 2**31
# Every start is a whole fit (about 2 ms on the lesson's blobs, far more on real data), and the
# starts' centroids are all drawn before the first: --n-init 10**11 would never end, so --n-init
# is kept below this.
N_INIT_LIMIT = 100_000
FLOAT32_MAX = 3.4028234663852886e38
# The most values (samples x features) the lesson's blobs may have: 256 MiB of float32. Checked
# before they are generated, so that a typo in --n-clusters is refused at once.
GENERATED_VALUES_LIMIT = 2**26


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _integer_at_least(minimum, below=None):
    def parse(text):
        if not INTEGER.fullmatch(text):  # int() would take "١٢", "1_000" and " 12 "
            kind = "positive" if minimum == 1 else "non-negative"
            raise argparse.ArgumentTypeError(f"expected a {kind} integer, got {quoted(text)}")
        if len(text.lstrip("+-")) > 30:  # far beyond any count; int() refuses 4,300 digits with a ValueError
            raise argparse.ArgumentTypeError(f"far too large: {quoted(text)}")
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        if below is not None and value >= below:
            raise argparse.ArgumentTypeError(f"must be below {below:,}, got {value:,}")
        return value

    return parse


def _non_negative_float(text):
    if not NUMBER.fullmatch(text):  # float() would take "١.٥" and "1_0"
        raise argparse.ArgumentTypeError(f"expected a number, got {quoted(text)}")
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {quoted(text)}")
    return value


def _cluster_counts(text):
    """K, or A:B for every count from A to B."""
    first, colon, last = text.partition(":")
    parse = _integer_at_least(1)
    if not colon:
        return parse(first)
    low, high = parse(first), parse(last)
    if high <= low:
        raise argparse.ArgumentTypeError(f"a range A:B needs A < B, got {quoted(text)}")
    return range(low, high + 1)


def _init_method(text):
    """'random', or k-means++ spelled either way ('kmeans++' as before, 'k-means++' as in Python)."""
    if text == "random":
        return "random"
    if text in ("k-means++", "kmeans++"):
        return "k-means++"
    raise argparse.ArgumentTypeError(f"invalid choice: {quoted(text)} (choose from 'random', 'k-means++')")


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
        type=_init_method,
        default="random",
        metavar="{random,k-means++}",
        help="initial centroids: 'random' samples (the lesson's choose_random_centroids, default) or "
        "'k-means++' seeding (also spelled kmeans++); both use --seed",
    )
    add(
        "--metric",
        choices=["euclidean", "cosine"],
        default="euclidean",
        help="what near means: 'euclidean' (k-means, default) or 'cosine' (spherical k-means, for text and "
        "embeddings: each row scaled to unit length, each centroid the unit-length mean of its cluster, the "
        "inertia a sum of cosine distances 1 - cos); a row of zeros has no direction and is refused",
    )
    add(
        "--n-init",
        type=_integer_at_least(1, below=N_INIT_LIMIT),
        metavar="N",
        help="starts, the one with the lowest inertia kept (default 1 for one cluster count, as in the lesson; "
        f"10 per count with A:B); fewer than {N_INIT_LIMIT:,}",
    )
    add(
        "--seed",
        type=_integer_at_least(0, below=SEED_LIMIT),
        default=700,
        help="random seed, from 0 to 2**63 - 1: the same seed, the same numbers (default 700)",
    )
    add(
        "--iterations",
        type=_integer_at_least(1, below=ITERATION_LIMIT),
        metavar="N",
        help="iterations to run (default 10, as in the lesson's exercise 2); with --tolerance, the most to run; "
        "with --n-clusters A:B, the most per fit (default 300), each fit stopping once converged",
    )
    add(
        "--tolerance",
        type=_non_negative_float,
        metavar="T",
        help="stop as soon as no centroid moves farther than T in an iteration (in the data's units, or in "
        "standard deviations with --standardize), or no sample changes cluster. Without it, exactly "
        "--iterations iterations run for one cluster count, and each fit of a range A:B stops once no sample "
        "changes cluster (as --tolerance 0)",
    )
    add(
        "--output",
        metavar="PATH.json",
        help="write the centroids, each row's cluster, the inertia per iteration and the settings used to this "
        "JSON file",
    )
    add(
        "--labels",
        metavar="PATH.npy",
        help="write each data row's cluster (int32, in the file's order, -1 for a row --missing drop left out) "
        "to this NumPy file: for data too large for one JSON list. With A:B, for the count the silhouette prefers",
    )
    add(
        "--save",
        metavar="PATH",
        help="write the figure to PATH (.png, .pdf, .svg, ...) instead of opening a window. Without a display "
        "it is saved as tfkmeans.png (or tfkmeans-2.png, ..., never replacing a file) anyway",
    )
    add(
        "--animate",
        metavar="PATH.gif",
        help="write an animation of the iterations: one frame for the start, then one per iteration",
    )
    add(
        "--plot-columns",
        metavar="A,B",
        help="the two features the figure plots, by name or number (1 is the first clustered column); default: "
        "the two features, or with more the first two principal components",
    )
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument(
        "-v", "--verbose", action="store_true", help="print every iteration and every centroid, however wide"
    )
    verbosity.add_argument(
        "-q", "--quiet", action="store_true", help="print only the files written (and errors, on stderr)"
    )
    data = parser.add_argument_group("your own data (with --data)")
    data.add_argument(
        "--columns",
        metavar="A,B,...",
        help="the columns to cluster, by name (from the header) or by number (1 is the first); each must hold "
        "numbers. Default: every column that holds numbers, less a table's column that counts its rows (an id), "
        "with a note",
    )
    data.add_argument(
        "--delimiter",
        metavar="CHAR",
        help="the table's delimiter, one ASCII character (\\t for a tab; a space for any run of blanks). Default: a tab "
        "for .tsv, else detected",
    )
    data.add_argument("--decimal", default=".", metavar="CHAR", help="the decimal mark (default '.'; ',' for 1,5)")
    data.add_argument(
        "--encoding",
        default="utf-8",
        metavar="NAME",
        help="the table's text encoding (default utf-8; cp1252 or latin-1 for many spreadsheet exports)",
    )
    data.add_argument(
        "--missing",
        choices=["error", "drop"],
        default="error",
        help="a missing value (an empty cell, NA, N/A, NaN, null, ... as pandas reads them; NaN in .npy) in a "
        "column used: stop with an error (default), or leave the row out (its cluster is then null in --output "
        "and -1 in --labels)",
    )
    data.add_argument(
        "--na-values",
        metavar="A,B,...",
        help="more cells that mark a missing value, besides an empty cell, NA, N/A, NaN, null and pandas' other "
        "defaults (for example ?,-999)",
    )
    data.add_argument(
        "--standardize",
        action="store_true",
        help="scale each column to mean 0 and standard deviation 1 before clustering, so that no column "
        "weighs more for its units; centroids are reported in the data's own units",
    )
    data.add_argument(
        "--true-labels",
        metavar="COLUMN",
        help="a table's column of known labels (species, say; text or numbers), by name or number: it is never "
        "clustered, and the adjusted Rand index of the clusters against it is reported (1: the same grouping, "
        "about 0: no better than chance)",
    )
    data.add_argument(
        "--stream",
        action="store_true",
        help="read a .npy file a batch at a time on every pass instead of loading it (the default for files over "
        f"{STREAM_ABOVE_BYTES // 2**20} MiB as float32): the data never has to fit in memory",
    )
    data.add_argument(
        "--checkpoint",
        metavar="DIR",
        help="with a streamed file: save every completed iteration in this directory (TensorFlow checkpoints, "
        "the last 3 kept), and go on from the last one when the same command is run again after a crash or "
        "Ctrl-C; a checkpoint of another run (other data or settings) is refused",
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
        f"(default {GENERATION_DEFAULTS['embiggen_factor']:g})",
    )
    return parser


def parse(argv):
    """The command line ``argv`` as checked ``Settings``, or ``UsageError``."""
    argv = list(argv)
    try:
        args = build_parser().parse_args(argv)
    except UsageError as error:  # argparse quotes what it was given, however long
        raise UsageError(_capped(str(error), argv)) from None
    given = {argument.split("=")[0] for argument in argv if argument.startswith("-")}
    settings = Settings(
        data=args.data,
        columns=None if args.columns is None else args.columns.split(","),
        delimiter=args.delimiter,
        decimal=args.decimal,
        encoding=args.encoding,
        missing=args.missing,
        na_values=None if args.na_values is None else args.na_values.split(","),
        standardize=args.standardize,
        n_clusters=args.n_clusters,
        init=args.init,
        metric=args.metric,
        seed=args.seed,
        tolerance=args.tolerance,
        output=args.output,
        labels=args.labels,
        save=args.save,
        animate=args.animate,
        plot_columns=None if args.plot_columns is None else args.plot_columns.split(","),
        verbosity=0 if args.quiet else 2 if args.verbose else 1,
        true_labels=args.true_labels,
        checkpoint=args.checkpoint,
    )
    settings.n_init = args.n_init or (10 if settings.sweep else 1)
    settings.iterations = args.iterations or (300 if settings.sweep else 10)
    if settings.sweep and settings.tolerance is None:
        settings.tolerance = 0.0  # each fit until converged: a range compares finished fits
    _check_combinations(settings, args, given)
    _check_true_labels(settings)
    _check_counts(settings)
    _check_backend()
    _check_paths(settings)
    return settings


def _check_true_labels(settings):
    """--true-labels names a column of a table; a .npy array has no names, and a streamed file
    is a .npy too."""
    if settings.true_labels is None:
        return
    from ._input import TABLE_EXTENSIONS

    if not settings.true_labels.strip():
        raise UsageError("--true-labels: give a column of the table, by name or number")
    if settings.data is None:
        raise UsageError("--true-labels names a column of your data, so it goes with --data")
    if os.path.splitext(settings.data)[1].lower() not in TABLE_EXTENSIONS:
        raise UsageError(
            f"--true-labels names a column of a table ({', '.join(TABLE_EXTENSIONS)}); --data {settings.data} is not "
            "one (a .npy array has no column names: save it with its labels as a table)"
        )


def _capped(message, argv):
    """``message`` with every long argument from ``argv`` in it cut short (see ``quoted``)."""
    for argument in sorted({a for a in argv if len(a) > QUOTE_LIMIT}, key=len, reverse=True):
        message = message.replace(repr(argument), quoted(argument)).replace(argument, quoted(argument)[1:-1])
    return message


def _check_combinations(settings, args, given):
    if settings.sweep and "--animate" in given:
        raise UsageError(
            f"--animate goes with one cluster count, not a range (--n-clusters {settings.n_clusters.start}:"
            f"{settings.n_clusters.stop - 1})"
        )
    if settings.plot_columns is not None and len(settings.plot_columns) != 2:
        raise UsageError(f"--plot-columns {quoted(args.plot_columns)[1:-1]}: give two columns, A,B")
    if settings.data is None:
        for flag in ("--columns", "--delimiter", "--decimal", "--encoding", "--missing", "--na-values", "--stream"):
            if flag in given:
                raise UsageError(f"{flag} reads your own data, so it goes with --data")
        settings.generation = {
            name: getattr(args, name) if getattr(args, name) is not None else default
            for name, default in GENERATION_DEFAULTS.items()
        }
        _check_generation(settings.generation)
    else:
        for name in GENERATION_DEFAULTS:
            if getattr(args, name) is not None:
                raise UsageError(f"--{name.replace('_', '-')} sets up generated samples, so it does not go with --data")
    if settings.delimiter is not None:
        settings.delimiter = "\t" if settings.delimiter in ("\\t", "tab") else settings.delimiter
    _check_table_format(settings)
    from ._input import DataError, text_encoding

    try:
        text_encoding(settings.encoding)
    except DataError:
        raise UsageError(
            f"--encoding {quoted(settings.encoding)}: not a text encoding Python knows (utf-8, cp1252, latin-1, ...)"
        ) from None
    if settings.data is not None and settings.data.lower().endswith(".npy"):
        for flag in ("--delimiter", "--decimal", "--encoding", "--na-values"):
            if flag in given:
                raise UsageError(
                    f"{flag} reads a table (.csv, .tsv, .txt); --data {shown_path(settings.data)} is a .npy file"
                )
    settings.streaming = args.stream or _large_npy(settings.data)
    if settings.streaming:
        if not settings.data.lower().endswith(".npy"):
            raise UsageError("--stream reads a .npy file given with --data (save a table as .npy to stream it)")
        if "--animate" in given:
            raise UsageError(
                f"--animate does not go with streaming the data (--stream, or a .npy over {STREAM_ABOVE_BYTES // 2**20} MiB)"
            )
        if settings.sweep:
            raise UsageError("a range of cluster counts does not go with streaming the data; give one --n-clusters")
        if settings.n_init != 1:
            raise UsageError("--n-init does not go with streaming the data: each start would read the file again")
        if settings.missing == "drop":
            raise UsageError("--missing drop does not go with streaming the data: a streamed file must have no gaps")
    if settings.checkpoint is not None and not settings.streaming:
        raise UsageError(
            "--checkpoint goes with streaming a .npy file (--stream): a run in memory is one compiled call, "
            "with nothing to go on from"
        )


def _check_table_format(settings):
    """The delimiter and decimal mark as the reader checks them: one character each, never a line
    end, the quote or each other."""
    from ._input import check_table_format

    try:
        check_table_format(settings.delimiter, settings.decimal)
    except ValueError as error:
        message = str(error)
        if message.startswith("the delimiter and the decimal mark"):
            raise UsageError(f"--delimiter and --decimal: {message}") from None
        if message.startswith("the delimiter"):
            tab = " (\\t for a tab)" if "one character" in message else ""
            raise UsageError(f"--delimiter {quoted(settings.delimiter)}: {message}{tab}") from None
        raise UsageError(f"--decimal {quoted(settings.decimal)}: {message}") from None


def _check_counts(settings):
    """Every count against what it will be compared with, before any heavy work: the lesson's
    blobs against what can be generated, the largest cluster count against the samples there
    will be (generated, or the rows a .npy file's header gives)."""
    k = settings.largest_k
    if settings.data is None:
        generation = settings.generation
        blobs = 3 if settings.sweep else settings.n_clusters
        n_samples = blobs * generation["n_samples_per_cluster"]
        values = n_samples * generation["n_features"]
        if values > GENERATED_VALUES_LIMIT:
            raise UsageError(
                f"the lesson's blobs would be {blobs:,} blobs (--n-clusters) x {generation['n_samples_per_cluster']:,} "
                f"samples (--n-samples-per-cluster) x {generation['n_features']:,} features (--n-features) = "
                f"{values:,} values, more than the {GENERATED_VALUES_LIMIT:,} the command generates; "
                "ask for fewer, or cluster your own data with --data"
            )
        if n_samples < k:
            raise UsageError(f"{n_samples} generated samples is fewer than --n-clusters {k}")
    elif settings.data.lower().endswith(".npy"):
        from ._input import DataError, npy_header

        try:
            rows = npy_header(settings.data).shape[0]
        except DataError:
            return  # loading it reports the problem
        if rows < k:
            raise UsageError(f"--data {shown_path(settings.data)}: {rows} samples is fewer than --n-clusters {k}")


def _check_backend():
    """MPLBACKEND, which matplotlib refuses with a traceback as it is imported, checked first."""
    name = os.environ.get("MPLBACKEND")
    if not name:
        return
    if name.lower().startswith("module://"):
        import importlib.util

        module = name[len("module://") :]
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise UsageError(f"MPLBACKEND={quoted(name)}: there is no module {quoted(module)}; unset MPLBACKEND")
        return
    imported = "matplotlib" in sys.modules
    if not imported:  # import it without the name it would refuse, then check the name
        del os.environ["MPLBACKEND"]
        try:
            import matplotlib
        finally:
            os.environ["MPLBACKEND"] = name
    import matplotlib
    from matplotlib import rcsetup

    try:
        rcsetup.validate_backend(name)
    except ValueError:
        raise UsageError(
            f"MPLBACKEND={quoted(name)}: not a matplotlib backend (agg, tkagg, qtagg, ...); unset MPLBACKEND "
            "or set it to one"
        ) from None
    if not imported:
        matplotlib.rcParams["backend"] = name  # as matplotlib would have set it from MPLBACKEND


def _check_generation(generation):
    """The lesson's blobs must stay within float32, and so must their squared distances."""
    factor, n_features = generation["embiggen_factor"], generation["n_features"]
    # Centres within factor / 2 of the origin, samples within about 40 standard deviations (5) of them.
    largest = factor / 2 + 200.0
    if 4 * n_features * largest * largest >= FLOAT32_MAX:
        limit = 2 * (math.sqrt(FLOAT32_MAX / (4 * n_features)) - 200.0)
        raise UsageError(
            f"--embiggen-factor {factor:g}: too large for float32 samples' squared distances with "
            f"{n_features} features; at most {limit:.3g}"
        )


def _large_npy(path):
    """Whether ``path`` is a .npy file whose array, as float32, is over STREAM_ABOVE_BYTES."""
    from ._input import DataError, npy_header

    if path is None or not path.lower().endswith(".npy"):
        return False
    try:
        shape = npy_header(path).shape
    except DataError:
        return False  # loading it reports the problem
    return shape[0] * shape[1] * 4 > STREAM_ABOVE_BYTES


def _check_paths(settings):
    """Every output must be writable, of a known type, and none may name an input or another
    output (compared as resolved paths, and as files where both exist): nothing is ever lost to
    a typo. A file already at an output path is replaced only because it was named."""
    figure_types = []
    if settings.save is not None:
        from matplotlib.figure import Figure

        figure_types = sorted(Figure().canvas.get_supported_filetypes())
    outputs = [
        ("--output", settings.output, [".json"]),
        ("--labels", settings.labels, [".npy"]),
        ("--save", settings.save, [f".{extension}" for extension in figure_types]),
        ("--animate", settings.animate, [".gif"]),
    ]
    outputs = [(flag, path, extensions) for flag, path, extensions in outputs if path is not None]
    # A name given twice first: that is the mistake, whatever else is wrong with the name.
    named = [("--data", settings.data)] if settings.data is not None else []
    for index, (flag, path, _) in enumerate(outputs):
        for other_flag, other in named + [(f, p) for f, p, _ in outputs[:index]]:
            if _same_file(path, other):
                raise UsageError(
                    f"{flag} {shown_path(path)}: is the same file as {other_flag} {shown_path(other)}; nothing was written"
                )
    for flag, path, extensions in outputs:
        _check_output_path(path, flag, extensions)
    if settings.checkpoint is not None:
        _check_checkpoint_directory(settings, named + [(flag, path) for flag, path, _ in outputs])


def _check_checkpoint_directory(settings, others):
    """--checkpoint names a directory (made if it does not exist) that is no input or output,
    in a directory that can take it."""
    from ._output import can_create_in

    path = settings.checkpoint
    if not path:
        raise UsageError("--checkpoint '': give a directory")
    for flag, other in others:
        if _same_file(path, other) or os.path.realpath(other).startswith(os.path.join(os.path.realpath(path), "")):
            raise UsageError(
                f"--checkpoint {shown_path(path)}: holds or is {flag} {shown_path(other)}; give a directory of its own"
            )
    if os.path.lexists(path) and not os.path.isdir(path):
        raise UsageError(f"--checkpoint {shown_path(path)}: exists and is not a directory")
    where = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(where):
        raise UsageError(f"--checkpoint {shown_path(path)}: the directory {shown_path(where)} does not exist")
    problem = can_create_in(where)
    if problem:
        raise UsageError(f"--checkpoint {shown_path(path)}: cannot write to {shown_path(where)} ({problem})")


def _same_file(first, second):
    if os.path.realpath(first) == os.path.realpath(second):
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist (yet)
        return False


def _check_output_path(path, flag, extensions):
    from ._output import can_create_in

    if os.path.splitext(path)[1].lower() not in extensions:
        raise UsageError(
            f"{flag} {shown_path(path) or repr(path)}: the file name must end in {' or '.join(extensions)}"
        )
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise UsageError(f"{flag} {shown_path(path)}: {_short(error)}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise UsageError(f"{flag} {shown_path(path)}: is a directory")
    if mode is not None and not stat.S_ISREG(mode):
        raise UsageError(f"{flag} {shown_path(path)}: exists and is not a regular file; it would be replaced")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(f"{flag} {shown_path(path)}: the directory {shown_path(directory)} does not exist")
    problem = can_create_in(directory)
    if problem:
        raise UsageError(
            f"{flag} {shown_path(path)}: cannot write to the directory {shown_path(directory)} ({problem})"
        )


def _short(error):
    from ._input import short_message

    return short_message(error)


class Signalled(BaseException):
    """SIGTERM or SIGHUP, raised where the run is, so that what it staged is removed (as
    Ctrl-C's KeyboardInterrupt is): a BaseException, which no ``except Exception`` takes."""

    def __init__(self, number):
        super().__init__(number)
        self.number = number


def _raise_signalled(number, frame):
    raise Signalled(number)


@contextlib.contextmanager
def _termination_raises():
    """SIGTERM and SIGHUP raise ``Signalled`` while the command runs (they would end the process
    at once, leaving its temporary files), and are put back as they were after it."""
    numbers = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, _raise_signalled) for number in numbers}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _stdout_to_devnull():
    """Keep Python's last flush of stdout at exit from failing again (and saying so)."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no file descriptor behind sys.stdout
        pass


def main(argv=None):
    """Run the command; returns its exit status (0, 2 for bad input, 130 when interrupted, 128
    plus the signal's number for SIGTERM and SIGHUP, 141 when its output was closed)."""
    from ._output import OutputStreamError

    settings = None
    try:
        with _termination_raises():
            settings = parse(sys.argv[1:] if argv is None else list(argv))
            from . import _command

            return _command.run(settings)
    except UsageError as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        print(
            f"{PROG}: interrupted; no output file was written or changed{_checkpoint_note(settings)}", file=sys.stderr
        )
        return 130
    except Signalled as signalled:
        name = signal.Signals(signalled.number).name
        print(
            f"{PROG}: stopped by {name}; no output file was written or changed{_checkpoint_note(settings)}",
            file=sys.stderr,
        )
        return 128 + signalled.number
    except MemoryError:
        return _fail("out of memory (try --stream for a .npy file, or fewer samples)")
    except BrokenPipeError:  # what it printed to went away (| head): stop, as tools killed by SIGPIPE do
        _stdout_to_devnull()
        print(f"{PROG}: stopped: its output was closed (piped into head?)", file=sys.stderr)
        return 141
    except OutputStreamError as error:
        _stdout_to_devnull()
        return _fail(f"{error.strerror}; no output file was written or changed")
    except OSError as error:
        filename = getattr(error, "filename", None)
        where = f"{shown_path(filename) if isinstance(filename, (str, bytes)) else filename}: " if filename else ""
        return _fail(f"{where}{_short(error)}")


def _checkpoint_note(settings):
    """What an interrupted run with --checkpoint left: its last completed iteration."""
    if settings is None or settings.checkpoint is None or not os.path.isdir(settings.checkpoint):
        return ""
    return f"; {shown_path(settings.checkpoint)} holds the last completed iteration: run the same command to go on"


def _fail(message):
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2
