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
import tensorflow as tf

from . import _lloyd
from ._input import npy_header

# The most rows of a stream kept in memory as the uniform sample that seeds k-means++.
SEED_SAMPLE_ROWS = 100_000
# Rows per batch when an in-memory array is fed to a strategy as a dataset.
ARRAY_BATCH_ROWS = 65_536

Survey = collections.namedtuple("Survey", "n_samples mean variance sample")


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

    Raises ValueError if the data holds NaN or infinity, or no rows at all.
    """
    n_features = element_features(dataset)
    dtype = dataset.element_spec.dtype
    count, total, squares, finite = _moments_pass(dataset, n_features=n_features)
    if not bool(finite):
        raise ValueError("the dataset holds NaN or infinite values")
    count = int(count)
    if count == 0:
        raise ValueError("the dataset holds no samples")
    rows = np.sort(np.random.default_rng(seed).choice(count, size=min(count, sample_rows), replace=False))
    sample = _sample_pass(dataset, tf.constant(rows, tf.int64)).numpy()
    mean = total.numpy() / count
    variance = np.maximum(squares.numpy() / count - mean**2, 0.0)
    return Survey(count, mean.astype(dtype.as_numpy_dtype), variance, sample)


@tf.function
def _moments_pass(dataset, n_features):
    count = tf.constant(0, tf.int64)
    total = tf.zeros([n_features], tf.float64)
    squares = tf.zeros([n_features], tf.float64)
    finite = tf.constant(True)
    for batch in dataset:
        values = tf.cast(batch, tf.float64)
        finite = tf.logical_and(finite, tf.reduce_all(tf.math.is_finite(values)))
        total += tf.reduce_sum(values, axis=0)
        squares += tf.reduce_sum(tf.square(values), axis=0)
        count += tf.shape(batch, out_type=tf.int64)[0]
    return count, total, squares, finite


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
        block = tf.function(_lloyd.block_statistics, jit_compile=_lloyd._xla_available())

        def replica_statistics(batch, offset, centroids, with_inertia):
            """One batch on one replica: no strategy code here."""
            _, inertia, sums, counts = block(batch - offset, None, centroids, with_inertia=with_inertia)
            return inertia, sums, counts

        def replica_farthest(batch, offset, centroids, means):
            """This batch's ``k`` samples farthest from the new mean of the cluster they were in."""
            relative = batch - offset
            nearest, _ = _lloyd.nearest_centroids(relative, centroids)
            distances = tf.reduce_sum(tf.square(relative - tf.gather(means, nearest)), axis=1)
            k = centroids.shape[0]
            distances = tf.concat([distances, tf.fill([k], tf.constant(-1.0, distances.dtype))], 0)
            padded = tf.concat([relative, tf.zeros_like(centroids)], axis=0)
            top, order = tf.math.top_k(distances, k=k)
            return top, tf.gather(padded, order)

        self._statistics = tf.function(self._make_statistics(replica_statistics))
        self._farthest = tf.function(self._make_farthest(replica_farthest))

    def _make_statistics(self, replica_statistics):
        strategy, distributed = self.strategy, self.distributed

        def statistics(offset, centroids, with_inertia):
            n_clusters, n_features = centroids.shape
            inertia = tf.constant(0.0, tf.float64)
            sums = tf.zeros([n_clusters, n_features], tf.float64)
            counts = tf.zeros([n_clusters], tf.float64)
            for batch in distributed:
                per_replica = strategy.run(replica_statistics, args=(batch, offset, centroids, with_inertia))
                batch_inertia, batch_sums, batch_counts = (
                    strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None) for value in per_replica
                )
                inertia, sums, counts = inertia + batch_inertia, sums + batch_sums, counts + batch_counts
            return inertia, sums, counts

        return statistics

    def _make_farthest(self, replica_farthest):
        strategy, distributed = self.strategy, self.distributed

        def farthest(offset, centroids, means):
            k = centroids.shape[0]
            best = tf.fill([k], tf.constant(-1.0, centroids.dtype))
            rows = tf.zeros_like(centroids)
            for batch in distributed:
                top, candidates = strategy.run(replica_farthest, args=(batch, offset, centroids, means))
                top = strategy.gather(top, axis=0)
                candidates = strategy.gather(candidates, axis=0)
                merged, order = tf.math.top_k(tf.concat([best, top], axis=0), k=k)
                best, rows = merged, tf.gather(tf.concat([rows, candidates], axis=0), order)
            return best, rows

        return farthest

    def statistics(self, offset, centroids, with_inertia=True):
        """(inertia, per-cluster sums relative to ``offset``, per-cluster counts), all float64."""
        return self._statistics(offset, centroids, with_inertia)

    def update(self, offset, centroids, sums, counts):
        """The new centroids (relative to ``offset``): the means of the clusters, and for each
        empty cluster the sample farthest from the new mean of the cluster it was in (the next
        farthest for each further empty cluster): the lesson's rule, as in the in-memory loop."""
        new = _lloyd.means(sums, counts, self.dtype)
        if bool(tf.reduce_any(counts == 0)):
            _, rows = self._farthest(offset, centroids, new)
            empty = tf.equal(counts, 0)
            rank = tf.cumsum(tf.cast(empty, tf.int32), exclusive=True)
            new = tf.where(empty[:, None], tf.gather(rows, rank), new)
        return new

    def labels(self, offset, centroids):
        """Each sample's nearest centroid, in the dataset's order (not distributed), and the
        exact inertia of that assignment."""
        labels, inertia = _labels_pass(self.dataset, offset, centroids)
        return labels.numpy(), float(inertia)


