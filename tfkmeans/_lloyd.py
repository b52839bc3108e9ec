"""Lloyd's algorithm, compiled: the per-block kernel and the in-memory loop.

Extends the lesson's exercise 2 (alternate ``assign_to_nearest`` and ``update_centroids``) to
data the lesson's functions are too slow or too large for. Nothing here validates its input:
callers (``KMeans``, ``kmeans``) pass checked tensors of one float dtype, shifted by the data's
mean (``centred``) so that data far from the origin keeps its precision in the distances.

How one pass over the data works (``block_statistics``): distances from
``|x - c|^2 = |x|^2 - 2 x.c + |c|^2`` (one matrix product; for few centroids and features, one
feature at a time, which XLA fuses into a single pass), each sample's nearest centroid, and in
the same pass the per-cluster sums and weights that the next update needs, so the data is read
once per iteration. float32 sums are taken over runs of ``SUM_ROWS`` rows
and the runs added in float64: a float32 running sum over a million samples drifts enough to
move the centroids.
"""

import collections
import types

import numpy as np

from ._tensorflow import tf, xla_start_up_silenced

# Up to this many centroids x features, distances are summed feature by feature rather than
# through a matrix product (measured: benchmarks/README.md).
SMALL_PROBLEM = 32
# From this many centroids to this many, a pass over data held in one block finds the nearest by a
# chain of comparisons in the (clusters, samples) layout rather than by tf.argmin over rows
# (measured: benchmarks/README.md).
CHAIN_CLUSTERS = (8, 128)
# The largest block of distances (rows x clusters) held at once under XLA, in bytes: a pass in
# one block fuses into far fewer loops than one in several (2M x 64 samples, 64 clusters: 206 ms
# a pass in one block of 520 MB against 393 ms in blocks of 128 MiB; benchmarks/README.md).
DISTANCE_BLOCK_BYTES = 512 * 2**20
# Rows summed in float32 before the partial sums are added up in float64.
SUM_ROWS = 4096
# The largest chunk of distances (rows x clusters) of ``chunked_pass``, in bytes: small enough to
# stay in the cache between the matrix product that writes it and the search that reads it.
CHUNK_BYTES = 16 * 2**20
# Below this many samples x clusters x features, the loop runs as a plain tf.function that
# accepts any number of samples (no XLA compilation for each new shape); above it, under XLA.
XLA_MIN_WORK = 2**16
# Beyond CHAIN_CLUSTERS[1] centroids and from this many centroids x features, the matrix product
# dominates a pass, and a plain tf.function (``chunked_pass``, oneDNN's product on cache-sized
# chunks) runs it faster than XLA (benchmarks/README.md).
CHUNKED_MIN_PRODUCT = 2048
# The smallest step between buckets of padded row counts (``padded_rows``), and the padding
# that is always allowed, in bytes (beyond it, at most 1/16 of the data).
MIN_BUCKET_STEP = 1024
PAD_FREE_BYTES = 2**20
# The offset that ``centred`` subtracts is the mean of every (n // OFFSET_SAMPLE)-th row: from this
# many rows to twice as many, or all of them when there are fewer than twice as many.
OFFSET_SAMPLE = 4096


