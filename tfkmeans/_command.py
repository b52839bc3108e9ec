"""Running the ``tfkmeans`` command: checked ``Settings`` in, results out (``_report`` prints
them and writes the files).

Every fit of the command is the same: the lesson's Lloyd loop (``_functions.lloyd_with_history``:
one compiled TensorFlow loop that keeps its own history, with the lesson's rule for an empty
cluster, the farthest sample), from the lesson's seeded random start or plain k-means++
(``starts``), the best of ``--n-init`` starts kept. One cluster count is one such fit
(``single_run``); a range is one for each count, compared (``sweep``); a streamed ``.npy`` file
is the same loop over passes of the file (``stream``).
"""

import contextlib
import dataclasses
import os

import numpy as np

from ._settings import UsageError


@dataclasses.dataclass
class Data:
    """The samples to cluster, as k-means sees them, and how to report back in the data's terms."""

    samples: np.ndarray  # float32, standardized if asked
    feature_names: list
    source: str  # "data/iris.csv", or "2000 generated samples ..."
    rows: np.ndarray = None  # the file's data row of each sample (None: every row, in order)
    n_rows: int = None
    true_centroids: np.ndarray = None
    notes: list = dataclasses.field(default_factory=list)
    mean: object = 0.0
    scale: object = 1.0
    standardized: bool = False
    plot_columns: list = None  # the two features the figure plots (positions), or None
    table_format: dict = None  # a table's delimiter (given or detected), decimal mark and encoding
    truth: "TrueLabels" = None  # --true-labels: the table's own label of each sample
    streamed: bool = False  # samples is a uniform sample of a file streamed a batch at a time
    unit_rows: bool = False  # --metric cosine: each sample scaled to unit length (after standardizing)

    def standardize(self):
        self.mean = self.samples.mean(axis=0, dtype=np.float64)
        scale = self.samples.std(axis=0, dtype=np.float64)
        self.scale = np.where(scale > 0, scale, 1.0)  # a constant column stays as it is
        self.samples = ((self.samples - self.mean) / self.scale).astype(np.float32)
        self.standardized = True

    def to_unit_rows(self):
        """Each sample scaled to unit length (cosine geometry). A row of zeros has no direction:
        a UsageError names the first, by its row of the file."""
        from ._geometry import unit_rows

        zero = np.flatnonzero(~np.any(self.samples != 0, axis=1))
        if zero.size:
            row = int(zero[0] if self.rows is None else self.rows[zero[0]]) + 1
            where = "sample" if self.source and "generated" in self.source else "data row"
            raise UsageError(
                f"--metric cosine: {zero.size:,} {'row is' if zero.size == 1 else 'rows are'} all zeros (the first: "
                f"{where} {row:,}{', after standardizing' if self.standardized else ''}), and a row of zeros has "
                "no direction; leave such rows out"
            )
        self.samples = unit_rows(self.samples)
        self.unit_rows = True

    def in_units(self, points):
        """Points from k-means' space back into the data's own units. Unit rows have no units to
        go back to: their centroids are directions, given as they are."""
        if self.unit_rows:
            return np.asarray(points)
        if self.standardized:
            return np.asarray(points, np.float64) * self.scale + self.mean
        return np.asarray(points)

    def fitted(self, points):
        """Points in the data's own units (the lesson's true centroids) in k-means' space."""
        if points is None:
            return points
        if self.standardized:
            points = (np.asarray(points, np.float64) - self.mean) / self.scale
        if self.unit_rows:
            points = np.asarray(points, np.float64) / np.linalg.norm(points, axis=1, keepdims=True)
        return points

    def per_row(self, labels, missing=-1):
        """One label per data row of the file, ``missing`` for rows left out."""
        if self.rows is None or len(self.rows) == self.n_rows:
            return labels
        per_row = np.full(self.n_rows, missing, dtype=np.int64 if missing is not None else object)
        per_row[self.rows] = labels
        return per_row


