"""Sparse samples on the device (TF-IDF rows of text, counts), kept sparse throughout: the
adapter the loop runs on.

The samples are held as TensorFlow's CSR sparse matrix. One pass over them is a sparse x dense
product for the distances (``|x|^2 - 2 x.c + |c|^2``: the products from
``SparseMatrixMatMul``, several times faster than ``tf.sparse.sparse_dense_matmul`` on the same
matrix, benchmarks/README.md) and per-cluster sums added up nonzero by nonzero
(``unsorted_segment_sum`` into the k x d sums, in float64; on many nonzeros an XLA program of its
own, ``by_nonzeros``), so the data is never densified.
Sparse data is never shifted (that would fill it in), as in scikit-learn.

``SparseSamples`` is ``_adapter.Adapter``'s protocol over the parts the host data layer makes
of a scipy matrix (``_samples.sparse_parts``). Nothing here validates its input.
"""

from ._geometry import SQUARED_EUCLIDEAN
from ._tensorflow import dim, tf, xla_available

# From this many nonzeros, the per-cluster sums are added by XLA's scatter (compiled on its own,
# once for each bucket of nonzero counts, at most 1/16 apart) rather than by TensorFlow's
# kernel, which takes about three times as long on many nonzeros (benchmarks/README.md).
COMPILED_SUMS_MIN_NONZEROS = 2**20


def nonzero_sums(value_rows, columns, values, nearest, row_weights, grid):
    """Each nonzero (``values`` at ``value_rows`` and ``columns``) added, in float64 and times
    its row's weight (``row_weights``, one per row, or a scalar for none), into the cell of its
    row's cluster (``nearest``) and its column, of a ``k x d`` array shaped like ``grid``."""
    values = tf.cast(values, tf.float64)
    if row_weights.shape.rank:
        values *= tf.cast(tf.gather(row_weights, value_rows), tf.float64)
    n_features = tf.cast(tf.shape(grid)[1], tf.int64)
    cells = tf.cast(tf.gather(nearest, value_rows), tf.int64) * n_features + columns
    return tf.reshape(tf.math.unsorted_segment_sum(values, cells, tf.size(grid)), tf.shape(grid))


def assigned_products(value_rows, columns, values, labels, centroids, rows):
    """x.c for each sample and the centroid it is labelled with (``labels``), added up nonzero
    by nonzero in ``centroids``' dtype, one per entry of ``rows`` (the samples)."""
    cells = tf.stack([tf.gather(labels, value_rows), tf.cast(columns, tf.int32)], axis=1)
    products = tf.cast(values, centroids.dtype) * tf.gather_nd(centroids, cells)
    return tf.math.unsorted_segment_sum(products, tf.cast(value_rows, tf.int32), tf.size(rows))


_compiled = {}


def by_nonzeros(function, value_rows, columns, values, *rest):
    """``function(value_rows, columns, values, *rest)``, whose result is a sum over the nonzeros:
    from ``COMPILED_SUMS_MIN_NONZEROS`` nonzeros, compiled by XLA (on its own, in one fused loop)
    over the first nonzeros, as many as a bucket holds (the count rounded down to a multiple of
    2**(e - 5), e its bit length: nearby counts share one compilation, and the rest, at most 1/16
    of them, go through TensorFlow's kernels); else TensorFlow's kernels. The first nonzeros are
    a slice that shares their memory (no copy, where padding would have copied them). Every
    size ``function`` needs as a constant comes from the shape of an argument."""
    if not xla_available():
        return function(value_rows, columns, values, *rest)
    key = (function, tuple(bool(part.shape.rank) for part in rest))
    if key not in _compiled:
        _compiled[key] = tf.function(function, jit_compile=True, autograph=False)
    count = tf.shape(values, out_type=tf.int64)[0]

    def compiled():
        step = tf.bitwise.left_shift(tf.constant(1, tf.int64), tf.maximum(_bit_length(count) - 5, 0))
        bucket = count - count % step
        parts = (value_rows, columns, values)
        head = _compiled[key](*[part[:bucket] for part in parts], *rest)
        return head + function(*[part[bucket:] for part in parts], *rest)

    return tf.cond(count >= COMPILED_SUMS_MIN_NONZEROS, compiled, lambda: function(value_rows, columns, values, *rest))


def _bit_length(count):
    """``count.bit_length()`` of a positive int64 scalar tensor."""
    return tf.cast(tf.math.floor(tf.math.log(tf.cast(count, tf.float64)) / 0.6931471805599453), tf.int64) + 1


