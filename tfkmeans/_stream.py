"""k-means over a ``tf.data.Dataset``: data that need never be in memory at once, on one device or
shared out by a ``tf.distribute.Strategy``.

Every pass is written as TensorFlow's guide "Custom training with tf.distribute.Strategy" writes
a training epoch: the dataset goes through ``strategy.experimental_distribute_dataset``, a
per-replica function with no strategy code in it returns one batch's per-cluster sums and
weights (``_lloyd.block_statistics``, compiled with XLA), and a ``tf.function`` runs it with
``strategy.run`` and adds the replicas' results with ``strategy.reduce(SUM, ...)``. Without a
strategy the default one stands in, for which ``run`` and ``reduce`` do nothing, so one code path
serves both. Each worker of a ``MultiWorkerMirroredStrategy`` runs the same program on the same
dataset; the strategy shards the dataset and all-reduces the sums, so every worker updates the
centres to the same values.

No input validation happens here beyond what only a pass can find (NaN in the data).
"""

import collections
import sys

import numpy as np

from . import _lloyd
from ._input import npy_header
from ._tensorflow import tf

# The most rows of a stream kept in memory as the uniform sample that seeds k-means++.
SEED_SAMPLE_ROWS = 100_000
# Rows per batch when an in-memory array is fed to a strategy as a dataset.
ARRAY_BATCH_ROWS = 65_536

Survey = collections.namedtuple("Survey", "n_samples mean variance sample low high")
# The most bytes of a .npy file read as one batch when it is streamed.
BATCH_BYTES = 64 * 2**20


def element_features(dataset):
    """The number of features of a dataset of (batch, n_features) float batches, or a clear error."""
    spec = dataset.element_spec
    if not isinstance(spec, tf.TensorSpec):
        raise TypeError(
            f"a tf.data.Dataset for k-means must yield one float tensor per element, of shape (batch, n_features); "
            f"this one yields {spec}"
        )
    if spec.shape.rank != 2 or spec.shape[1] is None:
        raise ValueError(
            f"a tf.data.Dataset for k-means must yield batches of shape (batch, n_features) with n_features known; "
            f"this one yields shape {tuple(spec.shape)} (batch the dataset, e.g. dataset.batch(1024))"
        )
    if spec.dtype not in (tf.float32, tf.float64):
        raise TypeError(f"a tf.data.Dataset for k-means must yield float32 or float64 batches, not {spec.dtype.name}")
    return int(spec.shape[1])


def survey(dataset, sample_rows, seed):
    """Two passes: the number of samples, their mean and each feature's variance, with a check
    for NaN; then a uniform random sample of at most ``sample_rows`` of them (rows chosen in
    advance, gathered batch by batch, so that no pass holds more than a batch at a time).

    Raises ValueError if the data holds NaN or infinity (naming the first batch that does), or
    no rows at all.
    """
    n_features = element_features(dataset)
    dtype = dataset.element_spec.dtype
    count, total, squares, low, high, first_bad = _moments_pass(dataset, n_features=n_features)
    _check_batches(first_bad, computed=False)
    count = int(count)
    if count == 0:
        raise ValueError("the dataset holds no samples")
    rows = np.sort(np.random.default_rng(seed).choice(count, size=min(count, sample_rows), replace=False))
    sample = _sample_pass(dataset, tf.constant(rows, tf.int64)).numpy()
    if not np.all(np.isfinite(sample)):  # the data changed since the first pass
        raise ValueError("the dataset changed between passes: the sample drawn from it holds NaN or infinite values")
    with np.errstate(over="ignore", invalid="ignore"):  # refused below if these overflow
        mean = total.numpy() / count
        variance = np.maximum(squares.numpy() / count - mean**2, 0.0)
    low, high = low.numpy(), high.numpy()
    if dtype == tf.float64:
        _lloyd.refuse_float64_overflow(_largest(low, high, mean), n_features)
    return Survey(count, mean.astype(dtype.as_numpy_dtype), variance, sample, low, high)


def _largest(low, high, mean):
    """How far the samples lie from ``mean`` at most, from each feature's lowest and highest."""
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.max(np.maximum(np.abs(high - mean), np.abs(low - mean)), initial=0.0))