@dataclasses.dataclass
class TrueLabels:
    """``--true-labels``: a column of the table holding each sample's known label (text or
    numbers). An empty cell is no label: that sample is left out of the comparison."""

    column: str  # the column's name
    values: np.ndarray  # one per sample
    labelled: np.ndarray  # bool, one per sample

    @property
    def n_labelled(self):
        return int(np.count_nonzero(self.labelled))

    @property
    def n_classes(self):
        return len(np.unique(self.values[self.labelled]))

    def adjusted_rand_index(self, labels):
        """scikit-learn's adjusted Rand index of ``labels`` (one cluster per sample) against
        these labels, on the samples that have one; None when none has."""
        from sklearn.metrics import adjusted_rand_score

        if not self.labelled.any():
            return None
        return float(adjusted_rand_score(self.values[self.labelled], np.asarray(labels)[self.labelled]))


@dataclasses.dataclass
class SingleRun:
    """One cluster count's result: the best of ``n_init`` starts."""

    initial_centroids: np.ndarray
    centroids: np.ndarray
    labels: np.ndarray
    start_inertia: float
    inertias: list  # after each iteration (exact, float64)
    shifts: list  # the largest distance a centroid moved in each iteration
    changes: list  # samples that changed cluster in each iteration
    converged: bool
    best_start: int  # which start (from 0) was kept
    centroid_history: list = None  # the centroids after each iteration, when kept
    n_distinct: int = None
    # A streamed run's labels are never in memory: ``write_labels(path)`` writes them to a new
    # file with one more pass, and returns how many it wrote (``labels`` are the sample's).
    write_labels: object = None

    @property
    def n_iterations(self):
        return len(self.inertias)


@dataclasses.dataclass
class Sweep:
    """Each cluster count's best fit, compared."""

    entries: list  # {"n_clusters", "inertia", "silhouette", "n_iter"}
    silhouette_sample_size: int
    chosen: dict = None  # the entry with the best silhouette score
    chosen_labels: np.ndarray = None
    edge: str = None  # "smallest" or "largest" when the best count is at the edge of the range


def run(settings):
    """The whole command: load, cluster, report. Returns the exit status."""
    from . import _report

    reporter = _report.Reporter(settings)
    reporter.check_default_figure()
    if settings.streaming:
        data, result = stream(settings, reporter)
        reporter.single_run(data, result)
        return reporter.write(data, result)
    data = load_with_true_labels(settings) if settings.true_labels is not None else load(settings)
    reporter.describe(data)
    if settings.sweep:
        result = sweep(settings, data, reporter.progress)
        reporter.sweep(data, result)
    else:
        result = single_run(settings, data)
        reporter.single_run(data, result)
    return reporter.write(data, result)


def load(settings, set_aside=()):
    """The samples: the lesson's generated blobs, or the file's checked columns (without
    ``--columns``, those that hold numbers, but for the positions ``set_aside``)."""
    from . import _input

    if settings.data is None:
        from .datasets import lesson_blobs

        generation = settings.generation
        blob_count = 3 if settings.sweep else settings.n_clusters
        true_centroids, samples = lesson_blobs(
            blob_count,
            generation["n_samples_per_cluster"],
            generation["n_features"],
            generation["embiggen_factor"],
            settings.seed,
        )
        if samples.shape[0] < settings.largest_k:
            raise UsageError(f"{samples.shape[0]} generated samples is fewer than --n-clusters {settings.largest_k}")
        names = [f"feature {j}" for j in range(samples.shape[1])]
        source = (
            f"{samples.shape[0]} generated samples, {generation['n_features']} features, "
            f"{blob_count} blobs, seed {settings.seed}"
        )
        data = Data(samples, names, source, n_rows=samples.shape[0], true_centroids=true_centroids)
    else:
        from ._text import quoted, shown_path

        table_file = not settings.data.lower().endswith(".npy")
        try:
            table = _input.read_table(
                settings.data,
                settings.columns,
                settings.delimiter,
                settings.decimal,
                settings.missing,
                encoding=settings.encoding,
                na_values=settings.na_values,
                numeric_only=settings.columns is None,  # what cannot be clustered is left out, and said so
                set_aside=set_aside,
            )
        except _input.DataError as error:
            raise UsageError(f"--data {error}") from None
        not_clustered = [f"{quoted(name)} ({why.replace('it ', '', 1)})" for name, why in table.left_out]
        samples, names, id_notes = table.samples, list(table.feature_names), []
        if settings.columns is None:
            ids = [j for j in range(len(names)) if _input.looks_like_an_id(samples[:, j], table.rows)]
            if table_file and 0 < len(ids) < len(names):  # a row number is no measurement
                not_clustered[:0] = [f"{quoted(names[j])} (counts the rows 1, 2, 3, ...: an id)" for j in ids]
                keep = [j for j in range(len(names)) if j not in ids]
                samples, names = samples[:, keep], [names[j] for j in keep]
            else:
                id_notes = [
                    f"Note: {quoted(names[j])} counts 1, 2, 3, ...: an id rather than a measurement? "
                    "--columns leaves it out."
                    for j in ids
                ]
        if samples.shape[0] < settings.largest_k:
            raise UsageError(
                f"--data {shown_path(settings.data)}: {samples.shape[0]} samples is fewer than --n-clusters "
                f"{settings.largest_k}"
            )
        data = Data(samples, names, settings.data, table.rows, table.n_rows)
        if table.delimiter is not None:  # what the table was read with, for the JSON's settings
            data.table_format = {
                "delimiter": table.delimiter,
                "decimal": settings.decimal,
                "encoding": settings.encoding,
                "na_values": settings.na_values,
            }
        if not_clustered:
            data.notes.append(f"Note: not clustered: {', '.join(not_clustered)}; --columns chooses the columns.")
        data.notes.extend(id_notes)
    data.plot_columns = plot_columns(settings, data.feature_names)
    if settings.standardize:
        data.standardize()
    if settings.metric == "cosine":
        data.to_unit_rows()
    return data


