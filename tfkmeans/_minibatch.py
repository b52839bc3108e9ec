"""Mini-batch k-means (Sculley, 2010, as scikit-learn's ``MiniBatchKMeans`` runs it), compiled.

Each step takes a small batch of samples, assigns each to its nearest centre, and moves every
centre that got samples to the running mean of all samples it has ever been given (a per-centre
learning rate of 1 / count). Every so often, centres with very few samples are moved onto
random samples of the batch (``reassignment_ratio``). The run stops after ``max_iter`` passes'
worth of steps, or when an exponentially weighted average of the batches' inertia has not
improved for ``max_no_improvement`` steps, or when the centres moved (squared, summed) by at most
``tol``: scikit-learn's rules. Nothing here validates its input.
"""

import collections

import tensorflow as tf

from . import _lloyd


def update(batch, weights, centres, counts, reassign, seed, reassignment_ratio):
    """One step on one batch: the new centres and counts, and the batch's inertia (float64).

    ``weights`` may be None; ``reassign`` (a bool tensor) allows the low-count reassignment;
    ``seed`` is the stateless seed pair for choosing its samples.
    """
    n_clusters = centres.shape[0]
    nearest, partial = _lloyd.nearest_centroids(batch, centres)
    distances = _lloyd.squared_distances(batch, partial, n_clusters, centres.shape[1])
    weighted = batch if weights is None else batch * weights[:, None]
    batch_weights = tf.ones_like(partial) if weights is None else weights
    batch_inertia = tf.reduce_sum(tf.cast(distances * batch_weights, tf.float64))
    sums = tf.math.unsorted_segment_sum(weighted, nearest, n_clusters)
    batch_counts = tf.math.unsorted_segment_sum(batch_weights, nearest, n_clusters)
    new_counts = counts + batch_counts
    # The running mean: (centre * old count + batch sum) / new count, for centres that got samples.
    moved = (centres * counts[:, None] + sums) / tf.maximum(new_counts, 1e-30)[:, None]
    centres = tf.where(batch_counts[:, None] > 0, moved, centres)

    def reassign_low_counts(centres, counts):
        low = new_counts < reassignment_ratio * tf.reduce_max(new_counts)
        size = tf.shape(batch)[0]
        # At most half the batch's size of centres are moved (those with the lowest counts).
        order = tf.argsort(new_counts, stable=True)
        limit = tf.cast(tf.cast(size, tf.float32) * 0.5, tf.int32)
        allowed = tf.scatter_nd(order[:, None], tf.range(n_clusters) < limit, [n_clusters])
        low = tf.logical_and(low, allowed)
        # Distinct samples of the batch, chosen uniformly: the smallest random keys.
        keys = tf.random.stateless_uniform([size], seed=seed)
        chosen = tf.argsort(keys)[: tf.minimum(size, n_clusters)]
        rank = tf.minimum(tf.cumsum(tf.cast(low, tf.int32), exclusive=True), tf.shape(chosen)[0] - 1)
        centres = tf.where(low[:, None], tf.gather(batch, tf.gather(chosen, rank)), centres)
        # Their counts start at the smallest count among the others, so they are not moved again at once.
        kept = tf.where(low, tf.fill([n_clusters], tf.constant(float("inf"), counts.dtype)), counts)
        return centres, tf.where(low, tf.fill([n_clusters], tf.reduce_min(kept)), counts)

    if reassignment_ratio > 0:
        centres, new_counts = tf.cond(
            reassign, lambda: reassign_low_counts(centres, new_counts), lambda: (centres, new_counts)
        )
    return centres, new_counts, batch_inertia


State = collections.namedtuple("State", "step centres counts since_reassign ewa ewa_min no_improvement stop")


def start_state(centres, counts):
    nan = tf.constant(float("nan"), tf.float64)
    return State(tf.constant(0), centres, counts, tf.constant(0), nan, nan, tf.constant(0), tf.constant(False))


def step(state, batch, weights, seed, tol, n_samples, max_no_improvement, reassignment_ratio):
    """``update`` on one batch, with scikit-learn's bookkeeping: when to reassign low-count
    centres (all samples seen since the last time > 10 x n_clusters, or an empty centre), and
    when to stop (the smoothed inertia per sample not improving, or the centres barely moving).
    The first step's inertia is that of the start, so it does not count."""
    n_clusters = state.centres.shape[0]
    size = tf.shape(batch)[0]
    since_reassign = state.since_reassign + size
    reassign = tf.logical_or(tf.reduce_any(state.counts == 0), since_reassign >= 10 * n_clusters)
    since_reassign = tf.where(reassign, 0, since_reassign)
    seed_pair = tf.stack([seed + 1, tf.cast(state.step, tf.int64)])
    centres, counts, batch_inertia = update(
        batch, weights, state.centres, state.counts, reassign, seed_pair, reassignment_ratio
    )
    per_sample = batch_inertia / tf.cast(size, tf.float64)
    # The weight of a batch in the smoothed inertia, as scikit-learn sets it.
    alpha = tf.minimum(tf.cast(size, tf.float64) * 2.0 / (tf.cast(n_samples, tf.float64) + 1.0), 1.0)
    first = tf.equal(state.step, 0)
    ewa = tf.where(tf.math.is_nan(state.ewa), per_sample, state.ewa * (1 - alpha) + per_sample * alpha)
    ewa = tf.where(first, state.ewa, ewa)
    improved = tf.logical_or(tf.math.is_nan(state.ewa_min), ewa < state.ewa_min)
    no_improvement = tf.where(first, state.no_improvement, tf.where(improved, 0, state.no_improvement + 1))
    ewa_min = tf.where(tf.logical_and(tf.logical_not(first), improved), ewa, state.ewa_min)
    squared_shift = tf.cast(tf.reduce_sum(tf.square(centres - state.centres)), tf.float64)
    stop = tf.logical_and(tol > 0, squared_shift <= tol)
    if max_no_improvement is not None:
        stop = tf.logical_or(stop, no_improvement >= max_no_improvement)
    stop = tf.logical_and(tf.logical_not(first), stop)
    return State(state.step + 1, centres, counts, since_reassign, ewa, ewa_min, no_improvement, stop)


def loop(samples, weights, centres, counts, seed, tol, n_steps, batch_size, max_no_improvement, reassignment_ratio):
    """Up to ``n_steps`` steps on batches drawn at random (with replacement) from ``samples``.
    The arguments after ``tol`` are Python values. Returns the last ``State``."""
    n_samples = samples.shape[0] if samples.shape[0] is not None else tf.shape(samples)[0]

    def body(*state):
        state = State(*state)
        draw_seed = tf.stack([seed, tf.cast(state.step, tf.int64)])
        indices = tf.random.stateless_uniform([batch_size], seed=draw_seed, maxval=n_samples, dtype=tf.int32)
        batch_weights = None if weights is None else tf.gather(weights, indices)
        return tuple(
            step(
                state,
                tf.gather(samples, indices),
                batch_weights,
                seed,
                tol,
                n_samples,
                max_no_improvement,
                reassignment_ratio,
            )
        )

    final = tf.while_loop(
        lambda *state: tf.logical_and(state[0] < n_steps, tf.logical_not(state[-1])),
        body,
        tuple(start_state(centres, counts)),
    )
    return State(*final)


def epoch(dataset, offset, state, seed, tol, n_samples, max_no_improvement, reassignment_ratio):
    """One pass over a dataset, each batch a step, until the stopping rule says stop."""
    for batch in dataset:
        if state.stop:
            break
        state = step(state, batch - offset, None, seed, tol, n_samples, max_no_improvement, reassignment_ratio)
    return state
