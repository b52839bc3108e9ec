"""Dense samples on the device: the kernels of a pass, and the adapter the loop runs on.

One pass over the samples (``block_statistics``) finds each row's nearest centroid from
``|x - c|^2 = |x|^2 - 2 x.c + |c|^2`` (one matrix product; for few centroids and features, one
feature at a time, which XLA fuses into a single pass), and in the same pass the per-cluster
sums and weights that the next update needs, so the data is read once per iteration. float32
sums are taken over runs of ``SUM_ROWS`` rows and the runs added in float64: a float32 running
sum over a million samples drifts enough to move the centroids.

``DenseSamples`` is the adapter: ``_adapter.Adapter``'s protocol over a dense tensor, in a
geometry (``_geometry``). Nothing here validates its input: the host data layer (``_samples``)
checked and shifted the samples, and the dispatcher (``_dispatch``) says whether a pass runs
under XLA and how many rows are real (``valid``: the rest is padding that weighs nothing).
"""

from ._geometry import SQUARED_EUCLIDEAN
from ._tensorflow import dim, known, tf, xla_available

# Up to this many centroids x features, distances are summed feature by feature rather than
# through a matrix product: XLA fuses the sum into one pass, where a tiny product is slow.
SMALL_PROBLEM = 32
# From this many centroids to this many, a pass over data held in one block finds the nearest by a
# chain of comparisons in the (clusters, samples) layout, which XLA fuses into one pass along
# the samples, rather than by tf.argmin over rows.
CHAIN_CLUSTERS = (8, 128)
# The largest block of distances (rows x clusters) held at once under XLA, in bytes: a pass in
# one block fuses into far fewer loops than one in several (benchmarks/README.md).
DISTANCE_BLOCK_BYTES = 512 * 2**20
# Rows summed in float32 before the partial sums are added up in float64.
SUM_ROWS = 4096
# The largest chunk of distances (rows x clusters) of ``chunked_pass``, in bytes: small enough to
# stay in the cache between the matrix product that writes it and the search that reads it.
CHUNK_BYTES = 16 * 2**20


def nearest_centroids(block, centroids, chain=False):
    """Each row's nearest centroid and a partial squared distance to it.

    ``block`` (b, d) and ``centroids`` (k, d) are relative to the same offset. Returns
    ``nearest`` (b,) int32 and ``partial`` (b,), the squared distance minus ``|x|^2`` (matrix
    product) or the squared distance itself (feature by feature): see ``squared_distances``.
    ``chain`` allows the chain of comparisons for ``CHAIN_CLUSTERS`` centroids: for a whole
    pass compiled by XLA in one block only (across blocks, and without XLA, it is slower).
    In a trace for any shape (the sizes unknown to it), always the matrix product.
    """
    n_clusters, n_features = dim(centroids, 0), dim(centroids, 1)
    if feature_by_feature(n_clusters, n_features):
        distances = tf.square(block[:, 0:1] - centroids[:, 0])
        for j in range(1, n_features):
            distances += tf.square(block[:, j : j + 1] - centroids[:, j])
    elif chain and known(n_clusters) and CHAIN_CLUSTERS[0] <= n_clusters <= CHAIN_CLUSTERS[1]:
        # The products transposed, (k, b), and the nearest found by comparing one row of b
        # distances after another; strict "<" keeps the lowest index on a tie, as tf.argmin
        # does. (-2 c).x is exactly -2 (c.x), and scaling the centroids saves scaling the
        # products.
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


def feature_by_feature(n_clusters, n_features):
    """Whether ``nearest_centroids`` sums distances feature by feature: few centroids x features,
    known to the trace."""
    return known(n_clusters, n_features) and n_clusters * n_features <= SMALL_PROBLEM


def squared_distances(block, partial, n_clusters, n_features):
    """Complete ``nearest_centroids``' partial distances into squared distances (>= 0)."""
    if feature_by_feature(n_clusters, n_features):
        return partial
    return tf.maximum(partial + tf.reduce_sum(tf.square(block), axis=1), 0.0)


