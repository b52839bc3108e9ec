"""k-means on scipy.sparse samples (TF-IDF rows of text, counts), kept sparse throughout.

The samples are held as TensorFlow's CSR sparse matrix. One pass over them is a sparse x dense
product for the distances (``|x|^2 - 2 x.c + |c|^2``: the products from
``SparseMatrixMatMul``, which on this CPU ran about five times faster than
``tf.sparse.sparse_dense_matmul`` on the same matrix, benchmarks/README.md) and per-cluster sums
added up nonzero by nonzero (``unsorted_segment_sum`` into the k x d sums, in float64), so the
data is never densified. Sparse data is not centred (that would fill it in), as in scikit-learn.

Nothing here validates its input: ``KMeans`` and ``MiniBatchKMeans`` check it first.
"""

import types

import numpy as np

from . import _lloyd
from ._tensorflow import tf

# Rows per block when distances to the centres are computed for ``predict`` and ``transform``.
BLOCK_BYTES = _lloyd.DISTANCE_BLOCK_BYTES


def components(X):
    """The tensors a ``SparseSamples`` is built from, for a scipy CSR matrix ``X`` (float32 or
    float64): (row of each value, column of each value, the values, the shape, each row's
    squared norm, where each row's values start)."""
    X = X.tocsr()
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    rows = np.repeat(np.arange(X.shape[0], dtype=np.int64), np.diff(X.indptr))
    squared_norms = np.bincount(rows, weights=np.square(X.data, dtype=np.float64), minlength=X.shape[0])
    return (
        tf.constant(rows),
        tf.constant(X.indices.astype(np.int64)),
        tf.constant(X.data),
        tf.constant(np.array(X.shape, np.int64)),
        tf.constant(squared_norms.astype(X.dtype)),
        tf.constant(X.indptr.astype(np.int64)),
    )


class SparseSamples:
    """Sparse samples as ``_lloyd.lloyd_loop`` uses them (see ``_lloyd.DenseSamples``). Built
    inside a ``tf.function`` from ``components``."""

    def __init__(self, rows, columns, values, shape, squared_norms, row_splits, n_features):
        self.value_rows, self.columns, self.values, self.row_splits = rows, columns, values, row_splits
        self.n_samples = self.n_rows = shape[0]
        self.n_features = n_features  # a Python int: shapes stay known to the loop
        self.squared_norms = squared_norms
        self.dtype = values.dtype
        self.matrix = tf.raw_ops.SparseTensorToCSRSparseMatrix(
            indices=tf.stack([rows, columns], axis=1), values=values, dense_shape=shape
        )

    def real(self, values, filler):
        """``values`` as they are: sparse samples are never padded (see ``_lloyd.DenseSamples``)."""
        return values

    def count_changed(self, labels, old_labels):
        return tf.reduce_sum(tf.cast(labels != old_labels, tf.int32))

    def products(self, centroids):
        """x.c for every sample and centroid, (n_samples, n_clusters)."""
        return tf.raw_ops.SparseMatrixMatMul(a=self.matrix, b=centroids, transpose_b=True)

    def nearest(self, centroids):
        """Each sample's nearest centroid (int32; the lower index on a tie) and its squared
        distance to it."""
        norms = tf.reduce_sum(tf.square(centroids), axis=1)
        partial = norms - 2.0 * self.products(centroids)
        nearest = tf.argmin(partial, axis=1, output_type=tf.int32)
        distances = tf.gather(partial, nearest, batch_dims=1) + self.squared_norms
        return nearest, tf.maximum(distances, 0.0)

    def squared_distances(self, points):
        """(n_samples, n_points) squared distances to ``points``, never below 0."""
        norms = tf.reduce_sum(tf.square(points), axis=1)
        return tf.maximum(self.squared_norms[:, tf.newaxis] - 2.0 * self.products(points) + norms, 0.0)

    def full_pass(self, weights, centroids):
        nearest, _ = self.nearest(centroids)
        sums, counts = self.cluster_sums(weights, nearest, centroids.shape[0])
        return nearest, sums, counts

    def cluster_sums(self, weights, nearest, n_clusters):
        """Per-cluster sums of the samples (weighted) and of their weights, in float64, added up
        nonzero by nonzero."""
        values = tf.cast(self.values, tf.float64)
        if weights is not None:
            values *= tf.cast(tf.gather(weights, self.value_rows), tf.float64)
        cells = tf.cast(tf.gather(nearest, self.value_rows), tf.int64) * self.n_features + self.columns
        sums = tf.math.unsorted_segment_sum(values, cells, n_clusters * self.n_features)
        sums = tf.reshape(sums, (n_clusters, self.n_features))
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
        shape = tf.stack([tf.cast(tf.shape(indices)[0], tf.int64), self.n_features])
        return SparseSamples(
            columns.value_rowids(),
            columns.flat_values,
            values.flat_values,
            shape,
            tf.gather(self.squared_norms, indices),
            columns.row_splits,
            self.n_features,
        )

    def _dot_assigned(self, centroids, labels, dtype):
        """x.c for each sample and the centroid it is labelled with, added up nonzero by nonzero."""
        cells = tf.stack([tf.gather(labels, self.value_rows), tf.cast(self.columns, tf.int32)], axis=1)
        products = tf.cast(self.values, dtype) * tf.cast(tf.gather_nd(centroids, cells), dtype)
        return tf.math.unsorted_segment_sum(
            products, tf.cast(self.value_rows, tf.int32), tf.cast(self.n_samples, tf.int32)
        )

    def distances_to(self, centroids, labels, dtype=None):
        dtype = dtype or self.dtype
        norms = tf.cast(tf.reduce_sum(tf.square(centroids), axis=1), dtype)
        squared = (
            tf.cast(self.squared_norms, dtype)
            - 2.0 * self._dot_assigned(centroids, labels, dtype)
            + tf.gather(norms, labels)
        )
        return tf.maximum(squared, 0.0)

    def rows_at(self, indices):
        """The rows at ``indices``, densified (a few rows: the relocated centroids)."""
        chosen_values, chosen_columns = self._chosen(indices)
        cells = tf.stack([tf.cast(chosen_columns.value_rowids(), tf.int64), chosen_columns.flat_values], axis=1)
        return tf.scatter_nd(cells, chosen_values.flat_values, [tf.shape(indices)[0], self.n_features])

    def inertia(self, weights, centroids, labels, float64=False):
        squared = self.distances_to(centroids, labels, tf.float64 if float64 else self.dtype)
        if weights is not None:
            squared *= tf.cast(weights, squared.dtype)
        return tf.reduce_sum(tf.cast(squared, tf.float64))


