"""The one precision policy: which float type k-means computes in, or why it cannot.

float32 data is computed in float32 and float64 data in float64 (integers become float64 at
the edge, as in scikit-learn), with one exception each way:

- float32 data so far from the point distances are measured from that squared distances could
  overflow float32 (values beyond about 1e18) is computed in float64, where they cannot;
- float64 data that far in float64's terms (about 1e153) is refused: nothing wider is left.

Results computed in float64 for float32 data go back to float32, or are refused where they do
not fit (``in_dtype``). Every layer asks here rather than deciding for itself: the host data
layer (``_samples``), the stream (``_stream``), the serving graph (``_serving``) and the
estimators' edge. Nothing here imports TensorFlow.
"""

import numpy as np

# float32 stays float32; anything else becomes float64 (scikit-learn's order for check_array).
FLOAT_DTYPES = [np.float64, np.float32]
# Squared distances must stay this many times below the dtype's largest number: a squared
# distance between two points within ``largest`` of an origin is at most 4 x features x
# largest**2, and sums of a few of them (an inertia, a running mean) must not overflow either.
HEADROOM = 16.0


def squares_could_overflow(largest, n_features, dtype=np.float32):
    """Whether a squared distance between two rows whose values lie at most ``largest`` from the
    origin of the computation (or to a mean of such rows) could overflow ``dtype``."""
    return 4.0 * HEADROOM * n_features * largest * largest >= float(np.finfo(dtype).max)


def largest_safe(n_features, dtype=np.float32):
    """The largest distance from the origin that ``squares_could_overflow`` allows."""
    return float(np.sqrt(float(np.finfo(dtype).max) / (4.0 * HEADROOM * n_features)))


def compute_dtype(dtype, largest, n_features, origin="the centre they are measured from"):
    """The float type to compute in for data of ``dtype`` whose values lie up to ``largest``
    from ``origin``: ``dtype`` itself, float64 for float32 data whose squares could overflow
    float32, or a ValueError for float64 data whose squares could overflow float64."""
    dtype = np.dtype(dtype)
    if dtype == np.float32 and squares_could_overflow(largest, n_features):
        dtype = np.dtype(np.float64)
    if dtype == np.float64 and squares_could_overflow(largest, n_features, np.float64):
        raise ValueError(
            f"X holds values too large for k-means: they lie up to {largest:.3g} from {origin}, "
            "and squared distances between them would overflow float64; rescale the data"
        )
    return dtype


def largest_from(low, high, centre):
    """How far samples lie from ``centre`` at most, from each feature's lowest and highest."""
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.max(np.maximum(np.abs(high - centre), np.abs(low - centre)), initial=0.0))


def sparse_largest(X):
    """The largest absolute value a scipy.sparse matrix holds (sparse rows are never centred:
    their distances are measured from the origin)."""
    return float(np.max(np.abs(X.data))) if X.nnz else 0.0


def in_dtype(values, dtype, what="X's distances to the centres"):
    """``values`` computed in float64 for data of ``dtype``, back in ``dtype``; a ValueError
    where they do not fit in it."""
    if values.dtype == dtype:
        return values
    if np.any(np.abs(values) > np.finfo(dtype).max):
        raise ValueError(f"{what} exceed {np.dtype(dtype).name}'s range; pass X as float64")
    return values.astype(dtype)
