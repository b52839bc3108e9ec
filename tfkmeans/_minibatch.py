"""Mini-batch k-means (Sculley, 2010, as scikit-learn's ``MiniBatchKMeans`` runs it), compiled.

Each step takes a small batch of samples, assigns each to its nearest centre, and moves every
centre that got samples to the running mean of all samples it has ever been given (a per-centre
learning rate of 1 / count). Every so often, centres with very few samples are moved onto
random samples of the batch (``reassignment_ratio``). The run stops after ``max_iter`` passes'
worth of steps, or when an exponentially weighted average of the batches' inertia has not
improved for ``max_no_improvement`` steps, or when the centres moved (squared, summed) by at most
``tol``: scikit-learn's rules. Batches are drawn in proportion to the sample weights, as
scikit-learn draws them. Nothing here validates its input.

The samples are any ``_adapter.Adapter``, dense or sparse; a batch is an adapter of the same
kind (``data.batch``), so a sparse batch stays sparse.
"""

import collections
import time

from ._tensorflow import dim, tf


def update(batch, weights, centres, counts, reassign, seed, reassignment_ratio):
    """One step on one batch: the new centres and counts, the batch's inertia (float64) and
    how many centres were reassigned.

    ``batch`` is an ``_adapter.Adapter``; ``weights`` may be None; ``reassign`` (a bool tensor) allows the low-count reassignment; ``seed`` is the
    stateless seed pair for choosing its samples.
    """
    n_clusters = dim(centres, 0)
    nearest, distances = batch.nearest(centres)
    size = tf.shape(nearest)[0]
    batch_weights = tf.ones_like(distances) if weights is None else tf.cast(weights, distances.dtype)
    batch_inertia = tf.reduce_sum(tf.cast(distances * batch_weights, tf.float64))
    sums, batch_counts = batch.cluster_sums(weights, nearest, n_clusters)
    sums, batch_counts = tf.cast(sums, centres.dtype), tf.cast(batch_counts, centres.dtype)
    new_counts = counts + batch_counts
    # The running mean: (centre * old count + batch sum) / new count, for centres that got samples.
    moved = (centres * counts[:, None] + sums) / tf.maximum(new_counts, 1e-30)[:, None]
    centres = tf.where(batch_counts[:, None] > 0, moved, centres)

    def reassign_low_counts(centres, counts):
        low = new_counts < reassignment_ratio * tf.reduce_max(new_counts)
        # At most half the batch's size of centres are moved (those with the lowest counts).
        order = tf.argsort(new_counts, stable=True)
        limit = tf.cast(tf.cast(size, tf.float32) * 0.5, tf.int32)
        allowed = tf.scatter_nd(order[:, None], tf.range(n_clusters) < limit, [n_clusters])
        low = tf.logical_and(low, allowed)
        # Distinct samples of the batch, chosen uniformly: the smallest random keys.
        keys = tf.random.stateless_uniform([size], seed=seed)
        chosen = tf.argsort(keys)[: tf.minimum(size, n_clusters)]
        rank = tf.minimum(tf.cumsum(tf.cast(low, tf.int32), exclusive=True), tf.shape(chosen)[0] - 1)
        rows = tf.cast(batch.rows_at(tf.gather(chosen, rank)), centres.dtype)
        centres = tf.where(low[:, None], rows, centres)
        # Their counts start at the smallest count among the others, so they are not moved again at once.
        kept = tf.where(low, tf.fill([n_clusters], tf.constant(float("inf"), counts.dtype)), counts)
        counts = tf.where(low, tf.fill([n_clusters], tf.reduce_min(kept)), counts)
        return centres, counts, tf.reduce_sum(tf.cast(low, tf.int32))

    if reassignment_ratio > 0:
        centres, new_counts, reassigned = tf.cond(
            reassign,
            lambda: reassign_low_counts(centres, new_counts),
            lambda: (centres, new_counts, tf.constant(0)),
        )
    else:
        reassigned = tf.constant(0)
    return centres, new_counts, batch_inertia, reassigned


def partial_step(data, weights, centres, counts, reassign, seed, reassignment_ratio):
    """``update`` on all of ``data`` (``MiniBatchKMeans.partial_fit``)."""
    return update(data, weights, centres, counts, reassign, seed, reassignment_ratio)


