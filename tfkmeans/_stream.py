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

No input validation happens here beyond what only a pass can find: NaN in the data, and a
dataset that changes between passes (``Consistency``).

Each compiled pass loops over ``iter(dataset)``, not the dataset itself: over a dataset,
AutoGraph builds the loop as a tf.data reduction, whose body is instantiated afresh on every
call, and the XLA-compiled function in it was compiled again and kept on every pass (about
0.2 MB a pass, and seconds); over an iterator the loop is a ``tf.while_loop`` of the function's
own graph, compiled once.
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

# The most bytes that sample may take: wide rows make it fewer rows.
SAMPLE_BYTES = 256 * 2**20

Survey = collections.namedtuple("Survey", "n_samples mean variance sample low high consistency")
# The most bytes of a .npy file read as one batch when it is streamed, as in the file and as
# float32 after decoding, whichever is larger.
BATCH_BYTES = 64 * 2**20
# The most functions traced for distinct shapes kept at once: each holds its graph (and,
# through XLA, its compiled programs), so a process fitting many shapes must not keep them all.
MAX_TRACED_SHAPES = 8

FIX_ORDER = (
    "k-means needs the same rows in the same order on every pass: shuffle once, with "
    "dataset.shuffle(..., reshuffle_each_iteration=False), or pass a fixed dataset"
)


def element_features(dataset):
    """The number of features of a dataset of (batch, n_features) float batches, or a clear
    error; an infinite dataset (``repeat()`` with no count) is refused, as no pass over it ends."""
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
    if int(dataset.cardinality()) == tf.data.INFINITE_CARDINALITY:
        raise ValueError(
            "the tf.data.Dataset is infinite (repeat() with no count?), so no pass over it would end; "
            "k-means passes over it many times itself: give it each sample once, or use "
            "dataset.take(n) to bound it"
        )
    return int(spec.shape[1])


# --- the same rows on every pass ------------------------------------------------------------

# Irrational steps, so that no shift of rows between positions or batches keeps their weights.
_GOLDEN, _ROOT2, _ROOT3 = 0.6180339887498949, 0.41421356237309515, 0.7320508075688772


def _fingerprint(batch, index):
    """The rows of the ``index``-th batch of a pass, and an order-sensitive checksum of it:
    the sum of each row's weighted values, times a weight that depends on the row's position
    in the batch and the batch's in the pass (and the sum of the absolute terms, its scale).
    Added over a pass, it changes when rows change, move or are reshuffled; in float64, it
    is the same for float32 values and the same values cast to float64."""
    values = tf.cast(batch, tf.float64)
    columns = 1.0 + tf.math.floormod(tf.range(1, batch.shape[1] + 1, dtype=tf.float64) * _ROOT3, 1.0)
    rows = tf.shape(values, out_type=tf.int64)[0]
    place = tf.range(rows, dtype=tf.float64) * _ROOT2 + tf.cast(index, tf.float64) * _GOLDEN
    terms = tf.linalg.matvec(values, columns) * (1.0 + tf.math.floormod(place, 1.0))
    return rows, tf.stack([tf.reduce_sum(terms), tf.reduce_sum(tf.abs(terms))])


class Consistency:
    """What every pass over one dataset must agree on: its number of rows and, for passes
    that read the rows in the same way (``kind``), the fingerprint of their values and order.
    A pass that disagrees raises a ValueError saying what changed."""

    def __init__(self, n_samples=None, fingerprints=None):
        self.n_samples = n_samples
        self.fingerprints = dict(fingerprints or {})

    def rows_only(self):
        """The same check for a dataset mapped to other values (standardized): rows only."""
        return Consistency(self.n_samples)

    def check(self, rows, fingerprint, kind="plain", order=True):
        rows = int(rows)
        if self.n_samples is None:
            self.n_samples = rows
        elif rows != self.n_samples:
            raise ValueError(
                f"the dataset changed between passes: a pass gave {self.n_samples:,} rows, a later one {rows:,}; "
                + FIX_ORDER
            )
        if not order:
            return
        fingerprint = np.asarray(fingerprint, np.float64)
        before = self.fingerprints.setdefault(kind, fingerprint)
        if _differ(before, fingerprint):
            raise ValueError(
                f"the dataset changed between passes: it gave the same {rows:,} rows, but other values or in "
                "another order (is it reshuffled on every pass?); " + FIX_ORDER
            )


