"""k-means as functions: the compiled loop with its per-iteration history, and the inertia."""

import collections

import numpy as np
import tensorflow as tf

from . import _lloyd
from ._checks import as_centroids, as_indices, as_samples, check_finite_number, check_n_clusters, check_positive_int

KMeansResult = collections.namedtuple(
    "KMeansResult",
    [
        "centroids",
        "nearest_indices",
        "inertia",
        "n_iterations",
        "converged",
        "inertia_history",
        "shift_history",
        "changed_history",
    ],
)
KMeansResult.__doc__ = """What ``kmeans`` returns.

centroids : ndarray, float32, (n_clusters, n_features)
nearest_indices : ndarray, int64, (n_samples,) -- each sample's nearest of ``centroids``
inertia : float -- of ``centroids`` and ``nearest_indices``
n_iterations : int -- update steps run
converged : bool -- whether the last iteration met the stopping rule
inertia_history, shift_history, changed_history : ndarrays, one entry per iteration: the
    inertia after it, the largest distance a centroid moved in it, the samples that changed
    cluster in it
"""


def kmeans(samples, initial_centroids, max_iterations=10, tolerance=0.0):
    """Run Lloyd's algorithm as one compiled TensorFlow function, keeping its history.

    Given the same start it finds the same centroids as the lesson's loop (alternating
    ``assign_to_nearest`` and ``update_centroids``), up to float32 rounding, but it never
    builds the n_samples x n_clusters x n_features tensor. Empty clusters are relocated as in
    the lesson's ``update_centroids``.

    Each iteration updates the centroids from the current assignment, then assigns every
    sample to its nearest new centroid. It stops after ``max_iterations`` iterations, or
    earlier when no centroid moved farther than ``tolerance`` or no sample changed cluster.

    Parameters
    ----------
    samples : array-like, shape (n_samples, n_features)
    initial_centroids : array-like, shape (n_clusters, n_features)
    max_iterations : int, default 10
        At least 1.
    tolerance : float or None, default 0.0
        Stop when no centroid moves farther than this (in data units) in an iteration, or no
        sample changes cluster. ``0.0`` stops only when nothing changes; ``None`` never stops
        early and runs exactly ``max_iterations`` iterations.

    Returns
    -------
    KMeansResult
    """
    samples = as_samples(samples, "samples")
    initial_centroids = as_centroids(initial_centroids, samples.shape[1], "initial_centroids")
    check_n_clusters(initial_centroids.shape[0], samples, "initial_centroids")
    check_positive_int(max_iterations, "max_iterations")
    stop_early = tolerance is not None
    if not stop_early:
        tolerance = -1.0  # never reached: run every iteration
    else:
        tolerance = check_finite_number(tolerance, "tolerance")
        if tolerance < 0:
            raise ValueError(f"tolerance must be >= 0 (or None), got {tolerance!r}")

    result = _lloyd.run_compiled(
        _lloyd.lloyd_loop,
        samples,
        None,
        tf.reduce_mean(samples, axis=0),
        initial_centroids,
        tf.constant(-1.0, tf.float32),
        tf.constant(tolerance, tf.float32),
        tf.constant(stop_early),
        max_iter=max_iterations,
        history=True,
    )
    n_iterations = int(result.n_updates)
    inertia_history = result.inertias.numpy()[:n_iterations]
    inertia_history[-1] = float(result.inertia)  # the same number, computed without the expansion
    return KMeansResult(
        centroids=result.centroids.numpy(),
        nearest_indices=result.labels.numpy().astype(np.int64),
        inertia=float(result.inertia),
        n_iterations=n_iterations,
        converged=bool(result.unchanged) or bool(result.tol_reached),
        inertia_history=inertia_history,
        shift_history=result.shifts.numpy()[:n_iterations],
        changed_history=result.changes.numpy()[:n_iterations],
    )


def inertia(samples, centroids, nearest_indices):
    """The within-cluster sum of squares: each sample's squared distance to its centroid, summed.

    Lloyd's algorithm never makes it larger. Summed in float64.

    Parameters
    ----------
    samples : array-like, shape (n_samples, n_features)
    centroids : array-like, shape (n_clusters, n_features)
    nearest_indices : array-like of int, shape (n_samples,)

    Returns
    -------
    float
    """
    samples = as_samples(samples, "samples")
    centroids = as_centroids(centroids, samples.shape[1], "centroids")
    nearest_indices = as_indices(nearest_indices, samples.shape[0], centroids.shape[0], "nearest_indices")
    return float(_lloyd.exact_inertia(samples, None, centroids, nearest_indices))


def assign(samples, centroids):
    """Each sample's nearest centroid, and the inertia of that assignment.

    Returns
    -------
    nearest_indices : ndarray, int64, shape (n_samples,)
    inertia : float
    """
    samples = as_samples(samples, "samples")
    centroids = as_centroids(centroids, samples.shape[1], "centroids")
    labels, total = _lloyd.run_compiled(_lloyd.assign, samples, None, tf.reduce_mean(samples, axis=0), centroids)
    return labels.numpy().astype(np.int64), float(total)