def write_labels(dataset, offset, centroids, path):
    """Each sample's nearest centroid, written to the .npy file ``path`` (int32) a batch at a
    time, whole or not at all; returns how many were written."""
    from ._output import atomic_write

    nearest = tf.function(lambda batch: _lloyd.nearest_centroids(batch - offset, centroids)[0])
    count = 0
    with atomic_write(path) as temporary:
        with open(temporary, "wb") as handle:
            header_at = handle.tell()
            np.lib.format.write_array_header_2_0(handle, {"descr": "<i4", "fortran_order": False, "shape": (0,)})
            for batch in dataset:
                labels = nearest(batch).numpy().astype("<i4")
                handle.write(labels.tobytes())
                count += len(labels)
            handle.seek(header_at)
            np.lib.format.write_array_header_2_0(handle, {"descr": "<i4", "fortran_order": False, "shape": (count,)})
    return count


@tf.function
def _labels_pass(dataset, offset, centroids):
    labels = tf.TensorArray(tf.int32, size=0, dynamic_size=True, infer_shape=False)
    inertia = tf.constant(0.0, tf.float64)
    index = 0
    for batch in dataset:
        relative = batch - offset
        nearest, _ = _lloyd.nearest_centroids(relative, centroids)
        labels = labels.write(index, nearest)
        inertia += _lloyd.exact_inertia(relative, None, centroids, nearest)
        index += 1
    return labels.concat(), inertia


LoopResult = collections.namedtuple("LoopResult", "centroids inertia n_updates tol_reached inertias shifts")


def lloyd(passes, offset, centroids, max_iter, tol_total=-1.0, tol_max_shift=-1.0, on_iteration=None):
    """Lloyd's algorithm over a stream: one compiled pass per iteration, driven from Python.

    ``centroids`` are relative to ``offset``. An iteration moves the centroids to the means of
    their clusters, then takes the next pass; the loop stops when the squared shifts of the
    centroids sum to at most ``tol_total`` or no centroid moved farther than ``tol_max_shift``
    (when no sample changes cluster, the next iteration moves nothing and stops it; a negative
    tolerance never stops the loop). ``on_iteration(iteration, inertia, largest_shift,
    centroids)`` is called after each. The inertia of each iteration comes from the pass that
    follows its update.
    """
    centroids = tf.convert_to_tensor(centroids)
    _, sums, counts = passes.statistics(offset, centroids, with_inertia=False)
    inertias, shifts = [], []
    tol_reached = False
    for iteration in range(1, max_iter + 1):
        new = passes.update(offset, centroids, sums, counts)
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


def npy_dataset(path, batch_rows=ARRAY_BATCH_ROWS, columns=None):
    """A ``.npy`` file as a dataset of float32 batches, read by TensorFlow in fixed-length
    records: the file is never mapped into memory, and only the batches in flight are held.

    Returns ``(dataset, n_samples, n_features)``. ``columns``: 0-based positions to keep.
    """
    shape, fortran_order, dtype, header_bytes = npy_header(path)
    if len(shape) != 2 or fortran_order or dtype.kind not in "iuf" or dtype.hasobject:
        raise ValueError(f"{path}: streaming needs a 2-D, C-ordered array of numbers; got shape {shape}, {dtype}")
    n_samples, n_features = shape
    row_bytes = n_features * dtype.itemsize
    batch_rows = max(1, min(batch_rows, n_samples))
    full_batches, remainder = divmod(n_samples, batch_rows)
    little_endian = dtype.byteorder == "<" or (dtype.byteorder in "=|" and sys.byteorder == "little")
    try:
        raw_type = tf.as_dtype(np.dtype(f"{dtype.kind}{dtype.itemsize}"))
    except TypeError:
        raise ValueError(f"{path}: cannot stream an array of {dtype}") from None

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
                header_bytes=header_bytes,
                footer_bytes=remainder * row_bytes,
            )
        )
    if remainder:
        parts.append(
            tf.data.FixedLengthRecordDataset(
                path,
                record_bytes=remainder * row_bytes,
                header_bytes=header_bytes + full_batches * batch_rows * row_bytes,
            )
        )
    records = parts[0] if len(parts) == 1 else parts[0].concatenate(parts[1])
    dataset = records.map(decode, num_parallel_calls=2, deterministic=True).prefetch(1)
    return dataset, n_samples, n_features if columns is None else len(columns)
