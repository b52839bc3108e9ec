"""Sparse samples on the device (TF-IDF rows of text, counts), kept sparse throughout: the
adapter the loop runs on.

The samples are held as TensorFlow's CSR sparse matrix. One pass over them is a sparse x dense
product for the distances (``|x|^2 - 2 x.c + |c|^2``: the products from
``SparseMatrixMatMul``, several times faster than ``tf.sparse.sparse_dense_matmul`` on the same
matrix, benchmarks/README.md) and per-cluster sums added up nonzero by nonzero
(``unsorted_segment_sum`` into the k x d sums, in float64), so the data is never densified.
Sparse data is never shifted (that would fill it in), as in scikit-learn.

``SparseSamples`` is ``_adapter.Adapter``'s protocol over the parts the host data layer makes
of a scipy matrix (``_samples.sparse_parts``). Nothing here validates its input.
"""

from ._geometry import SQUARED_EUCLIDEAN
from ._tensorflow import dim, tf


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
        values = tf.cast(self.values, tf.float64)
        if weights is not None:
            values *= tf.cast(tf.gather(weights, self.value_rows), tf.float64)
        cells = tf.cast(tf.gather(nearest, self.value_rows), tf.int64) * self._features + self.columns
        sums = tf.math.unsorted_segment_sum(values, cells, tf.cast(n_clusters, tf.int64) * self._features)
        sums = tf.reshape(sums, (n_clusters, self.n_features if self.n_features is not None else -1))
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
        cells = tf.stack([tf.gather(labels, self.value_rows), tf.cast(self.columns, tf.int32)], axis=1)
        products = tf.cast(self.values, dtype) * tf.cast(tf.gather_nd(centroids, cells), dtype)
        return tf.math.unsorted_segment_sum(
            products, tf.cast(self.value_rows, tf.int32), tf.cast(self.n_samples, tf.int32)
        )

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
