"""k-means as plain functions, in the lesson's terms: ``kmeans`` (Lloyd's loop from given
centroids, keeping its history), ``assign``, ``inertia``, and the starts ``random_centroids``
and ``plusplus``. Empty clusters are relocated by the lesson's rule (``update_centroids``), not
scikit-learn's: these continue the lesson, and the estimators in ``_kmeans`` are
scikit-learn's."""

import collections
import numbers
import typing

import numpy as np

from . import _adapter, _dense, _loop, _seeding
from ._geometry import SQUARED_EUCLIDEAN
from ._samples import Samples
from ._tensorflow import tf
from ._validation import as_centroids, as_labels, as_samples, check_count, check_n_clusters, check_seed


class KMeansResult(typing.NamedTuple):
    """What ``kmeans`` returns.

    Attributes
    ----------
    centroids : ndarray of shape (n_clusters, n_features)
        In the dtype of the samples.
    nearest_indices : ndarray of int64, shape (n_samples,)
        Each sample's nearest of ``centroids``.
    inertia : float
        The inertia of ``centroids`` and ``nearest_indices``.
    n_iterations : int
        The update steps run.
    converged : bool
        Whether the last iteration met the stopping rule.
    inertia_history : ndarray of shape (n_iterations,)
        The inertia after each iteration: each sample's own squared distance (not the
        expansion), summed in float64, so that it never visibly rises.
    shift_history : ndarray of shape (n_iterations,)
        The largest distance a centroid moved in each iteration.
    changed_history : ndarray of shape (n_iterations,)
        The samples that changed cluster in each iteration.
    """

    centroids: np.ndarray
    nearest_indices: np.ndarray
    inertia: float
    n_iterations: int
    converged: bool
    inertia_history: np.ndarray
    shift_history: np.ndarray
    changed_history: np.ndarray


def kmeans(samples, initial_centroids, max_iterations=10, tolerance=0.0):
    """Run Lloyd's algorithm from given centroids as one compiled TensorFlow function, keeping
    its history.

    Given the same start it finds the same centroids as the lesson's loop (alternating
    ``assign_to_nearest`` and ``update_centroids``), up to float rounding, without its
    n_samples x n_clusters x n_features tensor. Empty clusters are relocated as in the lesson's
    ``update_centroids``. Each iteration updates the centroids from the current assignment,
    then assigns every sample to its nearest new centroid.

    Parameters
    ----------
    samples : array-like of shape (n_samples, n_features)
        float32 stays float32; other numbers are computed in float64.
    initial_centroids : array-like of shape (n_clusters, n_features)
    max_iterations : int, default 10
    tolerance : float or None, default 0.0
        Stop when no centroid moves farther than this (in data units) in an iteration, or no
        sample changes cluster. ``0.0`` stops only when nothing changes; ``None`` never stops
        early and runs exactly ``max_iterations`` iterations.

    Returns
    -------
    KMeansResult

    Examples
    --------
    >>> from tfkmeans import kmeans
    >>> result = kmeans([[0.0], [1.0], [10.0], [11.0]], [[0.0], [1.0]])
    >>> result.centroids.ravel().tolist(), result.nearest_indices.tolist(), result.n_iterations
    ([0.5, 10.5], [0, 0, 1, 1], 2)
    """
    samples = as_samples(samples, "samples")
    initial_centroids = as_centroids(initial_centroids, samples, "initial_centroids")
    check_n_clusters(initial_centroids.shape[0], samples, "initial_centroids")
    check_count(max_iterations, "max_iterations")
    stop_early = tolerance is not None
    if stop_early:
        if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Real) or not np.isfinite(tolerance):
            raise ValueError(f"tolerance must be a finite number >= 0 (or None), got {tolerance!r}")
        if tolerance < 0:
            raise ValueError(f"tolerance must be >= 0 (or None), got {tolerance!r}")
    run = lloyd_with_history(samples, initial_centroids, max_iterations, tolerance)
    return KMeansResult(
        centroids=run.centroids,
        nearest_indices=run.labels.astype(np.int64),
        inertia=run.inertias[-1],
        n_iterations=len(run.inertias),
        converged=run.converged,
        inertia_history=np.array(run.inertias),
        shift_history=np.array(run.shifts, samples.dtype),
        changed_history=np.array(run.changes, np.int32),
    )


History = collections.namedtuple(
    "History", "centroids labels start_inertia inertias shifts changes converged centroid_history"
)