def assign(data, weights, centroids):
    """Each sample's nearest centroid (int32) and the inertia of that assignment (float64)."""
    nearest, _ = data.nearest(centroids)
    return nearest, data.inertia(weights, centroids, nearest)


def distances(data, weights, centroids):
    """The Euclidean distance from every sample to every centroid, (n_samples, n_clusters);
    ``weights`` are not used (``run``'s signature)."""
    return tf.sqrt(data.squared_distances(centroids))


_compiled = {}


def run(function, parts, weights, *arguments, **static):
    """Call ``function(SparseSamples(*parts), weights, *arguments, **static)`` as a
    ``tf.function`` traced once for any number of samples and nonzeros (sparse ops are not
    compiled by XLA). ``parts`` come from ``components``; ``static`` values are part of the
    trace."""
    weighted = weights is not None
    dtype = parts[2].dtype
    n_features = int(parts[3][1])
    key = (function, weighted and weights.dtype, dtype, n_features, tuple(sorted(static.items())))
    key += tuple((tuple(argument.shape), argument.dtype) for argument in arguments)
    if key not in _compiled:

        def call(rows, columns, values, shape, squared_norms, row_splits, weights, *arguments):
            data = SparseSamples(rows, columns, values, shape, squared_norms, row_splits, n_features)
            return function(data, weights if weighted else None, *arguments, **static)

        # A code object of its own (see _lloyd.run_compiled): no shared retracing counts.
        name = f"call_{len(_compiled)}"  # code objects compare by content: a new name makes it new
        call = types.FunctionType(call.__code__.replace(co_name=name), call.__globals__, name, None, call.__closure__)

        vector = tf.TensorSpec((None,), tf.int64)
        signature = [vector, vector, tf.TensorSpec((None,), dtype), tf.TensorSpec((2,), tf.int64)]
        signature += [tf.TensorSpec((None,), dtype), vector]
        signature += [tf.TensorSpec((None,), weights.dtype) if weighted else tf.TensorSpec((), dtype)]
        signature += [tf.TensorSpec(argument.shape, argument.dtype) for argument in arguments]
        _compiled[key] = tf.function(call, input_signature=signature, autograph=False)
    if not weighted:
        weights = tf.zeros((), dtype)
    return _compiled[key](*parts, weights, *arguments)


def blocks(X, n_clusters):
    """``X`` (CSR) in blocks of rows whose distance matrices stay within ``BLOCK_BYTES``."""
    rows = max(1, BLOCK_BYTES // (X.dtype.itemsize * max(n_clusters, 1)))
    for begin in range(0, X.shape[0], rows):
        yield X[begin : begin + rows]
