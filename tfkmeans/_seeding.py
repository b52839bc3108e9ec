"""Choosing the initial centroids: samples at random (the lesson's way), or k-means++.

The kernels only: ``plusplus`` runs inside a traced function on any ``_adapter.Adapter``, so
k-means++ is drawn by the adapter's geometry (squared Euclidean distances, or cosine
distances on unit rows). The public functions that check their input and call these are
``_functions.random_centroids`` and ``_kmeans.kmeans_plusplus``.
"""

import math

import numpy as np

from ._tensorflow import tf


def default_local_trials(n_clusters):
    """scikit-learn's number of candidates per centroid in greedy k-means++."""
    return 2 + int(math.log(n_clusters))


def choose_random_indices(n_samples, n_clusters, seed, weights=None):
    """Indices of ``n_clusters`` distinct samples (no checks). Unweighted: the first
    ``n_clusters`` of a stateless shuffle, the samples the lesson's seeded
    ``choose_random_centroids`` chooses. Weighted: drawn in proportion to the weights, without
    replacement (the largest log(weight) plus Gumbel noise)."""
    if weights is None:
        shuffled = tf.random.experimental.stateless_shuffle(tf.range(n_samples), seed=[seed, 0])
        return shuffled[:n_clusters].numpy()
    uniform = tf.random.stateless_uniform([n_samples], seed=[seed, 1], minval=1e-20, maxval=1.0, dtype=tf.float64)
    with np.errstate(divide="ignore"):  # a zero weight: log 0 = -inf, never chosen
        keys = np.log(np.asarray(weights, np.float64)) - np.log(-np.log(uniform.numpy()))
    return np.argsort(-keys, kind="stable")[:n_clusters]


def plusplus(data, weights, seed, k, trials):
    """k-means++ (Arthur and Vassilvitskii, 2007) as one TensorFlow function on ``data`` (an
    ``_adapter.Adapter``; padded rows are never drawn): returns the chosen indices, shape (k,),
    int32.

    The first centroid is a sample drawn at random (in proportion to its weight); each next one
    is drawn with probability proportional to its (weighted) distance from the nearest centroid
    chosen so far, in the adapter's geometry. "Greedy", as scikit-learn's: ``trials``
    candidates are drawn for each centroid and the one that lowers the inertia most is kept
    (``trials=1`` is the original k-means++)."""
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
    closest = data.distances(data.rows_at(first[None]))[:, 0]
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
        new_closest = tf.minimum(closest[:, None], data.distances(data.rows_at(candidates)))
        potentials = tf.reduce_sum(weights[:, None] * tf.cast(new_closest, tf.float64), axis=0)
        best = tf.argmin(potentials, output_type=tf.int32)
        chosen_index = candidates[best]
        taken = tf.logical_or(taken, tf.equal(positions, chosen_index))
        # Chosen samples weigh exactly zero, so they are never drawn again.
        closest = tf.where(taken, tf.zeros_like(closest), new_closest[:, best])
        return i + 1, closest, taken, chosen.write(i, chosen_index)

    _, _, _, chosen = tf.while_loop(lambda i, *_: i < k, body, (tf.constant(1), closest, taken, chosen))
    return chosen.stack()