def lloyd_with_history(
    samples, initial_centroids, max_iterations, tolerance, keep_centroids=False, geometry=SQUARED_EUCLIDEAN
):
    """Lloyd's loop (the lesson's empty-cluster rule) as one compiled call that keeps its
    history, for checked ``samples`` and centroids (no input validation; rows as ``geometry``
    takes them): ``kmeans`` and the command line. Returns a ``History``: the final centroids
    (``samples``' dtype) and labels, the inertia of the start's assignment, then per iteration
    the inertia after it (each sample's own distance, summed in float64), the largest shift
    and the samples that changed cluster; whether the last iteration met the stopping rule;
    with ``keep_centroids``, the centroids after each iteration (else None)."""
    stop_early = tolerance is not None
    data = Samples(samples, n_clusters=len(initial_centroids), geometry=geometry)
    result = _loop.lloyd(
        data.runner(None, len(initial_centroids)),
        data.relative(initial_centroids),
        tf.constant(-1.0, data.dtype),
        tf.constant(tolerance if stop_early else -1.0, data.dtype),
        tf.constant(stop_early),
        max_iterations,
        _loop.HISTORY_CENTROIDS if keep_centroids else _loop.HISTORY_SCALARS,
        "lesson",
    )
    history = None
    if keep_centroids:
        history = list((result.history + data.offset).astype(samples.dtype))
    return History(
        centroids=(result.centroids.numpy() + data.offset).astype(samples.dtype),
        labels=data.labels(result.labels),
        start_inertia=result.start_inertia,
        inertias=result.inertias.tolist(),
        shifts=result.shifts.astype(np.float64).tolist(),
        changes=result.changes.tolist(),
        converged=result.unchanged or result.tol_reached,
        centroid_history=history,
    )


def assign(samples, centroids):
    """Each sample's nearest centroid, and the inertia of that assignment.

    Parameters
    ----------
    samples : array-like of shape (n_samples, n_features)
    centroids : array-like of shape (n_clusters, n_features)

    Returns
    -------
    nearest_indices : ndarray of int64, shape (n_samples,)
    inertia : float
    """
    samples = as_samples(samples, "samples")
    centroids = as_centroids(centroids, samples, "centroids")
    data = Samples(samples)
    labels, total = data.run(_adapter.assign, None, data.relative(centroids), n_clusters=centroids.shape[0])
    return labels.numpy().astype(np.int64), float(total)


def inertia(samples, centroids, nearest_indices):
    """The within-cluster sum of squares: each sample's squared distance to its centroid, summed
    (in float64). Lloyd's algorithm never makes it larger.

    Parameters
    ----------
    samples : array-like of shape (n_samples, n_features)
    centroids : array-like of shape (n_clusters, n_features)
    nearest_indices : array-like of int, shape (n_samples,)

    Returns
    -------
    float
    """
    samples = as_samples(samples, "samples")
    centroids = as_centroids(centroids, samples, "centroids")
    labels = as_labels(nearest_indices, samples.shape[0], centroids.shape[0])
    data = Samples(samples)
    return float(_dense.exact_inertia(data.tensor, None, data.relative(centroids), tf.constant(labels), float64=True))


def random_centroids(samples, n_clusters, seed=None, *, sample_weight=None):
    """``n_clusters`` distinct samples chosen at random, as initial centroids.

    Unweighted, these are the samples the lesson's seeded ``choose_random_centroids(samples,
    n_clusters, seed)`` (exercise 1) chooses: the first ``n_clusters`` of a stateless shuffle.
    With ``sample_weight``, each sample is drawn with probability proportional to its weight,
    without replacement (as scikit-learn's ``init="random"`` does).

    Parameters
    ----------
    samples : array-like of shape (n_samples, n_features)
    n_clusters : int
        At least 1 and at most ``n_samples``.
    seed : int, optional
        The same seed gives the same centroids in every process; None draws a fresh one.
    sample_weight : array-like of shape (n_samples,), optional

    Returns
    -------
    ndarray of shape (n_clusters, n_features)
        In the dtype of the samples (float32 or float64).

    Examples
    --------
    >>> from tfkmeans import random_centroids
    >>> random_centroids([[0.0], [1.0], [2.0], [3.0]], 2, seed=0).shape
    (2, 1)
    """
    samples = as_samples(samples)
    check_n_clusters(n_clusters, samples)
    seed = _fresh_if_none(check_seed(seed))
    weights = None if sample_weight is None else _as_weights(sample_weight, samples)
    return samples[_seeding.choose_random_indices(samples.shape[0], n_clusters, seed, weights)]


def plusplus(samples, n_clusters, seed, n_local_trials=1, geometry=SQUARED_EUCLIDEAN):
    """The lesson's way of writing k-means++ for the command line and ``random_centroids``'
    companions: checked samples in, the chosen samples out (plain k-means++ by default), drawn
    by ``geometry``'s distance (the rows as it takes them)."""
    samples = as_samples(samples)
    check_n_clusters(n_clusters, samples)
    seed = _fresh_if_none(check_seed(seed))
    return samples[Samples(samples, geometry=geometry).plusplus(None, seed, n_clusters, n_local_trials)]


def _as_weights(sample_weight, samples):
    from sklearn.utils.validation import _check_sample_weight

    # float64: the draw takes their logarithms, and float32 would make a weight of 1e39 infinite.
    weights = _check_sample_weight(sample_weight, samples, dtype=np.float64)
    if np.any(weights < 0) or not np.any(weights > 0):
        raise ValueError("sample_weight must be non-negative, with at least one positive weight")
    return weights


def _fresh_if_none(seed):
    return int(np.random.default_rng().integers(2**31)) if seed is None else seed
