"""Checks at the package's public edge, built on scikit-learn's validation helpers: a clear
ValueError or TypeError that names the argument, up front, instead of an error from deep inside
TensorFlow (or a silent NaN) later. The compiled kernels behind them check nothing."""

import numbers

import numpy as np
from sklearn.utils.validation import check_array, check_scalar

from ._precision import FLOAT_DTYPES, weights_dtype
from ._tensorflow import tf


def as_samples(value, name="samples"):
    """``value`` as a 2-D NumPy array of finite float32 or float64 numbers."""
    if isinstance(value, (tf.Tensor, tf.Variable)):
        value = value.numpy()
    return check_array(value, dtype=FLOAT_DTYPES, input_name=name, estimator=None)


def as_centroids(value, samples, name="centroids"):
    """``value`` as centroids for ``samples``: the same number of features, the same dtype."""
    centroids = as_samples(value, name)
    if centroids.shape[1] != samples.shape[1]:
        raise ValueError(f"{name} has {centroids.shape[1]} features but the samples have {samples.shape[1]}")
    return centroids.astype(samples.dtype, copy=False)


def check_count(value, name, minimum=1):
    """An integer of at least ``minimum`` (not a bool)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, not bool")
    return int(check_scalar(value, name, numbers.Integral, min_val=minimum))


def check_n_clusters(n_clusters, samples, name="n_clusters"):
    check_count(n_clusters, name)
    if n_clusters > samples.shape[0]:
        raise ValueError(f"{name}: {n_clusters} clusters is more than the {samples.shape[0]} samples given")
    return int(n_clusters)


def check_seed(seed):
    """None, or an integer in [0, 2**63)."""
    if seed is None:
        return None
    check_count(seed, "seed", minimum=0)
    if seed >= 2**63:
        raise ValueError(f"seed must be below 2**63, got {seed}")
    return int(seed)


def as_labels(value, n_samples, n_clusters, name="nearest_indices"):
    """A 1-D integer array of length ``n_samples`` with values in [0, n_clusters)."""
    if isinstance(value, (tf.Tensor, tf.Variable)):
        value = value.numpy()
    array = np.asarray(value)
    if array.size == 0 and array.dtype.kind == "f":
        array = array.astype(np.int64)  # an empty list comes back as float64
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integers, got an array of {array.dtype}")
    if array.shape != (n_samples,):
        raise ValueError(f"{name} must have one entry per sample, shape ({n_samples},), got shape {array.shape}")
    if array.size and (array.min() < 0 or array.max() >= n_clusters):
        bad = array[(array < 0) | (array >= n_clusters)][0]
        raise ValueError(f"{name} must lie in [0, {n_clusters}) for {n_clusters} clusters, found {bad}")
    return array.astype(np.int32)


def refuse_bools(estimator, names):
    """A TypeError (scikit-learn's InvalidParameterError) for a bool given as one of the
    integer parameters ``names``: ``KMeans(True)`` is a slip, not one cluster. scikit-learn's
    own checks take ``True`` for the integer 1 (``bool`` is a subclass of ``int``)."""
    from sklearn.utils._param_validation import InvalidParameterError

    for name in names:
        value = getattr(estimator, name, None)
        if isinstance(value, (bool, np.bool_)):
            raise InvalidParameterError(
                f"The {name!r} parameter of {type(estimator).__name__} must be an int, not a bool. Got {value!r} instead."
            )


def check_sparse_structure(X, name="X"):
    """A ValueError for a scipy.sparse matrix or array whose index arrays do not describe a
    matrix of its shape: an index out of range, or ``indptr`` not running from 0 up to the
    number of stored values. scipy's conversions and TensorFlow's kernels trust these arrays and
    write out of bounds (a segfault, or "double free or corruption"); checking them is O(nnz).
    Other formats (DOK, LIL, DIA) keep their structure in Python objects or offsets that scipy
    checks itself."""
    import scipy.sparse as sp

    if not sp.issparse(X):
        return
    n_rows, n_columns = X.shape
    fmt = X.format
    if fmt in ("csr", "csc", "bsr"):
        blocks = getattr(X, "blocksize", (1, 1))
        major, minor = (n_rows // blocks[0], n_columns // blocks[1]) if fmt != "csc" else (n_columns, n_rows)
        what = {"csr": ("row", "column"), "csc": ("column", "row"), "bsr": ("block row", "block column")}[fmt]
        indptr, indices = np.asarray(X.indptr), np.asarray(X.indices)
        if indptr.ndim != 1 or indptr.shape[0] != major + 1:
            raise ValueError(
                f"{name} is not a valid {fmt.upper()} matrix: indptr has {indptr.size} entries for {major} "
                f"{what[0]}s (it needs {major + 1})"
            )
        if indptr[0] != 0 or np.any(indptr[1:] < indptr[:-1]):
            raise ValueError(f"{name} is not a valid {fmt.upper()} matrix: indptr must start at 0 and never decrease")
        stored = int(indptr[-1])
        if stored > indices.shape[0] or stored > np.shape(X.data)[0]:
            raise ValueError(
                f"{name} is not a valid {fmt.upper()} matrix: indptr ends at {stored} but only "
                f"{min(indices.shape[0], np.shape(X.data)[0])} values are stored"
            )
        _check_indices(indices[:stored], minor, f"{name} is not a valid {fmt.upper()} matrix: {what[1]} index")
    elif fmt == "coo":
        rows, columns = (np.asarray(part) for part in X.coords) if hasattr(X, "coords") else (X.row, X.col)
        if rows.shape != np.shape(X.data) or columns.shape != np.shape(X.data):
            raise ValueError(f"{name} is not a valid COO matrix: its row, col and data arrays differ in length")
        _check_indices(rows, n_rows, f"{name} is not a valid COO matrix: row index")
        _check_indices(columns, n_columns, f"{name} is not a valid COO matrix: column index")


def _check_indices(indices, bound, message):
    if indices.dtype.kind not in "iu":
        raise ValueError(f"{message} array holds {indices.dtype}, not integers")
    if indices.size:
        low, high = indices.min(), indices.max()
        if low < 0 or high >= bound:
            bad = low if low < 0 else high
            raise ValueError(f"{message} {bad} is out of range [0, {bound})")


def check_weights(sample_weight, X, rescale=True):
    """``sample_weight`` for ``X`` as the estimators take it: ``(weights, scale)``, where
    ``weights`` is None when all are equal (they do not move the centres; ``scale`` is then
    that weight) and otherwise the weights divided by ``scale``, in the dtype the precision
    policy chooses for them (``_precision.weights_dtype``): ``X``'s, or float64 for float32 data
    whose weights span more than float32 carries. Samples weighted by them are computed in at
    least that dtype (``Samples(at_least=...)``).

    Scaling every weight by one positive constant changes neither the centres nor the labels
    of k-means, only the inertia, by that constant. So the weights are divided by the power of
    two at or below the largest (exact: the centres, labels and inertia of moderate weights are
    the same to the bit) and the inertia is multiplied back by it: weights near float64's (or
    float32's) largest number no longer overflow the sums into NaN centres, and subnormal ones
    no longer vanish. Non-finite or negative weights, or none above 0, are refused. With
    ``rescale=False`` (``partial_fit``, whose running counts carry the weights from call to
    call) the weights are kept as given (None only when all are 1), and ones that are not normal numbers of ``X``'s dtype
    well inside its range are refused instead (those kept are at least 2**32 times its smallest
    normal number, the policy's ``WEIGHT_HEADROOM`` and more, so ``X``'s dtype carries them)."""
    from sklearn.utils.validation import _check_sample_weight

    if sample_weight is None:
        return None, 1.0
    # float64 first: float32 would turn a weight of 1e39 into infinity before it is checked.
    weights = _check_sample_weight(sample_weight, X, dtype=np.float64)
    if np.any(weights < 0) or not np.any(weights > 0):
        raise ValueError("sample_weight must be non-negative, with at least one positive weight")
    dtype = np.dtype(X.dtype)
    largest = float(weights.max())
    if not rescale:
        smallest = float(weights[weights > 0].min())
        limit = float(np.finfo(dtype).max) / 2**32
        with np.errstate(over="ignore"):  # an infinite sum is refused just below
            total = float(np.sum(weights))
        if smallest < float(np.finfo(dtype).tiny) * 2**32 or not total < limit:
            raise ValueError(
                f"sample_weight holds weights from {smallest:.3g} to {largest:.3g} (summing to {total:.3g}); "
                f"partial_fit keeps running counts of them in {dtype.name}, so they must lie between "
                f"{float(np.finfo(dtype).tiny) * 2**32:.3g} and a sum of {limit:.3g}: rescale them"
            )
        # Equal weights still count: the running counts compare them with other calls' weights.
        if np.all(weights == 1.0):
            return None, 1.0
        return weights.astype(dtype), 1.0
    if np.all(weights == weights[0]):
        return None, float(weights[0])
    compute = weights_dtype(dtype, float(weights[weights > 0].min()), largest)
    # The power of two at or below the largest weight (2**1024, just above float64's largest
    # number, is infinite): the largest weight becomes one in [1, 2).
    scale = float(np.ldexp(1.0, int(np.frexp(largest)[1]) - 1))
    return (weights / scale).astype(compute), scale