def squares_could_overflow(survey):
    """Whether squared distances between the float32 samples of a surveyed stream, relative to
    its mean, could overflow float32 (see ``_lloyd.squares_could_overflow``): then the stream
    is computed in float64."""
    return _lloyd.squares_could_overflow(_largest(survey.low, survey.high, survey.mean), len(survey.mean))


@tf.function
def _moments_pass(dataset, n_features):
    count = tf.constant(0, tf.int64)
    total = tf.zeros([n_features], tf.float64)
    squares = tf.zeros([n_features], tf.float64)
    low = tf.fill([n_features], tf.constant(np.inf, tf.float64))
    high = tf.fill([n_features], tf.constant(-np.inf, tf.float64))
    index, first_bad = tf.constant(0, tf.int64), tf.constant(-1, tf.int64)
    for batch in dataset:
        values = tf.cast(batch, tf.float64)
        finite = tf.reduce_all(tf.math.is_finite(values))
        first_bad = tf.where(tf.logical_and(first_bad < 0, tf.logical_not(finite)), index, first_bad)
        total += tf.reduce_sum(values, axis=0)
        squares += tf.reduce_sum(tf.square(values), axis=0)
        low = tf.minimum(low, tf.reduce_min(values, axis=0))
        high = tf.maximum(high, tf.reduce_max(values, axis=0))
        count += tf.shape(batch, out_type=tf.int64)[0]
        index += 1
    return count, total, squares, low, high, first_bad


@tf.function
def _sample_pass(dataset, rows):
    """The rows at the sorted positions ``rows`` of the stream, in that order."""
    parts = tf.TensorArray(dataset.element_spec.dtype, size=0, dynamic_size=True, infer_shape=False)
    begin = tf.constant(0, tf.int64)
    index = 0
    for batch in dataset:
        end = begin + tf.shape(batch, out_type=tf.int64)[0]
        bounds = tf.searchsorted(rows, tf.stack([begin, end]))
        parts = parts.write(index, tf.gather(batch, rows[bounds[0] : bounds[1]] - begin))
        begin, index = end, index + 1
    return parts.concat()