class SparseSamples:
    """Sparse samples as the loop, the seeding and the mini-batch steps use them (see
    ``_dense.DenseSamples``). Built inside a traced function from ``_samples.sparse_parts``:
    the row of each value, its column, the values, the shape, each row's squared norm, and
    where each row's values start."""

    def __init__(self, rows, columns, values, shape, squared_norms, row_splits, n_features, geometry=SQUARED_EUCLIDEAN):
        self.value_rows, self.columns, self.values, self.row_splits = rows, columns, values, row_splits
        self.n_samples = self.n_rows = shape[0]
        # A Python int, or None in a trace for any shape: then the shape's, as a tensor.
        self.n_features = n_features
        self._features = tf.cast(shape[1] if n_features is None else n_features, tf.int64)
        self.squared_norms = squared_norms
        self.dtype = values.dtype
        self.geometry = geometry
        self.matrix = tf.raw_ops.SparseTensorToCSRSparseMatrix(
            indices=tf.stack([rows, columns], axis=1), values=values, dense_shape=shape
        )

    def real(self, values, filler):
        """``values`` as they are: sparse samples are never padded."""
        return values

    def count_changed(self, labels, old_labels):
        return tf.reduce_sum(tf.cast(labels != old_labels, tf.int32))

    def products(self, centroids):
        """x.c for every sample and centroid, (n_samples, n_clusters)."""
        return tf.raw_ops.SparseMatrixMatMul(a=self.matrix, b=centroids, transpose_b=True)

    def _squared(self, points):
        """(n_samples, n_points) squared Euclidean distances, never below 0."""
        norms = tf.reduce_sum(tf.square(points), axis=1)
        return tf.maximum(self.squared_norms[:, tf.newaxis] - 2.0 * self.products(points) + norms, 0.0)

    def nearest(self, centroids):
        """Each sample's nearest centroid (int32; the lower index on a tie) and its distance
        to it."""
        norms = tf.reduce_sum(tf.square(centroids), axis=1)
        partial = norms - 2.0 * self.products(centroids)
        nearest = tf.argmin(partial, axis=1, output_type=tf.int32)
        squared = tf.gather(partial, nearest, batch_dims=1) + self.squared_norms
        return nearest, self.geometry.distance(tf.maximum(squared, 0.0))

    def labels(self, centroids):
        return self.nearest(centroids)[0]

    def distances(self, points):
        return self.geometry.distance(self._squared(points))

    def reported(self, points):
        return self.geometry.reported(self._squared(points))

    def full_pass(self, weights, centroids):
        nearest, _ = self.nearest(centroids)
        sums, counts = self.cluster_sums(weights, nearest, dim(centroids, 0))
        return nearest, sums, counts

    def cluster_sums(self, weights, nearest, n_clusters):
        """Per-cluster sums of the samples (weighted) and of their weights, in float64, added up
        nonzero by nonzero."""
        row_weights = tf.zeros((), self.dtype) if weights is None else weights
        grid = tf.zeros(tf.stack([tf.cast(n_clusters, tf.int64), self._features]), tf.int8)  # the sums' shape
        sums = by_nonzeros(nonzero_sums, self.value_rows, self.columns, self.values, nearest, row_weights, grid)
        if self.n_features is not None:
            sums = tf.ensure_shape(sums, (None, self.n_features))
        if weights is None:
            counts = tf.math.unsorted_segment_sum(tf.ones_like(nearest, tf.float64), nearest, n_clusters)
        else:
            counts = tf.math.unsorted_segment_sum(tf.cast(weights, tf.float64), nearest, n_clusters)
        return sums, counts

    def _chosen(self, indices):
        """The values and columns of the rows at ``indices``, as ragged tensors."""
        values = tf.RaggedTensor.from_row_splits(self.values, self.row_splits, validate=False)
        columns = tf.RaggedTensor.from_row_splits(self.columns, self.row_splits, validate=False)
        return tf.gather(values, indices), tf.gather(columns, indices)

    def batch(self, indices):
        """The samples at ``indices`` (with repeats) as a ``SparseSamples`` of their own."""
        values, columns = self._chosen(indices)
        shape = tf.stack([tf.cast(tf.shape(indices)[0], tf.int64), self._features])
        return SparseSamples(
            columns.value_rowids(),
            columns.flat_values,
            values.flat_values,
            shape,
            tf.gather(self.squared_norms, indices),
            columns.row_splits,
            self.n_features,
            self.geometry,
        )

    def _dot_assigned(self, centroids, labels, dtype):
        """x.c for each sample and the centroid it is labelled with, added up nonzero by nonzero."""
        parts = (self.value_rows, self.columns, self.values)
        return by_nonzeros(assigned_products, *parts, labels, tf.cast(centroids, dtype), self.squared_norms)

    def _squared_to(self, centroids, labels, dtype):
        norms = tf.cast(tf.reduce_sum(tf.square(centroids), axis=1), dtype)
        squared = (
            tf.cast(self.squared_norms, dtype)
            - 2.0 * self._dot_assigned(centroids, labels, dtype)
            + tf.gather(norms, labels)
        )
        return tf.maximum(squared, 0.0)

    def distances_to(self, centroids, labels):
        return self.geometry.distance(self._squared_to(centroids, labels, self.dtype))

    def rows_at(self, indices):
        """The rows at ``indices``, densified (a few rows: the relocated centroids)."""
        chosen_values, chosen_columns = self._chosen(indices)
        cells = tf.stack([tf.cast(chosen_columns.value_rowids(), tf.int64), chosen_columns.flat_values], axis=1)
        shape = tf.stack([tf.cast(tf.shape(indices)[0], tf.int64), self._features])
        return tf.scatter_nd(cells, chosen_values.flat_values, shape)

    def inertia(self, weights, centroids, labels, float64=False):
        distances = self.geometry.distance(self._squared_to(centroids, labels, tf.float64 if float64 else self.dtype))
        if weights is not None:
            distances *= tf.cast(weights, distances.dtype)
        return tf.reduce_sum(tf.cast(distances, tf.float64))
