"""The host data layer: checked samples made ready for the kernels, and the kernels run on them.

Dense samples are shifted by a point within their range into a tensor (``centred``), which keeps
squared distances precise far from the origin, and, when they run under XLA, padded with
zero-weight rows to a bucketed count (``_dispatch.padded_rows``), so that a new sample count
reuses a compiled shape. Sparse samples become the parts of a CSR matrix (``sparse_parts``),
never shifted, which would fill them in. Which float type they are computed in is
``_precision``'s policy, asked here once for both. Nothing here validates: the estimators
check their input first, and a geometry's ``prepare`` (unit rows for cosine) runs before.
"""

import concurrent.futures

import numpy as np
import scipy.sparse as sp

from . import _adapter, _dispatch, _precision, _seeding
from ._dense import DISTANCE_BLOCK_BYTES
from ._geometry import SQUARED_EUCLIDEAN
from ._tensorflow import tf

# The offset that ``centred`` subtracts is the mean of every (n // OFFSET_SAMPLE)-th row: from this
# many rows to twice as many, or all of them when there are fewer than twice as many.
OFFSET_SAMPLE = 4096
# Rows subtracted at a time by ``_subtract``: a block stays in the cache while its largest value
# is found.
SUBTRACT_ROWS_BYTES = 2**20


def centred(X, offset=None, in_place=False, rows=None, at_least=None):
    """``X`` (a NumPy array) minus ``offset``, as a tensor, and the offset (NumPy, in the dtype
    computed in).

    Without ``offset``, the mean of evenly spaced rows (``OFFSET_SAMPLE`` to twice as many): a
    point within the data's range, which is what keeps the distances' precision; the results
    are the same up to rounding whichever such point it is. NumPy subtracts into a 64-byte
    aligned buffer that TensorFlow takes over through DLPack without copying it (converting the
    array and then subtracting in TensorFlow makes two full copies). With ``in_place``
    (scikit-learn's ``copy_x=False``), an aligned, writeable, C-ordered ``X`` is itself shifted
    and shared with the tensor, saving the copy; the caller adds the offset back.

    With ``rows`` (more than ``X`` has), the tensor has that many rows, the last ones zero:
    a bucketed shape (``_dispatch.padded_rows``) that the kernels compile once for many sample
    counts.

    The dtype is ``_precision.compute_dtype``'s: float32 data whose squared distances from the
    offset could overflow comes back as a float64 tensor and offset, ``X`` untouched; float64
    data that could overflow is refused with a ValueError, ``X`` as it was. ``at_least`` (the
    weights' dtype) makes float32 data come back as float64 too.
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
        magnitude = float(np.max(np.abs(offset), initial=0.0))
        dtype = _precision.compute_dtype(X.dtype, largest, X.shape[1], at_least=at_least, magnitude=magnitude)
    except ValueError:
        if out is X:
            X += offset
        raise
    if dtype != X.dtype:
        if out is X:
            X += offset
        return centred(X.astype(dtype), offset, rows=rows)
    try:
        tensor = tf.experimental.dlpack.from_dlpack(out.__dlpack__())
    except (AttributeError, TypeError, ValueError, tf.errors.OpError):  # a build without DLPack: copy
        tensor = tf.constant(out)
    return _dispatch.on_device(tensor), offset


def _subtract(X, offset, out):
    """``out[:n] = X - offset``, and the largest absolute value of the result.

    In blocks that stay in the cache (the largest value is found while a block is there), on two
    threads for large arrays (NumPy releases the GIL). NumPy's inner loop runs along a row, so
    narrow rows are subtracted several to a line.
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
        with np.errstate(over="ignore"):  # float32 near its largest number: float64 then (``centred``)
            np.subtract(source[begin : begin + step], tiled, out=part)
        return max(float(part.max()), -float(part.min())) if part.size else 0.0

    starts = range(0, lines[0], step)
    if X.nbytes >= 2**24:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            largest = max(pool.map(block, starts), default=0.0)
    else:
        largest = max(map(block, starts), default=0.0)
    rest = out[whole:n_samples]
    with np.errstate(over="ignore"):
        np.subtract(X[whole:], offset, out=rest)
    if rest.size:
        largest = max(largest, float(np.abs(rest).max()))
    return largest


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


def sparse_in_range(X, at_least=None):
    """A CSR matrix ``X`` in the dtype ``_precision`` computes it in: float64 when float32
    squared distances from the origin could overflow (or ``at_least`` is float64), or a
    ValueError when float64 ones could."""
    dtype = _precision.compute_dtype(
        X.dtype, _precision.sparse_largest(X), X.shape[1], origin="zero", at_least=at_least
    )
    return X if dtype == X.dtype else X.astype(dtype)


def sparse_parts(X):
    """The tensors a ``_sparse.SparseSamples`` is built from, for a scipy CSR matrix ``X``
    (float32 or float64): (row of each value, column of each value, the values, the shape, each
    row's squared norm, where each row's values start)."""
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


