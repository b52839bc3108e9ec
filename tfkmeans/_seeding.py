"""Choosing the initial centroids: samples at random (the lesson's way), or k-means++ seeding."""

import math

import numpy as np

from . import _lloyd
from ._tensorflow import tf
from ._validation import as_samples, check_count, check_n_clusters, check_seed


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
    return samples[choose_random_indices(samples.shape[0], n_clusters, seed, weights)]


def choose_random_indices(n_samples, n_clusters, seed, weights=None):
    """Indices of ``n_clusters`` distinct samples (no checks): see ``random_centroids``."""
    if weights is None:
        shuffled = tf.random.experimental.stateless_shuffle(tf.range(n_samples), seed=[seed, 0])
        return shuffled[:n_clusters].numpy()
    # Weighted sampling without replacement: the largest log(weight) + Gumbel noise.
    uniform = tf.random.stateless_uniform([n_samples], seed=[seed, 1], minval=1e-20, maxval=1.0, dtype=tf.float64)
    with np.errstate(divide="ignore"):  # a zero weight: log 0 = -inf, never chosen
        keys = np.log(np.asarray(weights, np.float64)) - np.log(-np.log(uniform.numpy()))
    return np.argsort(-keys, kind="stable")[:n_clusters]


def kmeans_plusplus(X, n_clusters, *, sample_weight=None, x_squared_norms=None, random_state=None, n_local_trials=None):
    """Choose initial centres by k-means++ seeding (Arthur and Vassilvitskii, 2007), as
    ``sklearn.cluster.kmeans_plusplus`` does.

    The first centre is a sample drawn at random (in proportion to its weight); each next one
    is drawn with probability proportional to its (weighted) squared distance from the nearest
    centre chosen so far. "Greedy" k-means++, as in scikit-learn: ``n_local_trials`` candidates
    are drawn for each centre and the one that lowers the inertia most is kept. The whole
    seeding runs as one TensorFlow graph (``tf.function``).

    Parameters
    ----------
    X : array-like or sparse matrix
        Of shape (n_samples, n_features).
    n_clusters : int
    sample_weight : array-like of shape (n_samples,), default None
    x_squared_norms : array-like of shape (n_samples,), default None
        Accepted for scikit-learn's signature and checked; the distances are computed here.
    random_state : int, RandomState instance or None, default None
        The same value gives the same centres in every process.
    n_local_trials : int, default None
        Candidates per centre after the first: ``2 + int(log(n_clusters))`` by default; 1 is
        the original k-means++.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        In the dtype of the data (float64 for integers).
    indices : ndarray of shape (n_clusters,)
        The samples chosen: ``X[indices] == centers``.

    Examples
    --------
    >>> from tfkmeans import kmeans_plusplus
    >>> centers, indices = kmeans_plusplus([[0.0], [0.1], [10.0], [10.1]], 2, random_state=3)
    >>> sorted(centers.round().ravel().tolist())
    [0.0, 10.0]
    """
    import scipy.sparse as sp
    from sklearn.utils import check_random_state
    from sklearn.utils.validation import check_array

    from ._validation import check_sparse_structure, check_weights

    check_sparse_structure(X)
    X = check_array(X, accept_sparse="csr", dtype=[np.float64, np.float32])
    # Rescaled (only their proportions matter here): weights near the dtype's largest number
    # would overflow the probabilities, subnormal ones vanish.
    weights, _ = check_weights(sample_weight, X)
    if X.shape[0] < n_clusters:
        raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={n_clusters}.")
    if x_squared_norms is not None:
        x_squared_norms = check_array(x_squared_norms, dtype=None, ensure_2d=False)
        if x_squared_norms.shape[0] != X.shape[0]:
            raise ValueError(
                f"The length of x_squared_norms {x_squared_norms.shape[0]} should "
                f"be equal to the length of n_samples {X.shape[0]}."
            )
    check_count(n_clusters, "n_clusters")
    trials = (
        default_local_trials(n_clusters) if n_local_trials is None else check_count(n_local_trials, "n_local_trials")
    )
    seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    if sp.issparse(X):
        from . import _sparse

        parts = _sparse.components(X)
        indices = _sparse.run(
            _plusplus,
            parts,
            _weights_tensor(weights, X.dtype),
            tf.constant(seed, tf.int64),
            k=n_clusters,
            trials=trials,
        ).numpy()
        return X[indices].toarray(), indices
    indices = plusplus_indices(_lloyd.centred(X)[0], weights, seed, n_clusters, trials)
    return X[indices], indices


def _weights_tensor(weights, dtype):
    return None if weights is None else tf.constant(np.asarray(weights, dtype))


def plusplus(samples, n_clusters, seed, n_local_trials=1):
    """The lesson's way of writing k-means++ for the command line and ``random_centroids``'
    companions: checked samples in, the chosen samples out (plain k-means++ by default)."""
    samples = as_samples(samples)
    check_n_clusters(n_clusters, samples)
    seed = _fresh_if_none(check_seed(seed))
    return samples[plusplus_indices(_lloyd.centred(samples)[0], None, seed, n_clusters, n_local_trials)]


