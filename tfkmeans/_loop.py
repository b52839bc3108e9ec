"""Lloyd's algorithm: the update step with its empty-cluster rules, the compiled loop over
samples in memory, and the loop over a stream's passes.

Extends the lesson's exercise 2 (alternate ``assign_to_nearest`` and ``update_centroids``): an
iteration moves the centroids to the means of their clusters (``update``: the geometry's
``finish`` of the means, empty clusters relocated by a stated rule), then assigns every sample
to its nearest new centroid in one pass that also adds up the next update's sums.

The samples are any ``_adapter.Adapter``, so one loop serves dense and sparse samples in
every geometry. Nothing here validates its input, and nothing here decides how a function is
compiled: ``lloyd`` calls the loop through ``run`` (the dispatcher, ``_dispatch``, via the host
data layer, ``_samples``). A hook that must see every completed iteration (a progress report,
a checkpoint) goes on the drivers, ``lloyd``'s ``report`` and ``lloyd_passes``' ``on_iteration``.
"""

import collections
import time

import numpy as np

from ._tensorflow import dim, tf

# What a loop keeps of each iteration: nothing; the inertia, the largest shift and the samples
# that changed cluster; those and the centroids.
HISTORY_NONE, HISTORY_SCALARS, HISTORY_CENTROIDS = 0, 1, 2
# The most iterations one compiled call runs: its counter is an int32. A run allowed more goes on
# in further calls, so any Python int is a valid cap.
CHUNK_LIMIT = 2**31 - 1
# With a history, the most iterations one call keeps (its buffers are this long, never as long
# as the cap), and the most bytes of centroids it keeps (``HISTORY_CENTROIDS``).
HISTORY_CHUNK = 1024
HISTORY_BYTES = 64 * 2**20
# With ``report``, a call's iterations double from 1 while a call takes less than this many
# seconds: a long fit reports soon after it starts, a fast one in few calls.
REPORT_SECONDS = 0.5


# --- the update step --------------------------------------------------------------------------


def means(sums, counts, dtype):
    """The new centroids from per-cluster sums and weights (an empty cluster's sum stays 0)."""
    return tf.cast(sums / tf.maximum(counts, 1e-300)[:, tf.newaxis], dtype)


def sklearn_means(sums, counts, dtype):
    """``means``, but a cluster left empty sits on the heaviest cluster's centroid, as in
    scikit-learn."""
    new = means(sums, counts, dtype)
    heaviest = tf.gather(new, tf.argmax(counts, output_type=tf.int32))
    return tf.where((counts > 0)[:, tf.newaxis], new, heaviest)


def relocate_empty_clusters(data, labels, centroids, counts):
    """Give each empty cluster (``counts == 0``) the next-farthest sample as its centroid.

    The farthest sample from the centroid of the cluster it is assigned to goes to the first
    empty cluster, the next farthest to the second, and so on (on a tie, the lower index
    first): the lesson's ``update_centroids`` rule.
    """
    n_clusters = dim(centroids, 0)
    _, farthest = tf.math.top_k(data.distances_to(centroids, labels), k=n_clusters)
    empty = tf.equal(counts, 0)
    rank_among_empty = tf.cumsum(tf.cast(empty, tf.int32), exclusive=True)
    replacements = tf.cast(data.rows_at(tf.gather(farthest, rank_among_empty)), centroids.dtype)
    return tf.where(empty[:, tf.newaxis], replacements, centroids)


def relocate_empty_sums(data, weights, labels, old_centroids, sums, counts):
    """scikit-learn's rule for empty clusters, on per-cluster sums and weights (float64).

    The samples farthest from the centroid they were assigned to (the previous centroids) become
    the empty clusters' centroids, the farthest to the first empty cluster, and each is taken
    out of the cluster it was in. On a tie the higher index goes first (scikit-learn takes them
    from NumPy's ``argpartition``, whose order among ties is unspecified). When every sample sits
    on its centroid (more clusters than distinct samples) nothing moves. Returns the new
    ``(sums, counts)``; ``sklearn_means`` turns them into centroids.
    """
    n_clusters = dim(old_centroids, 0)
    distances = data.distances_to(old_centroids, labels)
    _, farthest_reversed = tf.math.top_k(tf.reverse(distances, [0]), k=n_clusters)
    farthest = tf.shape(distances)[0] - 1 - farthest_reversed
    empty = tf.equal(counts, 0)
    moved = tf.gather(farthest, tf.cumsum(tf.cast(empty, tf.int32), exclusive=True))
    moved_weights = (
        tf.ones([n_clusters], tf.float64) if weights is None else tf.cast(tf.gather(weights, moved), tf.float64)
    )
    return move_to_empty(
        sums, counts, data.rows_at(moved), tf.gather(labels, moved), moved_weights, tf.reduce_max(distances) > 0
    )


