"""Choosing the initial centroids: samples at random, or k-means++ seeding."""

import numpy as np
import tensorflow as tf

from ._checks import as_samples, check_n_clusters, check_seed


def random_centroids(samples, n_clusters, seed=None):
    """``n_clusters`` distinct samples chosen at random: the lesson's ``choose_random_centroids``.

    With the same seed, the same samples as the lesson's seeded ``choose_random_centroids``
    (exercise 1) in every process.
    """
    samples = as_samples(samples, "samples")
    check_n_clusters(n_clusters, samples)
    seed = check_seed(seed)
    indices = tf.range(0, tf.shape(samples)[0])
    if seed is None:
        shuffled = tf.random.shuffle(indices)
    else:
        shuffled = tf.random.experimental.stateless_shuffle(indices, seed=[seed, 0])
    return tf.gather(samples, shuffled[:n_clusters])


def kmeans_plusplus(samples, n_clusters, seed=None):
    """Choose initial centroids by k-means++ seeding (Arthur and Vassilvitskii, 2007).

    Extends "Initialisation": the first centroid is a sample chosen uniformly at random, and
    each next one is a sample drawn with probability proportional to its squared distance from
    the nearest centroid chosen so far. Centroids so chosen are spread out, which usually
    means fewer iterations and a better final clustering than ``choose_random_centroids``.

    Parameters
    ----------
    samples : array-like, shape (n_samples, n_features)
    n_clusters : int
        At least 1 and at most ``n_samples``.
    seed : int, optional
        The same seed gives the same centroids in every process and on every call.

    Returns
    -------
    initial_centroids : tf.Tensor, float32, shape (n_clusters, n_features)
        Distinct samples, as long as the data has ``n_clusters`` distinct samples.
    """
    samples = as_samples(samples, "samples")
    check_n_clusters(n_clusters, samples)
    seed = check_seed(seed)
    if seed is None:
        seed = int(np.random.default_rng().integers(2**31))

    n_samples = samples.shape[0]
    first = tf.random.stateless_uniform([], seed=[seed, 0], maxval=n_samples, dtype=tf.int32)
    chosen = [first]
    squared_distances = tf.reduce_sum(tf.square(samples - samples[first]), axis=1)
    for i in range(1, n_clusters):
        # Draw an index with probability squared_distance / total: the first index whose
        # running sum passes a uniform draw from [0, total). Chosen samples weigh zero, so
        # they are never drawn again. (float64: a float32 running sum of a million terms
        # drifts.)
        running_sum = tf.cumsum(tf.cast(squared_distances, tf.float64))
        total = running_sum[-1]
        if total > 0:
            draw = tf.random.stateless_uniform([], seed=[seed, i], dtype=tf.float64) * total
            next_index = tf.searchsorted(running_sum, [draw], side="right")[0]
        else:
            # Every sample sits on a chosen centroid (duplicated data): take the first other one.
            not_chosen = np.ones(n_samples, dtype=bool)
            not_chosen[[int(c) for c in chosen]] = False
            next_index = tf.constant(np.flatnonzero(not_chosen)[0], dtype=tf.int32)
        chosen.append(next_index)
        new_distances = tf.reduce_sum(tf.square(samples - samples[next_index]), axis=1)
        squared_distances = tf.minimum(squared_distances, new_distances)
    return tf.gather(samples, tf.stack(chosen))
