"""Checks at the package's public edge, built on scikit-learn's validation helpers: a clear
ValueError or TypeError that names the argument, up front, instead of an error from deep inside
TensorFlow (or a silent NaN) later. The compiled kernels behind them check nothing."""

import numbers

import numpy as np
from sklearn.utils.validation import check_array, check_scalar

from ._tensorflow import tf

FLOAT_DTYPES = [np.float64, np.float32]  # float32 stays float32; anything else becomes float64


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
