"""The passes over a ``tf.data.Dataset``: data that need never be in memory at once, on one
device or shared out by a ``tf.distribute.Strategy``.

Every pass is written as TensorFlow's guide "Custom training with tf.distribute.Strategy" writes
a training epoch: the dataset goes through ``strategy.experimental_distribute_dataset``, a
per-replica function with no strategy code in it returns one batch's per-cluster sums and
weights (``_dense.block_statistics``, compiled with XLA), and a ``tf.function`` runs it with
``strategy.run`` and adds the replicas' results with ``strategy.reduce(SUM, ...)``. Without a
strategy the default one stands in, for which ``run`` and ``reduce`` do nothing, so one code path
serves both. Each worker of a ``MultiWorkerMirroredStrategy`` runs the same program on the same
dataset; the strategy shards the dataset and all-reduces the sums, so every worker updates the
centres to the same values. The loop that drives these passes is ``_loop.lloyd_passes``; the
reader of a ``.npy`` file as a dataset is ``_input.npy_dataset``.

No input validation happens here beyond what only a pass can find: NaN in the data, and a
dataset that changes between passes (``Consistency``).

Each compiled pass loops over ``iter(dataset)``, not the dataset itself: over a dataset,
AutoGraph builds the loop as a tf.data reduction, whose body is instantiated afresh on every
call, and the XLA-compiled function in it was compiled again and kept on every pass; over an
iterator the loop is a ``tf.while_loop`` of the function's own graph, compiled once.
"""

import collections
import warnings

import numpy as np

from . import _dense, _dispatch, _minibatch, _precision
from ._geometry import SQUARED_EUCLIDEAN
from ._tensorflow import tf, xla_available

# The most rows of a stream kept in memory as the uniform sample that seeds k-means++.
SEED_SAMPLE_ROWS = 100_000
# Rows per batch when an in-memory array is fed to a strategy as a dataset.
ARRAY_BATCH_ROWS = 65_536

# The most bytes that sample may take: wide rows make it fewer rows.
SAMPLE_BYTES = 256 * 2**20

Survey = collections.namedtuple("Survey", "n_samples mean variance sample low high consistency dtype")
Survey.__doc__ = """What ``survey`` finds: the rows, each feature's mean, variance, lowest and highest
value, a uniform sample of rows, what every later pass must agree with (``consistency``), and
the dtype ``_precision`` computes the stream in."""

FIX_ORDER = (
    "k-means needs the same rows in the same order on every pass: shuffle once, with "
    "dataset.shuffle(..., reshuffle_each_iteration=False), or pass a fixed dataset"
)


def element_features(dataset, whole_pipeline=False):
    """The number of features of a dataset of (batch, n_features) float batches, or a clear
    error; an infinite dataset (``repeat()`` with no count) is refused, as no pass over it ends.

    TensorFlow calls a dataset infinite only while it can count it: after a ``filter`` (or
    anything else that hides the count) an endless ``repeat()`` is of unknown cardinality. With
    ``whole_pipeline`` such a dataset's graph is read for one (``repeats_endlessly``); this
    serializes the graph, constants and all, so the estimators ask it once, at their edge."""
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
    cardinality = int(dataset.cardinality())
    endless = cardinality == tf.data.INFINITE_CARDINALITY or (
        whole_pipeline and cardinality == tf.data.UNKNOWN_CARDINALITY and repeats_endlessly(dataset)
    )
    if endless:
        raise ValueError(
            "the tf.data.Dataset is infinite (repeat() with no count?), so no pass over it would end; "
            "k-means passes over it many times itself: give it each sample once, or use "
            "dataset.take(n) to bound it"
        )
    return int(spec.shape[1])