def plusplus_indices(centred, weights, seed, n_clusters, n_local_trials):
    """The indices k-means++ chooses (no checks). ``centred`` is a tensor of the samples minus
    their mean; ``weights`` a NumPy array or None."""
    if weights is not None:
        weights = tf.constant(weights, centred.dtype)
    seed = tf.constant(seed, tf.int64)  # (centred is never padded here: no valid= below)
    # Not under XLA: its CPU lowering of tf.cumsum here takes time quadratic in the samples.
    indices = _lloyd.run_compiled(
        _plusplus, centred, weights, seed, n_clusters=n_clusters, allow_xla=False, k=n_clusters, trials=n_local_trials
    )
    return indices.numpy()


def default_local_trials(n_clusters):
    """scikit-learn's number of candidates per centroid in greedy k-means++."""
    return 2 + int(math.log(n_clusters))


def _plusplus(data, weights, seed, k, trials, valid=None):
    """k-means++ as one TensorFlow function: returns the chosen indices, shape (k,), int32.
    ``data`` is a dense tensor (padded rows, if any, weigh 0) or a ``_sparse.SparseSamples``."""
    if isinstance(data, tf.Tensor):
        data = _lloyd.DenseSamples(data, valid)
    n_samples = tf.cast(data.n_samples, tf.int32)
    if weights is None:
        first = tf.random.stateless_uniform([], seed=[seed, 0], maxval=n_samples, dtype=tf.int32)
        weights = data.real(tf.ones([data.n_rows], tf.float64), 0.0)  # padded rows never drawn
    else:
        weights = tf.cast(weights, tf.float64)
        first = None

    def draw(running_sum, seed_pair, shape):
        """Indices drawn with probability proportional to the increments of ``running_sum``:
        the first index whose running sum passes a uniform draw from [0, total)."""
        total = running_sum[-1]
        uniform = tf.random.stateless_uniform(shape, seed=seed_pair, dtype=tf.float64)
        drawn = tf.searchsorted(running_sum, tf.reshape(uniform * total, [-1]), side="right")
        return tf.reshape(tf.minimum(drawn, n_samples - 1), shape)

    # The first centroid: uniform, or in proportion to the weights. (float64 running sums: a
    # float32 one over a million terms drifts.)
    if first is None:
        first = draw(tf.cumsum(weights), [seed, 0], [])
    closest = data.squared_distances(data.rows_at(first[None]))[:, 0]
    closest = tf.tensor_scatter_nd_update(closest, [[first]], tf.zeros([1], closest.dtype))
    positions = tf.range(tf.shape(closest)[0])
    taken = tf.equal(positions, first)
    chosen = tf.TensorArray(tf.int32, size=k, element_shape=()).write(0, first)

    def body(i, closest, taken, chosen):
        running_sum = tf.cumsum(weights * tf.cast(closest, tf.float64))
        shape = [] if trials == 1 else [trials]
        candidates = tf.reshape(draw(running_sum, [seed, tf.cast(i, tf.int64)], shape), [trials])
        # Every sample sits on a chosen centroid (duplicated data): take the first one not taken.
        untaken = tf.fill([trials], tf.cast(tf.argmin(tf.cast(taken, tf.int32)), tf.int32))
        candidates = tf.where(running_sum[-1] > 0, candidates, untaken)
        # Each candidate's new distances, and the inertia the centroids would have with it.
        new_closest = tf.minimum(closest[:, None], data.squared_distances(data.rows_at(candidates)))
        potentials = tf.reduce_sum(weights[:, None] * tf.cast(new_closest, tf.float64), axis=0)
        best = tf.argmin(potentials, output_type=tf.int32)
        chosen_index = candidates[best]
        taken = tf.logical_or(taken, tf.equal(positions, chosen_index))
        # Chosen samples weigh exactly zero, so they are never drawn again.
        closest = tf.where(taken, tf.zeros_like(closest), new_closest[:, best])
        return i + 1, closest, taken, chosen.write(i, chosen_index)

    _, _, _, chosen = tf.while_loop(lambda i, *_: i < k, body, (tf.constant(1), closest, taken, chosen))
    return chosen.stack()


def _as_weights(sample_weight, samples):
    from sklearn.utils.validation import _check_sample_weight

    # float64: the draw takes their logarithms, and float32 would make a weight of 1e39 infinite.
    weights = _check_sample_weight(sample_weight, samples, dtype=np.float64)
    if np.any(weights < 0) or not np.any(weights > 0):
        raise ValueError("sample_weight must be non-negative, with at least one positive weight")
    return weights


def _fresh_if_none(seed):
    return int(np.random.default_rng().integers(2**31)) if seed is None else seed