def load_with_true_labels(settings):
    """``load``, with the ``--true-labels`` column read beside the samples: never one of the
    columns clustered (without --columns, all the others are), and cut to the same rows."""
    from . import _input

    path = settings.data
    try:
        with _input.open_regular(path):  # what load refuses (a FIFO, a device) is never read here
            pass
        names, table = _input._read_text_table(
            path,
            os.path.splitext(path)[1].lower(),
            settings.delimiter,
            settings.decimal,
            _input.text_encoding(settings.encoding),
            na_values=settings.na_values or (),  # a marker of a missing value is no label either
        )
    except (_input.DataError, UnicodeError, OSError) as error:
        load(settings)  # the file's problem, in the words of a run without --true-labels
        raise UsageError(f"--data {_input.short_message(error)}") from None
    try:
        position = _input.choose_columns(path, names, [settings.true_labels], flag="--true-labels")[0]
    except _input.DataError as error:
        raise UsageError(f"--true-labels {settings.true_labels}: {str(error).removeprefix(path + ': ')}") from None
    column = names[position]
    if settings.columns is None:
        if len(names) == 1:
            raise UsageError(f"--true-labels {column}: the table's only column; no column is left to cluster")
        data = load(settings, set_aside=(position,))
    else:
        try:
            chosen = _input.choose_columns(path, names, settings.columns)
        except _input.DataError:
            chosen = []  # load says what is wrong with --columns
        if position in chosen:
            raise UsageError(
                f"--true-labels {column}: is also a column to cluster (--columns); labels are never clustered"
            )
        data = load(settings)
    if data.n_rows != len(table):
        raise UsageError(f"--data {path}: changed while it was read ({len(table)} rows, then {data.n_rows})")
    cells = table[position]
    labelled = cells.notna().to_numpy()
    if cells.dtype.kind in "biuf":
        values = cells.to_numpy(dtype=np.float64, na_value=np.nan)
    else:  # text: a label is its text, whatever spaces surround it
        values = np.array([str(cell).strip() if present else "" for cell, present in zip(cells, labelled)], object)
        labelled = labelled & (values != "")
    rows = np.arange(len(table)) if data.rows is None else np.asarray(data.rows)
    data.truth = TrueLabels(column, values[rows], labelled[rows])
    return data


def plot_columns(settings, names):
    """``--plot-columns`` as two positions among the clustered columns, or None."""
    from . import _input

    if settings.plot_columns is None:
        return None
    try:
        return _input.choose_columns("--plot-columns", names, settings.plot_columns, flag="--plot-columns")
    except _input.DataError as error:
        raise UsageError(str(error).replace("no column", "no clustered column", 1)) from None


def starts(settings, samples, n_clusters):
    """The initial centroids of each start: the first with ``--seed`` itself (the lesson's
    seeded choice for a random start), each next with the next seed. k-means++ is the plain
    one (one candidate per centroid), as the lesson would write it."""
    from . import _functions

    chosen = []
    for start in range(settings.n_init):
        seed = (settings.seed + start) % 2**63
        if settings.init == "random":
            chosen.append(_functions.random_centroids(samples, n_clusters, seed))
        else:
            chosen.append(_functions.plusplus(samples, n_clusters, seed, geometry=geometry(settings)))
    return chosen