# Ops that may end a dataset whatever their inputs do (take_while, choose_from_datasets and
# sample_from_datasets, which stop when one input ends): what is upstream of them cannot be judged.
_MAY_END = {"TakeWhileDataset", "DirectedInterleaveDataset", "ChooseFastestDataset", "ChooseFastestBranchDataset"}
# Ops whose function returns a dataset each input element opens in turn: an endless one never ends.
_OPENS = ("FlatMapDataset", "InterleaveDataset", "ParallelInterleaveDataset", "LegacyParallelInterleaveDataset")


def repeats_endlessly(dataset):
    """Whether ``dataset``'s graph holds a ``repeat()`` with no count (its count the constant
    -1) that nothing after it ends: no ``take(n)``, no ``zip`` with a finite dataset, none of
    ``_MAY_END``. Looked for through every op, and into the datasets that ``flat_map`` and
    ``interleave`` open. False where the graph shows none, or cannot be read (a TensorFlow that
    serializes datasets otherwise: the check is then only the cardinality's, as before). An
    endless Python generator (``from_generator``) is an op whose end no graph shows: never
    found here."""
    try:
        serialized = dataset._as_serialized_graph(external_state_policy=tf.data.experimental.ExternalStatePolicy.IGNORE)
        graph = tf.compat.v1.GraphDef.FromString(serialized.numpy())
        functions = {function.signature.name: function for function in graph.library.function}
        outputs = [node.input[0] for node in graph.node if node.op == "_Retval" and node.input]
        scope = {node.name: node for node in graph.node}
        return any(_endless(name, scope, functions, {}) for name in outputs)
    except Exception:  # a private API of TensorFlow's: whatever it raises means "cannot tell"
        return False


def _endless(reference, scope, functions, seen):
    """Whether the op output ``reference`` names (``op``, ``op/_3``, ``op:handle:0`` in a
    function) is an endless dataset; ``seen`` memoizes the answers in ``scope``."""
    name = reference.split(":")[0]
    if name.startswith("^") or name not in scope:  # a control input, or a function's argument
        return False
    if name in seen:
        return seen[name]
    seen[name] = False  # (a graph has no cycles; this only guards the recursion)
    node = scope[name]
    inputs = [input_ for input_ in node.input if not input_.startswith("^")]
    if node.op == "RepeatDataset":
        count = _constant(inputs[1], scope)
        answer = count == -1 or _endless(inputs[0], scope, functions, seen)
    elif node.op == "TakeDataset":
        answer = _constant(inputs[1], scope) == -1 and _endless(inputs[0], scope, functions, seen)
    elif node.op == "ZipDataset":
        answer = bool(inputs) and all(_endless(input_, scope, functions, seen) for input_ in inputs)
    elif node.op in _MAY_END:
        answer = False
    else:
        answer = any(_endless(input_, scope, functions, seen) for input_ in inputs)
        if not answer and node.op.startswith(_OPENS) and "f" in node.attr:
            answer = _function_endless(node.attr["f"].func.name, functions)
    seen[name] = answer
    return answer


def _function_endless(name, functions):
    function = functions.get(name)
    if function is None:
        return False
    scope = {node.name: node for node in function.node_def}
    seen = {}
    return any(_endless(output, scope, functions, seen) for output in function.ret.values())


def _constant(reference, scope):
    """The integer a ``Const`` op holds, or None for anything else (a count fed at run time)."""
    node = scope.get(reference.split(":")[0])
    if node is None or node.op != "Const":
        return None
    value = tf.make_ndarray(node.attr["value"].tensor)
    return int(value) if value.size == 1 else None


# --- the same rows on every pass ------------------------------------------------------------

# Irrational steps, so that no shift of rows between positions or columns keeps their weights.
_GOLDEN, _ROOT3 = 0.6180339887498949, 0.7320508075688772


