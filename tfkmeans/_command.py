"""Running the ``tfkmeans`` command: checked ``Settings`` in, results out (``_report`` prints
them and writes the files).

A single run is one compiled TensorFlow loop that keeps its own history (the inertia, the
largest shift and the samples that changed cluster after each iteration, and the centroids
when a figure or animation needs them), so the command costs little more than the library.
"""

import dataclasses
import os

import numpy as np

from .cli import UsageError


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

    def standardize(self):
        self.mean = self.samples.mean(axis=0, dtype=np.float64)
        scale = self.samples.std(axis=0, dtype=np.float64)
        self.scale = np.where(scale > 0, scale, 1.0)  # a constant column stays as it is
        self.samples = ((self.samples - self.mean) / self.scale).astype(np.float32)
        self.standardized = True

    def in_units(self, points):
        """Points from k-means' space back into the data's own units."""
        if self.standardized:
            return np.asarray(points, np.float64) * self.scale + self.mean
        return np.asarray(points)

    def fitted(self, points):
        """Points in the data's own units (the lesson's true centroids) in k-means' space."""
        if points is None or not self.standardized:
            return points
        return (np.asarray(points, np.float64) - self.mean) / self.scale

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
        from . import _streaming

        return _streaming.run(settings, reporter)
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
    seeded choice for a random start), each next with the next seed."""
    from . import _seeding

    chosen = []
    for start in range(settings.n_init):
        seed = (settings.seed + start) % 2**63
        if settings.init == "random":
            chosen.append(_seeding.random_centroids(samples, n_clusters, seed))
        else:
            chosen.append(_seeding.plusplus(samples, n_clusters, seed))
    return chosen


def single_run(settings, data, keep_centroids=None):
    """The best of ``settings.n_init`` runs of Lloyd's loop, each one compiled call that keeps
    its history."""
    from . import _functions

    if keep_centroids is None:
        keep_centroids = settings.animate is not None or settings.verbosity >= 2
    best = None
    for index, start in enumerate(starts(settings, data.samples, settings.n_clusters)):
        result = _functions.lloyd_with_history(
            data.samples, start, settings.iterations, settings.tolerance, keep_centroids
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
    best.n_distinct = int(np.count_nonzero(np.bincount(best.labels, minlength=settings.n_clusters)))
    return best


# The silhouette score costs n^2 distances: above this many samples it is computed on a random
# sample of this size (scikit-learn's sample_size).
SILHOUETTE_SAMPLE = 10_000


def sweep(settings, data, progress=None):
    """Fit every cluster count in the range (``n_init`` starts each) and compare them."""
    from sklearn.metrics import silhouette_score

    from ._kmeans import KMeans

    samples = data.samples
    sample_size = min(samples.shape[0], SILHOUETTE_SAMPLE)
    entries, labels_by_count = [], {}
    counts = settings.n_clusters if progress is None else progress(settings.n_clusters, "fitting k")
    for n_clusters in counts:
        model = KMeans(
            n_clusters,
            init=settings.init,
            n_init=settings.n_init,
            max_iter=settings.iterations,
            random_state=settings.seed,
        )
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate points: reported per count below
            labels = model.fit_predict(samples)
        distinct = len(np.unique(labels))
        silhouette = None
        if 2 <= n_clusters < samples.shape[0] and distinct > 1:
            silhouette = float(silhouette_score(samples, labels, sample_size=sample_size, random_state=settings.seed))
        entries.append(
            {
                "n_clusters": n_clusters,
                "inertia": float(model.inertia_),
                "silhouette": silhouette,
                "n_iter": int(model.n_iter_),
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