def _differ(first, second):
    finite = np.isfinite(first[0]), np.isfinite(second[0])
    if finite[0] != finite[1]:
        return True
    if not finite[0]:  # values whose checksum overflows: refused for their size elsewhere
        return False
    return abs(first[0] - second[0]) > 1e-9 * max(first[1], second[1])


_functions = collections.defaultdict(collections.OrderedDict)


def _function(name, make, *key):
    """``make()``, a new ``tf.function`` for the pass ``name``, kept for ``key`` (what its trace
    depends on) among the ``MAX_TRACED_SHAPES`` of that pass used last. One function object
    per shape keeps TensorFlow from adding trace after trace to one object for good, and a
    process that fits many shapes holds only the latest few."""
    functions = _functions[name]
    if key in functions:
        functions.move_to_end(key)
    else:
        functions[key] = make()
        while len(functions) > MAX_TRACED_SHAPES:
            functions.popitem(last=False)
    return functions[key]


def _spec_key(dataset):
    spec = dataset.element_spec
    return spec.dtype, spec.shape[1]


def survey(dataset, sample_rows, seed, same_order=True, at_least=1):
    """Two passes: the number of samples, their mean and each feature's variance, with a check
    for NaN; then a uniform random sample of at most ``sample_rows`` of them, and at most
    ``SAMPLE_BYTES`` but never fewer than ``at_least`` rows (rows chosen in advance, gathered
    batch by batch, so that no pass holds more than a batch at a time).

    The second pass must give the same rows as the first, and, with ``same_order``, in the
    same order; the survey's ``consistency`` is what later passes are checked against.
    Raises ValueError if the data holds NaN or infinity (naming the first batch that does), no
    rows at all, or changed between the passes.
    """
    n_features = element_features(dataset)
    dtype = dataset.element_spec.dtype
    moments = _function("moments", lambda: tf.function(_moments_pass), *_spec_key(dataset))
    count, total, squares, low, high, first_bad, fingerprint = moments(dataset, n_features=n_features)
    _check_batches(first_bad, computed=False)
    count = int(count)
    if count == 0:
        raise ValueError("the dataset holds no samples")
    consistency = Consistency(count, {"plain": fingerprint.numpy()})
    row_bytes = n_features * dtype.size
    sample_rows = min(count, sample_rows, max(SAMPLE_BYTES // row_bytes, at_least))
    rows = np.sort(np.random.default_rng(seed).choice(count, size=sample_rows, replace=False))
    sample_pass = _function("sample", lambda: tf.function(_sample_pass), *_spec_key(dataset))
    sample, sample_rows_seen, sample_fingerprint = sample_pass(dataset, tf.constant(rows, tf.int64))
    sample = sample.numpy()
    if not np.all(np.isfinite(sample)):  # the data changed since the first pass
        raise ValueError("the dataset changed between passes: the sample drawn from it holds NaN or infinite values")
    consistency.check(sample_rows_seen, sample_fingerprint, order=same_order)
    with np.errstate(over="ignore", invalid="ignore"):  # refused below if these overflow
        mean = total.numpy() / count
        variance = np.maximum(squares.numpy() / count - mean**2, 0.0)
    low, high = low.numpy(), high.numpy()
    if dtype == tf.float64:
        _lloyd.refuse_float64_overflow(_largest(low, high, mean), n_features)
    return Survey(count, mean.astype(dtype.as_numpy_dtype), variance, sample, low, high, consistency)


def _largest(low, high, mean):
    """How far the samples lie from ``mean`` at most, from each feature's lowest and highest."""
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.max(np.maximum(np.abs(high - mean), np.abs(low - mean)), initial=0.0))


def squares_could_overflow(survey):
    """Whether squared distances between the float32 samples of a surveyed stream, relative to
    its mean, could overflow float32 (see ``_lloyd.squares_could_overflow``): then the stream
    is computed in float64."""
    return _lloyd.squares_could_overflow(_largest(survey.low, survey.high, survey.mean), len(survey.mean))


def _moments_pass(dataset, n_features):
    count = tf.constant(0, tf.int64)
    total = tf.zeros([n_features], tf.float64)
    squares = tf.zeros([n_features], tf.float64)
    low = tf.fill([n_features], tf.constant(np.inf, tf.float64))
    high = tf.fill([n_features], tf.constant(-np.inf, tf.float64))
    index, first_bad = tf.constant(0, tf.int64), tf.constant(-1, tf.int64)
    fingerprint = tf.zeros([2], tf.float64)
    for batch in iter(dataset):
        values = tf.cast(batch, tf.float64)
        finite = tf.reduce_all(tf.math.is_finite(values))
        first_bad = tf.where(tf.logical_and(first_bad < 0, tf.logical_not(finite)), index, first_bad)
        total += tf.reduce_sum(values, axis=0)
        squares += tf.reduce_sum(tf.square(values), axis=0)
        low = tf.minimum(low, tf.reduce_min(values, axis=0))
        high = tf.maximum(high, tf.reduce_max(values, axis=0))
        rows, batch_fingerprint = _fingerprint(batch, index)
        count += rows
        fingerprint += batch_fingerprint
        index += 1
    return count, total, squares, low, high, first_bad, fingerprint


def _sample_pass(dataset, rows):
    """The rows at the sorted positions ``rows`` of the stream, in that order; the rows the
    pass gave, and its fingerprint."""
    spec = dataset.element_spec
    parts = tf.TensorArray(
        spec.dtype, size=0, dynamic_size=True, infer_shape=False, element_shape=(None, spec.shape[1])
    )
    parts = parts.write(0, tf.zeros((0, spec.shape[1]), spec.dtype))  # a pass that gives no rows concatenates
    begin = tf.constant(0, tf.int64)
    index = tf.constant(0, tf.int64)
    fingerprint = tf.zeros([2], tf.float64)
    for batch in iter(dataset):
        count, batch_fingerprint = _fingerprint(batch, index)
        end = begin + count
        bounds = tf.searchsorted(rows, tf.stack([begin, end]))
        parts = parts.write(tf.cast(index + 1, tf.int32), tf.gather(batch, rows[bounds[0] : bounds[1]] - begin))
        fingerprint += batch_fingerprint
        begin, index = end, index + 1
    return parts.concat(), begin, fingerprint


def _make_statistics(strategy):
    """The pass of Lloyd's algorithm over a (distributed) dataset, for ``strategy``."""
    block = tf.function(_lloyd.block_statistics, jit_compile=_lloyd._xla_available(), autograph=False)

    def replica_statistics(batch, index, offset, centroids, with_inertia):
        """One batch on one replica: no strategy code here."""
        _, inertia, sums, counts = block(batch - offset, None, centroids, with_inertia=with_inertia)
        rows, fingerprint = _fingerprint(batch, index)
        return inertia, sums, counts, rows, fingerprint

    def statistics(distributed, offset, centroids, with_inertia):
        n_clusters, n_features = centroids.shape
        inertia = tf.constant(0.0, tf.float64)
        sums = tf.zeros([n_clusters, n_features], tf.float64)
        counts = tf.zeros([n_clusters], tf.float64)
        rows, fingerprint = tf.constant(0, tf.int64), tf.zeros([2], tf.float64)
        index, first_bad = tf.constant(0, tf.int64), tf.constant(-1, tf.int64)
        for batch in iter(distributed):
            per_replica = strategy.run(replica_statistics, args=(batch, index, offset, centroids, with_inertia))
            batch_inertia, batch_sums, batch_counts, batch_rows, batch_fingerprint = (
                strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None) for value in per_replica
            )
            # Every value of a batch is added into one cluster's sum, so NaN or infinity
            # anywhere in it shows in its sums: checking them costs nothing.
            finite = tf.logical_and(tf.reduce_all(tf.math.is_finite(batch_sums)), tf.math.is_finite(batch_inertia))
            first_bad = tf.where(tf.logical_and(first_bad < 0, tf.logical_not(finite)), index, first_bad)
            index += 1
            inertia, sums, counts = inertia + batch_inertia, sums + batch_sums, counts + batch_counts
            rows, fingerprint = rows + batch_rows, fingerprint + batch_fingerprint
        return inertia, sums, counts, first_bad, rows, fingerprint

    return statistics


