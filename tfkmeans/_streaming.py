"""The ``tfkmeans`` command on a ``.npy`` file read a batch at a time on every pass (``--stream``,
or a file over 512 MiB as float32): the data never has to be in memory.

A first pass surveys the file (rows, mean, range, NaN) and a second draws a uniform sample of up
to 100,000 rows, which chooses the start and is what the figure shows; then every iteration is
one compiled pass (``_stream``). Each pass checks every batch for NaN and infinity, and the labels
are written a batch at a time to a temporary file that takes ``--labels``' place at the end.
"""

import contextlib

import numpy as np

from ._command import Data, SingleRun, plot_columns, starts
from ._report import _names
from .cli import UsageError


def run(settings, reporter):
    _fewer_malloc_arenas()
    from . import _input, _output

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
    from . import _stream
    from ._tensorflow import tf

    try:
        dataset, _, _ = _stream.npy_dataset(path, columns=positions)
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
    if _stream.squares_could_overflow(survey):  # values near float32's limit: compute in float64
        dataset = dataset.map(lambda batch: tf.cast(batch, tf.float64))
    names = list(names)
    data = Data(survey.sample, names, path, n_rows=n_samples)
    data.plot_columns = plot_columns(settings, names)
    reporter.say(
        f"k-means on {path}, streamed: {n_samples:,} samples, {len(names)} features: {_names(names)}"
        + f" (a uniform sample of {len(survey.sample):,} of them chooses the start and is plotted)"
    )
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
        reporter.say(
            "Each column standardized to mean 0 and standard deviation 1; centroids below are in the data's units."
        )
    offset = data.samples.mean(axis=0, dtype=np.float64)  # the sample's mean: close to the data's, for precision
    start = starts(settings, data.samples, settings.n_clusters)[0]
    passes = _stream.Passes(dataset, consistency=consistency)
    bar = reporter.progress(range(settings.iterations), "passes over the file")
    history = []

    def on_iteration(iteration, inertia, shift, centroids):
        bar.update(1)
        history.append(centroids.numpy() + offset)

    tolerance = -1.0 if settings.tolerance is None else settings.tolerance
    try:
        with _file_read(path):
            result = _stream.lloyd(
                passes,
                tf.constant(offset, dtype),
                tf.constant(start - offset, dtype),
                settings.iterations,
                tol_max_shift=tolerance,
                on_iteration=on_iteration,
            )
    except ValueError as error:  # NaN or infinity met in a pass, or the file changed
        raise UsageError(f"--data {path}: {error}") from None
    finally:
        bar.close()
    centroids = result.centroids.numpy() + offset
    sample_labels = _sample_labels(data.samples, centroids)
    run = SingleRun(
        initial_centroids=start,
        centroids=centroids,
        labels=sample_labels,
        start_inertia=float("nan"),
        inertias=result.inertias,
        shifts=result.shifts,
        changes=["-"] * len(result.inertias),
        converged=bool(result.tol_reached),
        best_start=0,
        centroid_history=history,
        n_distinct=int(np.count_nonzero(result.counts)),
    )
    reporter.single_run(data, run)

    with _output.Outputs() as outputs:
        written = []
        if settings.labels is not None:
            try:
                with _file_read(path):
                    count = _stream.write_labels_to(
                        outputs.stage(settings.labels),
                        dataset,
                        tf.constant(offset, dtype),
                        result.centroids,
                        consistency,
                    )
            except ValueError as error:
                raise UsageError(f"--data {path}: {error}") from None
            written.append(f"Labels written to {settings.labels} ({count:,} labels)")
        if settings.output is not None:
            document = {
                "centroids": data.in_units(centroids).tolist(),
                "initial_centroids": data.in_units(start).tolist(),
                "feature_names": names,
                "nearest_indices": None,
                "labels_file": settings.labels,
                "inertia": result.inertias,
                "iterations": result.n_updates,
                "converged": bool(result.tol_reached),
                "settings": reporter.settings_record(data, n_samples=n_samples),
            }
            _output.write_text(outputs.stage(settings.output), _output.json_text(document))
            written.append(
                f"Results written to {settings.output}"
                + ("" if settings.labels else " (--labels writes each sample's cluster)")
            )
        shown = slice(None)
        plotted = data.samples  # the space k-means fitted, as every figure draws (standardized values too)
        figure = reporter.result_figure(data, run, shown, plotted, reporter.projection(data, plotted))
        if settings.save is not None:
            extension = _output.check_figure_format(figure, settings.save)
            _output.draw_figure(figure, outputs.stage(settings.save), extension)
            written.append(f"Figure saved to {_abspath(settings.save)}")
        return reporter.put_in_place(outputs, written, figure)


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


def _abspath(path):
    import os

    return os.path.abspath(path)


def _sample_labels(sample, centroids):
    from ._functions import assign

    return assign(sample, centroids.astype(sample.dtype))[0]


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
