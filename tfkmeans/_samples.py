"""Checked samples, ready for the kernels.

Dense samples are shifted by a point within their range into a tensor (``_lloyd.centred``) and,
when they run under XLA, padded with zero-weight rows to a bucketed count
(``_lloyd.padded_rows``), so that a new sample count reuses a compiled shape; sparse samples
become the parts of a CSR matrix (``_sparse.components``), never shifted, which would fill them
in. Nothing here validates: the estimators check their input first.
"""

import numpy as np
import scipy.sparse as sp

from . import _lloyd, _sparse
from ._tensorflow import tf


class Samples:
    """``X`` (a checked NumPy array or CSR matrix) for the kernels.

    ``offset`` is what was subtracted; ``dtype`` the dtype the kernels compute in (float64 for
    float32 data whose squares could overflow float32); ``n_samples`` the real rows. Give
    ``n_clusters`` to let dense samples be padded for XLA.
    """

    def __init__(self, X, offset=None, in_place=False, n_clusters=None):
        self.sparse = sp.issparse(X)
        self.n_samples, self.n_features = X.shape
        self.valid = None
        if self.sparse:
            X = sparse_in_range(X)
            self.parts = _sparse.components(X)
            self.offset = np.zeros(X.shape[1], X.dtype)
            self.in_place = False
        else:
            rows = self.n_samples
            shifting_in_place = in_place and _lloyd.can_centre_in_place(X)
            padding = n_clusters is not None and not shifting_in_place
            if padding and _lloyd.pads(self.n_samples, self.n_features, n_clusters):
                rows = _lloyd.padded_rows(self.n_samples, self.n_features * X.dtype.itemsize)
                # Even when the count is a bucket's own: one compiled function per bucket.
                self.valid = tf.constant(self.n_samples, tf.int32)
            self.tensor, self.offset = _lloyd.centred(X, offset, in_place=in_place, rows=rows)
            self.in_place = shifting_in_place and self.offset.dtype == X.dtype
        self.dtype = self.offset.dtype
        self._X = X

    def run(self, function, weights, *arguments, n_clusters, allow_xla=True, **static):
        """``function(data, weights, *arguments, **static)`` compiled (``_lloyd.run_compiled``,
        ``_sparse.run``); with padded rows, ``function`` gets ``valid=``. Per-row ``weights``
        must come from ``weights``."""
        if self.sparse:
            return _sparse.run(function, self.parts, weights, *arguments, **static)
        return _lloyd.run_compiled(
            function,
            self.tensor,
            weights,
            *arguments,
            n_clusters=n_clusters,
            allow_xla=allow_xla,
            valid=self.valid,
            **static,
        )

    def runner(self, weights, n_clusters):
        """``run`` with ``weights`` and ``n_clusters`` given: what ``_lloyd.lloyd`` calls."""

        def run(function, *arguments, **static):
            return self.run(function, weights, *arguments, n_clusters=n_clusters, **static)

        return run

    def assign(self, centres, weights=None):
        """Each sample's nearest of ``centres`` (in the data's coordinates) and the (weighted)
        inertia of that assignment: (labels as NumPy, float). One pass, run as a plain
        ``tf.function`` traced once for any number of samples: a prediction at a length never
        seen costs no compilation, and no memory for a compiled program per length."""
        labels, inertia = self.run(
            _lloyd.assign, self.weights(weights), self.relative(centres), n_clusters=len(centres), allow_xla=False
        )
        return self.labels(labels), float(inertia)

    def weights(self, weights):
        """Per-row weights as a tensor in the compute dtype (None for none), padded rows 0."""
        if weights is None:
            return None
        if self.valid is None:
            return tf.constant(np.asarray(weights, self.dtype))
        padded = np.zeros(self.tensor.shape[0], self.dtype)
        padded[: self.n_samples] = weights
        return tf.constant(padded)

    def cumulative(self, weights):
        """The running sum of ``weights`` in float64 (None for none), for drawing rows in
        proportion to them; padded rows repeat the total, so they are never drawn."""
        if weights is None:
            return None
        running = np.cumsum(weights, dtype=np.float64)
        if self.valid is not None:
            running = np.concatenate([running, np.full(self.tensor.shape[0] - self.n_samples, running[-1])])
        return tf.constant(running)

    def labels(self, labels):
        """The labels of the real rows, as NumPy."""
        return labels.numpy()[: self.n_samples]

    def rows(self, indices):
        """The samples at ``indices`` as a dense NumPy array, in the data's own coordinates."""
        rows = self._X[indices]
        return rows.toarray() if self.sparse else rows

    def relative(self, points):
        """``points`` (in the data's coordinates) as a tensor relative to ``offset``."""
        return tf.constant((np.asarray(points, self.dtype) - self.offset).astype(self.dtype))

    def restore(self):
        """Undo an in-place shift (``copy_x=False``)."""
        if self.in_place:
            self._X += self.offset


def sparse_in_range(X):
    """A CSR matrix ``X`` as the kernels can take it: float64 when float32 squared distances
    could overflow, or a ValueError when float64 ones could (sparse rows are never centred)."""
    largest = float(np.max(np.abs(X.data))) if X.nnz else 0.0
    if X.dtype == np.float32 and _lloyd.squares_could_overflow(largest, X.shape[1]):
        X = X.astype(np.float64)
    _lloyd.refuse_float64_overflow(largest, X.shape[1], origin="zero")
    return X