def move_to_empty(sums, counts, rows, sources, weights, any_apart):
    """Each empty cluster's sum and weight become those of one row (``rows``, ``weights``, one
    per cluster, used where the cluster is empty), taken out of the cluster it came from
    (``sources``); nothing moves unless ``any_apart`` (some sample lies off its centroid)."""
    n_clusters = dim(counts, 0)
    empty = tf.equal(counts, 0)
    weights = tf.where(tf.logical_and(empty, any_apart), weights, 0.0)
    moved_sums = tf.cast(rows, tf.float64) * weights[:, tf.newaxis]
    sums = sums - tf.math.unsorted_segment_sum(moved_sums, sources, n_clusters)
    counts = counts - tf.math.unsorted_segment_sum(weights, sources, n_clusters)
    return tf.where(empty[:, tf.newaxis], moved_sums, sums), tf.where(empty, weights, counts)


def update(data, weights, centroids, labels, sums, counts, relocation):
    """The centroids after one update: the geometry's ``finish`` of the clusters' means, an
    empty cluster relocated by ``relocation``: "lesson" (``relocate_empty_clusters``) or
    "sklearn" (``relocate_empty_sums``)."""
    dtype, finish = data.dtype, data.geometry.finish
    if relocation == "sklearn":

        def relocated():
            return finish(
                sklearn_means(*relocate_empty_sums(data, weights, labels, centroids, sums, counts), dtype), centroids
            )

        return tf.cond(tf.reduce_any(counts == 0), relocated, lambda: finish(means(sums, counts, dtype), centroids))
    new = finish(means(sums, counts, dtype), centroids)
    return tf.cond(tf.reduce_any(counts == 0), lambda: relocate_empty_clusters(data, labels, new, counts), lambda: new)


# --- the loop over samples in memory ----------------------------------------------------------

LoopState = collections.namedtuple("LoopState", "iteration centroids labels sums counts unchanged tol_reached")
LoopState.__doc__ = """The compiled loop's state between iterations.

iteration : the updates run so far in this call (int32)
centroids : the current centroids; labels : each sample's nearest of them
sums, counts : the per-cluster sums and weights of those labels (float64): the next update's
unchanged : whether the last update changed no label; tol_reached : whether its shift met a tolerance
"""

Trail = collections.namedtuple("Trail", "inertias shifts shift_totals changes centroids")
Trail.__doc__ = """What the loop keeps of each iteration (``TensorArray`` buffers, empty unless asked):
the inertia after it, the largest distance a centroid moved, the squared distances the centroids
moved summed, the samples that changed cluster, and the centroids."""

LoopResult = collections.namedtuple(
    "LoopResult",
    "centroids labels inertia n_updates counts unchanged tol_reached start_inertia inertias shifts shift_totals changes "
    "history sums",
)
LoopResult.__doc__ = """What ``lloyd_loop`` returns (tensors) for one chunk of iterations, and ``lloyd``
for a whole run (the counts as Python values, the histories as NumPy arrays).

centroids, labels, inertia : the final centroids, each sample's nearest of them, and the exact
    inertia of that assignment (float64)
n_updates : the iterations run (centroid updates)
counts, sums : the final clusters' sizes (or weights) and sums (float64), which a next chunk
    resumes from
unchanged, tol_reached : why the last iteration stopped the loop (neither: it ran out)
start_inertia, inertias, shifts, shift_totals, changes : with ``history``: the inertia of the
    start's assignment, then per iteration the inertia after it, the largest distance a centroid
    moved, the squared distances the centroids moved summed, and the samples that changed
    cluster (empty without ``history``)
history : with ``history=2``, the centroids after each iteration, (n_updates, k, d)
"""