class Passes:
    """The compiled passes over one dataset with one strategy (the default one if None)."""

    def __init__(self, dataset, strategy=None):
        self.strategy = strategy or tf.distribute.get_strategy()
        self.dataset = dataset
        self.n_features = element_features(dataset)
        self.dtype = dataset.element_spec.dtype
        self.distributed = self.strategy.experimental_distribute_dataset(dataset)
        block = tf.function(_lloyd.block_statistics, jit_compile=_lloyd._xla_available(), autograph=False)

        def replica_statistics(batch, offset, centroids, with_inertia):
            """One batch on one replica: no strategy code here."""
            _, inertia, sums, counts = block(batch - offset, None, centroids, with_inertia=with_inertia)
            return inertia, sums, counts

        def replica_farthest(batch, offset, centroids, reference):
            """This batch's ``k`` samples farthest from the ``reference`` point (the new mean,
            or the old centroid) of the cluster they were in, with those clusters."""
            relative = batch - offset
            nearest, _ = _lloyd.nearest_centroids(relative, centroids)
            distances = tf.reduce_sum(tf.square(relative - tf.gather(reference, nearest)), axis=1)
            k = centroids.shape[0]
            distances = tf.concat([distances, tf.fill([k], tf.constant(-1.0, distances.dtype))], 0)
            padded = tf.concat([relative, tf.zeros_like(centroids)], axis=0)
            top, order = tf.math.top_k(distances, k=k)
            clusters = tf.gather(tf.concat([nearest, tf.zeros([k], tf.int32)], 0), order)
            return top, tf.gather(padded, order), clusters

        self._statistics = tf.function(self._make_statistics(replica_statistics))
        self._farthest = tf.function(self._make_farthest(replica_farthest))

    def _make_statistics(self, replica_statistics):
        strategy, distributed = self.strategy, self.distributed

        def statistics(offset, centroids, with_inertia):
            n_clusters, n_features = centroids.shape
            inertia = tf.constant(0.0, tf.float64)
            sums = tf.zeros([n_clusters, n_features], tf.float64)
            counts = tf.zeros([n_clusters], tf.float64)
            index, first_bad = tf.constant(0, tf.int64), tf.constant(-1, tf.int64)
            for batch in distributed:
                per_replica = strategy.run(replica_statistics, args=(batch, offset, centroids, with_inertia))
                batch_inertia, batch_sums, batch_counts = (
                    strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None) for value in per_replica
                )
                # Every value of a batch is added into one cluster's sum, so NaN or infinity
                # anywhere in it shows in its sums: checking them costs nothing.
                finite = tf.logical_and(tf.reduce_all(tf.math.is_finite(batch_sums)), tf.math.is_finite(batch_inertia))
                first_bad = tf.where(tf.logical_and(first_bad < 0, tf.logical_not(finite)), index, first_bad)
                index += 1
                inertia, sums, counts = inertia + batch_inertia, sums + batch_sums, counts + batch_counts
            return inertia, sums, counts, first_bad

        return statistics

    def _make_farthest(self, replica_farthest):
        strategy, distributed = self.strategy, self.distributed

        def farthest(offset, centroids, reference):
            k = centroids.shape[0]
            best = tf.fill([k], tf.constant(-1.0, centroids.dtype))
            rows = tf.zeros_like(centroids)
            clusters = tf.zeros([k], tf.int32)
            for batch in distributed:
                top, candidates, sources = strategy.run(replica_farthest, args=(batch, offset, centroids, reference))
                top = strategy.gather(top, axis=0)
                candidates = strategy.gather(candidates, axis=0)
                sources = strategy.gather(sources, axis=0)
                merged, order = tf.math.top_k(tf.concat([best, top], axis=0), k=k)
                rows = tf.gather(tf.concat([rows, candidates], axis=0), order)
                clusters = tf.gather(tf.concat([clusters, sources], axis=0), order)
                best = merged
            return best, rows, clusters

        return farthest

    def statistics(self, offset, centroids, with_inertia=True):
        """(inertia, per-cluster sums relative to ``offset``, per-cluster counts), all float64.

        Raises ValueError naming the first batch that holds NaN or infinity.
        """
        inertia, sums, counts, first_bad = self._statistics(offset, centroids, with_inertia)
        _check_batches(first_bad)
        return inertia, sums, counts

    def update(self, offset, centroids, sums, counts, relocation="lesson"):
        """The new centroids (relative to ``offset``): the means of the clusters, with each
        empty cluster relocated as in the in-memory loop (``_lloyd.lloyd_loop``): by the
        lesson's rule (the sample farthest from the new mean of the cluster it was in, the next
        farthest for each further empty cluster) or scikit-learn's (the sample farthest from
        its old centroid, taken out of its cluster)."""
        new = _lloyd.means(sums, counts, self.dtype)
        if not bool(tf.reduce_any(counts == 0)):
            return new
        empty = tf.equal(counts, 0)
        rank = tf.cumsum(tf.cast(empty, tf.int32), exclusive=True)
        if relocation == "lesson":
            _, rows, _ = self._farthest(offset, centroids, new)
            return tf.where(empty[:, None], tf.gather(rows, rank), new)
        top, rows, sources = self._farthest(offset, centroids, centroids)
        k = counts.shape[0]
        sums, counts = _lloyd.move_to_empty(
            sums, counts, tf.gather(rows, rank), tf.gather(sources, rank), tf.ones([k], tf.float64), top[0] > 0
        )
        return _lloyd.sklearn_means(sums, counts, self.dtype)

    def labels(self, offset, centroids):
        """Each sample's nearest centroid, in the dataset's order (not distributed), and the
        exact inertia of that assignment. Raises ValueError for a dataset with no samples, or
        naming the first batch that holds NaN or infinity."""
        labels, inertia, first_bad = _labels_pass(self.dataset, offset, centroids)
        _check_batches(first_bad)
        if labels.shape[0] == 0:
            raise ValueError("the dataset holds no samples")
        return labels.numpy(), float(inertia)

    def distances(self, offset, centroids):
        """The Euclidean distance from each sample to each centroid, in the dataset's order."""
        distances, first_bad = _distances_pass(self.dataset, offset, centroids)
        _check_batches(first_bad)
        return distances.numpy()