class Samples:
    """``X`` (a checked NumPy array or CSR matrix, its rows as ``geometry`` takes them) for the
    kernels.

    ``offset`` is what was subtracted (zeros for sparse samples, and in a geometry that is not
    ``centred``); ``dtype`` the dtype the kernels compute in; ``n_samples`` the real rows.
    Give ``n_clusters`` to let dense samples be padded for XLA, and ``at_least`` (the dtype
    ``_validation.check_weights`` gave the weights) to compute in at least that dtype: float32
    data whose weights span more than float32 carries is computed in float64.
    """

    def __init__(self, X, offset=None, in_place=False, n_clusters=None, geometry=SQUARED_EUCLIDEAN, at_least=None):
        self.sparse = sp.issparse(X)
        self.geometry = geometry
        self.n_samples, self.n_features = X.shape
        self.valid = None
        if self.sparse:
            X = sparse_in_range(X, at_least)
            self.parts = sparse_parts(X)
            self.offset = np.zeros(X.shape[1], X.dtype)
            self.in_place = False
        else:
            if not geometry.centred:
                offset = np.zeros(X.shape[1], X.dtype)
            rows = self.n_samples
            shifting_in_place = in_place and can_centre_in_place(X)
            padding = n_clusters is not None and not shifting_in_place
            if padding and _dispatch.pads(self.n_samples, self.n_features, n_clusters):
                rows = _dispatch.padded_rows(self.n_samples, self.n_features * X.dtype.itemsize)
                # Even when the count is a bucket's own: one compiled function per bucket.
                self.valid = tf.constant(self.n_samples, tf.int32)
            self.tensor, self.offset = centred(X, offset, in_place=in_place, rows=rows, at_least=at_least)
            self.in_place = shifting_in_place and self.offset.dtype == X.dtype
        self.dtype = self.offset.dtype
        self._X = X

    def run(self, function, weights, *arguments, n_clusters, allow_xla=True, **static):
        """``function(adapter, weights, *arguments, **static)`` compiled by the dispatcher
        (``_dispatch.run_dense``, ``_dispatch.run_sparse``). Per-row ``weights`` must come from
        ``weights``."""
        if self.sparse:
            return _dispatch.run_sparse(function, self.parts, weights, *arguments, geometry=self.geometry, **static)
        return _dispatch.run_dense(
            function,
            self.tensor,
            weights,
            *arguments,
            n_clusters=n_clusters,
            allow_xla=allow_xla,
            valid=self.valid,
            geometry=self.geometry,
            **static,
        )

    def runner(self, weights, n_clusters, allow_xla=True):
        """``run`` with ``weights`` and ``n_clusters`` given: what ``_loop.lloyd`` calls."""

        def run(function, *arguments, **static):
            return self.run(function, weights, *arguments, n_clusters=n_clusters, allow_xla=allow_xla, **static)

        return run

    def assign(self, centres, weights=None):
        """Each sample's nearest of ``centres`` (in the data's coordinates) and the (weighted)
        inertia of that assignment: (labels as NumPy, float). One pass, run as a plain
        ``tf.function`` traced once for any number of samples: a prediction at a length never
        seen costs no compilation, and no memory for a compiled program per length."""
        labels, inertia = self.run(
            _adapter.assign, self.weights(weights), self.relative(centres), n_clusters=len(centres), allow_xla=False
        )
        return self.labels(labels), float(inertia)

    def plusplus(self, weights, seed, n_clusters, trials):
        """The indices k-means++ chooses (``_seeding.plusplus``), as NumPy: ``weights`` per row
        (NumPy, or None), ``trials`` candidates a centre. Not under XLA: its CPU lowering of
        ``tf.cumsum`` here takes time quadratic in the samples."""
        return self.run(
            _seeding.plusplus,
            self.weights(weights),
            tf.constant(seed, tf.int64),
            tf.constant(n_clusters, tf.int32),
            tf.constant(trials, tf.int32),
            n_clusters=n_clusters,
            allow_xla=False,
        ).numpy()

    def reported(self, centres):
        """The distance from every sample to every one of ``centres`` (in the data's
        coordinates), as ``transform`` reports it, (n_samples, n_centres) in the compute dtype:
        a block of rows at a time, whose distances stay within ``DISTANCE_BLOCK_BYTES``."""
        relative = self.relative(centres)
        rows = max(1, DISTANCE_BLOCK_BYTES // (self.dtype.itemsize * max(len(centres), 1)))
        parts = []
        for begin in range(0, self.n_samples, rows):
            if self.sparse:
                block = sparse_parts(self._X[begin : begin + rows])
                run = _dispatch.run_sparse(_adapter.reported, block, None, relative, geometry=self.geometry)
            else:
                block = self.tensor[begin : begin + rows]
                run = _dispatch.run_dense(
                    _adapter.reported,
                    block,
                    None,
                    relative,
                    n_clusters=len(centres),
                    allow_xla=False,
                    geometry=self.geometry,
                )
            parts.append(run.numpy())
        return np.concatenate(parts) if parts else np.zeros((0, len(centres)), self.dtype)

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
