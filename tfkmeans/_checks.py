"""Argument checks for the package's functions: a clear ValueError or TypeError that names the
argument, up front, instead of an error from deep inside TensorFlow (or a silent NaN) later."""

import numbers

import numpy as np
import tensorflow as tf


def check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_finite_number(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_seed(seed):
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be a non-negative integer or None, got {seed!r} ({type(seed).__name__})")
    if not 0 <= seed < 2**63:
        raise ValueError(f"seed must be a non-negative integer below 2**63, got {seed!r}")
    return int(seed)


def as_float_matrix(value, name):
    """``value`` as a 2-D float32 tensor, or a TypeError/ValueError naming ``name``."""
    if isinstance(value, tf.Tensor):
        if not (value.dtype.is_floating or value.dtype.is_integer) or value.dtype == tf.bool:
            raise TypeError(f"{name} must hold numbers, got a tensor of {value.dtype.name}")
        matrix = tf.cast(value, tf.float32)
    else:
        try:
            array = np.asarray(value)
        except ValueError as error:  # NumPy refuses ragged lists
            raise ValueError(f"{name} must be a 2-D array of numbers with rows of equal length ({error})") from None
        if array.dtype.kind not in "iuf":
            raise TypeError(f"{name} must hold numbers, got an array of {array.dtype}")
        matrix = tf.constant(array, dtype=tf.float32)
    if matrix.shape.rank != 2:
        raise ValueError(f"{name} must be 2-D (rows x features), got shape {tuple(matrix.shape)}")
    if matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {tuple(matrix.shape)}")
    if not bool(tf.reduce_all(tf.math.is_finite(matrix))):
        raise ValueError(f"{name} contains NaN or infinite values (after conversion to float32)")
    return matrix


def as_samples(samples, name="samples"):
    return as_float_matrix(samples, name)


def as_centroids(centroids, n_features, name="centroids"):
    centroids = as_float_matrix(centroids, name)
    if centroids.shape[1] != n_features:
        raise ValueError(f"{name} has {centroids.shape[1]} features but the samples have {n_features}")
    return centroids


def check_n_clusters(n_clusters, samples, name="n_clusters"):
    check_positive_int(n_clusters, name)
    n_samples = samples.shape[0]
    if n_clusters > n_samples:
        raise ValueError(f"{name}: {n_clusters} clusters is more than the {n_samples} samples given")


def as_indices(indices, n_samples, n_clusters, name):
    """``indices`` as a 1-D int64 tensor of length ``n_samples`` with values in [0, n_clusters)."""
    if isinstance(indices, tf.Tensor):
        if not indices.dtype.is_integer:
            raise TypeError(f"{name} must hold integers, got a tensor of {indices.dtype.name}")
        array = indices.numpy()
    else:
        array = np.asarray(indices)
        if array.size == 0 and array.dtype.kind == "f":
            array = array.astype(np.int64)  # an empty list comes back as float64
        if array.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integers, got an array of {array.dtype}")
    if array.ndim != 1 or array.shape[0] != n_samples:
        raise ValueError(f"{name} must have one entry per sample, shape ({n_samples},), got shape {array.shape}")
    if array.size and (array.min() < 0 or array.max() >= n_clusters):
        bad = array[(array < 0) | (array >= n_clusters)][0]
        raise ValueError(f"{name} must lie in [0, {n_clusters}) for n_clusters={n_clusters}, found {bad}")
    return tf.constant(array, dtype=tf.int64)