def _check_batches(first_bad, computed=True):
    """A ValueError naming the first bad batch, if any. ``computed``: the check was on what a
    batch gave (sums, distances), which values too large for their squares also make infinite."""
    first_bad = int(first_bad)
    if first_bad >= 0:
        also = ", or values too large for k-means (their squared distances overflow)" if computed else ""
        raise ValueError(f"batch {first_bad} of the dataset (counting from 0) holds NaN or infinite values{also}")


def write_labels(dataset, offset, centroids, path):
    """Each sample's nearest centroid, written to the .npy file ``path`` (int32) a batch at a
    time, whole or not at all; returns how many were written."""
    from ._output import atomic_write

    with atomic_write(path) as temporary:
        return write_labels_to(temporary, dataset, offset, centroids)


def write_labels_to(temporary, dataset, offset, centroids):
    """Write each sample's nearest centroid to the new file ``temporary`` as a .npy array of
    int32, a batch at a time. Returns how many labels were written; raises ValueError naming
    a batch that holds NaN or infinity."""

    @tf.function
    def nearest(batch):
        relative = batch - offset
        labels, partial = _lloyd.nearest_centroids(relative, centroids)
        return labels, tf.reduce_all(tf.math.is_finite(partial))

    count = 0
    with open(temporary, "wb") as handle:
        header_at = handle.tell()
        np.lib.format.write_array_header_2_0(handle, {"descr": "<i4", "fortran_order": False, "shape": (0,)})
        for index, batch in enumerate(dataset):
            labels, finite = nearest(batch)
            if not bool(finite):
                _check_batches(index)
            labels = labels.numpy().astype("<i4")
            handle.write(labels.tobytes())
            count += len(labels)
        handle.seek(header_at)
        np.lib.format.write_array_header_2_0(handle, {"descr": "<i4", "fortran_order": False, "shape": (count,)})
    return count


@tf.function
def _labels_pass(dataset, offset, centroids):
    labels = tf.TensorArray(tf.int32, size=0, dynamic_size=True, infer_shape=False, element_shape=(None,))
    labels = labels.write(0, tf.zeros((0,), tf.int32))
    inertia = tf.constant(0.0, tf.float64)
    index, first_bad = tf.constant(0, tf.int64), tf.constant(-1, tf.int64)
    for batch in dataset:
        relative = batch - offset
        nearest, _ = _lloyd.nearest_centroids(relative, centroids)
        labels = labels.write(tf.cast(index + 1, tf.int32), nearest)
        batch_inertia = _lloyd.exact_inertia(relative, None, centroids, nearest)
        first_bad = tf.where(
            tf.logical_and(first_bad < 0, tf.logical_not(tf.math.is_finite(batch_inertia))), index, first_bad
        )
        inertia += batch_inertia
        index += 1
    return labels.concat(), inertia, first_bad


@tf.function
def _distances_pass(dataset, offset, centroids):
    from ._kmeans import _distances

    parts = tf.TensorArray(
        centroids.dtype, size=0, dynamic_size=True, infer_shape=False, element_shape=(None, centroids.shape[0])
    )
    parts = parts.write(0, tf.zeros((0, centroids.shape[0]), centroids.dtype))
    index, first_bad = tf.constant(0, tf.int64), tf.constant(-1, tf.int64)
    for batch in dataset:
        distances = _distances.python_function(batch - offset, centroids)
        finite = tf.reduce_all(tf.math.is_finite(distances))
        first_bad = tf.where(tf.logical_and(first_bad < 0, tf.logical_not(finite)), index, first_bad)
        parts = parts.write(tf.cast(index + 1, tf.int32), distances)
        index += 1
    return parts.concat(), first_bad


LoopResult = collections.namedtuple("LoopResult", "centroids inertia n_updates tol_reached inertias shifts")


