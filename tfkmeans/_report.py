"""Reporting the ``tfkmeans`` command's results: what it prints, and the files it writes.

Printing has three levels: quiet (``-q``: only the files written), normal (a summary, the first
and last iterations) and verbose (``-v``: every iteration and every centroid). Files are
written to temporary files as the run goes and put in place together at its end
(``_output.Outputs``), so a run that fails or is interrupted changes no file; the default
figure name (no display, no ``--save``) is taken atomically and never replaces a file.
"""

import os
import signal
import sys

import numpy as np

from . import _output
from ._settings import PROG, UsageError
from ._text import printable, shown_path

# Centroids are printed as a table up to this many clusters and features (``-v``: always).
PRINT_CLUSTERS, PRINT_FEATURES = 10, 8
# The most samples a figure shows (a uniform random selection of them, when there are more).
PLOT_SAMPLES = 100_000


class Reporter:
    def __init__(self, settings, out=None):
        self.settings = settings
        self.verbosity = settings.verbosity
        self.out = out or sys.stdout

    # --- printing ---------------------------------------------------------------------------

    def say(self, *lines, level=1):
        if self.verbosity >= level:
            encoding = getattr(self.out, "encoding", None) or "utf-8"
            try:
                for line in lines:  # paths and names as the output can show them, whatever its encoding
                    print(printable(line, encoding), file=self.out, flush=True)
            except BrokenPipeError:
                raise
            except OSError as error:  # a full disk, a terminal gone: the run cannot say what it did
                raise _output.OutputStreamError(error.errno, f"standard output: {error.strerror}") from None

    def warn(self, message):
        print(f"{PROG}: warning: {message}", file=sys.stderr, flush=True)

    def progress(self, iterable, description, total=None):
        """``iterable`` with a progress bar on stderr, where stderr is a terminal (and not -q)."""
        from tqdm import tqdm

        enabled = self.verbosity >= 1 and sys.stderr.isatty()
        return tqdm(iterable, desc=description, total=total, file=sys.stderr, disable=not enabled, leave=False)

    def describe(self, data):
        settings = self.settings
        if settings.data is None:
            self.say(f"k-means on {data.source}")
        else:
            left_out = data.n_rows - data.samples.shape[0]
            self.say(
                f"k-means on {settings.data}: {data.samples.shape[0]} samples"
                + (f" ({left_out} {'row' if left_out == 1 else 'rows'} with gaps left out)" if left_out else "")
                + f", {data.samples.shape[1]} features: {_names(data.feature_names)}"
            )
        self.say(*data.notes)
        if data.standardized:
            self.describe_standardized()
        if data.unit_rows:
            self.describe_unit_rows()
        if data.truth is not None:
            truth = data.truth
            unlabelled = len(truth.labelled) - truth.n_labelled
            self.say(
                f"Known labels: column {truth.column!r}, {truth.n_classes} "
                + ("class" if truth.n_classes == 1 else "classes")
                + (f" ({unlabelled} {'sample has' if unlabelled == 1 else 'samples have'} none)" if unlabelled else "")
                + "; not clustered, compared with the clusters"
            )

    def describe_stream(self, data):
        self.say(
            f"k-means on {data.source}, streamed: {data.n_rows:,} samples, {len(data.feature_names)} features: "
            f"{_names(data.feature_names)} (a uniform sample of {len(data.samples):,} of them chooses the start and "
            "is plotted)"
        )

    def describe_standardized(self):
        units = "directions of unit length" if self.settings.metric == "cosine" else "in the data's units"
        self.say(f"Each column standardized to mean 0 and standard deviation 1; centroids below are {units}.")

    def describe_unit_rows(self):
        self.say(
            "Each row scaled to unit length (--metric cosine): clusters by cosine similarity, centroids are "
            "directions of unit length, and the inertia sums cosine distances, 1 - cos."
        )

    def centroids(self, title, points, data, indent="  "):
        """A table of centroids under a line of column names; with true centroids, the nearest
        one and how far it is. Too many to read: one line saying so (-v prints them anyway)."""
        points = np.asarray(points)
        k, d = points.shape
        if self.verbosity < 2 and (k > PRINT_CLUSTERS or d > PRINT_FEATURES):
            self.say(f"{title} {k} x {d}, too many to print here (--output writes them, -v prints them)")
            return
        self.say(title)
        self._centroid_rows(points, data, indent)

    def _centroid_rows(self, points, data, indent, header=True):
        names = data.feature_names
        widths = [max(9, len(name)) for name in names]
        digits = len(str(len(points) - 1))  # "centroid  9" above "centroid 10": the columns stay put
        if header:
            margin = " " * len(f"{indent}centroid {0:>{digits}}: (")
            self.say(margin + ", ".join(f"{name:>{width}}" for name, width in zip(names, widths)))
        for index, centroid in enumerate(points):
            numbers = ", ".join(f"{v:{w}.3f}" for v, w in zip(centroid, widths))
            line = f"{indent}centroid {index:>{digits}}: ({numbers})"
            if data.true_centroids is not None:
                distances = np.linalg.norm(np.asarray(data.true_centroids) - centroid, axis=1)
                nearest = int(np.argmin(distances))
                line += f"   nearest true centroid: {nearest}, {distances[nearest]:.3f} away"
            self.say(line)

    def single_run(self, data, run):
        settings = self.settings
        if data.true_centroids is not None:
            self.centroids("True centroids:", data.true_centroids, data)
        starts = (
            f", the best of {settings.n_init} starts (seeds {settings.seed} to {settings.seed + settings.n_init - 1})"
        )
        self.centroids(
            f"Initial centroids ({settings.init}, seed {settings.seed + run.best_start}"
            + (starts if settings.n_init > 1 else "")
            + "):",
            data.in_units(run.initial_centroids),
            data,
        )
        self.say("")
        self.say(f"{'iteration':>9}  {'inertia':>16}  {'largest shift':>13}  {'changed':>8}")
        n = run.n_iterations
        shown = range(n) if self.verbosity >= 2 or n <= 2 else [0, n - 1]
        # The centroids after each iteration: -v only (a streamed run and --animate keep them
        # for other reasons).
        printable = run.centroid_history is not None and self.verbosity >= 2
        for position, i in enumerate(shown):
            if position and i != shown[position - 1] + 1:
                self.say(f"{'...':>9}")
            self.say(f"{i + 1:>9}  {run.inertias[i]:>16,.3f}  {run.shifts[i]:>13.4f}  {run.changes[i]:>8}")
            if printable:
                self._centroid_rows(data.in_units(run.centroid_history[i]), data, " " * 11, header=False)
        self.say("")
        if run.converged:
            settled = n
            while settled > 1 and run.changes[settled - 2] == 0:
                settled -= 1
            if settings.tolerance is None and settled < n:  # the lesson's fixed count ran on
                self.say(
                    f"converged at iteration {settled}, and ran the {n} asked for "
                    "(--tolerance 0 would have stopped there)"
                )
            else:
                self.say(f"converged after {n} iterations")
        else:
            self.say(f"stopped after {n} iterations without converging")
        self.centroids("Final centroids:", data.in_units(run.centroids), data)
        if data.truth is not None:
            self.say(_agreement(data.truth, data.truth.adjusted_rand_index(run.labels)))
        if run.n_distinct < settings.n_clusters:
            self.warn(
                f"only {run.n_distinct} distinct clusters for --n-clusters {settings.n_clusters}: "
                "some centroids have no samples (duplicate points in the data?)"
            )

    def sweep(self, data, result):
        settings = self.settings
        counts = settings.n_clusters
        self.say(
            f"Fitting k = {counts.start} to {counts.stop - 1}, {settings.n_init} starts each ({settings.init}, seed "
            f"{settings.seed}; each until {_stop_rule(settings.tolerance)}, at most {settings.iterations} iterations); "
            "the silhouette score on "
            + (
                f"all {data.samples.shape[0]} samples"
                if result.silhouette_sample_size == data.samples.shape[0]
                else f"a random {result.silhouette_sample_size:,} samples"
            ),
            "",
            f"{'clusters':>8}  {'inertia':>16}  {'silhouette':>10}"
            + ("" if data.truth is None else f"  {'adjusted Rand index':>19}"),
        )
        for entry in result.entries:
            shown = "-" if entry["silhouette"] is None else f"{entry['silhouette']:.3f}"
            line = f"{entry['n_clusters']:>8}  {entry['inertia']:>16,.3f}  {shown:>10}"
            if data.truth is not None:
                index = entry["adjusted_rand_index"]
                line += f"  {'-' if index is None else f'{index:.3f}':>19}"
            self.say(line)
        self.say("")
        if data.truth is not None:
            self.say(_agreement(data.truth, None, sweep=True), "")
        if result.chosen is not None:
            k = result.chosen["n_clusters"]
            line = f"The silhouette score is highest at k = {k}"
            if result.edge == "largest":
                line += f", the largest k tried: a larger k may score higher still (try --n-clusters {counts.start}:{2 * k})"
            elif result.edge == "smallest":
                line += (
                    f", the smallest k tried: a smaller k may score higher still (try --n-clusters 2:{counts.stop - 1})"
                )
            self.say(line + ". The inertia always falls as k grows; look for the elbow, where it stops falling fast.")
        for entry in result.entries:
            if entry["distinct_clusters"] < entry["n_clusters"]:
                self.warn(
                    f"k = {entry['n_clusters']}: only {entry['distinct_clusters']} distinct clusters "
                    "(duplicate points in the data?)"
                )

    # --- files ------------------------------------------------------------------------------

    def settings_record(self, data, **extra):
        """The settings actually used, for the JSON file."""
        settings = self.settings
        record = {
            "n_clusters": settings.n_clusters
            if not settings.sweep
            else [settings.n_clusters.start, settings.n_clusters.stop - 1],
            "init": settings.init,
            "metric": settings.metric,
            "n_init": settings.n_init,
            "seed": settings.seed,
            "iterations": settings.iterations,
            "tolerance": settings.tolerance,
            "data": settings.data,
            "columns": settings.columns,
            "missing": settings.missing,
            "standardize": settings.standardize,
            "plot_columns": settings.plot_columns,
            "streamed": settings.streaming,
        }
        if settings.true_labels is not None:
            record["true_labels"] = settings.true_labels
        if settings.generation is not None:
            record.update(settings.generation)
        record.update(data.table_format or {})
        record.update(extra)
        return record

    def write(self, data, result):
        """Write every output file asked for, all or none, then show or save the figure.
        Returns the exit status."""
        settings = self.settings
        shown = plot_selection(len(data.samples), settings.seed)
        plotted = data.samples[shown]  # in the space k-means fitted: standardized, with --standardize
        projection = self.projection(data, plotted)
        with _output.Outputs() as outputs:
            written = []
            if settings.sweep:
                labels = result.chosen_labels
                document = self.sweep_document(data, result)
                figure = self.sweep_figure(data, result)
            else:
                labels = result.labels
                document = self.single_document(data, result)
                figure = self.result_figure(data, result, shown, plotted, projection)
            if settings.labels is not None:
                if labels is None:
                    raise UsageError("--labels: no cluster count could be chosen (no silhouette score), so no labels")
                temporary = outputs.stage(settings.labels)
                if data.streamed:  # the labels of every row of the file, by one more pass over it
                    count = result.write_labels(temporary)
                    written.append(f"Labels written to {settings.labels} ({count:,} labels)")
                else:
                    with open(temporary, "wb") as handle:
                        np.save(handle, data.per_row(labels).astype(np.int32))
                    chosen = f" (k = {result.chosen['n_clusters']})" if settings.sweep else ""
                    written.append(f"Labels written to {settings.labels}{chosen}")
            if settings.output is not None:
                _output.write_text(outputs.stage(settings.output), _strict_json(document))
                hint = " (--labels writes each sample's cluster)" if data.streamed and settings.labels is None else ""
                written.append(f"Results written to {settings.output}{hint}")
            if settings.animate is not None:
                frames = self.animation(data, result, shown, plotted, projection, outputs.stage(settings.animate))
                written.append(f"Animation written to {settings.animate} ({frames} frames)")
            if settings.save is not None:
                extension = _output.check_figure_format(figure, settings.save)
                _output.draw_figure(figure, outputs.stage(settings.save), extension)
                written.append(f"Figure saved to {os.path.abspath(settings.save)}")
            return self.put_in_place(outputs, written, figure)

    def check_default_figure(self):
        """Before any work: with no display and no ``--save``, the figure goes to the current
        directory, which must take a new file."""
        from .plotting import has_display

        if self.settings.save is None and not has_display():
            problem = _output.can_create_in(".")
            if problem:
                raise UsageError(
                    f"with no display the figure is saved in the current directory, {os.path.abspath('.')}, "
                    f"which cannot take a new file ({problem}); name one with --save"
                )

    def put_in_place(self, outputs, written, figure):
        """Put the run's staged files in place, and the figure under a new default name when
        there is no display and no ``--save``, and say so: all of them or none (a full stdout
        or a figure that cannot be written puts every old file back). Then show the figure,
        where there is a display. Returns the exit status."""
        import matplotlib.pyplot as plt

        from .plotting import has_display

        default = None
        if self.settings.save is None and not has_display():
            default = outputs.stage_new(PROG, ".png")
            _output.draw_figure(figure, default, "png")

        def announce():
            lines = list(written)
            if default is not None:
                saved = os.path.abspath(outputs.placed(default))
                lines.append(f"No display to show the figure on, so it was saved to {saved}")
            self.say(*lines, level=0)

        try:
            outputs.commit(announce)
        except BaseException as error:  # Ctrl-C, SIGTERM or SIGHUP once every file was in place
            if not outputs.committed:
                raise
            number = getattr(error, "number", signal.SIGINT)
            print(f"{PROG}: stopped by {signal.Signals(number).name} after its files were written", file=sys.stderr)
            return 128 + number
        if self.settings.save is not None or default is not None:
            plt.close(figure)
            return 0
        try:
            plt.show()
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted while showing the figure; its files were written", file=sys.stderr)
            return 130
        return 0

    def single_document(self, data, run):
        document = {
            "centroids": data.in_units(run.centroids).tolist(),
            "initial_centroids": data.in_units(run.initial_centroids).tolist(),
            "feature_names": list(data.feature_names),
        }
        if data.streamed:  # the labels of a streamed file are never in memory: --labels has them
            document.update(nearest_indices=None, labels_file=self.settings.labels)
        else:
            document["nearest_indices"] = data.per_row(run.labels, missing=None).tolist()
        document.update(inertia=list(run.inertias), iterations=run.n_iterations, converged=bool(run.converged))
        if data.streamed:
            document["settings"] = self.settings_record(data, n_samples=data.n_rows)
        else:
            document["true_centroids"] = None if data.true_centroids is None else data.true_centroids.tolist()
            document["settings"] = self.settings_record(data)
        if data.truth is not None:
            document["adjusted_rand_index"] = data.truth.adjusted_rand_index(run.labels)
        return document

    def sweep_document(self, data, result):
        return {
            "sweep": result.entries,
            "chosen_n_clusters": None if result.chosen is None else result.chosen["n_clusters"],
            "feature_names": list(data.feature_names),
            "silhouette_sample_size": result.silhouette_sample_size,
            "settings": self.settings_record(data),
        }

    # --- figures ----------------------------------------------------------------------------

    # Everything a figure draws is in the space k-means fitted (``data.samples``' own), so that
    # what looks apart on it was apart for k-means: with --standardize, standardized values.

    def projection(self, data, plotted):
        """What the figure plots of ``plotted``, samples in k-means' space."""
        from .plotting import Projection

        return Projection.choose(
            plotted, data.feature_names, data.plot_columns, standardized=data.standardized, unit_rows=data.unit_rows
        )

    def result_figure(self, data, run, shown, plotted, projection):
        """The samples ``shown`` (``plotted``: those samples, in k-means' space) by cluster, and
        the inertia per iteration."""
        from .plotting import plot_result

        n, total = len(plotted), len(data.samples)
        return plot_result(
            plotted,
            run.centroids,
            run.labels[shown],
            run.inertias,
            true_centroids=data.fitted(data.true_centroids),
            projection=projection,
            standardized=data.standardized,
            metric=self.settings.metric,
            title=("spherical k-means" if self.settings.metric == "cosine" else "k-means")
            + f" after {run.n_iterations} iterations ({self.settings.init} start)"
            + ("" if n == total else f"; {n:,} of {total:,} samples shown"),
        )

    def sweep_figure(self, data, result):
        from .plotting import plot_sweep

        # A file name's bytes that are not UTF-8 as \xff: matplotlib cannot draw them as they are
        source = (
            "the lesson's blobs" if self.settings.data is None else shown_path(os.path.basename(self.settings.data))
        )
        return plot_sweep(
            result.entries,
            title=f"Choosing k on {source}: {self.settings.n_init} starts per k",
            standardized=data.standardized,
            metric=self.settings.metric,
        )

    def animation(self, data, run, shown, plotted, projection, path):
        from ._functions import assign
        from .plotting import animate

        frames = [run.initial_centroids, *run.centroid_history]
        sample = data.samples[shown]
        animate(
            path,
            plotted,
            frames,
            [assign(sample, centroids)[0] for centroids in frames],
            [run.start_inertia, *run.inertias],
            true_centroids=data.fitted(data.true_centroids),
            projection=projection,
            staged=True,  # ``path`` is this run's staged temporary file: not staged again
        )
        return len(frames)