State = collections.namedtuple(
    "State", "step centres counts since_reassign ewa ewa_min no_improvement stop stopped_by_tol"
)


def start_state(centres, counts):
    nan = tf.constant(float("nan"), tf.float64)
    false = tf.constant(False)
    # int64 step and no-improvement counters: a fit may be allowed more than 2**31 steps.
    zero = tf.constant(0, tf.int64)
    return State(zero, centres, counts, tf.constant(0), nan, nan, zero, false, false)


def step(state, batch, weights, seed, tol, n_samples, max_no_improvement, reassignment_ratio):
    """``update`` on one batch, with scikit-learn's bookkeeping: when to reassign low-count
    centres (all samples seen since the last time > 10 x n_clusters, or an empty centre), and
    when to stop (the smoothed inertia per sample not improving, or the centres barely moving).
    The first step's inertia is that of the start, so it does not count. Returns the new
    ``State``, the batch's inertia per sample, and the centres reassigned."""
    n_clusters = dim(state.centres, 0)
    size = tf.cast(batch.n_samples, tf.int32)
    since_reassign = state.since_reassign + size
    reassign = tf.logical_or(tf.reduce_any(state.counts == 0), since_reassign >= 10 * n_clusters)
    since_reassign = tf.where(reassign, 0, since_reassign)
    seed_pair = tf.stack([seed + 1, tf.cast(state.step, tf.int64)])
    centres, counts, batch_inertia, reassigned = update(
        batch, weights, state.centres, state.counts, reassign, seed_pair, reassignment_ratio
    )
    per_sample = batch_inertia / tf.cast(size, tf.float64)
    # The weight of a batch in the smoothed inertia, as scikit-learn sets it.
    alpha = tf.minimum(tf.cast(size, tf.float64) * 2.0 / (tf.cast(n_samples, tf.float64) + 1.0), 1.0)
    first = tf.equal(state.step, 0)
    ewa = tf.where(tf.math.is_nan(state.ewa), per_sample, state.ewa * (1 - alpha) + per_sample * alpha)
    ewa = tf.where(first, state.ewa, ewa)
    improved = tf.logical_or(tf.math.is_nan(state.ewa_min), ewa < state.ewa_min)
    no_improvement = tf.where(
        first, state.no_improvement, tf.where(improved, tf.zeros_like(state.no_improvement), state.no_improvement + 1)
    )
    ewa_min = tf.where(tf.logical_and(tf.logical_not(first), improved), ewa, state.ewa_min)
    squared_shift = tf.cast(tf.reduce_sum(tf.square(centres - state.centres)), tf.float64)
    by_tol = tf.logical_and(tol > 0, squared_shift <= tol)
    stop = by_tol
    if max_no_improvement is not None:
        stop = tf.logical_or(stop, no_improvement >= max_no_improvement)
    not_first = tf.logical_not(first)
    stop = tf.logical_and(not_first, stop)
    new_state = State(
        state.step + 1,
        centres,
        counts,
        since_reassign,
        ewa,
        ewa_min,
        no_improvement,
        stop,
        tf.logical_and(not_first, by_tol),
    )
    return new_state, per_sample, reassigned