def lloyd(
    passes, offset, centroids, max_iter, tol_total=-1.0, tol_max_shift=-1.0, on_iteration=None, relocation="lesson"
):
    """Lloyd's algorithm over a stream: one compiled pass per iteration, driven from Python.

    ``centroids`` are relative to ``offset``. An iteration moves the centroids to the means of
    their clusters, then takes the next pass; the loop stops when the squared shifts of the
    centroids sum to at most ``tol_total`` or no centroid moved farther than ``tol_max_shift``
    (when no sample changes cluster, the next iteration moves nothing and stops it; a negative
    tolerance never stops the loop). ``on_iteration(iteration, inertia, largest_shift,
    centroids)`` is called after each. The inertia of each iteration comes from the pass that
    follows its update. ``relocation``: the rule for empty clusters (``Passes.update``).
    """
    centroids = tf.convert_to_tensor(centroids)
    _, sums, counts = passes.statistics(offset, centroids, with_inertia=False)
    inertias, shifts = [], []
    tol_reached = False
    for iteration in range(1, max_iter + 1):
        new = passes.update(offset, centroids, sums, counts, relocation)
        squared = tf.reduce_sum(tf.square(new - centroids), axis=1).numpy()
        centroids = new
        inertia, sums, counts = passes.statistics(offset, centroids, with_inertia=True)
        inertias.append(float(inertia))
        shifts.append(float(np.sqrt(squared.max())))
        if on_iteration is not None:
            on_iteration(iteration, inertias[-1], shifts[-1], centroids)
        tol_reached = squared.sum() <= tol_total or squared.max() <= tol_max_shift * abs(tol_max_shift)
        if tol_reached:
            break
    return LoopResult(centroids, inertias[-1], len(inertias), tol_reached, inertias, shifts)


def array_dataset(X, batch_rows=ARRAY_BATCH_ROWS):
    """An in-memory array as a dataset of batches (for a strategy to share out). Each batch is a
    slice of one tensor: much faster than ``from_tensor_slices(X).batch()``, which handles the
    rows one by one."""
    samples = tf.constant(X)
    return tf.data.Dataset.range(0, X.shape[0], batch_rows).map(lambda begin: samples[begin : begin + batch_rows])


def npy_dataset(path, columns=None, batch_bytes=BATCH_BYTES):
    """A ``.npy`` file as a dataset of float32 batches, read by TensorFlow in fixed-length
    records of at most ``batch_bytes``: the file is never mapped into memory, and only the
    batches in flight are held. The header is checked against the file first
    (``_input.npy_header``), so the records are exactly the file's rows.

    Returns ``(dataset, n_samples, n_features)``. ``columns``: 0-based positions to keep.
    Raises ``_input.DataError`` for a file that cannot be streamed.
    """
    from ._input import DataError

    header = npy_header(path)
    if header.fortran_order:
        raise DataError(
            f"{path}: the array is stored column by column (Fortran order), which cannot be streamed row by row; "
            "save it with np.save(path, np.ascontiguousarray(array))"
        )
    n_samples, n_features = header.shape
    if n_samples == 0 or n_features == 0:
        raise DataError(f"{path}: the array is empty (shape {header.shape})")
    dtype = header.dtype
    row_bytes = n_features * dtype.itemsize
    batch_rows = max(1, min(ARRAY_BATCH_ROWS, batch_bytes // row_bytes, n_samples))
    full_batches, remainder = divmod(n_samples, batch_rows)
    little_endian = dtype.byteorder == "<" or (dtype.byteorder in "=|" and sys.byteorder == "little")
    raw_type = tf.as_dtype(np.dtype(f"{dtype.kind}{dtype.itemsize}"))

    def decode(record):
        values = tf.io.decode_raw(record, raw_type, little_endian=little_endian)
        batch = tf.cast(tf.reshape(values, [-1, n_features]), tf.float32)
        return batch if columns is None else tf.gather(batch, columns, axis=1)

    parts = []
    if full_batches:
        parts.append(
            tf.data.FixedLengthRecordDataset(
                path,
                record_bytes=batch_rows * row_bytes,
                header_bytes=header.offset,
                footer_bytes=remainder * row_bytes,
            )
        )
    if remainder:
        parts.append(
            tf.data.FixedLengthRecordDataset(
                path,
                record_bytes=remainder * row_bytes,
                header_bytes=header.offset + full_batches * batch_rows * row_bytes,
            )
        )
    records = parts[0] if len(parts) == 1 else parts[0].concatenate(parts[1])
    dataset = records.map(decode, num_parallel_calls=2, deterministic=True).prefetch(1)
    return dataset, n_samples, n_features if columns is None else len(columns)