def lloyd_loop(
    data,
    weights,
    centroids,
    tol_total,
    tol_max_shift,
    stop_unchanged,
    limit,
    *resume,
    history,
    capacity=0,
    relocation="lesson",
):
    """Lloyd's algorithm on ``data`` (an ``_adapter.Adapter``) from ``centroids``, at most
    ``limit`` updates (an int32 tensor): one chunk of a run (``lloyd`` runs a whole one).

    Each iteration updates the centroids (``update``), then assigns every sample to its nearest
    new centroid. It stops after an iteration in which no sample changed cluster (if
    ``stop_unchanged``), the squared shifts of the centroids summed to at most ``tol_total``,
    or no centroid moved farther than ``tol_max_shift`` (a negative tolerance never stops the
    loop).

    ``resume``: none, or the ``labels``, ``sums`` and ``counts`` of ``centroids`` that a previous
    chunk returned, so that the run goes on exactly where it stopped (no pass is recomputed).

    ``history``, ``capacity`` and ``relocation`` are Python values, part of the trace:
    ``history`` (``HISTORY_NONE``, ``HISTORY_SCALARS``, ``HISTORY_CENTROIDS``) in buffers of
    ``capacity`` iterations (at least ``limit``); ``relocation`` the empty-cluster rule.

    Returns a ``LoopResult``.
    """
    dtype = data.dtype
    tol_total = tf.cast(tol_total, dtype)
    tol_max_shift = tf.cast(tol_max_shift, dtype)
    n_clusters, n_features = dim(centroids, 0), dim(centroids, 1)

    if resume:
        labels, sums, counts = resume
        # The labels as a pass gives them: of as many rows as the samples have, known or not
        # (the loop needs the same shape on every iteration).
        labels = tf.slice(labels, [0], tf.reshape(tf.cast(data.n_rows, tf.int32), [1]))
    else:
        labels, sums, counts = data.full_pass(weights, centroids)
    size = capacity if history else 0
    trail = Trail(
        inertias=tf.TensorArray(tf.float64, size=size, element_shape=()),
        shifts=tf.TensorArray(dtype, size=size, element_shape=()),
        shift_totals=tf.TensorArray(dtype, size=size, element_shape=()),
        changes=tf.TensorArray(tf.int32, size=size, element_shape=()),
        centroids=tf.TensorArray(
            dtype, size=size if history >= HISTORY_CENTROIDS else 0, element_shape=centroids.shape
        ),
    )
    start = LoopState(tf.constant(0), centroids, labels, sums, counts, tf.constant(False), tf.constant(False))

    def condition(state, trail):
        stop = tf.logical_or(tf.logical_and(stop_unchanged, state.unchanged), state.tol_reached)
        return tf.logical_and(state.iteration < limit, tf.logical_not(stop))

    def body(state, trail):
        new_centroids = update(data, weights, state.centroids, state.labels, state.sums, state.counts, relocation)
        new_labels, new_sums, new_counts = data.full_pass(weights, new_centroids)
        squared_shifts = tf.reduce_sum(tf.square(new_centroids - state.centroids), axis=1)
        changed = data.count_changed(new_labels, state.labels)
        tol_reached = tf.logical_or(
            tf.reduce_sum(squared_shifts) <= tol_total,
            tf.reduce_max(squared_shifts) <= tol_max_shift * tf.abs(tol_max_shift),
        )
        i = state.iteration
        if history:
            trail = trail._replace(
                inertias=trail.inertias.write(i, data.inertia(weights, new_centroids, new_labels)),
                shifts=trail.shifts.write(i, tf.sqrt(tf.reduce_max(squared_shifts))),
                shift_totals=trail.shift_totals.write(i, tf.reduce_sum(squared_shifts)),
                changes=trail.changes.write(i, changed),
            )
        if history >= HISTORY_CENTROIDS:
            trail = trail._replace(centroids=trail.centroids.write(i, new_centroids))
        state = LoopState(i + 1, new_centroids, new_labels, new_sums, new_counts, changed == 0, tol_reached)
        return state, trail

    state, trail = tf.while_loop(condition, body, (start, trail))
    empty = tf.zeros((0,), tf.float64)
    return LoopResult(
        centroids=state.centroids,
        labels=state.labels,
        inertia=data.inertia(weights, state.centroids, state.labels),
        n_updates=state.iteration,
        counts=state.counts,
        unchanged=state.unchanged,
        tol_reached=state.tol_reached,
        start_inertia=(
            data.inertia(weights, start.centroids, start.labels)
            if history and not resume
            else tf.constant(0.0, tf.float64)
        ),
        inertias=trail.inertias.stack() if history else empty,
        shifts=trail.shifts.stack() if history else tf.cast(empty, dtype),
        shift_totals=trail.shift_totals.stack() if history else tf.cast(empty, dtype),
        changes=trail.changes.stack() if history else tf.zeros((0,), tf.int32),
        history=(
            trail.centroids.stack() if history >= HISTORY_CENTROIDS else tf.zeros((0, n_clusters, n_features), dtype)
        ),
        sums=state.sums,
    )


