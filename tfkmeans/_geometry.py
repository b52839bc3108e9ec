"""Geometries: what "near" means, and what a centre is.

The kernels measure squared Euclidean distances, from a matrix product; a geometry is what is
done with them, in four places:

- ``prepare`` (host, NumPy or scipy.sparse) and ``prepare_batch`` (in the graph, for a
  stream's batches): the rows as the kernels take them;
- ``centred`` (host): whether the rows are shifted by a point within their range, which keeps
  squared Euclidean distances precise far from the origin (unit rows need no shift);
- ``finish`` (in the graph): a cluster's new centre from the mean of its samples;
- ``distance`` (in the graph): the geometry's distance from a squared Euclidean one, which is
  what the inertia sums and k-means++ draws by; ``reported`` is what ``transform`` returns.

Squared Euclidean is k-means itself. Cosine is spherical k-means (Dhillon and Modha, 2001): on
rows scaled to unit length, with centres scaled to unit length, ``1 - x.c`` is half of
``|x - c|**2``, so the nearest centre by squared Euclidean distance is the one of largest
cosine similarity, and the same kernels, loop and empty-cluster rules serve both.

A new geometry is a class here with these members; the adapters (``_dense``, ``_sparse``) and
the loop (``_loop``) call nothing else of it.
"""

import numpy as np
import scipy.sparse as sp

from ._tensorflow import tf


class SquaredEuclidean:
    """k-means' own geometry: squared Euclidean distances, centres the means."""

    name = "sqeuclidean"
    centred = True
    # What else than NaN or infinity makes a row unusable, for messages about a stream's batches.
    unusable = ""

    def prepare(self, X, copy=True):
        return X

    def prepare_batch(self, batch):
        return batch

    def finish(self, means, previous):
        return means

    def distance(self, squared):
        return squared

    def reported(self, squared):
        """The Euclidean distance, as scikit-learn's ``transform`` gives it."""
        return tf.sqrt(squared)

    def __repr__(self):
        return "SquaredEuclidean()"


class Cosine:
    """Cosine geometry: rows and centres of unit length, distance ``1 - cos``."""

    name = "cosine"
    centred = False
    unusable = ", or a row of zeros (which has no direction, so cosine geometry cannot place it)"

    def prepare(self, X, copy=True):
        """``X``'s rows scaled to unit length: a copy unless ``copy`` is False and ``X`` can be
        scaled in place. A row of zeros has no direction: a ValueError names it."""
        return unit_rows(X, copy)

    def prepare_batch(self, batch):
        """A batch's rows scaled to unit length (divided by their largest value first, so that
        none overflows); a row of zeros becomes NaN, which every pass refuses."""
        largest = tf.reduce_max(tf.abs(batch), axis=1, keepdims=True)
        scaled = batch / largest
        return scaled / tf.norm(scaled, axis=1, keepdims=True)

    def finish(self, means, previous):
        """Each mean scaled to unit length; a mean of length 0 (its samples cancel out) has no
        direction, and that cluster keeps its centre."""
        norms = tf.norm(means, axis=1, keepdims=True)
        return tf.where(norms > 0, means / tf.where(norms > 0, norms, tf.ones_like(norms)), previous)

    def distance(self, squared):
        """``1 - x.c`` for unit ``x`` and ``c``: half their squared Euclidean distance."""
        return squared * 0.5

    def reported(self, squared):
        return squared * 0.5

    def __repr__(self):
        return "Cosine()"


SQUARED_EUCLIDEAN = SquaredEuclidean()
COSINE = Cosine()
GEOMETRIES = {geometry.name: geometry for geometry in (SQUARED_EUCLIDEAN, COSINE)}


def unit_rows(X, copy=True):
    """A checked float array or CSR matrix ``X`` with each row divided by its length. Lengths are
    taken in float64 of rows first divided by their largest value, so that neither 1e200 nor
    1e-200 overflows or vanishes. A row of zeros is a ValueError that names it."""
    if sp.issparse(X):
        X = X.copy() if copy else X
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        values = np.abs(X.data.astype(np.float64))
        largest = np.zeros(X.shape[0])
        np.maximum.at(largest, rows, values)
        _refuse_zero_rows(largest)
        scaled = values / largest[rows]
        lengths = np.sqrt(np.bincount(rows, weights=scaled * scaled, minlength=X.shape[0])) * largest
        X.data /= lengths[rows].astype(X.dtype)
        return X
    largest = np.max(np.abs(X), axis=1, initial=0.0).astype(np.float64)
    _refuse_zero_rows(largest)
    lengths = np.linalg.norm(X / largest[:, None].astype(X.dtype), axis=1).astype(np.float64) * largest
    if copy or not X.flags.writeable:
        return (X / lengths[:, None]).astype(X.dtype)
    X /= lengths[:, None].astype(X.dtype)
    return X


def _refuse_zero_rows(largest):
    zero = np.flatnonzero(largest == 0)
    if zero.size:
        rows = ", ".join(str(row) for row in zero[:5]) + (", ..." if zero.size > 5 else "")
        raise ValueError(
            f"X has {zero.size} {'row' if zero.size == 1 else 'rows'} of zeros (row {rows}, counting from 0): "
            "a row of zeros has no direction, so cosine geometry cannot place it; leave it out"
        )