def _make_farthest(strategy):
    """The pass that finds, for each cluster, the samples farthest from a reference point."""

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

    def farthest(distributed, offset, centroids, reference):
        k = centroids.shape[0]
        best = tf.fill([k], tf.constant(-1.0, centroids.dtype))
        rows = tf.zeros_like(centroids)
        clusters = tf.zeros([k], tf.int32)
        for batch in iter(distributed):
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


def _default_statistics():
    return tf.function(_make_statistics(tf.distribute.get_strategy()))


def _default_farthest():
    return tf.function(_make_farthest(tf.distribute.get_strategy()))


class Passes:
    """The compiled passes over one dataset with one strategy (the default one if None).

    Every pass counts the dataset's rows and fingerprints them (``Consistency``): one that
    gives other rows than the others, or the same in another order, is an error. Without a
    strategy the compiled functions are shared by every dataset of the same shapes.
    """

    def __init__(self, dataset, strategy=None, consistency=None):
        self.dataset = dataset
        self.n_features = element_features(dataset)
        self.dtype = dataset.element_spec.dtype
        self.consistency = consistency or Consistency()
        if strategy is None and not tf.distribute.has_strategy():
            self.strategy, self.distributed, self._kind = None, dataset, "plain"
            self._statistics = self._farthest = None
        else:  # functions of its own, over the distributed dataset they capture
            self.strategy = strategy or tf.distribute.get_strategy()
            self.distributed = self.strategy.experimental_distribute_dataset(dataset)
            self._kind = "distributed"
            statistics, farthest, distributed = _make_statistics(self.strategy), _make_farthest(self.strategy), None
            distributed = self.distributed
            self._statistics = tf.function(lambda *arguments: statistics(distributed, *arguments))
            self._farthest = tf.function(lambda *arguments: farthest(distributed, *arguments))

    def _pass(self, name, centroids):
        if name == "statistics" and self._statistics is not None:
            return self._statistics
        if name == "farthest" and self._farthest is not None:
            return self._farthest
        make = _default_statistics if name == "statistics" else _default_farthest
        function = _function(name, make, *_spec_key(self.dataset), tuple(centroids.shape))
        return lambda *arguments: function(self.dataset, *arguments)

    def statistics(self, offset, centroids, with_inertia=True):
        """(inertia, per-cluster sums relative to ``offset``, per-cluster counts), all float64.

        Raises ValueError naming the first batch that holds NaN or infinity, or saying how
        the dataset changed since the last pass.
        """
        inertia, sums, counts, first_bad, rows, fingerprint = self._pass("statistics", centroids)(
            offset, centroids, with_inertia
        )
        _check_batches(first_bad)
        self.consistency.check(rows, fingerprint, self._kind)
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
        farthest = self._pass("farthest", centroids)
        if relocation == "lesson":
            _, rows, _ = farthest(offset, centroids, new)
            return tf.where(empty[:, None], tf.gather(rows, rank), new)
        top, rows, sources = farthest(offset, centroids, centroids)
        k = counts.shape[0]
        sums, counts = _lloyd.move_to_empty(
            sums, counts, tf.gather(rows, rank), tf.gather(sources, rank), tf.ones([k], tf.float64), top[0] > 0
        )
        return _lloyd.sklearn_means(sums, counts, self.dtype)

    def labels(self, offset, centroids):
        """Each sample's nearest centroid, in the dataset's order (not distributed), and the
        exact inertia of that assignment. Raises ValueError for a dataset with no samples,
        naming the first batch that holds NaN or infinity, or saying how it changed."""
        function = _function(
            "labels", lambda: tf.function(_labels_pass), *_spec_key(self.dataset), tuple(centroids.shape)
        )
        labels, inertia, first_bad, rows, fingerprint = function(self.dataset, offset, centroids)
        _check_batches(first_bad)
        if labels.shape[0] == 0:
            raise ValueError("the dataset holds no samples")
        self.consistency.check(rows, fingerprint, "plain")
        return labels.numpy(), float(inertia)

    def distances(self, offset, centroids):
        """The Euclidean distance from each sample to each centroid, in the dataset's order."""
        function = _function(
            "distances", lambda: tf.function(_distances_pass), *_spec_key(self.dataset), tuple(centroids.shape)
        )
        distances, first_bad, rows, fingerprint = function(self.dataset, offset, centroids)
        _check_batches(first_bad)
        self.consistency.check(rows, fingerprint, "plain")
        return distances.numpy()