def cluster_sums(block, weights, nearest, n_clusters):
    """Per-cluster sums of ``block``'s rows (weighted) and of their weights, in float64.

    float32 rows are summed in runs of ``SUM_ROWS`` rows, and the runs added in float64.
    In a trace for any shape (``n_clusters`` a tensor), float32 sums are products of one-hot
    labels and rows (``product_sums``).
    """
    rows = tf.shape(block)[0]
    weighted = block if weights is None else block * weights[:, tf.newaxis]
    if block.dtype == tf.float64:
        sums = tf.math.unsorted_segment_sum(weighted, nearest, n_clusters)
    elif not known(n_clusters):
        sums = product_sums(weighted, nearest, n_clusters)
    else:
        n_runs = (rows + SUM_ROWS - 1) // SUM_ROWS
        run_of_row = tf.range(rows) // SUM_ROWS
        partial_sums = tf.math.unsorted_segment_sum(weighted, nearest + n_clusters * run_of_row, n_clusters * n_runs)
        partial_sums = tf.reshape(partial_sums, (n_runs, n_clusters, dim(block, 1)))
        sums = tf.reduce_sum(tf.cast(partial_sums, tf.float64), axis=0)
    if weights is None:
        counts = tf.cast(tf.math.unsorted_segment_sum(tf.ones_like(nearest), nearest, n_clusters), tf.float64)
    else:
        counts = tf.math.unsorted_segment_sum(tf.cast(weights, tf.float64), nearest, n_clusters)
    return sums, counts


def product_sums(rows, nearest, n_clusters):
    """Per-cluster sums of float32 ``rows`` in float64, as products of one-hot labels and rows
    in runs of ``SUM_ROWS`` rows (a batched product, the last short run apart), the runs added
    in float64. Outside XLA, oneDNN's product on all cores adds up faster than TensorFlow's
    scatter, which runs on one (benchmarks/README.md)."""
    n_rows = tf.shape(rows)[0]
    n_runs = n_rows // SUM_ROWS
    whole = n_runs * SUM_ROWS
    one_hot = tf.one_hot(nearest, n_clusters, dtype=rows.dtype)
    runs = tf.matmul(
        tf.reshape(one_hot[:whole], (n_runs, SUM_ROWS, n_clusters)),
        tf.reshape(rows[:whole], (n_runs, SUM_ROWS, dim(rows, 1))),
        transpose_a=True,
    )
    last = tf.matmul(one_hot[whole:], rows[whole:], transpose_a=True)
    return tf.reduce_sum(tf.cast(runs, tf.float64), axis=0) + tf.cast(last, tf.float64)


_sums_functions = {}


def compiled_cluster_sums(samples, weights, labels, n_clusters):
    """``cluster_sums`` compiled by XLA inside a pass that is not (``chunked_pass``), where XLA
    is available: its scatter adds up faster than TensorFlow's own kernel. Compiled once per
    shape: the dispatcher buckets the samples' row counts. In a trace for any shape (``n_clusters``
    a tensor), ``cluster_sums`` itself: XLA would compile again for every shape."""
    if not xla_available() or not known(n_clusters):
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


def block_statistics(
    block, weights, centroids, with_inertia=True, with_sums=True, chain=False, geometry=SQUARED_EUCLIDEAN
):
    """One block's share of a pass: nearest centroids, inertia, per-cluster sums and weights.

    ``weights`` may be None; ``chain``: see ``nearest_centroids``. The inertia sums
    ``geometry``'s distances. Returns ``(nearest, inertia, sums, counts)``, the last three in
    float64 (``inertia`` is 0 when ``with_inertia`` is False, ``sums`` and ``counts`` 0 when
    ``with_sums`` is False).
    """
    n_clusters, n_features = dim(centroids, 0), dim(centroids, 1)
    nearest, partial = nearest_centroids(block, centroids, chain)
    inertia = tf.constant(0.0, tf.float64)
    if with_inertia:
        distances = geometry.distance(squared_distances(block, partial, n_clusters, n_features))
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