def _strict_json(document):
    try:
        return _output.json_text(document)
    except ValueError as error:
        raise UsageError(f"--output: {error}") from None


def _agreement(truth, index, sweep=False):
    """What the adjusted Rand index says, on which samples."""
    on = "" if truth.labelled.all() else f", on the {truth.n_labelled} samples that have a label"
    meaning = f"1: the same grouping as {truth.column!r}; about 0: no better than chance{on}"
    if sweep:
        return f"The adjusted Rand index compares each k's clusters with {truth.column!r} ({meaning})."
    if index is None:
        return f"Adjusted Rand index against {truth.column!r}: none (no sample has a label)"
    return f"Adjusted Rand index against {truth.column!r}: {index:.3f} ({meaning})"


def _stop_rule(tolerance):
    if not tolerance:
        return "no sample changes cluster"
    return f"no centroid moves farther than {tolerance:g}"


def _names(names, most=5):
    shown = ", ".join(names[:most])
    return shown + (f", ... ({len(names)} in all)" if len(names) > most else "")


def plot_selection(n_samples, seed):
    """All samples, or a sorted uniform random PLOT_SAMPLES of them."""
    if n_samples <= PLOT_SAMPLES:
        return slice(None)
    return np.sort(np.random.default_rng(seed).choice(n_samples, PLOT_SAMPLES, replace=False))