def _check_batches(first_bad, computed=True):
    """A ValueError naming the first bad batch, if any. ``computed``: the check was on what a
    batch gave (sums, distances), which values too large for their squares also make infinite."""
    first_bad = int(first_bad)
    if first_bad >= 0:
        also = ", or values too large for k-means (their squared distances overflow)" if computed else ""
        raise ValueError(f"batch {first_bad} of the dataset (counting from 0) holds NaN or infinite values{also}")


def write_labels(dataset, offset, centroids, path, consistency=None):
    """Each sample's nearest centroid, written to the .npy file ``path`` (int32) a batch at a
    time, whole or not at all; returns how many were written."""
    from ._output import atomic_write

    with atomic_write(path) as temporary:
        return write_labels_to(temporary, dataset, offset, centroids, consistency)


def _nearest_batch(batch, index, offset, centroids):
    relative = batch - offset
    labels, partial = _lloyd.nearest_centroids(relative, centroids)
    rows, fingerprint = _fingerprint(batch, index)
    return labels, tf.reduce_all(tf.math.is_finite(partial)), rows, fingerprint


def write_labels_to(temporary, dataset, offset, centroids, consistency=None):
    """Write each sample's nearest centroid to the new file ``temporary`` as a .npy array of
    int32, a batch at a time. Returns how many labels were written; raises ValueError naming
    a batch that holds NaN or infinity, or (``consistency``) saying how the dataset changed
    since the passes before."""
    key = (*_spec_key(dataset), tuple(centroids.shape))
    nearest = _function("nearest", lambda: tf.function(_nearest_batch, reduce_retracing=True), *key)
    count, fingerprint = 0, np.zeros(2)
    with open(temporary, "wb") as handle:
        header_at = handle.tell()
        np.lib.format.write_array_header_2_0(handle, {"descr": "<i4", "fortran_order": False, "shape": (0,)})
        for index, batch in enumerate(dataset):
            labels, finite, _, batch_fingerprint = nearest(batch, tf.constant(index, tf.int64), offset, centroids)
            if not bool(finite):
                _check_batches(index)
            labels = labels.numpy().astype("<i4")
            handle.write(labels.tobytes())
            count += len(labels)
            fingerprint += batch_fingerprint.numpy()
        if consistency is not None:
            consistency.check(count, fingerprint, "plain")
        handle.seek(header_at)
        np.lib.format.write_array_header_2_0(handle, {"descr": "<i4", "fortran_order": False, "shape": (count,)})
    return count