def chunked_pass(samples, weights, centroids, with_inertia=True, with_sums=True, geometry=SQUARED_EUCLIDEAN):
    """``block_statistics`` over ``samples`` (any number of rows) in chunks of ``CHUNK_BYTES``
    of distances, outside XLA: each chunk's matrix product is oneDNN's, whose output stays in
    the cache, then the nearest centroids; the per-cluster sums are taken once, after, from all
    the labels (``compiled_cluster_sums``). Where the matrix product dominates a pass, this runs
    it faster than XLA's dot (benchmarks/README.md)."""
    n_clusters, n_features = dim(centroids, 0), dim(centroids, 1)
    n_samples = tf.shape(samples)[0]
    rows = CHUNK_BYTES // (samples.dtype.size * n_clusters)
    rows = max(256, rows) if known(rows) else tf.maximum(256, rows)
    n_chunks = (n_samples + rows - 1) // rows

    def step(i, labels, inertia):
        begin = i * rows
        size = tf.minimum(rows, n_samples - begin)
        block = tf.slice(samples, [begin, 0], [size, -1])
        rows_weights = None if weights is None else tf.slice(weights, [begin], [size])
        nearest, block_inertia, _, _ = block_statistics(
            block, rows_weights, centroids, with_inertia, with_sums=False, geometry=geometry
        )
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


def blocked_pass(samples, weights, centroids, with_inertia=True, with_sums=True, geometry=SQUARED_EUCLIDEAN):
    """``block_statistics`` over all of ``samples`` (a known number of rows, under XLA), block
    by block in a ``tf.while_loop``, in blocks of a size fixed at compile time."""
    n_clusters, n_features = centroids.shape
    n_samples = samples.shape[0]
    rows = block_rows(n_samples, n_clusters, n_features, samples.dtype.size)
    n_blocks, remainder = divmod(n_samples, rows)

    def block(begin, size):
        # tf.slice with a fixed size: XLA needs each block's shape to be known.
        rows_weights = None if weights is None else tf.slice(weights, [begin], [size])
        block_samples = tf.slice(samples, [begin, 0], [size, n_features])
        return block_statistics(block_samples, rows_weights, centroids, with_inertia, with_sums, geometry=geometry)

    if n_blocks == 1 and remainder == 0:
        return block_statistics(samples, weights, centroids, with_inertia, with_sums, chain=True, geometry=geometry)

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


def exact_inertia(samples, weights, centroids, labels, float64=False, mask=None, geometry=SQUARED_EUCLIDEAN):
    """Each sample's distance to its centroid, from the differences themselves (not the
    expansion, whose float32 cancellation could make Lloyd's inertia seem to rise), summed in
    float64. With ``float64`` the differences are taken in float64 too, at nearly twice the
    cost. ``mask(values, filler)``: leaves padded rows out."""
    if float64:
        samples, centroids = tf.cast(samples, tf.float64), tf.cast(centroids, tf.float64)
    distances = geometry.distance(tf.reduce_sum(tf.square(samples - tf.gather(centroids, labels)), axis=1))
    if weights is not None:
        distances *= tf.cast(weights, distances.dtype)
    elif mask is not None:
        distances = mask(distances, tf.zeros((), distances.dtype))
    return tf.reduce_sum(tf.cast(distances, tf.float64))


def pairwise_squared(block, centres):
    """Squared Euclidean distances (b, k) from the expansion, with the pairs where it cancels
    badly (below 1e-3 of the squared norms) computed again from the difference: a centre's
    distance to itself is exactly 0."""
    block_norms = tf.reduce_sum(tf.square(block), axis=1)[:, None]
    centre_norms = tf.reduce_sum(tf.square(centres), axis=1)
    squared = tf.maximum(block_norms - 2.0 * tf.matmul(block, centres, transpose_b=True) + centre_norms, 0.0)
    close = tf.where(squared <= 1e-3 * (block_norms + centre_norms))
    pairs = tf.cast(close, tf.int32)
    exact = tf.reduce_sum(tf.square(tf.gather(block, pairs[:, 0]) - tf.gather(centres, pairs[:, 1])), axis=1)
    return tf.tensor_scatter_nd_update(squared, close, exact)