def lloyd(run, centroids, tol_total, tol_max_shift, stop_unchanged, max_iter, history, relocation, report=None):
    """A whole run of Lloyd's algorithm, at most ``max_iter`` updates (any Python int), as calls
    of ``lloyd_loop`` that each run a chunk of it and resume where the last stopped: the same
    numbers as one call, but no buffer is ever sized by ``max_iter`` and no count wraps.

    ``run(function, *arguments, **static)`` calls ``function`` compiled on the samples
    (``_samples.Samples.runner``). Without a history one call runs the whole run (up to
    ``CHUNK_LIMIT`` iterations); with one, each call keeps at most ``HISTORY_CHUNK``
    iterations' history. ``report(result)``, when given, is called after every call with the run
    so far (a ``LoopResult`` as ``lloyd`` returns), and the calls start at one iteration,
    doubling while they take under ``REPORT_SECONDS``, so that a long fit reports as it goes.
    Returns a ``LoopResult`` with Python counts and NumPy histories.
    """
    n_clusters, n_features = centroids.shape
    capacity = 0
    if history:
        capacity = min(max_iter, HISTORY_CHUNK)
        if history >= HISTORY_CENTROIDS:
            capacity = min(capacity, max(1, HISTORY_BYTES // (n_clusters * n_features * centroids.dtype.size)))
    largest = capacity if history else CHUNK_LIMIT
    limit = 1 if report is not None else largest
    static = dict(history=history, capacity=capacity, relocation=relocation)
    done, resume, start_inertia, parts = 0, (), 0.0, []
    while True:
        began = time.perf_counter()
        step = min(limit, largest, max_iter - done)
        chunk = run(
            lloyd_loop,
            centroids,
            tol_total,
            tol_max_shift,
            stop_unchanged,
            tf.constant(step, tf.int32),
            *resume,
            **static,
        )
        ran = int(chunk.n_updates)
        if not resume:
            start_inertia = float(chunk.start_inertia)
        if history:
            kept = [chunk.inertias, chunk.shifts, chunk.shift_totals, chunk.changes, chunk.history]
            parts.append([values.numpy()[:ran] for values in kept])
        done += ran
        centroids, resume = chunk.centroids, (chunk.labels, chunk.sums, chunk.counts)
        stopped = (bool(chunk.unchanged) and bool(stop_unchanged)) or bool(chunk.tol_reached)
        result = _joined(chunk, done, start_inertia, parts, history, n_clusters, n_features)
        if report is not None:
            report(result)
            if time.perf_counter() - began < REPORT_SECONDS:
                limit *= 2
        if stopped or done >= max_iter:
            return result


def _joined(chunk, done, start_inertia, parts, history, n_clusters, n_features):
    """The run so far as one ``LoopResult``: the last chunk's state, every chunk's history."""
    dtype = chunk.centroids.dtype.as_numpy_dtype
    empties = [np.zeros(0), np.zeros(0, dtype), np.zeros(0, dtype), np.zeros(0, np.int32)]
    empties.append(np.zeros((0, n_clusters, n_features), dtype))
    joined = [np.concatenate(values) for values in zip(*parts)] if parts else empties
    if history < HISTORY_CENTROIDS:
        joined[4] = empties[4]
    return chunk._replace(
        n_updates=done,
        unchanged=bool(chunk.unchanged),
        tol_reached=bool(chunk.tol_reached),
        start_inertia=start_inertia,
        inertias=joined[0],
        shifts=joined[1],
        shift_totals=joined[2],
        changes=joined[3],
        history=joined[4],
    )


# --- the loop over a stream's passes ----------------------------------------------------------

StreamResult = collections.namedtuple("StreamResult", "centroids inertia n_updates tol_reached inertias shifts counts")
StreamState = collections.namedtuple("StreamState", "iteration centroids sums counts inertias shifts tol_reached")
StreamState.__doc__ = """The loop over a stream's passes between iterations: what ``lloyd_passes`` needs
to go on exactly (a checkpoint holds it).

iteration : the updates run; centroids : the current ones (relative to the offset)
sums, counts : the last pass's per-cluster sums and weights (float64): the next update's
inertias, shifts : per iteration, the inertia after it and the largest distance a centroid moved
tol_reached : whether the last update's shift met a tolerance (the loop is over)
"""


def update_from_passes(passes, offset, centroids, sums, counts, relocation="lesson"):
    """``update`` for a stream: the new centroids (relative to ``offset``) from a pass's sums
    and counts, an empty cluster relocated by the same rules as in memory, the samples it
    needs found by one more pass (``passes.farthest``): the lesson's (the sample farthest from
    the new centre of the cluster it was in, the next farthest for each further empty
    cluster) or scikit-learn's (the sample farthest from its old centroid, taken out of its
    cluster)."""
    dtype, finish = passes.dtype, passes.geometry.finish
    new = finish(means(sums, counts, dtype), centroids)
    if not bool(tf.reduce_any(counts == 0)):
        return new
    empty = tf.equal(counts, 0)
    rank = tf.cumsum(tf.cast(empty, tf.int32), exclusive=True)
    if relocation == "lesson":
        _, rows, _ = passes.farthest(offset, centroids, new)
        return tf.where(empty[:, None], tf.gather(rows, rank), new)
    top, rows, sources = passes.farthest(offset, centroids, centroids)
    k = counts.shape[0]
    sums, counts = move_to_empty(
        sums, counts, tf.gather(rows, rank), tf.gather(sources, rank), tf.ones([k], tf.float64), top[0] > 0
    )
    return finish(sklearn_means(sums, counts, dtype), centroids)


def lloyd_passes(
    passes,
    offset,
    centroids,
    max_iter,
    tol_total=-1.0,
    tol_max_shift=-1.0,
    on_iteration=None,
    relocation="lesson",
    resume=None,
):
    """Lloyd's algorithm over a stream (``_stream.Passes``): one compiled pass per iteration,
    driven from Python.

    ``centroids`` are relative to ``offset``. The loop stops when the squared shifts of the
    centroids sum to at most ``tol_total`` or no centroid moved farther than ``tol_max_shift``
    (when no sample changes cluster, the next iteration moves nothing and stops it; a negative
    tolerance never stops the loop). ``on_iteration(state)`` is called with the ``StreamState``
    after each iteration; ``resume``, such a state, goes on from it exactly as the loop would
    have (no pass is repeated). The inertia of each iteration comes from the pass that follows
    its update, and so do ``counts``, the samples in each cluster of the last centroids.
    Returns a ``StreamResult``.
    """
    if resume is None:
        centroids = tf.convert_to_tensor(centroids)
        _, sums, counts = passes.statistics(offset, centroids, with_inertia=False)
        state = StreamState(0, centroids, sums, counts, [], [], False)
    else:
        state = resume
    while state.iteration < max_iter and not state.tol_reached:
        new = update_from_passes(passes, offset, state.centroids, state.sums, state.counts, relocation)
        squared = tf.reduce_sum(tf.square(new - state.centroids), axis=1).numpy()
        inertia, sums, counts = passes.statistics(offset, new, with_inertia=True)
        tol_reached = bool(squared.sum() <= tol_total or squared.max() <= tol_max_shift * abs(tol_max_shift))
        state = StreamState(
            state.iteration + 1,
            new,
            sums,
            counts,
            [*state.inertias, float(inertia)],
            [*state.shifts, float(np.sqrt(squared.max()))],
            tol_reached,
        )
        if on_iteration is not None:
            on_iteration(state)
    return StreamResult(
        state.centroids,
        state.inertias[-1] if state.inertias else float("nan"),
        state.iteration,
        state.tol_reached,
        state.inertias,
        state.shifts,
        np.asarray(state.counts),
    )