def centred(X, offset=None, in_place=False, rows=None):
    """``X`` (a NumPy array) minus ``offset``, as a tensor, and the offset (NumPy, ``X``'s dtype).

    Without ``offset``, the mean of evenly spaced rows (``OFFSET_SAMPLE`` to twice as many): a
    point within the data's range, which is what keeps the distances' precision; the results
    are the same up to rounding whichever such point it is. NumPy subtracts into a 64-byte
    aligned buffer that TensorFlow takes over through DLPack without copying it: converting the
    array and then subtracting in TensorFlow made two full copies and took about 1.5 times as
    long (benchmarks/README.md). With ``in_place`` (scikit-learn's ``copy_x=False``), an
    aligned, writeable, C-ordered ``X`` is itself shifted and shared with the tensor, saving
    the copy; the caller adds the offset back.

    With ``rows`` (more than ``X`` has), the tensor has that many rows, the last ones zero:
    a bucketed shape (``padded_rows``) that the kernels compile once for many sample counts.

    float32 data so far from the offset that squared distances could overflow float32 (values
    beyond about 1e18) comes back as a float64 tensor and offset, ``X`` untouched: the
    distances are then computed in float64 rather than silently becoming infinite. float64
    data that far in float64's terms (about 1e153) is refused with a ValueError.
    """
    if offset is None:
        step = max(1, X.shape[0] // OFFSET_SAMPLE)
        offset = X[::step].mean(axis=0, dtype=np.float64)
    offset = np.asarray(offset, dtype=X.dtype)
    rows = X.shape[0] if rows is None else rows
    if in_place and can_centre_in_place(X) and rows == X.shape[0]:
        out = X
    else:
        out = _aligned_empty((rows, X.shape[1]), X.dtype)
        out[X.shape[0] :] = 0
    largest = _subtract(X, offset, out)
    try:
        tensor = tf.experimental.dlpack.from_dlpack(out.__dlpack__())
    except (AttributeError, TypeError, ValueError, tf.errors.OpError):  # a build without DLPack: copy
        tensor = tf.constant(out)
    if X.dtype == np.float32 and squares_could_overflow(largest, X.shape[1]):
        if out is X:
            X += offset
        return centred(X.astype(np.float64), offset, rows=rows)
    if X.dtype == np.float64 and squares_could_overflow(largest, X.shape[1], np.float64):
        if out is X:
            X += offset
        refuse_float64_overflow(largest, X.shape[1])
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:  # where tf.constant would have put it: on the first GPU, copied there once
        with tf.device(gpus[0].name):
            tensor = tf.identity(tensor)
    return tensor, offset


# Rows subtracted at a time by ``_subtract``: a block stays in the cache while its largest value
# is found.
SUBTRACT_ROWS_BYTES = 2**20


def _subtract(X, offset, out):
    """``out[:n] = X - offset``, and the largest absolute value of the result.

    In blocks that stay in the cache (the largest value is found while a block is there), on two
    threads for large arrays (NumPy releases the GIL): 1M x 64 float32 in 40 ms, where one
    thread took 62 ms and a separate pass for the largest value 40 ms more. NumPy's inner loop
    runs along a row, so narrow rows are subtracted several to a line (1M x 2 samples: 0.7 ms
    instead of 4.7).
    """
    n_samples, n_features = X.shape
    if n_samples == 0:
        return 0.0
    width = max(1, 64 // n_features)
    whole = n_samples - n_samples % width
    lines = (whole // width, width * n_features)
    tiled = np.tile(offset, width)
    source, target = X[:whole].reshape(lines), out[:whole].reshape(lines)
    step = max(1, SUBTRACT_ROWS_BYTES // (lines[1] * X.itemsize))

    def block(begin):
        part = target[begin : begin + step]
        np.subtract(source[begin : begin + step], tiled, out=part)
        return max(float(part.max()), -float(part.min())) if part.size else 0.0

    starts = range(0, lines[0], step)
    if X.nbytes >= 2**24:
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            largest = max(pool.map(block, starts), default=0.0)
    else:
        largest = max(map(block, starts), default=0.0)
    rest = out[whole:n_samples]
    np.subtract(X[whole:], offset, out=rest)
    if rest.size:
        largest = max(largest, float(np.abs(rest).max()))
    return largest


def squares_could_overflow(largest, n_features, dtype=np.float32):
    """Whether a squared distance between two rows whose values are at most ``largest`` in size
    (or to a mean of such rows) could overflow ``dtype``: it is at most 4 x features x
    ``largest`` squared, and it must stay 16 times below the dtype's largest number."""
    return 64.0 * n_features * largest * largest >= float(np.finfo(dtype).max)


def refuse_float64_overflow(largest, n_features, origin="the centre they are measured from"):
    """A ValueError when squared distances between float64 samples that lie up to ``largest``
    from ``origin`` could overflow float64 (values beyond about 1e153): nothing wider is left
    to compute them in, and they would come out infinite."""
    if squares_could_overflow(largest, n_features, np.float64):
        raise ValueError(
            f"X holds values too large for k-means: they lie up to {largest:.3g} from {origin}, "
            "and squared distances between them would overflow float64; rescale the data"
        )


def padded_rows(n_samples, row_bytes=0):
    """The bucket of ``n_samples`` rows of ``row_bytes`` each: rounded up to a multiple of 2**e
    with 16 to 32 multiples (at most 1/16 more rows), and of 1,024 at least. Every sample count
    in a bucket shares one XLA compilation: a few buckets an octave, and at most four below
    4,096 samples.

    The padding costs at most ``PAD_FREE_BYTES`` or 1/16 of the data, whichever is more: for
    wide rows the step shrinks (to a power of two) until it does, down to no padding at all
    (10 rows of a million float32 features were once padded to 1,024 rows, 4 GB for 40 MB)."""
    step = max(MIN_BUCKET_STEP, 1 << max(0, (n_samples - 1).bit_length() - 5))
    if row_bytes:
        allowed = max(PAD_FREE_BYTES, n_samples * row_bytes // 16) // row_bytes
        while step > 1 and step - 1 > allowed:
            step //= 2
    return -(-n_samples // step) * step


def pads(n_samples, n_features, n_clusters):
    """Whether samples for a problem of this size are padded to a bucketed count: under XLA, and
    in ``chunked_pass``, whose per-cluster sums XLA compiles."""
    big = n_samples * n_features * n_clusters >= XLA_MIN_WORK
    return big and _xla_available()


def uses_xla(n_samples, n_features, n_clusters, allow_xla=True):
    """Whether ``run_compiled`` runs a problem of this size under XLA: enough work to pay for a
    compilation, and not so many centroids x features that the matrix product dominates (there
    ``chunked_pass`` outside XLA is faster)."""
    product_bound = n_clusters > CHAIN_CLUSTERS[1] and n_clusters * n_features >= CHUNKED_MIN_PRODUCT
    return allow_xla and n_samples * n_features * n_clusters >= XLA_MIN_WORK and not product_bound and _xla_available()


def can_centre_in_place(X):
    """Whether ``centred(X, in_place=True)`` shifts ``X`` itself (rather than a copy)."""
    return X.flags.c_contiguous and X.flags.writeable and X.ctypes.data % 64 == 0


def _aligned_empty(shape, dtype, alignment=64):
    """An empty C-ordered array whose data starts on an ``alignment``-byte boundary, as
    TensorFlow's kernels and XLA expect of memory they did not allocate."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.empty(nbytes + alignment, np.uint8)
    start = -raw.ctypes.data % alignment
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def nearest_centroids(block, centroids, chain=False):
    """Each row's nearest centroid and a partial squared distance to it.

    ``block`` (b, d) and ``centroids`` (k, d) are relative to the same offset. Returns
    ``nearest`` (b,) int32 and ``partial`` (b,), the squared distance minus ``|x|^2`` (matrix
    product) or the squared distance itself (feature by feature): see ``squared_distances``.
    ``chain`` allows the chain of comparisons for ``CHAIN_CLUSTERS`` centroids: for a whole
    pass compiled by XLA in one block only (across blocks, and without XLA, it is slower).
    """
    n_clusters, n_features = centroids.shape
    if n_clusters * n_features <= SMALL_PROBLEM:
        # Few centroids and features: sum (x_j - c_j)^2 one feature at a time, which XLA
        # fuses into one pass (much faster here than a tiny matrix product).
        distances = tf.square(block[:, 0:1] - centroids[:, 0])
        for j in range(1, n_features):
            distances += tf.square(block[:, j : j + 1] - centroids[:, j])
    elif chain and CHAIN_CLUSTERS[0] <= n_clusters <= CHAIN_CLUSTERS[1]:
        # The products transposed, (k, b), and the nearest found by comparing one row of b
        # distances after another, which XLA fuses into one pass along the samples; strict "<"
        # keeps the lowest index on a tie, as tf.argmin does. (-2 c).x is exactly -2 (c.x), and
        # scaling the centroids saves scaling the products.
        products = tf.matmul(-2.0 * centroids, block, transpose_b=True)
        norms = tf.reduce_sum(tf.square(centroids), axis=1)
        partial, nearest = products[0] + norms[0], tf.zeros(tf.shape(products)[1:], tf.int32)
        for j in range(1, n_clusters):
            distances = products[j] + norms[j]
            closer = distances < partial
            partial = tf.where(closer, distances, partial)
            nearest = tf.where(closer, j, nearest)
        return nearest, partial
    else:
        # |x - c|^2 = |x|^2 - 2 x.c + |c|^2; |x|^2 does not change which c is nearest.
        distances = tf.reduce_sum(tf.square(centroids), axis=1) + tf.matmul(block, -2.0 * centroids, transpose_b=True)
    nearest = tf.argmin(distances, axis=1, output_type=tf.int32)
    return nearest, tf.gather(distances, nearest, batch_dims=1)


def squared_distances(block, partial, n_clusters, n_features):
    """Complete ``nearest_centroids``' partial distances into squared distances (>= 0)."""
    if n_clusters * n_features <= SMALL_PROBLEM:
        return partial
    return tf.maximum(partial + tf.reduce_sum(tf.square(block), axis=1), 0.0)


def cluster_sums(block, weights, nearest, n_clusters):
    """Per-cluster sums of ``block``'s rows (weighted) and of their weights, in float64.

    float32 rows are summed in runs of ``SUM_ROWS`` rows, and the runs added in float64.
    """
    rows = tf.shape(block)[0]
    weighted = block if weights is None else block * weights[:, tf.newaxis]
    if block.dtype == tf.float64:
        sums = tf.math.unsorted_segment_sum(weighted, nearest, n_clusters)
    else:
        n_runs = (rows + SUM_ROWS - 1) // SUM_ROWS
        run_of_row = tf.range(rows) // SUM_ROWS
        partial_sums = tf.math.unsorted_segment_sum(weighted, nearest + n_clusters * run_of_row, n_clusters * n_runs)
        partial_sums = tf.reshape(partial_sums, (n_runs, n_clusters, block.shape[1]))
        sums = tf.reduce_sum(tf.cast(partial_sums, tf.float64), axis=0)
    if weights is None:
        counts = tf.cast(tf.math.unsorted_segment_sum(tf.ones_like(nearest), nearest, n_clusters), tf.float64)
    else:
        counts = tf.math.unsorted_segment_sum(tf.cast(weights, tf.float64), nearest, n_clusters)
    return sums, counts


_sums_functions = {}


def compiled_cluster_sums(samples, weights, labels, n_clusters):
    """``cluster_sums`` compiled by XLA (in a function that is not), where XLA is available: its
    scatter adds up in a third of the time of TensorFlow's own kernel. Compiled once per shape:
    the samples' row counts are bucketed (``padded_rows``)."""
    if not _xla_available():
        return cluster_sums(samples, weights, labels, n_clusters)
    weighted = weights is not None
    key = (n_clusters, weighted)
    if key not in _sums_functions:
        _sums_functions[key] = tf.function(
            lambda samples, weights, labels: cluster_sums(samples, weights if weighted else None, labels, n_clusters),
            jit_compile=True,
            autograph=False,
        )
    return _sums_functions[key](samples, tf.zeros((), samples.dtype) if weights is None else weights, labels)


def block_statistics(block, weights, centroids, with_inertia=True, with_sums=True, chain=False):
    """One block's share of a pass: nearest centroids, inertia, per-cluster sums and weights.

    ``weights`` may be None; ``chain``: see ``nearest_centroids``.
    Returns ``(nearest, inertia, sums, counts)``, the last three in float64 (``inertia`` is
    0 when ``with_inertia`` is False, ``sums`` and ``counts`` 0 when ``with_sums`` is False).
    """
    n_clusters, n_features = centroids.shape
    nearest, partial = nearest_centroids(block, centroids, chain)
    inertia = tf.constant(0.0, tf.float64)
    if with_inertia:
        distances = squared_distances(block, partial, n_clusters, n_features)
        if weights is not None:
            distances *= weights
        inertia = tf.reduce_sum(tf.cast(distances, tf.float64))
    if with_sums:
        sums, counts = cluster_sums(block, weights, nearest, n_clusters)
    else:
        sums, counts = tf.zeros((n_clusters, n_features), tf.float64), tf.zeros((n_clusters,), tf.float64)
    return nearest, inertia, sums, counts


def block_rows(n_samples, n_clusters, n_features, itemsize):
    """Rows per block, so that a block's distance matrix stays within DISTANCE_BLOCK_BYTES."""
    if n_clusters * n_features <= SMALL_PROBLEM:
        return n_samples  # no distance matrix is ever held: one block
    return max(1, min(n_samples, DISTANCE_BLOCK_BYTES // (itemsize * n_clusters)))


def chunked_pass(samples, weights, centroids, with_inertia=True, with_sums=True):
    """``block_statistics`` over ``samples`` (any number of rows) in chunks of ``CHUNK_BYTES``
    of distances, for a plain ``tf.function`` (not XLA): each chunk's matrix product is
    oneDNN's, whose output stays in the cache, then the nearest centroids; the per-cluster sums
    are taken once, after, from all the labels (``cluster_sums``). On this CPU that ran the
    products near the best matrix-product rate where XLA's dot reached half of it
    (benchmarks/README.md)."""
    n_clusters, n_features = centroids.shape
    n_samples = tf.shape(samples)[0]
    rows = max(256, CHUNK_BYTES // (samples.dtype.size * n_clusters))
    n_chunks = (n_samples + rows - 1) // rows

    def step(i, labels, inertia):
        begin = i * rows
        size = tf.minimum(rows, n_samples - begin)
        block = tf.slice(samples, [begin, 0], [size, n_features])
        rows_weights = None if weights is None else tf.slice(weights, [begin], [size])
        nearest, block_inertia, _, _ = block_statistics(block, rows_weights, centroids, with_inertia, with_sums=False)
        return i + 1, labels.write(i, nearest), inertia + block_inertia

    start = (
        tf.constant(0),
        tf.TensorArray(tf.int32, size=n_chunks, element_shape=(None,), infer_shape=False),
        tf.constant(0.0, tf.float64),
    )
    _, labels, inertia = tf.while_loop(lambda i, *_: i < n_chunks, step, start)
    labels = labels.concat()
    if with_sums:
        sums, counts = compiled_cluster_sums(samples, weights, labels, n_clusters)
    else:
        sums, counts = tf.zeros((n_clusters, n_features), tf.float64), tf.zeros((n_clusters,), tf.float64)
    return labels, inertia, sums, counts


def full_pass(samples, weights, centroids, with_inertia=True, with_sums=True):
    """``block_statistics`` over all of ``samples``, block by block (a ``tf.while_loop``):
    under XLA, in blocks of a size fixed at compile time; in a plain ``tf.function`` (any number
    of samples), in ``chunked_pass``'s chunks."""
    n_clusters, n_features = centroids.shape
    n_samples = samples.shape[0]
    if n_samples is None:
        return chunked_pass(samples, weights, centroids, with_inertia, with_sums)
    rows = block_rows(n_samples, n_clusters, n_features, samples.dtype.size)
    n_blocks, remainder = divmod(n_samples, rows)

    def block(begin, size):
        # tf.slice with a fixed size: XLA needs each block's shape to be known.
        rows_weights = None if weights is None else tf.slice(weights, [begin], [size])
        block_samples = tf.slice(samples, [begin, 0], [size, n_features])
        return block_statistics(block_samples, rows_weights, centroids, with_inertia, with_sums)

    if n_blocks == 1 and remainder == 0:
        return block_statistics(samples, weights, centroids, with_inertia, with_sums, chain=True)

    def step(b, labels, inertia, sums, counts):
        nearest, block_inertia, block_sums, block_counts = block(b * rows, rows)
        return b + 1, labels.write(b, nearest), inertia + block_inertia, sums + block_sums, counts + block_counts

    start = (
        tf.constant(0),
        tf.TensorArray(tf.int32, size=n_blocks, element_shape=(rows,)),
        tf.constant(0.0, tf.float64),
        tf.zeros((n_clusters, n_features), tf.float64),
        tf.zeros((n_clusters,), tf.float64),
    )
    _, labels, inertia, sums, counts = tf.while_loop(lambda b, *_: b < n_blocks, step, start)
    labels = labels.concat()
    if remainder:
        last = block(n_blocks * rows, remainder)
        labels = tf.concat([labels, last[0]], axis=0)
        inertia, sums, counts = inertia + last[1], sums + last[2], counts + last[3]
    return labels, inertia, sums, counts


class DenseSamples:
    """Dense samples (a tensor, centred) as ``lloyd_loop`` uses them; ``_sparse.SparseSamples``
    is the same for sparse ones."""

    def __init__(self, samples, valid=None):
        self.samples = samples
        self.dtype = samples.dtype
        # With padded rows (zeros, after the samples), ``valid`` is how many rows are samples.
        # Unweighted, they are left in the sums (they add zero) and taken out of the counts and
        # the inertia; weighted, they weigh 0.
        self.valid = valid
        self.n_rows = tf.shape(samples)[0]
        self.n_samples = self.n_rows if valid is None else valid

    def real(self, values, filler):
        """``values`` (one per row) with ``filler`` on padded rows."""
        if self.valid is None:
            return values
        return tf.where(tf.range(tf.shape(values)[0]) < self.valid, values, filler)

    def count_changed(self, labels, old_labels):
        return tf.reduce_sum(tf.cast(self.real(labels != old_labels, False), tf.int32))

    def full_pass(self, weights, centroids):
        """Each sample's nearest centroid, and per-cluster sums and weights (float64)."""
        nearest, _, sums, counts = full_pass(self.samples, weights, centroids, with_inertia=False)
        if self.valid is not None and weights is None:
            # The padded rows are all the same zero row, so all have one label: the first one's.
            padded = tf.cast(tf.shape(self.samples)[0] - self.valid, tf.float64)
            # (tf.gather, not nearest[valid]: XLA would take a slice's bounds for compile-time
            # constants, and compile again for every sample count.)
            counts = tf.tensor_scatter_nd_sub(counts, tf.reshape(tf.gather(nearest, self.valid), (1, 1)), [padded])
        return nearest, sums, counts

    def nearest(self, centroids):
        """Each sample's nearest centroid (int32) and its squared distance to it (one block)."""
        nearest, partial = nearest_centroids(self.samples, centroids)
        return nearest, squared_distances(self.samples, partial, *centroids.shape)

    def cluster_sums(self, weights, nearest, n_clusters):
        return cluster_sums(self.samples, weights, nearest, n_clusters)

    def distances_to(self, centroids, labels):
        """Each sample's squared distance to the centroid it is labelled with (-1 for padding)."""
        distances = tf.reduce_sum(tf.square(self.samples - tf.gather(centroids, labels)), axis=1)
        return self.real(distances, tf.constant(-1, distances.dtype))

    def rows_at(self, indices):
        return tf.gather(self.samples, indices)

    def squared_distances(self, points):
        """(n_samples, n_points) squared distances to ``points``, never below 0."""
        if not hasattr(self, "_squared_norms"):
            self._squared_norms = tf.reduce_sum(tf.square(self.samples), axis=1)
        products = tf.matmul(self.samples, points, transpose_b=True)
        squared = self._squared_norms[:, None] - 2.0 * products + tf.reduce_sum(tf.square(points), axis=1)
        return tf.maximum(squared, 0.0)

    def inertia(self, weights, centroids, labels, float64=False):
        return exact_inertia(self.samples, weights, centroids, labels, float64, mask=self.real)


def assign(data, weights, centroids, valid=None):
    """Each sample's nearest centroid (int32) and the inertia of that assignment. ``data``: a
    dense tensor (``valid``: see ``DenseSamples``), or a ``_sparse.SparseSamples``."""
    if isinstance(data, tf.Tensor):
        labels, _, _, _ = full_pass(data, weights, centroids, with_inertia=False, with_sums=False)
        return labels, DenseSamples(data, valid).inertia(weights, centroids, labels)
    labels, _ = data.nearest(centroids)
    return labels, data.inertia(weights, centroids, labels)


def exact_inertia(samples, weights, centroids, labels, float64=False, mask=None):
    """Each sample's squared distance to its centroid, from the differences themselves (not the
    expansion, whose float32 cancellation could make Lloyd's inertia seem to rise), summed in
    float64. With ``float64`` the differences are taken in float64 too (``inertia()``), at
    nearly twice the cost. ``mask(values, filler)``: leaves padded rows out."""
    if float64:
        samples, centroids = tf.cast(samples, tf.float64), tf.cast(centroids, tf.float64)
    squared = tf.reduce_sum(tf.square(samples - tf.gather(centroids, labels)), axis=1)
    if weights is not None:
        squared *= tf.cast(weights, squared.dtype)
    elif mask is not None:
        squared = mask(squared, tf.zeros((), squared.dtype))
    return tf.reduce_sum(tf.cast(squared, tf.float64))


def relocate_empty_clusters(data, labels, centroids, counts):
    """Give each empty cluster (``counts == 0``) the next-farthest sample as its centroid.

    The farthest sample from the centroid of the cluster it is assigned to goes to the first
    empty cluster, the next farthest to the second, and so on (on a tie, the lower index
    first): the lesson's ``update_centroids`` rule.
    """
    n_clusters = centroids.shape[0]
    _, farthest = tf.math.top_k(data.distances_to(centroids, labels), k=n_clusters)
    empty = tf.equal(counts, 0)
    rank_among_empty = tf.cumsum(tf.cast(empty, tf.int32), exclusive=True)
    replacements = tf.cast(data.rows_at(tf.gather(farthest, rank_among_empty)), centroids.dtype)
    return tf.where(empty[:, tf.newaxis], replacements, centroids)


def relocate_empty_sums(data, weights, labels, old_centroids, sums, counts):
    """scikit-learn's rule for empty clusters, on per-cluster sums and weights (float64).

    The samples farthest from the centroid they were assigned to (the previous centroids) become
    the empty clusters' centroids, the farthest to the first empty cluster, and each is taken
    out of the cluster it was in. On a tie the higher index goes first (scikit-learn takes them
    from NumPy's ``argpartition``, whose order among ties is unspecified). When every sample sits
    on its centroid (more clusters than distinct samples) nothing moves. Returns the new
    ``(sums, counts)``; ``sklearn_means`` turns them into centroids.
    """
    n_clusters = old_centroids.shape[0]
    distances = data.distances_to(old_centroids, labels)
    _, farthest_reversed = tf.math.top_k(tf.reverse(distances, [0]), k=n_clusters)
    farthest = tf.shape(distances)[0] - 1 - farthest_reversed
    empty = tf.equal(counts, 0)
    moved = tf.gather(farthest, tf.cumsum(tf.cast(empty, tf.int32), exclusive=True))
    moved_weights = (
        tf.ones([n_clusters], tf.float64) if weights is None else tf.cast(tf.gather(weights, moved), tf.float64)
    )
    return move_to_empty(
        sums, counts, data.rows_at(moved), tf.gather(labels, moved), moved_weights, tf.reduce_max(distances) > 0
    )


def move_to_empty(sums, counts, rows, sources, weights, any_apart):
    """Each empty cluster's sum and weight become those of one row (``rows``, ``weights``, one
    per cluster, used where the cluster is empty), taken out of the cluster it came from
    (``sources``); nothing moves unless ``any_apart`` (some sample lies off its centroid)."""
    n_clusters = counts.shape[0]
    empty = tf.equal(counts, 0)
    weights = tf.where(tf.logical_and(empty, any_apart), weights, 0.0)
    moved_sums = tf.cast(rows, tf.float64) * weights[:, tf.newaxis]
    sums = sums - tf.math.unsorted_segment_sum(moved_sums, sources, n_clusters)
    counts = counts - tf.math.unsorted_segment_sum(weights, sources, n_clusters)
    return tf.where(empty[:, tf.newaxis], moved_sums, sums), tf.where(empty, weights, counts)


def means(sums, counts, dtype):
    """The new centroids from per-cluster sums and weights (an empty cluster's sum stays 0)."""
    return tf.cast(sums / tf.maximum(counts, 1e-300)[:, tf.newaxis], dtype)


def sklearn_means(sums, counts, dtype):
    """``means``, but a cluster left empty sits on the heaviest cluster's centroid, as in
    scikit-learn."""
    new = means(sums, counts, dtype)
    heaviest = tf.gather(new, tf.argmax(counts, output_type=tf.int32))
    return tf.where((counts > 0)[:, tf.newaxis], new, heaviest)


LoopResult = collections.namedtuple(
    "LoopResult",
    "centroids labels inertia n_updates counts unchanged tol_reached start_inertia inertias shifts shift_totals changes "
    "history sums",
)
LoopResult.__doc__ = """What ``lloyd_loop`` returns (tensors) for one chunk of iterations, and ``lloyd``
for a whole run (the counts as Python values, the histories as NumPy arrays).

centroids, labels, inertia : the final centroids, each sample's nearest of them, and the exact
    inertia of that assignment (float64)
n_updates : the iterations run (centroid updates)
counts, sums : the final clusters' sizes (or weights) and sums (float64), which a next chunk
    resumes from
unchanged, tol_reached : why the last iteration stopped the loop (neither: it ran out)
start_inertia, inertias, shifts, shift_totals, changes : with ``history``: the inertia of the
    start's assignment, then per iteration the inertia after it, the largest distance a centroid
    moved, the squared distances the centroids moved summed, and the samples that changed
    cluster (empty without ``history``)
history : with ``history=2``, the centroids after each iteration, (n_updates, k, d)
"""

HISTORY_NONE, HISTORY_SCALARS, HISTORY_CENTROIDS = 0, 1, 2
RELOCATIONS = ("lesson", "sklearn")
# The most iterations one compiled call runs: its counter is an int32. A run allowed more goes on
# in further calls, so any Python int is a valid cap.
CHUNK_LIMIT = 2**31 - 1
# With a history, the most iterations one call keeps (its buffers are this long, never as long
# as the cap), and the most bytes of centroids it keeps (``HISTORY_CENTROIDS``).
HISTORY_CHUNK = 1024
HISTORY_BYTES = 64 * 2**20
# With ``report``, a call's iterations double from 1 while a call takes less than this many
# seconds: a long fit reports soon after it starts, a fast one in few calls.
REPORT_SECONDS = 0.5


def lloyd_loop(
    data,
    weights,
    centroids,
    tol_total,
    tol_max_shift,
    stop_unchanged,
    limit,
    *resume,
    history,
    capacity=0,
    relocation="lesson",
    valid=None,
):
    """Lloyd's algorithm on ``data`` (``DenseSamples`` or ``_sparse.SparseSamples``) from
    ``centroids``, at most ``limit`` updates (an int32 tensor): one chunk of a run (``lloyd``
    runs a whole one).

    Each iteration moves the centroids to the means of their clusters (empty clusters
    relocated), then assigns every sample to its nearest new centroid. It stops after an
    iteration in which no sample changed cluster (if ``stop_unchanged``), the squared shifts of
    the centroids summed to at most ``tol_total``, or no centroid moved farther than
    ``tol_max_shift`` (a negative tolerance never stops the loop).

    ``resume``: none, or the ``labels``, ``sums`` and ``counts`` of ``centroids`` that a previous
    chunk returned, so that the run goes on exactly where it stopped (no pass is recomputed).

    ``history``, ``capacity`` and ``relocation`` are Python values, part of the trace:
    ``history`` 0 keeps nothing, 1 the inertia (``exact_inertia``), the largest shift and the
    number of samples that changed cluster after each iteration, 2 also the centroids, in
    buffers of ``capacity`` iterations (at least ``limit``). ``relocation`` is the rule for an
    empty cluster: "lesson" (``relocate_empty_clusters``: the sample farthest from its cluster's
    new mean) or "sklearn" (``relocate_empty_sums``: the sample farthest from its previous
    centroid, taken out of its old cluster).

    ``valid``: with padded rows (which must weigh 0), how many rows are samples.

    Returns a ``LoopResult``.
    """
    if isinstance(data, tf.Tensor):
        data = DenseSamples(data, valid)
    dtype = data.dtype
    tol_total = tf.cast(tol_total, dtype)
    tol_max_shift = tf.cast(tol_max_shift, dtype)
    n_clusters, n_features = centroids.shape

    def pass_(centroids):
        return data.full_pass(weights, centroids)

    def update(centroids, labels, sums, counts):
        def relocated():
            if relocation == "sklearn":
                return sklearn_means(*relocate_empty_sums(data, weights, labels, centroids, sums, counts), dtype)
            return relocate_empty_clusters(data, labels, means(sums, counts, dtype), counts)

        return tf.cond(tf.reduce_any(counts == 0), relocated, lambda: means(sums, counts, dtype))

    def inertia_of(centroids, labels):
        return data.inertia(weights, centroids, labels)

    if resume:
        labels, sums, counts = resume
        # The labels as a pass gives them: of as many rows as the samples have, known or not
        # (the loop needs the same shape on every iteration).
        labels = tf.slice(labels, [0], tf.reshape(tf.cast(data.n_rows, tf.int32), [1]))
    else:
        labels, sums, counts = pass_(centroids)
    size = capacity if history else 0
    inertias = tf.TensorArray(tf.float64, size=size, element_shape=())
    shifts = tf.TensorArray(dtype, size=size, element_shape=())
    shift_totals = tf.TensorArray(dtype, size=size, element_shape=())
    changes = tf.TensorArray(tf.int32, size=size, element_shape=())
    trail = tf.TensorArray(dtype, size=size if history >= 2 else 0, element_shape=(n_clusters, n_features))

    def condition(i, centroids, labels, sums, counts, unchanged, tol_reached, *histories):
        stop = tf.logical_or(tf.logical_and(stop_unchanged, unchanged), tol_reached)
        return tf.logical_and(i < limit, tf.logical_not(stop))

    def body(
        i, centroids, labels, sums, counts, unchanged, tol_reached, inertias, shifts, shift_totals, changes, trail
    ):
        new_centroids = update(centroids, labels, sums, counts)
        new_labels, new_sums, new_counts = pass_(new_centroids)
        squared_shifts = tf.reduce_sum(tf.square(new_centroids - centroids), axis=1)
        changed = data.count_changed(new_labels, labels)
        tol_reached = tf.logical_or(
            tf.reduce_sum(squared_shifts) <= tol_total,
            tf.reduce_max(squared_shifts) <= tol_max_shift * tf.abs(tol_max_shift),
        )
        if history:
            inertias = inertias.write(i, inertia_of(new_centroids, new_labels))
            shifts = shifts.write(i, tf.sqrt(tf.reduce_max(squared_shifts)))
            shift_totals = shift_totals.write(i, tf.reduce_sum(squared_shifts))
            changes = changes.write(i, changed)
        if history >= 2:
            trail = trail.write(i, new_centroids)
        return (
            i + 1,
            new_centroids,
            new_labels,
            new_sums,
            new_counts,
            changed == 0,
            tol_reached,
            inertias,
            shifts,
            shift_totals,
            changes,
            trail,
        )

    start = (tf.constant(0), centroids, labels, sums, counts, tf.constant(False), tf.constant(False))
    i, centroids, labels, sums, counts, unchanged, tol_reached, inertias, shifts, shift_totals, changes, trail = (
        tf.while_loop(condition, body, (*start, inertias, shifts, shift_totals, changes, trail))
    )
    empty = tf.zeros((0,), tf.float64)
    return LoopResult(
        centroids=centroids,
        labels=labels,
        inertia=data.inertia(weights, centroids, labels),
        n_updates=i,
        counts=counts,
        unchanged=unchanged,
        tol_reached=tol_reached,
        start_inertia=inertia_of(start[1], start[2]) if history and not resume else tf.constant(0.0, tf.float64),
        inertias=inertias.stack() if history else empty,
        shifts=shifts.stack() if history else tf.cast(empty, dtype),
        shift_totals=shift_totals.stack() if history else tf.cast(empty, dtype),
        changes=changes.stack() if history else tf.zeros((0,), tf.int32),
        history=trail.stack() if history >= 2 else tf.zeros((0, n_clusters, n_features), dtype),
        sums=sums,
    )


def lloyd(run, centroids, tol_total, tol_max_shift, stop_unchanged, max_iter, history, relocation, report=None):
    """A whole run of Lloyd's algorithm, at most ``max_iter`` updates (any Python int), as calls
    of ``lloyd_loop`` that each run a chunk of it and resume where the last stopped: the same
    numbers as one call, but no buffer is ever sized by ``max_iter`` and no count wraps.

    ``run(function, *arguments, **static)`` calls ``function`` compiled on the samples
    (``Samples.run`` with the weights and ``n_clusters`` given). Without a history one call runs
    the whole run (up to ``CHUNK_LIMIT`` iterations); with one, each call keeps at most
    ``HISTORY_CHUNK`` iterations' history. ``report(result)``, when given, is called after every
    call with the run so far (a ``LoopResult`` as ``lloyd`` returns), and the calls start at one
    iteration, doubling while they take under ``REPORT_SECONDS``, so that a long fit reports as
    it goes. Returns a ``LoopResult`` with Python counts and NumPy histories.
    """
    import time

    n_clusters, n_features = centroids.shape
    capacity = 0
    if history:
        capacity = min(max_iter, HISTORY_CHUNK)
        if history >= 2:
            capacity = min(capacity, max(1, HISTORY_BYTES // (n_clusters * n_features * centroids.dtype.size)))
    largest = capacity if history else CHUNK_LIMIT
    limit = 1 if report is not None else largest
    static = dict(history=history, capacity=capacity, relocation=relocation)
    done, resume, start_inertia, parts = 0, (), 0.0, []
    while True:
        began = time.perf_counter()
        step = min(limit, largest, max_iter - done)
        chunk = run(
            lloyd_loop,
            centroids,
            tol_total,
            tol_max_shift,
            stop_unchanged,
            tf.constant(step, tf.int32),
            *resume,
            **static,
        )
        ran = int(chunk.n_updates)
        if not resume:
            start_inertia = float(chunk.start_inertia)
        if history:
            kept = [chunk.inertias, chunk.shifts, chunk.shift_totals, chunk.changes, chunk.history]
            parts.append([values.numpy()[:ran] for values in kept])
        done += ran
        centroids, resume = chunk.centroids, (chunk.labels, chunk.sums, chunk.counts)
        stopped = (bool(chunk.unchanged) and bool(stop_unchanged)) or bool(chunk.tol_reached)
        result = _joined(chunk, done, start_inertia, parts, history, n_clusters, n_features)
        if report is not None:
            report(result)
            if time.perf_counter() - began < REPORT_SECONDS:
                limit *= 2
        if stopped or done >= max_iter:
            return result


def _joined(chunk, done, start_inertia, parts, history, n_clusters, n_features):
    """The run so far as one ``LoopResult``: the last chunk's state, every chunk's history."""
    dtype = chunk.centroids.dtype.as_numpy_dtype
    empties = [np.zeros(0), np.zeros(0, dtype), np.zeros(0, dtype), np.zeros(0, np.int32)]
    empties.append(np.zeros((0, n_clusters, n_features), dtype))
    joined = [np.concatenate(values) for values in zip(*parts)] if parts else empties
    if history < 2:
        joined[4] = empties[4]
    return chunk._replace(
        n_updates=done,
        unchanged=bool(chunk.unchanged),
        tol_reached=bool(chunk.tol_reached),
        start_inertia=start_inertia,
        inertias=joined[0],
        shifts=joined[1],
        shift_totals=joined[2],
        changes=joined[3],
        history=joined[4],
    )


_compiled = {}


def run_compiled(function, samples, weights, *arguments, n_clusters, allow_xla=True, valid=None, **static):
    """Call ``function(samples, weights, *arguments, **static)`` as a compiled ``tf.function``.

    Large problems (``samples`` x ``n_clusters`` at least ``XLA_MIN_WORK`` numbers) run under
    XLA, traced and compiled once per shape. Small ones run as a plain ``tf.function`` traced
    once for any number of samples (``samples`` and ``weights`` get a ``None`` first
    dimension), so that many small fits of different sizes, as in a cross-validation, do not
    each pay for a compilation. ``static`` values (Python ints and bools) are part of the
    trace. Falls back on plain ``tf.function`` where this TensorFlow build cannot use XLA, and
    where ``allow_xla`` is False. ``valid`` (a scalar int32 tensor): ``samples`` has padded rows
    past this many (``padded_rows``), passed on to ``function`` as ``valid=``; as a tensor, it
    does not change the compiled shape.
    """
    n_samples, n_features = samples.shape
    xla = uses_xla(n_samples, n_features, n_clusters, allow_xla)
    weighted, padded = weights is not None, valid is not None
    key = (function, xla, weighted and weights.dtype, padded, tuple(sorted(static.items())))
    key += (samples.dtype, n_features, tuple((tuple(a.shape), a.dtype) for a in arguments))
    if xla:  # compiled for this one shape: a tf.function of its own, never retraced
        key += (n_samples,)
    if key not in _compiled:

        def call(samples, weights, valid, *arguments):
            extra = {"valid": valid} if padded else {}
            return function(samples, weights if weighted else None, *arguments, **extra, **static)

        # A code object of its own for each compiled function, so that TensorFlow's warning
        # about frequent retracing counts each one's traces apart (each traces once).
        name = f"call_{len(_compiled)}"  # code objects compare by content: a new name makes it new
        call = types.FunctionType(call.__code__.replace(co_name=name), call.__globals__, name, None, call.__closure__)
        if xla:
            _compiled[key] = tf.function(call, jit_compile=True, autograph=False)
        else:
            rows = tf.TensorSpec((None, n_features), samples.dtype)
            row_weights = tf.TensorSpec((None,), weights.dtype) if weighted else tf.TensorSpec((), samples.dtype)
            rest = [tf.TensorSpec(argument.shape, argument.dtype) for argument in arguments]
            signature = [rows, row_weights, tf.TensorSpec((), tf.int32), *rest]
            _compiled[key] = tf.function(call, input_signature=signature, autograph=False)
    if not weighted:
        weights = tf.zeros((), samples.dtype)  # a placeholder the function ignores
    return _compiled[key](samples, weights, valid if padded else tf.constant(0), *arguments)


def _xla_available():
    if "xla" not in _compiled:
        try:
            # Eagerly even when first asked while a function is traced (init_scope), so that
            # XLA really compiles here; its service starts and says so, where that would show.
            with xla_start_up_silenced(), tf.init_scope():
                tf.function(lambda x: tf.reduce_sum(x), jit_compile=True, autograph=False)(tf.zeros((2,)))
            _compiled["xla"] = True
        except (tf.errors.OpError, NotImplementedError, ValueError):
            _compiled["xla"] = False
    return _compiled["xla"]