def geometry(settings):
    """The geometry ``--metric`` names (``_geometry``)."""
    from ._geometry import COSINE, SQUARED_EUCLIDEAN

    return COSINE if settings.metric == "cosine" else SQUARED_EUCLIDEAN


def single_run(settings, data, n_clusters=None, keep_centroids=None):
    """The best of ``settings.n_init`` runs of Lloyd's loop for ``n_clusters`` (default: the
    one count asked for), each one compiled call that keeps its history."""
    from . import _functions

    n_clusters = settings.n_clusters if n_clusters is None else n_clusters
    if keep_centroids is None:
        keep_centroids = settings.animate is not None or settings.verbosity >= 2
    best = None
    for index, start in enumerate(starts(settings, data.samples, n_clusters)):
        result = _functions.lloyd_with_history(
            data.samples, start, settings.iterations, settings.tolerance, keep_centroids, geometry(settings)
        )
        if best is None or result.inertias[-1] < best.inertias[-1]:
            best = SingleRun(
                initial_centroids=start,
                centroids=result.centroids,
                labels=result.labels,
                start_inertia=result.start_inertia,
                inertias=result.inertias,
                shifts=result.shifts,
                changes=result.changes,
                converged=result.converged,
                best_start=index,
                centroid_history=result.centroid_history,
            )
    best.n_distinct = int(np.count_nonzero(np.bincount(best.labels, minlength=n_clusters)))
    return best


# The silhouette score costs n^2 distances: above this many samples it is computed on a random
# sample of this size (scikit-learn's sample_size).
SILHOUETTE_SAMPLE = 10_000


def sweep(settings, data, progress=None):
    """Fit every cluster count in the range as one count is fitted (``single_run``: ``n_init``
    starts each) and compare them."""
    from sklearn.metrics import silhouette_score

    samples = data.samples
    sample_size = min(samples.shape[0], SILHOUETTE_SAMPLE)
    entries, labels_by_count = [], {}
    counts = settings.n_clusters if progress is None else progress(settings.n_clusters, "fitting k")
    for n_clusters in counts:
        fit = single_run(settings, data, n_clusters, keep_centroids=False)
        labels = fit.labels
        distinct = fit.n_distinct
        silhouette = None
        if 2 <= n_clusters < samples.shape[0] and distinct > 1:
            silhouette = float(
                silhouette_score(
                    samples, labels, metric=settings.metric, sample_size=sample_size, random_state=settings.seed
                )
            )
        entries.append(
            {
                "n_clusters": n_clusters,
                "inertia": float(fit.inertias[-1]),
                "silhouette": silhouette,
                "n_iter": fit.n_iterations,
                "distinct_clusters": distinct,
            }
        )
        if data.truth is not None:
            entries[-1]["adjusted_rand_index"] = data.truth.adjusted_rand_index(labels)
        labels_by_count[n_clusters] = labels
    result = Sweep(entries, sample_size)
    scored = [entry for entry in entries if entry["silhouette"] is not None]
    if scored:
        result.chosen = max(scored, key=lambda entry: entry["silhouette"])
        result.chosen_labels = labels_by_count[result.chosen["n_clusters"]]
        k = result.chosen["n_clusters"]
        if k == settings.n_clusters.stop - 1:
            result.edge = "largest"
        elif k == settings.n_clusters.start and k > 2:
            result.edge = "smallest"
    return result