def _labels_pass(dataset, offset, centroids):
    labels = tf.TensorArray(tf.int32, size=0, dynamic_size=True, infer_shape=False, element_shape=(None,))
    labels = labels.write(0, tf.zeros((0,), tf.int32))
    inertia = tf.constant(0.0, tf.float64)
    rows, fingerprint = tf.constant(0, tf.int64), tf.zeros([2], tf.float64)
    index, first_bad = tf.constant(0, tf.int64), tf.constant(-1, tf.int64)
    for batch in iter(dataset):
        relative = batch - offset
        nearest, _ = _lloyd.nearest_centroids(relative, centroids)
        labels = labels.write(tf.cast(index + 1, tf.int32), nearest)
        batch_inertia = _lloyd.exact_inertia(relative, None, centroids, nearest)
        first_bad = tf.where(
            tf.logical_and(first_bad < 0, tf.logical_not(tf.math.is_finite(batch_inertia))), index, first_bad
        )
        batch_rows, batch_fingerprint = _fingerprint(batch, index)
        rows, fingerprint = rows + batch_rows, fingerprint + batch_fingerprint
        inertia += batch_inertia
        index += 1
    return labels.concat(), inertia, first_bad, rows, fingerprint


def _distances_pass(dataset, offset, centroids):
    from ._kmeans import _distances

    parts = tf.TensorArray(
        centroids.dtype, size=0, dynamic_size=True, infer_shape=False, element_shape=(None, centroids.shape[0])
    )
    parts = parts.write(0, tf.zeros((0, centroids.shape[0]), centroids.dtype))
    rows, fingerprint = tf.constant(0, tf.int64), tf.zeros([2], tf.float64)
    index, first_bad = tf.constant(0, tf.int64), tf.constant(-1, tf.int64)
    for batch in iter(dataset):
        distances = _distances.python_function(batch - offset, centroids)
        finite = tf.reduce_all(tf.math.is_finite(distances))
        first_bad = tf.where(tf.logical_and(first_bad < 0, tf.logical_not(finite)), index, first_bad)
        parts = parts.write(tf.cast(index + 1, tf.int32), distances)
        batch_rows, batch_fingerprint = _fingerprint(batch, index)
        rows, fingerprint = rows + batch_rows, fingerprint + batch_fingerprint
        index += 1
    return parts.concat(), first_bad, rows, fingerprint


