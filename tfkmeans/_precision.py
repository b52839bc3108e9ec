"""The one precision policy: which float type k-means computes in, or why it cannot.

float32 data is computed in float32 and float64 data in float64 (integers become float64 at
the edge, as in scikit-learn), with one exception each way:

- float32 data so far from the point distances are measured from that squared distances could
  overflow float32 (values beyond about 1e18) is computed in float64, where they cannot;
- float64 data that far in float64's terms (about 1e153) is refused: nothing wider is left.

and the same the other way: data so close to that point that squared distances would fall
near float32's subnormal numbers (values all within about 1e-15), which TensorFlow's CPU
kernels flush to zero (every sample would tie with every centre), is computed in float64;
float64 data that close in float64's terms (about 1e-150) is refused.

Sample weights are a second reason for float64 (``weights_dtype``): float32 data whose positive
weights span more than float32 carries (a largest over smallest of more than 2**100) is computed
in float64, and float64 data whose weights span more than 2**996 is refused.

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
# The weights are divided by a power of two that puts the largest in [1, 2)
# (``_validation.check_weights``). The smallest positive one must then stay this many times above
# the dtype's smallest normal number, so that its products with the samples' values and squared
# distances (a weighted sum, an inertia) stay normal numbers down to 1 / WEIGHT_HEADROOM of them:
# TensorFlow's CPU kernels flush subnormal numbers to zero, which would make such a sample
# weightless (never drawn as a start, a cluster of only such samples empty, its inertia 0).
# float32 (smallest normal 2**-126) thus carries weights spanning 2**100, float64 2**996.
WEIGHT_HEADROOM = 2.0**26
# Squared distances between samples must reach this many times the dtype's smallest normal
# number, so that they and their differences stay normal numbers (``squares_could_underflow``).
UNDERFLOW_HEADROOM = 2.0**26


def squares_could_overflow(largest, n_features, dtype=np.float32):
    """Whether a squared distance between two rows whose values lie at most ``largest`` from the
    origin of the computation (or to a mean of such rows) could overflow ``dtype``."""
    return 4.0 * HEADROOM * n_features * largest * largest >= float(np.finfo(dtype).max)


def squares_could_underflow(largest, dtype=np.float32, magnitude=0.0):
    """Whether squared distances between rows whose values lie at most ``largest`` from the
    origin of the computation would fall within ``UNDERFLOW_HEADROOM`` of ``dtype``'s smallest
    normal number. Not where ``largest`` is within the rounding of values of ``magnitude`` (how
    large the values themselves are): rows that are one point, whose distances are 0 indeed."""
    spread = largest > 16.0 * float(np.finfo(dtype).eps) * magnitude
    return spread and largest * largest < float(np.finfo(dtype).tiny) * UNDERFLOW_HEADROOM


def largest_safe(n_features, dtype=np.float32):
    """The largest distance from the origin that ``squares_could_overflow`` allows."""
    return float(np.sqrt(float(np.finfo(dtype).max) / (4.0 * HEADROOM * n_features)))


def compute_dtype(dtype, largest, n_features, origin="the centre they are measured from", at_least=None, magnitude=0.0):
    """The float type to compute in for data of ``dtype`` whose values lie up to ``largest``
    from ``origin``: ``dtype`` itself, float64 for float32 data whose squares could overflow or
    underflow float32, or a ValueError for float64 data whose squares could overflow or
    underflow float64. With ``at_least`` (the dtype ``weights_dtype`` chose for the samples'
    weights), never narrower. ``magnitude``: how far ``origin`` is from zero
    (``squares_could_underflow``)."""
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        # float32 values lie within twice float32's largest number of any point of their range,
        # so their squares always fit float64 (``largest``, measured in float32, may itself have
        # overflowed to infinity: it is no reason to refuse them).
        wanted = at_least is not None and np.dtype(at_least) == np.float64
        wide = wanted or squares_could_overflow(largest, n_features)
        wide = wide or squares_could_underflow(largest, np.float32, magnitude)
        # (Nor do float32 values' squares, down to its smallest subnormal, underflow float64.)
        return np.dtype(np.float64) if wide else dtype
    if squares_could_overflow(largest, n_features, np.float64):
        raise ValueError(
            f"X holds values too large for k-means: they lie up to {largest:.3g} from {origin}, "
            "and squared distances between them would overflow float64; rescale the data"
        )
    if squares_could_underflow(largest, np.float64, magnitude):
        raise ValueError(
            f"X holds values too close together for k-means: they lie at most {largest:.3g} from {origin}, "
            "and squared distances between them would fall below float64's normal numbers, which are "
            "computed as 0; rescale the data"
        )
    return dtype


def weight_span_limit(dtype):
    """The largest ratio of the largest to the smallest positive weight that ``dtype`` carries
    (``WEIGHT_HEADROOM``): 2**100 for float32, 2**996 for float64."""
    return 1.0 / (float(np.finfo(dtype).tiny) * WEIGHT_HEADROOM)


def weights_dtype(dtype, smallest, largest):
    """The float type to compute in for data of ``dtype`` weighted by positive weights from
    ``smallest`` to ``largest`` (once rescaled: ``WEIGHT_HEADROOM``): ``dtype`` itself, float64
    for float32 data whose weights span more than float32 carries, or a ValueError where they
    span more than float64 carries."""
    dtype = np.dtype(dtype)
    ratio = smallest / largest  # 0 below float64's range: beyond any limit
    if dtype == np.float32 and ratio * weight_span_limit(np.float32) < 1.0:
        dtype = np.dtype(np.float64)
    if dtype == np.float64 and ratio * weight_span_limit(np.float64) < 1.0:
        raise ValueError(
            f"sample_weight holds positive weights from {smallest:.3g} to {largest:.3g}: a ratio beyond "
            "2**996, more than float64 carries (the smallest would count as 0); rescale the smallest "
            "weights, or set them to 0"
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