class DenseSamples:
    """Dense samples (a tensor, shifted by the host layer) as the loop, the seeding and the
    mini-batch steps use them: ``_adapter.Adapter``'s protocol.

    ``valid``: with padded rows (zeros, after the samples), how many rows are samples.
    Unweighted, padded rows are left in the sums (they add zero) and taken out of the counts and
    the inertia; weighted, they weigh 0. ``xla``: whether the pass runs under XLA (blocks of a
    size known at compile time) or not (``chunked_pass``, any number of rows); the dispatcher
    knows which.
    """

    def __init__(self, samples, valid=None, geometry=SQUARED_EUCLIDEAN, xla=None):
        self.samples = samples
        self.dtype = samples.dtype
        self.geometry = geometry
        self.valid = valid
        self.xla = samples.shape[0] is not None if xla is None else xla
        self.n_features = samples.shape[1]
        self.n_rows = tf.shape(samples)[0]
        self.n_samples = self.n_rows if valid is None else valid

    def real(self, values, filler):
        """``values`` (one per row) with ``filler`` on padded rows."""
        if self.valid is None:
            return values
        return tf.where(tf.range(tf.shape(values)[0]) < self.valid, values, filler)

    def count_changed(self, labels, old_labels):
        return tf.reduce_sum(tf.cast(self.real(labels != old_labels, False), tf.int32))

    def statistics(self, weights, centroids, with_inertia=True, with_sums=True):
        """A whole pass: (labels, inertia, sums, counts), as ``block_statistics``."""
        run = blocked_pass if self.xla else chunked_pass
        return run(self.samples, weights, centroids, with_inertia, with_sums, geometry=self.geometry)

    def full_pass(self, weights, centroids):
        """Each sample's nearest centroid, and per-cluster sums and weights (float64)."""
        nearest, _, sums, counts = self.statistics(weights, centroids, with_inertia=False)
        if self.valid is not None and weights is None:
            # The padded rows are all the same zero row, so all have one label: the first one's.
            padded = tf.cast(tf.shape(self.samples)[0] - self.valid, tf.float64)
            # (tf.gather, not nearest[valid]: XLA would take a slice's bounds for compile-time
            # constants, and compile again for every sample count.)
            counts = tf.tensor_scatter_nd_sub(counts, tf.reshape(tf.gather(nearest, self.valid), (1, 1)), [padded])
        return nearest, sums, counts

    def labels(self, centroids):
        """Each sample's nearest centroid (int32; the lower index on a tie)."""
        return self.statistics(None, centroids, with_inertia=False, with_sums=False)[0]

    def nearest(self, centroids):
        """Each sample's nearest centroid (int32) and its distance to it (one block)."""
        nearest, partial = nearest_centroids(self.samples, centroids)
        squared = squared_distances(self.samples, partial, dim(centroids, 0), dim(centroids, 1))
        return nearest, self.geometry.distance(squared)

    def cluster_sums(self, weights, nearest, n_clusters):
        return cluster_sums(self.samples, weights, nearest, n_clusters)

    def distances_to(self, centroids, labels):
        """Each sample's distance to the centroid it is labelled with (-1 for padding)."""
        squared = tf.reduce_sum(tf.square(self.samples - tf.gather(centroids, labels)), axis=1)
        return self.real(self.geometry.distance(squared), tf.constant(-1, squared.dtype))

    def rows_at(self, indices):
        return tf.gather(self.samples, indices)

    def batch(self, indices):
        """The samples at ``indices`` (with repeats) as a ``DenseSamples`` of their own."""
        return DenseSamples(tf.gather(self.samples, indices), geometry=self.geometry, xla=self.xla)

    def distances(self, points):
        """(n_samples, n_points) distances to ``points``, never below 0."""
        if not hasattr(self, "_squared_norms"):
            self._squared_norms = tf.reduce_sum(tf.square(self.samples), axis=1)
        products = tf.matmul(self.samples, points, transpose_b=True)
        squared = self._squared_norms[:, None] - 2.0 * products + tf.reduce_sum(tf.square(points), axis=1)
        return self.geometry.distance(tf.maximum(squared, 0.0))

    def reported(self, points):
        """(n_samples, n_points) distances as ``transform`` reports them, precise near 0."""
        return self.geometry.reported(pairwise_squared(self.samples, points))

    def inertia(self, weights, centroids, labels, float64=False):
        return exact_inertia(self.samples, weights, centroids, labels, float64, mask=self.real, geometry=self.geometry)