LoopResult = collections.namedtuple("LoopResult", "centroids inertia n_updates tol_reached inertias shifts counts")


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
    follows its update, and so do ``counts``, the samples in each cluster of the last
    centroids. ``relocation``: the rule for empty clusters (``Passes.update``).
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
    return LoopResult(centroids, inertias[-1], len(inertias), tol_reached, inertias, shifts, counts.numpy())


def array_dataset(X, batch_rows=ARRAY_BATCH_ROWS):
    """An in-memory array as a dataset of batches (for a strategy to share out). Each batch is a
    slice of one tensor: much faster than ``from_tensor_slices(X).batch()``, which handles the
    rows one by one."""
    samples = tf.constant(X)
    return tf.data.Dataset.range(0, X.shape[0], batch_rows).map(lambda begin: samples[begin : begin + batch_rows])


# The .npy types TensorFlow decodes itself; unsigned 32- and 64-bit integers are decoded as
# the signed ones and their bits reinterpreted; any other type the loader takes (float128,
# say) is decoded by NumPy.
_DECODED = {"f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2"}
_REINTERPRETED = {"u4": ("int32", "uint32"), "u8": ("int64", "uint64")}


def batch_rows(path, n_samples, n_features, dtype, batch_bytes=BATCH_BYTES):
    """Rows per batch of a streamed .npy file: as many as fit in ``batch_bytes``, both as the
    file holds them and as float32, at most ``ARRAY_BATCH_ROWS``. A row that does not fit is
    ``_input.DataError``."""
    from ._input import DataError

    row_bytes = n_features * max(dtype.itemsize, 4)
    if row_bytes > batch_bytes:
        raise DataError(
            f"{path}: one row of {n_features:,} features is {row_bytes / 2**20:,.0f} MiB, more than a streamed "
            f"batch may take ({batch_bytes / 2**20:,.0f} MiB); streaming reads whole rows: load the file "
            "without --stream, or store it with fewer features per row"
        )
    return max(1, min(ARRAY_BATCH_ROWS, batch_bytes // row_bytes, n_samples))


def npy_dataset(path, columns=None, batch_bytes=BATCH_BYTES):
    """A ``.npy`` file as a dataset of float32 batches, read by TensorFlow in fixed-length
    records of at most ``batch_bytes`` (``batch_rows``): the file is never mapped into memory,
    and only the batches in flight are held. The header is checked against the file first
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
    rows_per_batch = batch_rows(path, n_samples, n_features, dtype, batch_bytes)
    full_batches, remainder = divmod(n_samples, rows_per_batch)
    little_endian = dtype.byteorder == "<" or (dtype.byteorder in "=|" and sys.byteorder == "little")
    code = f"{dtype.kind}{dtype.itemsize}"

    def decode_values(record):
        if code in _DECODED:
            return tf.io.decode_raw(record, tf.as_dtype(np.dtype(code)), little_endian=little_endian)
        if code in _REINTERPRETED:
            signed, unsigned = _REINTERPRETED[code]
            return tf.bitcast(tf.io.decode_raw(record, tf.as_dtype(signed), little_endian=little_endian), unsigned)
        values = tf.numpy_function(lambda raw: np.frombuffer(raw, dtype).astype(np.float32), [record], tf.float32)
        return tf.ensure_shape(values, [None])

    def decode(record):
        batch = tf.cast(tf.reshape(decode_values(record), [-1, n_features]), tf.float32)
        return batch if columns is None else tf.gather(batch, columns, axis=1)

    parts = []
    if full_batches:
        parts.append(
            tf.data.FixedLengthRecordDataset(
                str(path),
                record_bytes=rows_per_batch * row_bytes,
                header_bytes=header.offset,
                footer_bytes=remainder * row_bytes,
            )
        )
    if remainder:
        parts.append(
            tf.data.FixedLengthRecordDataset(
                str(path),
                record_bytes=remainder * row_bytes,
                header_bytes=header.offset + full_batches * rows_per_batch * row_bytes,
            )
        )
    records = parts[0] if len(parts) == 1 else parts[0].concatenate(parts[1])
    dataset = records.map(decode, num_parallel_calls=2, deterministic=True).prefetch(1)
    return dataset, n_samples, n_features if columns is None else len(columns)
