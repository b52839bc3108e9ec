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
    # What else than NaN or infinity makes a row unusable, for messages about a stream's batches,
    # and whether values can be so large that squared distances overflow.
    unusable = ""
    overflows = True

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
    overflows = False

    def prepare(self, X, copy=True, name="X"):
        """``X``'s rows scaled to unit length: a copy unless ``copy`` is False and ``X`` can be
        scaled in place. A row of zeros has no direction: a ValueError names it (and ``name``)."""
        return unit_rows(X, copy, name)

    def prepare_batch(self, batch):
        """A batch's rows scaled to unit length, as ``prepare`` scales them: in float64 from the
        values exactly (``exact_float64``), each row divided by its largest value first, so that
        none overflows; a row of zeros becomes NaN, which every pass refuses."""
        unit, _ = unit_rows_in_graph(batch)
        return unit

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


def unit_rows(X, copy=True, name="X"):
    """A checked float array or CSR matrix ``X`` with each row divided by its length, taken in
    float64: a copy unless ``copy`` is False (then in place, where ``X`` can be written to).
    float64 squares neither overflow nor vanish for float32 values; a float64 row whose squares
    would (values beyond about 1e154, or all below about 1e-154) is first divided by its largest
    value. A row of zeros is a ValueError that names it. A sparse matrix's duplicate entries are
    summed first (they are one value)."""
    if sp.issparse(X):
        X = X.copy() if copy else X
        X.sum_duplicates()
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        with np.errstate(over="ignore", under="ignore"):  # such rows are measured again
            squares = np.bincount(rows, weights=np.square(X.data, dtype=np.float64), minlength=X.shape[0])
        lengths = _lengths(squares, lambda bad: [X.data[X.indptr[row] : X.indptr[row + 1]] for row in bad], name)
        np.divide(X.data, lengths[rows], out=X.data, casting="unsafe")
        return X
    with np.errstate(over="ignore", under="ignore"):  # such rows are measured again
        squares = np.einsum("ij,ij->i", X, X, dtype=np.float64)
    lengths = _lengths(squares, lambda bad: X[bad], name)
    out = np.empty_like(X) if copy or not X.flags.writeable else X
    np.divide(X, lengths[:, None], out=out, casting="unsafe")  # in float64, then X's dtype
    return out


def _lengths(squares, rows_of, name):
    """Each row's length from its sum of squares in float64; the rows where that sum overflowed
    or underflowed (``rows_of(bad)`` gives their values) are measured again, divided by their
    largest value first."""
    lengths = np.sqrt(squares)
    bad = np.flatnonzero(~(np.isfinite(squares) & (squares >= np.finfo(np.float64).tiny)))
    if bad.size:
        largest = np.zeros(len(squares))
        for row, values in zip(bad, rows_of(bad)):
            values = np.abs(np.asarray(values, np.float64))
            largest[row] = values.max(initial=0.0)
            if largest[row] > 0:
                lengths[row] = np.linalg.norm(values / largest[row]) * largest[row]
        _refuse_zero_rows(np.where(np.isin(np.arange(len(squares)), bad), largest, 1.0), name)
    return lengths


def _refuse_zero_rows(largest, name="X"):
    zero = np.flatnonzero(largest == 0)
    if zero.size:
        rows = ", ".join(str(row) for row in zero[:5]) + (", ..." if zero.size > 5 else "")
        raise ValueError(
            f"{name} has {zero.size} {'row' if zero.size == 1 else 'rows'} of zeros (row {rows}, counting from 0): "
            "a row of zeros has no direction, so cosine geometry cannot place it; leave it out"
        )


def exact_float64(values):
    """A float tensor as float64, exactly, in the graph. TensorFlow's CPU kernels treat float32
    values below the smallest normal number (about 1.2e-38) as zero, even when casting them, so
    float32 is widened from its bits: a subnormal is its mantissa times 2**-149, which float64
    holds exactly."""
    if values.dtype != tf.float32:
        return tf.cast(values, tf.float64)
    bits = tf.bitcast(values, tf.int32)
    exponent = tf.bitwise.bitwise_and(tf.bitwise.right_shift(bits, 23), 0xFF)
    mantissa = tf.cast(tf.bitwise.bitwise_and(bits, 0x7FFFFF), tf.float64) * 2.0**-149
    subnormal = tf.where(bits < 0, -mantissa, mantissa)
    return tf.where(exponent == 0, subnormal, tf.cast(values, tf.float64))


def unit_rows_in_graph(batch):
    """A batch's rows scaled to unit length in the graph, in ``batch``'s dtype, and whether each
    has a direction (a row of zeros, or one with a NaN or an infinity, has none: its values are
    NaN)."""
    wide = exact_float64(batch)
    largest = tf.reduce_max(tf.abs(wide), axis=1, keepdims=True)
    scaled = wide / largest
    unit = scaled / tf.norm(scaled, axis=1, keepdims=True)
    has_direction = tf.reduce_all(tf.math.is_finite(unit), axis=1)
    return tf.cast(unit, batch.dtype), has_direction