def stream(settings, reporter):
    """``--stream`` (or a .npy file over ``cli.STREAM_ABOVE_BYTES``): the file read a batch at a
    time on every pass, never in memory. A first pass surveys it (rows, mean, range, NaN) and a
    second draws a uniform sample of up to ``_stream.SEED_SAMPLE_ROWS`` rows, which chooses the
    start and is what the figure shows; then every iteration is one compiled pass
    (``_loop.lloyd_passes``), with the lesson's rule for an empty cluster, as in memory. Each
    pass checks every batch for NaN and infinity. Returns ``(data, run)`` for the report; the
    run's labels are written by one more pass when asked for."""
    _fewer_malloc_arenas()
    from . import _input

    path = settings.data
    try:  # the header, checked against the file, before TensorFlow (600 MiB) is even loaded
        header = _input.npy_header(path)
        names = _input.ColumnNames(header.shape[1])
        positions = None
        if settings.columns is not None:
            positions = _input.choose_columns(path, names, settings.columns)
            names = [names[p] for p in positions]
    except _input.DataError as error:
        raise UsageError(f"--data {error}") from None
    n_samples = header.shape[0]
    if n_samples < settings.n_clusters:
        raise UsageError(f"--data {path}: {n_samples} samples is fewer than --n-clusters {settings.n_clusters}")
    from . import _loop, _stream
    from ._tensorflow import tf

    try:
        dataset, _, _ = _input.npy_dataset(path, columns=positions)
        with _file_read(path):
            survey = _stream.survey(dataset, _stream.SEED_SAMPLE_ROWS, settings.seed, at_least=settings.n_clusters)
            survey.consistency.check(n_samples, None, order=False)  # the rows the header promised
    except _input.DataError as error:  # names the file itself
        raise UsageError(f"--data {_input.short_message(error)}") from None
    except ValueError as error:
        message = _input.short_message(error)
        if header.dtype.itemsize > 4 and "infinite" in message:  # read as float32
            message += " (or values beyond float32's range, about 3.4e38, which --stream reads as infinite)"
        raise UsageError(f"--data {path}: {message}") from None
    consistency = survey.consistency
    if survey.dtype != np.float32:  # values near float32's limit: compute in float64
        dataset = dataset.map(lambda batch: tf.cast(batch, tf.float64))
    names = list(names)
    data = Data(survey.sample, names, path, n_rows=n_samples, streamed=True)
    data.plot_columns = plot_columns(settings, names)
    reporter.describe_stream(data)
    dtype = dataset.element_spec.dtype
    if settings.standardize:
        data.mean = survey.mean.astype(np.float64)
        scale = np.sqrt(survey.variance)
        data.scale = np.where(scale > 0, scale, 1.0)
        data.standardized = True
        mean, inverse = tf.constant(data.mean, dtype), tf.constant(1.0 / data.scale, dtype)
        dataset = dataset.map(lambda batch: (batch - mean) * inverse)
        consistency = consistency.rows_only()
        data.samples = ((survey.sample - data.mean) / data.scale).astype(np.float32)
        reporter.describe_standardized()
    shape = geometry(settings)
    if settings.metric == "cosine":  # every batch's rows scaled to unit length as it comes
        dataset = dataset.map(shape.prepare_batch)
        consistency = consistency.rows_only()
        data.to_unit_rows()
        reporter.describe_unit_rows()
    # The sample's mean: close to the data's, for precision (unit rows need no shift).
    offset = data.samples.mean(axis=0, dtype=np.float64) if shape.centred else np.zeros(len(names))
    start = starts(settings, data.samples, settings.n_clusters)[0]
    passes = _stream.Passes(dataset, consistency=consistency, geometry=shape)
    checkpoint, resume, history = _stream_checkpoint(settings, survey, dtype, reporter)
    bar = reporter.progress(range(settings.iterations), "passes over the file")
    bar.update(0 if resume is None else resume.iteration)
    keep_history = settings.verbosity >= 2  # -v prints every iteration's centroids

    def on_iteration(state):
        bar.update(1)
        history.append(state.centroids.numpy() + offset)
        if checkpoint is not None:
            kept = np.asarray(history if keep_history else np.zeros((0, *state.centroids.shape)))
            _save_stream_state(checkpoint, state, kept, state.tol_reached or state.iteration >= settings.iterations)

    tolerance = -1.0 if settings.tolerance is None else settings.tolerance
    try:
        with _file_read(path):
            result = _loop.lloyd_passes(
                passes,
                tf.constant(offset, dtype),
                tf.constant(start - offset, dtype),
                settings.iterations,
                tol_max_shift=tolerance,
                on_iteration=on_iteration,
                resume=resume,
            )
    except ValueError as error:  # NaN or infinity met in a pass, or the file changed
        raise UsageError(f"--data {path}: {error}") from None
    except OSError as error:  # the checkpoint could not be written: the fit stopped
        raise UsageError(f"--checkpoint {error}") from None
    finally:
        bar.close()
    centroids = result.centroids.numpy() + offset

    def write_labels(temporary):
        from ._output import write_npy_batches

        try:
            with _file_read(path):
                return write_npy_batches(temporary, passes.label_batches(tf.constant(offset, dtype), result.centroids))
        except ValueError as error:
            raise UsageError(f"--data {path}: {error}") from None

    from ._functions import assign

    run = SingleRun(
        initial_centroids=start,
        centroids=centroids,
        labels=assign(data.samples, centroids.astype(data.samples.dtype))[0],  # the sample's, for the figure
        # (the nearest by squared Euclidean distance is the nearest by cosine on unit rows)
        start_inertia=float("nan"),
        inertias=result.inertias,
        shifts=result.shifts,
        changes=["-"] * len(result.inertias),
        converged=bool(result.tol_reached),
        best_start=0,
        centroid_history=history,
        n_distinct=int(np.count_nonzero(result.counts)),
        write_labels=write_labels,
    )
    return data, run