def loop(
    data,
    cumulative_weights,
    centres,
    counts,
    seed,
    tol,
    end,
    *resume,
    batch_size,
    max_no_improvement,
    reassignment_ratio,
    trace=False,
    capacity=0,
):
    """Steps on batches drawn at random (with replacement) from ``data``, in proportion to the
    weights whose running sum is ``cumulative_weights`` (None: uniformly), until step ``end``
    (an int64 tensor) or the stopping rule: one chunk of a fit (``run`` runs a whole one).
    ``resume``: none (start from ``centres`` and ``counts``), or the ``State`` a previous chunk
    returned. The arguments after ``resume`` are Python values. Returns the last ``State`` and,
    with ``trace``, each step's batch inertia per sample, smoothed inertia and reassigned
    centres, in buffers of ``capacity`` steps (at least the chunk's; else empty tensors).
    Padded rows (past ``data.n_samples``) are never drawn."""
    n_samples = tf.cast(data.n_samples, tf.int32)
    size = capacity if trace else 0
    inertias = tf.TensorArray(tf.float64, size=size, element_shape=())
    ewas = tf.TensorArray(tf.float64, size=size, element_shape=())
    reassignments = tf.TensorArray(tf.int32, size=size, element_shape=())
    begin = State(*resume) if resume else start_state(centres, counts)

    def draw(state_step):
        draw_seed = tf.stack([seed, tf.cast(state_step, tf.int64)])
        if cumulative_weights is None:
            return tf.random.stateless_uniform([batch_size], seed=draw_seed, maxval=n_samples, dtype=tf.int32)
        total = cumulative_weights[-1]
        uniform = tf.random.stateless_uniform([batch_size], seed=draw_seed, dtype=tf.float64) * total
        return tf.minimum(tf.searchsorted(cumulative_weights, uniform, side="right", out_type=tf.int32), n_samples - 1)

    def body(*values):
        state = State(*values[: len(State._fields)])
        inertias, ewas, reassignments = values[len(State._fields) :]
        batch = data.batch(draw(state.step))
        new_state, per_sample, reassigned = step(
            state, batch, None, seed, tol, n_samples, max_no_improvement, reassignment_ratio
        )
        if trace:
            index = tf.cast(state.step - begin.step, tf.int32)
            inertias = inertias.write(index, per_sample)
            ewas = ewas.write(index, new_state.ewa)
            reassignments = reassignments.write(index, reassigned)
        return (*new_state, inertias, ewas, reassignments)

    final = tf.while_loop(
        lambda *values: tf.logical_and(values[0] < end, tf.logical_not(values[7])),
        body,
        (*begin, inertias, ewas, reassignments),
    )
    state = State(*final[: len(State._fields)])
    inertias, ewas, reassignments = final[len(State._fields) :]
    if trace:
        return state, (inertias.stack(), ewas.stack(), reassignments.stack())
    empty = tf.zeros((0,), tf.float64)
    return state, (empty, empty, tf.zeros((0,), tf.int32))


# Without a trace, one call runs a whole fit; with one, each call keeps at most this many steps
# (its buffers are this long, never as long as the fit's steps).
TRACE_CHUNK = 1024
# With ``report``, a call's steps double from 1 while a call takes less than this many seconds.
REPORT_SECONDS = 0.5


def run(
    call,
    centres,
    counts,
    seed,
    tol,
    n_steps,
    trace=False,
    report=None,
    resume=None,
    every=None,
    on_chunk=None,
    **static,
):
    """A whole fit of at most ``n_steps`` steps (any Python int) as calls of ``loop`` that each
    run a chunk and resume where the last stopped: the same numbers as one call, with no buffer
    sized by ``n_steps``. ``call(function, *arguments, **static)`` runs ``function`` compiled on
    the samples (``Samples.run`` with the weights and ``n_clusters`` given). ``report(state,
    trace, first)``, when given, is called after every call with that call's steps (``first``:
    the step the call began at). ``resume``: a ``State`` to go on from (a checkpoint's);
    ``every``: the most steps a call runs, and ``on_chunk(state)`` is called after each (to
    write a checkpoint). Returns the last ``State``."""
    capacity = min(n_steps, TRACE_CHUNK) if trace else 0
    # Without a trace, one call (2**62 steps fit its int64 counter and will never all run).
    limit = 1 if report is not None else (capacity if trace else 2**62)
    resume = tuple(resume) if resume is not None else ()
    if resume and (bool(resume[7]) or int(resume[0]) >= n_steps):
        return State(*resume)  # a finished fit: nothing left to run
    while True:
        began = time.perf_counter()
        first = int(resume[0]) if resume else 0
        end = first + min(limit, capacity) if trace else first + limit
        if every is not None:
            end = min(end, first + every)
        state, chunk_trace = call(
            loop,
            centres,
            counts,
            seed,
            tol,
            tf.constant(min(end, n_steps), tf.int64),
            *resume,
            trace=trace,
            capacity=capacity,
            **static,
        )
        if report is not None:
            report(state, chunk_trace, first)
            if time.perf_counter() - began < REPORT_SECONDS:
                limit *= 2
        if on_chunk is not None:
            on_chunk(state)
        resume = tuple(state)
        if bool(state.stop) or int(state.step) >= n_steps:
            return state