def _fingerprint(batch, begin):
    """The rows of a batch whose first row is row ``begin`` of its pass (counting from 0), and
    an order-sensitive checksum of them: the sum of each row's weighted values, times a weight
    that depends only on the row's position in the pass (and the sum of the absolute terms, its
    scale). Added over a pass, it changes when rows change, move, are reshuffled, added or
    dropped, and not when the same rows in the same order come in other batches; in float64,
    it is the same for float32 values and the same values cast to float64."""
    values = tf.cast(batch, tf.float64)
    columns = 1.0 + tf.math.floormod(tf.range(1, batch.shape[1] + 1, dtype=tf.float64) * _ROOT3, 1.0)
    rows = tf.shape(values, out_type=tf.int64)[0]
    positions = tf.cast(begin + tf.range(rows, dtype=tf.int64), tf.float64)
    terms = tf.linalg.matvec(values, columns) * (1.0 + tf.math.floormod(positions * _GOLDEN, 1.0))
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


def _spec_key(dataset):
    spec = dataset.element_spec
    return spec.dtype, spec.shape[1]


def survey(dataset, sample_rows, seed, same_order=True, at_least=1, geometry=SQUARED_EUCLIDEAN):
    """Two passes: the number of samples, their mean and each feature's variance, with a check
    for NaN; then a uniform random sample of at most ``sample_rows`` of them, and at most
    ``SAMPLE_BYTES`` but never fewer than ``at_least`` rows (rows chosen in advance, gathered
    batch by batch, so that no pass holds more than a batch at a time).

    The second pass must give the same rows as the first, and, with ``same_order``, in the
    same order; the survey's ``consistency`` is what later passes are checked against.
    Raises ValueError if the data holds NaN or infinity (naming the first batch that does; or
    what else ``geometry`` cannot take), no rows at all, changed between the passes, or holds
    values too large for float64 distances.
    """
    n_features = element_features(dataset)
    dtype = dataset.element_spec.dtype
    moments = _dispatch.traced("moments", lambda: _dispatch.function(_moments_pass), *_spec_key(dataset))
    count, total, squares, low, high, first_bad, fingerprint = moments(dataset, n_features=n_features)
    _check_batches(first_bad, geometry, computed=False)
    count = int(count)
    if count == 0:
        raise ValueError("the dataset holds no samples")
    consistency = Consistency(count, {"plain": fingerprint.numpy()})
    row_bytes = n_features * dtype.size
    sample_rows = min(count, sample_rows, max(SAMPLE_BYTES // row_bytes, at_least))
    rows = np.sort(np.random.default_rng(seed).choice(count, size=sample_rows, replace=False))
    sample_pass = _dispatch.traced(
        "sample", lambda: _dispatch.function(_sample_pass, reduce_retracing=True), *_spec_key(dataset)
    )
    sample, sample_rows_seen, sample_fingerprint = sample_pass(dataset, tf.constant(rows, tf.int64))
    sample = sample.numpy()
    if not np.all(np.isfinite(sample)):  # the data changed since the first pass
        raise ValueError("the dataset changed between passes: the sample drawn from it holds NaN or infinite values")
    consistency.check(sample_rows_seen, sample_fingerprint, order=same_order)
    with np.errstate(over="ignore", invalid="ignore"):  # refused below if these overflow
        mean = total.numpy() / count
        variance = np.maximum(squares.numpy() / count - mean**2, 0.0)
    low, high = low.numpy(), high.numpy()
    largest = _precision.largest_from(low, high, mean)
    with np.errstate(over="ignore", invalid="ignore"):
        magnitude = float(np.max(np.abs(mean), initial=0.0))
    compute = _precision.compute_dtype(dtype.as_numpy_dtype, largest, n_features, magnitude=magnitude)
    return Survey(count, mean.astype(dtype.as_numpy_dtype), variance, sample, low, high, consistency, compute)


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
        rows, batch_fingerprint = _fingerprint(batch, count)
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
        count, batch_fingerprint = _fingerprint(batch, begin)
        end = begin + count
        bounds = tf.searchsorted(rows, tf.stack([begin, end]))
        parts = parts.write(tf.cast(index + 1, tf.int32), tf.gather(batch, rows[bounds[0] : bounds[1]] - begin))
        fingerprint += batch_fingerprint
        begin, index = end, index + 1
    return parts.concat(), begin, fingerprint


def _own(batch):
    """A replica's batch in memory of its own. A strategy hands a replica a slice of the
    dataset's batch, which may be the caller's own array (``from_generator`` yielding slices of
    it): a subtraction may then write its result into that slice, changing the caller's data
    (and the next pass's rows)."""
    return tf.raw_ops.DeepCopy(x=batch)


def _make_statistics(strategy, geometry):
    """The pass of Lloyd's algorithm over a (distributed) dataset, for ``strategy``."""
    block = tf.function(_dense.block_statistics, jit_compile=xla_available(), autograph=False)

    def replica_statistics(batch, begin, offset, centroids, with_inertia):
        """One batch on one replica, whose rows follow ``begin`` rows of the pass and those
        of the replicas before it in this step: no strategy code here but that count."""
        if strategy.num_replicas_in_sync > 1:
            context = tf.distribute.get_replica_context()
            rows = tf.cast(tf.shape(batch)[:1], tf.float64)  # (gathered as floats: every collective takes them)
            before = tf.range(strategy.num_replicas_in_sync) < context.replica_id_in_sync_group
            earlier = tf.reduce_sum(tf.where(before, context.all_gather(rows, axis=0), 0.0))
            begin += tf.cast(earlier, tf.int64)
        rows, fingerprint = _fingerprint(batch, begin)
        relative = _own(batch) - offset
        _, inertia, sums, counts = block(relative, None, centroids, with_inertia=with_inertia, geometry=geometry)
        return inertia, sums, counts, rows, fingerprint

    def statistics(distributed, offset, centroids, with_inertia):
        n_clusters, n_features = centroids.shape
        inertia = tf.constant(0.0, tf.float64)
        sums = tf.zeros([n_clusters, n_features], tf.float64)
        counts = tf.zeros([n_clusters], tf.float64)
        rows, fingerprint = tf.constant(0, tf.int64), tf.zeros([2], tf.float64)
        index, first_bad = tf.constant(0, tf.int64), tf.constant(-1, tf.int64)
        for batch in iter(distributed):
            per_replica = strategy.run(replica_statistics, args=(batch, rows, offset, centroids, with_inertia))
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
    """The pass that finds, for each cluster, the samples farthest from a reference point (by
    squared Euclidean distance: in every geometry, the same order)."""

    def replica_farthest(batch, offset, centroids, reference):
        """This batch's ``k`` samples farthest from the ``reference`` point (the new mean,
        or the old centroid) of the cluster they were in, with those clusters."""
        relative = _own(batch) - offset
        nearest, _ = _dense.nearest_centroids(relative, centroids)
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


def _without_options_warning(function):
    """``function``, called with tf.data's warning about reading a dataset's options in a graph
    hidden. TensorFlow's distributed iterator reads them while a loop over it is traced, and
    tf.data warns there, about its own internals, in the middle of a fit: a warning that tells
    the person fitting nothing they could act on."""

    def call(*arguments):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="To make it possible to preserve tf.data options")
            return function(*arguments)

    return call


class Passes:
    """The compiled passes over one dataset with one strategy (the default one if None), in one
    geometry (the dataset's rows as the geometry takes them: unit rows for cosine).

    Every pass counts the dataset's rows and fingerprints them (``Consistency``): one that
    gives other rows than the others, or the same in another order, is an error. Without a
    strategy the compiled functions are shared by every dataset of the same shapes.
    """

    def __init__(self, dataset, strategy=None, consistency=None, geometry=SQUARED_EUCLIDEAN):
        self.dataset = dataset
        self.geometry = geometry
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
            statistics, farthest = _make_statistics(self.strategy, geometry), _make_farthest(self.strategy)
            distributed = self.distributed
            self._statistics = tf.function(lambda *arguments: statistics(distributed, *arguments))
            self._farthest = tf.function(lambda *arguments: farthest(distributed, *arguments))

    def _pass(self, name, centroids):
        if name == "statistics" and self._statistics is not None:
            return _without_options_warning(self._statistics)
        if name == "farthest" and self._farthest is not None:
            return _without_options_warning(self._farthest)
        strategy, geometry = tf.distribute.get_strategy(), self.geometry
        if name == "statistics":
            make = lambda: _dispatch.function(_make_statistics(strategy, geometry))  # noqa: E731
        else:
            make = lambda: _dispatch.function(_make_farthest(strategy))  # noqa: E731
        function = _dispatch.traced(name, make, *_spec_key(self.dataset), tuple(centroids.shape), geometry)
        return _without_options_warning(lambda *arguments: function(self.dataset, *arguments))

    def statistics(self, offset, centroids, with_inertia=True):
        """(inertia, per-cluster sums relative to ``offset``, per-cluster counts), all float64.

        Raises ValueError naming the first batch that holds NaN or infinity, or saying how
        the dataset changed since the last pass.
        """
        inertia, sums, counts, first_bad, rows, fingerprint = self._pass("statistics", centroids)(
            offset, centroids, with_inertia
        )
        _check_batches(first_bad, self.geometry)
        self.consistency.check(rows, fingerprint, self._kind)
        return inertia, sums, counts

    def farthest(self, offset, centroids, reference):
        """For each cluster (of ``centroids``), the ``k`` samples farthest from the ``reference``
        point of the cluster they are in: (their squared distances, the rows relative to
        ``offset``, their clusters), farthest first."""
        return self._pass("farthest", centroids)(offset, centroids, reference)

    def labels(self, offset, centroids):
        """Each sample's nearest centroid, in the dataset's order (not distributed), and the
        exact inertia of that assignment. Raises ValueError for a dataset with no samples,
        naming the first batch that holds NaN or infinity, or saying how it changed."""
        (labels, inertia), rows, fingerprint = self._points_pass("labels", _labels_pass, offset, centroids)
        if labels.shape[0] == 0:
            raise ValueError("the dataset holds no samples")
        self.consistency.check(rows, fingerprint, "plain")
        return labels.numpy(), float(inertia)

    def distances(self, offset, centroids):
        """The distance from each sample to each centroid, as ``transform`` reports it, in the
        dataset's order."""
        (distances,), rows, fingerprint = self._points_pass("distances", _distances_pass, offset, centroids)
        self.consistency.check(rows, fingerprint, "plain")
        return distances.numpy()

    def nearest_distances(self, offset, points):
        """Each sample's distance to the nearest of ``points`` (relative to ``offset``), in the
        dataset's order (not distributed), as NumPy float64: what k-means|| draws by."""
        (distances,), rows, fingerprint = self._points_pass(
            "nearest distances", _nearest_distances_pass, offset, points
        )
        self.consistency.check(rows, fingerprint, "plain")
        return distances.numpy()

    def _points_pass(self, name, kernel, offset, points):
        """``kernel(dataset, offset, points, geometry)``, a pass in the dataset's order (one
        trace per batch spec, shape of ``points`` and geometry), its batches checked
        (``_check_batches``): its values, and the rows it saw and their fingerprint, for the
        caller to hold to the passes before."""
        key = (*_spec_key(self.dataset), tuple(points.shape), self.geometry)
        function = _dispatch.traced(name, lambda: _dispatch.function(kernel), *key)
        *values, first_bad, rows, fingerprint = function(self.dataset, offset, points, self.geometry)
        _check_batches(first_bad, self.geometry)
        return values, rows, fingerprint

    def rows_at(self, positions):
        """The rows at the sorted ``positions`` of a pass (in the data's coordinates), in that
        order, by one pass that holds no more than a batch at a time."""
        sample_pass = _dispatch.traced(
            "sample", lambda: _dispatch.function(_sample_pass, reduce_retracing=True), *_spec_key(self.dataset)
        )
        rows, seen, fingerprint = sample_pass(self.dataset, tf.constant(np.asarray(positions, np.int64)))
        self.consistency.check(seen, fingerprint, "plain")
        return rows.numpy()

    def label_batches(self, offset, centroids):
        """Each batch's labels (int32, NumPy), one batch at a time, in the dataset's order: for
        writing them out as they come. Raises ValueError naming a batch that holds NaN or
        infinity, or, after the last batch, saying how the dataset changed since the passes
        before."""
        key = (*_spec_key(self.dataset), tuple(centroids.shape))
        nearest = _dispatch.traced("nearest", lambda: _dispatch.function(_nearest_batch, reduce_retracing=True), *key)
        count, fingerprint = 0, np.zeros(2)
        for index, batch in enumerate(self.dataset):
            labels, finite, _, batch_fingerprint = nearest(batch, tf.constant(count, tf.int64), offset, centroids)
            if not bool(finite):
                _check_batches(index, self.geometry)
            labels = labels.numpy()
            count += len(labels)
            fingerprint += batch_fingerprint.numpy()
            yield labels
        self.consistency.check(count, fingerprint, "plain")

    def minibatch_epoch(self, offset, state, seed, tol, n_samples, max_no_improvement, reassignment_ratio):
        """One pass of mini-batch steps, each batch a step (``_minibatch.step``), until the
        stopping rule says stop: the new state and the rows stepped on."""
        function = _dispatch.traced(
            "epoch",
            lambda: _dispatch.function(_minibatch_epoch),
            *_spec_key(self.dataset),
            tuple(state.centres.shape),
            max_no_improvement,
            reassignment_ratio,
            self.geometry,
        )
        return function(
            self.dataset, offset, state, seed, tol, n_samples, max_no_improvement, reassignment_ratio, self.geometry
        )


def _check_batches(first_bad, geometry, computed=True):
    """A ValueError naming the first bad batch, if any: NaN or infinity, or what else
    ``geometry`` cannot take. ``computed``: the check was on what a batch gave (sums,
    distances), which values too large for their squares also make infinite."""
    first_bad = int(first_bad)
    if first_bad >= 0:
        overflow = computed and geometry.overflows
        also = ", or values too large for k-means (their squared distances overflow)" if overflow else ""
        raise ValueError(
            f"batch {first_bad} of the dataset (counting from 0) holds NaN or infinite values{geometry.unusable}{also}"
        )


def _nearest_batch(batch, begin, offset, centroids):
    relative = batch - offset
    labels, partial = _dense.nearest_centroids(relative, centroids)
    rows, fingerprint = _fingerprint(batch, begin)
    return labels, tf.reduce_all(tf.math.is_finite(partial)), rows, fingerprint


def _labels_pass(dataset, offset, centroids, geometry):
    labels = tf.TensorArray(tf.int32, size=0, dynamic_size=True, infer_shape=False, element_shape=(None,))
    labels = labels.write(0, tf.zeros((0,), tf.int32))
    inertia = tf.constant(0.0, tf.float64)
    rows, fingerprint = tf.constant(0, tf.int64), tf.zeros([2], tf.float64)
    index, first_bad = tf.constant(0, tf.int64), tf.constant(-1, tf.int64)
    for batch in iter(dataset):
        relative = batch - offset
        nearest, _ = _dense.nearest_centroids(relative, centroids)
        labels = labels.write(tf.cast(index + 1, tf.int32), nearest)
        batch_inertia = _dense.exact_inertia(relative, None, centroids, nearest, geometry=geometry)
        first_bad = tf.where(
            tf.logical_and(first_bad < 0, tf.logical_not(tf.math.is_finite(batch_inertia))), index, first_bad
        )
        batch_rows, batch_fingerprint = _fingerprint(batch, rows)
        rows, fingerprint = rows + batch_rows, fingerprint + batch_fingerprint
        inertia += batch_inertia
        index += 1
    return labels.concat(), inertia, first_bad, rows, fingerprint


def _nearest_distances_pass(dataset, offset, points, geometry):
    parts = tf.TensorArray(tf.float64, size=0, dynamic_size=True, infer_shape=False, element_shape=(None,))
    parts = parts.write(0, tf.zeros((0,), tf.float64))
    rows, fingerprint = tf.constant(0, tf.int64), tf.zeros([2], tf.float64)
    index, first_bad = tf.constant(0, tf.int64), tf.constant(-1, tf.int64)
    n_points, n_features = points.shape
    for batch in iter(dataset):
        relative = batch - offset
        _, partial = _dense.nearest_centroids(relative, points)
        distances = tf.cast(
            geometry.distance(_dense.squared_distances(relative, partial, n_points, n_features)), tf.float64
        )
        finite = tf.reduce_all(tf.math.is_finite(distances))
        first_bad = tf.where(tf.logical_and(first_bad < 0, tf.logical_not(finite)), index, first_bad)
        parts = parts.write(tf.cast(index + 1, tf.int32), distances)
        batch_rows, batch_fingerprint = _fingerprint(batch, rows)
        rows, fingerprint = rows + batch_rows, fingerprint + batch_fingerprint
        index += 1
    return parts.concat(), first_bad, rows, fingerprint


def _distances_pass(dataset, offset, centroids, geometry):
    parts = tf.TensorArray(
        centroids.dtype, size=0, dynamic_size=True, infer_shape=False, element_shape=(None, centroids.shape[0])
    )
    parts = parts.write(0, tf.zeros((0, centroids.shape[0]), centroids.dtype))
    rows, fingerprint = tf.constant(0, tf.int64), tf.zeros([2], tf.float64)
    index, first_bad = tf.constant(0, tf.int64), tf.constant(-1, tf.int64)
    for batch in iter(dataset):
        distances = geometry.reported(_dense.pairwise_squared(batch - offset, centroids))
        finite = tf.reduce_all(tf.math.is_finite(distances))
        first_bad = tf.where(tf.logical_and(first_bad < 0, tf.logical_not(finite)), index, first_bad)
        parts = parts.write(tf.cast(index + 1, tf.int32), distances)
        batch_rows, batch_fingerprint = _fingerprint(batch, rows)
        rows, fingerprint = rows + batch_rows, fingerprint + batch_fingerprint
        index += 1
    return parts.concat(), first_bad, rows, fingerprint


def _minibatch_epoch(dataset, offset, state, seed, tol, n_samples, max_no_improvement, reassignment_ratio, geometry):
    """One pass over a dataset, each batch a step, until the stopping rule says stop. Returns
    the new state and the rows of the batches stepped on (all of the pass's, unless it stopped)."""
    rows = tf.constant(0, tf.int64)
    for batch in iter(dataset):
        if state.stop:
            break
        data = _dense.DenseSamples(batch - offset, geometry=geometry, xla=False)
        state, _, _ = _minibatch.step(state, data, None, seed, tol, n_samples, max_no_improvement, reassignment_ratio)
        rows += tf.shape(batch, out_type=tf.int64)[0]
    return state, rows


def array_dataset(X, batch_rows=ARRAY_BATCH_ROWS):
    """An in-memory array as a dataset of batches (for a strategy to share out). Each batch is a
    slice of one tensor: much faster than ``from_tensor_slices(X).batch()``, which handles the
    rows one by one."""
    samples = tf.constant(X)
    return tf.data.Dataset.range(0, X.shape[0], batch_rows).map(lambda begin: samples[begin : begin + batch_rows])