@contextlib.contextmanager
def _file_read(path):
    """A pass over the file: TensorFlow's errors from reading it (a file cut short or replaced
    under the reader: tf.data calls that an "implementation error") become a ValueError that
    says so, and so does a pass that gave other rows than the file had."""
    from ._tensorflow import tf

    try:
        yield
    except tf.errors.ResourceExhaustedError:  # out of memory: the command says so itself
        raise
    except tf.errors.OpError:
        raise ValueError(_CHANGED) from None
    except ValueError as error:
        if str(error).startswith("the dataset changed between passes: "):  # the what, not the tf.data advice
            detail = str(error).split(": ", 1)[1].split("; ")[0].replace(" (is it reshuffled on every pass?)", "")
            raise ValueError(f"{_CHANGED} ({detail})") from None
        raise


_CHANGED = "the file changed during the run (truncated, or written to, while it was being read); run again on a file that stays as it is"


def _fewer_malloc_arenas():
    """Ask glibc for at most two malloc arenas. TensorFlow's threads each allocate a batch at a
    time, and with glibc's default of one arena per thread the freed batches stay in the
    process as fragmented arenas, which raised a streamed run's peak memory. Elsewhere than
    glibc this does nothing."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def _stream_checkpoint(settings, survey, dtype, reporter):
    """``--checkpoint DIR``: (the ``_checkpoint.FitCheckpoint``, the ``_loop.StreamState`` to go
    on from or None, the centroids after each iteration run so far when kept); all None and an
    empty history without it. A checkpoint of another run is refused, naming what differs."""
    from . import _checkpoint

    if settings.checkpoint is None:
        return None, None, []
    checkpoint = _checkpoint.FitCheckpoint(settings.checkpoint)
    fingerprint = {
        "command": "tfkmeans --stream",
        **{name: _plain(getattr(settings, name)) for name in _CHECKPOINTED_SETTINGS},
        "n_samples": survey.n_samples,
        "mean": survey.mean.tolist(),
        "variance": survey.variance.tolist(),
        "low": survey.low.tolist(),
        "high": survey.high.tolist(),
        "checksum": survey.consistency.fingerprints["plain"].tolist(),
    }
    try:
        saved = checkpoint.restore()
        checkpoint.check(saved, fingerprint)
    except ValueError as error:
        raise UsageError(f"--checkpoint {str(error).removeprefix('checkpoint directory ')}") from None
    if saved is None:
        return checkpoint, None, []
    state = _checkpoint.stream_state(saved, dtype)
    done = state.tol_reached or state.iteration >= settings.iterations
    reporter.say(
        f"Going on from the checkpoint in {settings.checkpoint}: "
        + ("complete, so no pass is run again" if done else f"{state.iteration} iterations done")
    )
    return checkpoint, state, list(saved["history"])


# The settings a streamed run's numbers depend on: a checkpoint written with others is refused.
_CHECKPOINTED_SETTINGS = (
    "data",
    "columns",
    "n_clusters",
    "init",
    "metric",
    "seed",
    "iterations",
    "tolerance",
    "standardize",
)


def _plain(value):
    return value if value is None or isinstance(value, (bool, int, float, str, list)) else str(value)


def _save_stream_state(checkpoint, state, history, complete):
    from . import _checkpoint

    checkpoint.save(state.iteration, complete=bool(complete), history=history, **_checkpoint.stream_state_values(state))
