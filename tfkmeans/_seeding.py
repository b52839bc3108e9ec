"""Choosing the initial centroids: samples at random (the lesson's way), k-means++, or
k-means|| for data too large for k-means++ to visit once per centroid.

``plusplus`` runs inside a traced function on any ``_adapter.Adapter``, so k-means++ is drawn by
the adapter's geometry (squared Euclidean distances, or cosine distances on unit rows).
``parallel_candidates`` drives k-means||'s rounds over any object with the passes of
``_stream.Passes`` (``nearest_distances``, ``rows_at``, ``labels``), an array's or a stream's.
The public functions that check their input and call these are
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
    (``trials=1`` is the original k-means++). ``k`` and ``trials`` are int32 tensors: one trace
    draws any number of centres and candidates."""
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
        # (The first of [trials] draws is the one draw of shape []: one candidate is k-means++'s.)
        candidates = draw(running_sum, [seed, tf.cast(i, tf.int64)], [trials])
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


def parallel_candidates(passes, offset, first, n_samples, n_clusters, rounds, oversampling, seed, weights=None):
    """k-means|| (Bahmani et al., 2012, "Scalable k-means++"): weighted candidates for the
    ``n_clusters`` initial centroids, to be reduced by weighted k-means++.

    Starting from the row ``first`` (relative to ``offset``), each of ``rounds`` rounds draws
    every row independently with probability ``min(1, oversampling * n_clusters * w * d / phi)``
    (``d``: its distance to the nearest candidate, ``phi``: the sum of ``w * d`` over the rows,
    ``w`` its weight or 1), then each candidate is weighted by the (weighted) rows nearest it.
    ``offset`` is a NumPy point the passes measure from (``passes.dtype``'s).
    One pass finds each row's distance to ``first``; a round then costs two (one to fetch the
    rows drawn, one to update each row's distance; the last round only the first), and the
    weights one more: ``2 * rounds + 1`` passes in all. The rows' distances are kept here, one
    float64 a row. Fewer than ``n_clusters`` candidates (tiny
    data, or rows that all sit on candidates) are made up with rows drawn uniformly.
    Returns ``(candidates, their weights)``, NumPy, relative to ``offset``.
    """
    rng = np.random.default_rng(seed)
    dtype = passes.dtype
    offset = np.asarray(offset, dtype.as_numpy_dtype)
    shifted = tf.constant(offset, dtype)

    def nearest_distances(points):
        return passes.nearest_distances(shifted, tf.constant(points, dtype))

    candidates = [np.asarray(first, dtype.as_numpy_dtype).reshape(1, -1)]
    chosen = set()
    closest = nearest_distances(candidates[0])
    w = np.ones(n_samples) if weights is None else np.asarray(weights, np.float64)
    for round_ in range(rounds):
        phi = float(np.sum(w * closest))
        if phi <= 0:
            break  # every row sits on a candidate
        probability = np.minimum(1.0, oversampling * n_clusters * w * closest / phi)
        drawn = np.flatnonzero(rng.random(n_samples) < probability)
        if not drawn.size:
            continue
        new = passes.rows_at(drawn) - offset
        candidates.append(new)
        chosen.update(drawn.tolist())
        if round_ < rounds - 1:
            closest = np.minimum(closest, nearest_distances(new))
    points = np.concatenate(candidates)
    if len(points) < n_clusters:  # too few: rows drawn uniformly, none of them a candidate already
        free = np.setdiff1d(np.arange(n_samples), np.fromiter(chosen, np.int64, len(chosen)))
        extra = np.sort(rng.choice(free, size=min(len(free), n_clusters - len(points)), replace=False))
        points = np.concatenate([points, passes.rows_at(extra) - offset])
    labels, _ = passes.labels(shifted, tf.constant(points, dtype))
    return points, np.bincount(labels, weights=w, minlength=len(points))
