"""The functions of the lesson "Clustering and k-means" (LearningTensorFlow.com), in TensorFlow 2.

The first five functions are the lesson's, in its order, with its names, arguments and ops:

1. ``create_samples``           -- "Generating Samples"
2. ``plot_clusters``            -- "Generating Samples" (the plot)
3. ``choose_random_centroids``  -- "Initialisation"
4. ``assign_to_nearest``        -- "Updating Centroids" (assign to nearest cluster)
5. ``update_centroids``         -- "Updating Centroids" (update centroids)

The lesson ran them in a ``tf.Session``; in TensorFlow 2 they run eagerly and return
``tf.Tensor`` values, so ``tensor.numpy()`` takes the place of ``session.run(tensor)``.

Below them, under "Beyond the lesson", is what the lesson's last step leads to: the inertia,
k-means++ seeding, and ``kmeans``, the whole loop compiled into one TensorFlow function. The
argument checks live at the bottom of the file, out of the lesson's way.
"""

import collections
import numbers
import os
import tempfile

import numpy as np
import tensorflow as tf

# --------------------------------------------------------------------------------------------
# 1. Generating Samples
# --------------------------------------------------------------------------------------------


def create_samples(n_clusters, n_samples_per_cluster, n_features, embiggen_factor, seed):
    """Generate blobs of samples around random centres.

    "create ``n_clusters`` different centroids at random (using ``np.random.random((1,
    n_features))``) and using those as the centre points for ``tf.random_normal``."

    Parameters
    ----------
    n_clusters : int
        Number of blobs (and of true centroids), at least 1.
    n_samples_per_cluster : int
        Samples drawn around each centre, at least 1.
    n_features : int
        Dimensions of each sample, at least 1.
    embiggen_factor : float
        The centres are drawn uniformly from ``[-embiggen_factor / 2, embiggen_factor / 2)`` in
        each dimension; a larger value spreads the blobs further apart.
    seed : int or None
        The same seed gives the same numbers in every process; ``None`` draws fresh ones.

    Returns
    -------
    centroids : tf.Tensor, float32, shape (n_clusters, n_features)
        The true centre of each blob.
    samples : tf.Tensor, float32, shape (n_clusters * n_samples_per_cluster, n_features)
        Blob 0's samples first, then blob 1's, and so on. Each blob is drawn from a normal
        distribution with standard deviation 5.0 around its centre.
    """
    _check_positive_int(n_clusters, "n_clusters")
    _check_positive_int(n_samples_per_cluster, "n_samples_per_cluster")
    _check_positive_int(n_features, "n_features")
    embiggen_factor = _check_finite_number(embiggen_factor, "embiggen_factor")
    seed = _check_seed(seed)
    if seed is None:
        seed = int(np.random.default_rng().integers(2**63))

    # The lesson seeded NumPy's global generator; a generator of our own gives the same
    # repeatability without changing anybody else's random numbers.
    random_state = np.random.default_rng(seed)
    slices = []
    centroids = []
    for i in range(n_clusters):
        # A stateless op with the seed pair (seed, i): every blob is its own independent draw,
        # and the same seed gives the same blob in every process.
        samples = tf.random.stateless_normal(
            (n_samples_per_cluster, n_features),
            seed=[seed, i],
            mean=0.0,
            stddev=5.0,
            dtype=tf.float32,
            name=f"cluster_{i}",
        )
        current_centroid = random_state.random((1, n_features)) * embiggen_factor - embiggen_factor / 2
        centroids.append(current_centroid)
        samples += tf.constant(current_centroid, dtype=tf.float32)
        slices.append(samples)
    # "One big list of samples"
    samples = tf.concat(slices, 0, name="samples")
    centroids = tf.concat([tf.constant(c, dtype=tf.float32) for c in centroids], 0, name="centroids")
    return centroids, samples


# --------------------------------------------------------------------------------------------
# 2. Plotting
# --------------------------------------------------------------------------------------------


def plot_clusters(
    all_samples,
    centroids,
    n_samples_per_cluster,
    *,
    nearest_indices=None,
    title=None,
    ax=None,
    save_path=None,
):
    """Plot the samples, one colour per cluster, and each centroid as a big magenta X.

    Called as in the lesson, ``plot_clusters(samples, centroids, n_samples_per_cluster)``
    colours the samples by the blob that generated them: the first ``n_samples_per_cluster``
    samples in the first colour, and so on. Unlike the lesson's version it does not call
    ``plt.show()`` itself; it returns the figure, and the scripts show or save it.

    Parameters
    ----------
    all_samples : array-like, shape (n_samples, n_features)
        With more than two features the first two are plotted (the axis labels say so); with
        one feature the samples are plotted against zero.
    centroids : array-like, shape (n_centroids, n_features)
    n_samples_per_cluster : int or None
        Size of each generated blob. Ignored (and may be ``None``) when ``nearest_indices``
        is given.
    nearest_indices : array-like of int, shape (n_samples,), optional
        Colour each sample by the cluster k-means assigned it to instead, in the colour of its
        centroid.
    title : str, optional
    ax : matplotlib Axes, optional
        Draw on these axes instead of a new figure.
    save_path : str or path, optional
        Also write the figure to this file (format from its extension).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    all_samples = _as_samples(all_samples, "all_samples").numpy()
    centroids = _as_centroids(centroids, all_samples.shape[1], "centroids").numpy()
    n_samples, n_features = all_samples.shape
    if nearest_indices is None:
        _check_positive_int(n_samples_per_cluster, "n_samples_per_cluster")
        if n_samples_per_cluster * len(centroids) != n_samples:
            raise ValueError(
                f"plot_clusters: {len(centroids)} centroids x n_samples_per_cluster="
                f"{n_samples_per_cluster} does not match the {n_samples} samples given; pass "
                "nearest_indices to colour by assigned cluster instead"
            )
        cluster_of_sample = np.repeat(np.arange(len(centroids)), n_samples_per_cluster)
    else:
        cluster_of_sample = _as_indices(nearest_indices, n_samples, len(centroids), "nearest_indices").numpy()

    if ax is None:
        figure, ax = plt.subplots(figsize=(7, 6))
    figure = ax.figure

    colour = plt.cm.rainbow(np.linspace(0, 1, len(centroids)))
    for i, centroid in enumerate(centroids):
        # Plot out the samples of this cluster in its own colour...
        x, y = plot_coordinates(all_samples[cluster_of_sample == i])
        ax.scatter(x, y, c=[colour[i]], s=8, alpha=0.8)
        # ...and its centroid as a large magenta X outlined in black.
        cx, cy = plot_coordinates(centroid[np.newaxis, :])
        ax.plot(cx, cy, markersize=35, marker="x", color="k", mew=10)
        ax.plot(cx, cy, markersize=30, marker="x", color="m", mew=5)

    if n_features == 1:
        ax.set_xlabel("feature 0 (the only one)")
        ax.set_yticks([])
    elif n_features == 2:
        ax.set_xlabel("feature 0")
        ax.set_ylabel("feature 1")
    else:
        ax.set_xlabel(f"feature 0 (first 2 of {n_features} features shown)")
        ax.set_ylabel(f"feature 1 (first 2 of {n_features} features shown)")
    if title is not None:
        ax.set_title(title)
    if save_path is not None:
        save_figure(figure, save_path)
    return figure


def plot_coordinates(points):
    """The x and y to plot for ``points`` (..., n_features): the first two features, or the
    only one against zero."""
    points = np.asarray(points)
    if points.shape[-1] == 1:
        return points[..., 0], np.zeros(points.shape[:-1])
    return points[..., 0], points[..., 1]


# --------------------------------------------------------------------------------------------
# 3. Initialisation
# --------------------------------------------------------------------------------------------


def choose_random_centroids(samples, n_clusters, seed=None):
    """Choose ``n_clusters`` distinct samples at random as the initial centroids.

    Parameters
    ----------
    samples : array-like, shape (n_samples, n_features)
    n_clusters : int
        At least 1 and at most ``n_samples``.
    seed : int, optional
        Exercise 1: with a seed, the same centroids are chosen in every process and on every
        call. Without one, they change each time.

    Returns
    -------
    initial_centroids : tf.Tensor, float32, shape (n_clusters, n_features)
    """
    samples = _as_samples(samples, "samples")
    _check_n_clusters(n_clusters, samples)
    seed = _check_seed(seed)

    # Step 0: Initialisation: Select `n_clusters` number of random points
    n_samples = tf.shape(samples)[0]
    indices = tf.range(0, n_samples)
    if seed is None:
        random_indices = tf.random.shuffle(indices)
    else:
        random_indices = tf.random.experimental.stateless_shuffle(indices, seed=[seed, 0])
    begin = [0]
    size = [n_clusters]
    centroid_indices = tf.slice(random_indices, begin, size)
    initial_centroids = tf.gather(samples, centroid_indices)
    return initial_centroids


# --------------------------------------------------------------------------------------------
# 4. and 5. Updating Centroids
# --------------------------------------------------------------------------------------------


def assign_to_nearest(samples, centroids):
    """Find the nearest centroid of each sample (squared Euclidean distance).

    "``tf.subtract`` will automatically expand the size of the two arguments": with the samples
    as a (1, n_samples, n_features) tensor and the centroids as (n_centroids, 1, n_features),
    the subtraction gives every sample minus every centroid. That tensor has
    n_centroids x n_samples x n_features numbers, which is fine for the lesson's data;
    ``kmeans`` below does the same job without it.

    Parameters
    ----------
    samples : array-like, shape (n_samples, n_features)
    centroids : array-like, shape (n_centroids, n_features)

    Returns
    -------
    nearest_indices : tf.Tensor, int64, shape (n_samples,)
        The index of each sample's nearest centroid; on a tie, the lower index.
    """
    samples = _as_samples(samples, "samples")
    centroids = _as_centroids(centroids, samples.shape[1], "centroids")

    # Finds the nearest centroid for each sample
    expanded_vectors = tf.expand_dims(samples, 0)
    expanded_centroids = tf.expand_dims(centroids, 1)
    distances = tf.reduce_sum(tf.square(tf.subtract(expanded_vectors, expanded_centroids)), 2)
    mins = tf.argmin(distances, 0)
    nearest_indices = mins
    return nearest_indices


def update_centroids(samples, nearest_indices, n_clusters):
    """Move each centroid to the mean of the samples assigned to it.

    Empty clusters: when no sample is nearest to a centroid, the lesson's ``tf.reduce_mean``
    of an empty group gives NaN, and a NaN centroid stays NaN for good. Here such a centroid
    is moved instead onto the sample that lies farthest from the (new) centroid of the
    cluster it is assigned to: the sample the current centroids explain worst. With several
    empty clusters, the first empty one gets the farthest sample, the next the second
    farthest, and so on, so ``n_clusters`` distinct centroids survive as long as the samples
    are distinct. scikit-learn's ``KMeans`` relocates empty clusters in much the same way
    (it measures from the previous centroids, and takes the moved sample out of its old
    cluster's mean).

    Parameters
    ----------
    samples : array-like, shape (n_samples, n_features)
    nearest_indices : array-like of int, shape (n_samples,)
        A cluster index in ``[0, n_clusters)`` for each sample, as ``assign_to_nearest``
        returns.
    n_clusters : int
        At least 1 and at most ``n_samples``.

    Returns
    -------
    new_centroids : tf.Tensor, float32, shape (n_clusters, n_features)
    """
    samples = _as_samples(samples, "samples")
    _check_n_clusters(n_clusters, samples)
    nearest_indices = _as_indices(nearest_indices, samples.shape[0], n_clusters, "nearest_indices")

    # Updates the centroid to be the mean of all samples associated with it.
    nearest_indices = tf.cast(nearest_indices, tf.int32)
    partitions = tf.dynamic_partition(samples, nearest_indices, n_clusters)
    new_centroids = tf.concat(
        [tf.expand_dims(tf.reduce_mean(partition, 0), 0) for partition in partitions], 0
    )

    counts = tf.stack([tf.shape(partition)[0] for partition in partitions])
    if tf.reduce_any(counts == 0):
        new_centroids = _relocate_empty_clusters(samples, nearest_indices, new_centroids, counts)
    return new_centroids


def _relocate_empty_clusters(samples, nearest_indices, centroids, counts):
    """Give each empty cluster (``counts == 0``) the next-farthest sample as its centroid."""
    n_clusters = centroids.shape[0]
    # How far each sample lies from the centroid of the cluster it is assigned to.
    own_centroids = tf.gather(centroids, nearest_indices)
    distances = tf.reduce_sum(tf.square(samples - own_centroids), axis=1)
    # The farthest samples first; on a tie, the lower index first.
    _, farthest = tf.math.top_k(distances, k=n_clusters)
    empty = tf.equal(counts, 0)
    # The first empty cluster takes the farthest sample, the second the next one, ...
    rank_among_empty = tf.cumsum(tf.cast(empty, tf.int32), exclusive=True)
    replacements = tf.gather(samples, tf.gather(farthest, rank_among_empty))
    return tf.where(empty[:, tf.newaxis], replacements, centroids)


# --------------------------------------------------------------------------------------------
# Beyond the lesson (extends "Updating Centroids" and the exercises)
# --------------------------------------------------------------------------------------------


def inertia(samples, centroids, nearest_indices):
    """The within-cluster sum of squares: sum of each sample's squared distance to its centroid.

    Lloyd's algorithm (alternating ``assign_to_nearest`` and ``update_centroids``) never
    makes it larger, which is what the iterations print to show.

    Parameters
    ----------
    samples : array-like, shape (n_samples, n_features)
    centroids : array-like, shape (n_clusters, n_features)
    nearest_indices : array-like of int, shape (n_samples,)

    Returns
    -------
    float
    """
    samples = _as_samples(samples, "samples")
    centroids = _as_centroids(centroids, samples.shape[1], "centroids")
    nearest_indices = _as_indices(nearest_indices, samples.shape[0], centroids.shape[0], "nearest_indices")
    return float(_sum_of_squares(samples, centroids, nearest_indices))


def _sum_of_squares(samples, centroids, nearest):
    """Each sample's squared distance to its centroid, summed in float64 (a float32 sum of a
    million terms loses digits). Plain TensorFlow ops: ``kmeans``' compiled loop uses it too."""
    squared = tf.reduce_sum(tf.square(samples - tf.gather(centroids, nearest)), axis=1)
    return tf.reduce_sum(tf.cast(squared, tf.float64))


def choose_kmeans_plus_plus_centroids(samples, n_clusters, seed=None):
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
    samples = _as_samples(samples, "samples")
    _check_n_clusters(n_clusters, samples)
    seed = _check_seed(seed)
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

centroids : tf.Tensor, float32, (n_clusters, n_features)
nearest_indices : tf.Tensor, int64, (n_samples,) -- each sample's nearest of ``centroids``
inertia : float -- of ``centroids`` and ``nearest_indices``
n_iterations : int -- update steps run
converged : bool -- whether the last iteration met the stopping rule
inertia_history, shift_history, changed_history : NumPy arrays, one entry per iteration: the
    inertia after it, the largest distance a centroid moved in it, the samples that changed
    cluster in it
"""


def kmeans(samples, initial_centroids, max_iterations=10, tolerance=0.0):
    """Run Lloyd's algorithm as one compiled TensorFlow function.

    Extends exercise 2 (alternate ``assign_to_nearest`` and ``update_centroids``) to data the
    lesson's functions are too slow or too large for. Given the same start it finds the same
    centroids as that loop, up to float32 rounding, but it never builds the
    n_samples x n_clusters x n_features tensor: distances come from
    ``|x|^2 - 2 x.c + |c|^2``, one matrix product (or, for few centroids and features, one
    feature at a time), and the new centroids from
    ``tf.math.unsorted_segment_sum`` and counts. Empty clusters are relocated as in
    ``update_centroids``. The loop is compiled with XLA where it is available, and as a plain
    ``tf.function`` where it is not.

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
        ``centroids``, ``nearest_indices``, ``inertia`` (of those centroids and indices),
        ``n_iterations``, ``converged`` and per-iteration histories.
    """
    samples = _as_samples(samples, "samples")
    initial_centroids = _as_centroids(initial_centroids, samples.shape[1], "initial_centroids")
    _check_n_clusters(initial_centroids.shape[0], samples, "initial_centroids")
    _check_positive_int(max_iterations, "max_iterations")
    if tolerance is None:
        # Run every iteration; `converged` then says whether the last one changed nothing.
        tolerance = -1.0
        stop_early = False
    else:
        tolerance = _check_finite_number(tolerance, "tolerance")
        if tolerance < 0:
            raise ValueError(f"tolerance must be >= 0 (or None), got {tolerance!r}")
        stop_early = True

    loop = _compiled_lloyd_loop()
    # The mean of the data, which the loop works relative to (computed here: TensorFlow's own
    # reduction is faster on a CPU than XLA's).
    offset = tf.reduce_mean(samples, axis=0)
    centroids, nearest_indices, n_iterations, converged, final_inertia, inertias, shifts, changed = loop(
        samples,
        offset,
        initial_centroids,
        max_iterations,
        tf.constant(tolerance, tf.float32),
        stop_early,
    )
    n_iterations = int(n_iterations)
    inertia_history = inertias.numpy()[:n_iterations]
    inertia_history[-1] = final_inertia  # the same number, computed without the expansion
    return KMeansResult(
        centroids=centroids,
        nearest_indices=nearest_indices,
        inertia=float(final_inertia),
        n_iterations=n_iterations,
        converged=bool(converged),
        inertia_history=inertia_history,
        shift_history=shifts.numpy()[:n_iterations],
        changed_history=changed.numpy()[:n_iterations],
    )


def _lloyd_loop(samples, offset, centroids, max_iterations, tolerance, stop_early):
    """The body of ``kmeans``, traced by ``tf.function`` once per shape, ``max_iterations`` and
    ``stop_early`` (Python values, so that XLA sees fixed shapes and a fixed loop bound).

    Each pass over the data goes block by block: it finds each sample's nearest centroid and,
    in the same pass, the per-cluster sums and counts the next update needs. Blocks are sized
    so that their block x n_clusters matrix of distances stays within
    ``_DISTANCE_BLOCK_BYTES``, and the data is read once per iteration.
    """
    n_samples, n_features = samples.shape
    n_clusters = centroids.shape[0]
    small = n_clusters * n_features <= _SMALL_PROBLEM
    # Work relative to `offset`, the mean of the data: |x|^2 - 2 x.c + |c|^2 loses precision
    # when the data sits far from the origin. Each block is shifted as it is read, so no
    # shifted copy of the whole data set is made.
    centroids = centroids - offset
    if small:
        block_rows = n_samples  # no distance matrix is ever held: one block
    else:
        block_rows = max(1, min(n_samples, _DISTANCE_BLOCK_BYTES // (4 * n_clusters)))
    n_blocks, remainder = divmod(n_samples, block_rows)

    def assign_block(block, centroids):
        """Nearest centroids of one block of samples, their inertia, and per-cluster sums."""
        block = block - offset
        if small:
            # Few centroids and features: sum (x_j - c_j)^2 one feature at a time, which XLA
            # fuses into one pass (much faster here than a tiny matrix product).
            distances = tf.square(block[:, 0:1] - centroids[:, 0])
            for j in range(1, n_features):
                distances += tf.square(block[:, j : j + 1] - centroids[:, j])
            nearest = tf.argmin(distances, axis=1, output_type=tf.int32)
            block_inertia = _sum_of_squares(block, centroids, nearest)
        else:
            # |x - c|^2 = |x|^2 - 2 x.c + |c|^2; |x|^2 does not change which c is nearest.
            partial = tf.reduce_sum(tf.square(centroids), axis=1) - 2.0 * tf.matmul(
                block, centroids, transpose_b=True
            )
            nearest = tf.argmin(partial, axis=1, output_type=tf.int32)
            smallest = tf.gather(partial, nearest, batch_dims=1) + tf.reduce_sum(tf.square(block), axis=1)
            block_inertia = tf.reduce_sum(tf.cast(tf.maximum(smallest, 0.0), tf.float64))
        # A float32 running sum over many samples drifts enough to move the centroids, and
        # the drift compounds over the iterations; so each run of _SUM_ROWS rows is summed on
        # its own in float32, and those partial sums are added up in float64.
        n_runs = -(-block.shape[0] // _SUM_ROWS)
        run_of_row = tf.range(block.shape[0], dtype=tf.int32) // _SUM_ROWS
        partial_sums = tf.math.unsorted_segment_sum(
            block, nearest + n_clusters * run_of_row, n_clusters * n_runs
        )
        partial_sums = tf.reshape(partial_sums, (n_runs, n_clusters, n_features))
        sums = tf.reduce_sum(tf.cast(partial_sums, tf.float64), axis=0)
        counts = tf.math.unsorted_segment_sum(tf.ones_like(nearest), nearest, n_clusters)
        return nearest, block_inertia, sums, counts

    def assign(centroids):
        """One pass over the data: (nearest, inertia, sums, counts) for these centroids."""

        def step(b, nearest_blocks, inertia, sums, counts):
            block = tf.slice(samples, [b * block_rows, 0], [block_rows, n_features])
            nearest, block_inertia, block_sums, block_counts = assign_block(block, centroids)
            return (
                b + 1,
                nearest_blocks.write(b, nearest),
                inertia + block_inertia,
                sums + block_sums,
                counts + block_counts,
            )

        start = (
            tf.constant(0),
            tf.TensorArray(tf.int32, size=n_blocks, element_shape=(block_rows,)),
            tf.constant(0.0, tf.float64),
            tf.zeros((n_clusters, n_features), tf.float64),
            tf.zeros((n_clusters,), tf.int32),
        )
        _, nearest_blocks, inertia, sums, counts = tf.while_loop(lambda b, *_: b < n_blocks, step, start)
        nearest = nearest_blocks.concat()
        if remainder:
            last = assign_block(samples[n_blocks * block_rows :], centroids)
            nearest = tf.concat([nearest, last[0]], axis=0)
            inertia, sums, counts = inertia + last[1], sums + last[2], counts + last[3]
        return nearest, inertia, sums, counts

    def update(nearest, sums, counts):
        means = tf.cast(sums / tf.cast(tf.maximum(counts, 1), tf.float64)[:, tf.newaxis], samples.dtype)
        return tf.cond(
            tf.reduce_any(counts == 0),
            lambda: _relocate_empty_clusters(samples - offset, nearest, means, counts),
            lambda: means,
        )

    nearest, _, sums, counts = assign(centroids)
    inertias = tf.TensorArray(tf.float64, size=max_iterations, element_shape=())
    shifts = tf.TensorArray(tf.float32, size=max_iterations, element_shape=())
    changes = tf.TensorArray(tf.int32, size=max_iterations, element_shape=())

    def condition(i, centroids, nearest, sums, counts, converged, inertias, shifts, changes):
        return tf.logical_and(i < max_iterations, tf.logical_not(tf.logical_and(stop_early, converged)))

    def body(i, centroids, nearest, sums, counts, converged, inertias, shifts, changes):
        new_centroids = update(nearest, sums, counts)
        new_nearest, new_inertia, new_sums, new_counts = assign(new_centroids)
        shift = tf.sqrt(tf.reduce_max(tf.reduce_sum(tf.square(new_centroids - centroids), axis=1)))
        changed = tf.reduce_sum(tf.cast(new_nearest != nearest, tf.int32))
        converged = tf.logical_or(shift <= tolerance, changed == 0)
        return (
            i + 1,
            new_centroids,
            new_nearest,
            new_sums,
            new_counts,
            converged,
            inertias.write(i, new_inertia),
            shifts.write(i, shift),
            changes.write(i, changed),
        )

    start = (tf.constant(0), centroids, nearest, sums, counts, tf.constant(False), inertias, shifts, changes)
    i, centroids, nearest, _, _, converged, inertias, shifts, changes = tf.while_loop(condition, body, start)
    if small:
        final_inertia = inertias.read(i - 1)  # already summed from the differences themselves
    else:
        # From the differences themselves rather than the expansion: one more pass, fused.
        final_inertia = _sum_of_squares(samples - offset, centroids, nearest)
    return (
        centroids + offset,
        tf.cast(nearest, tf.int64),
        i,
        converged,
        final_inertia,
        inertias.stack(),
        shifts.stack(),
        changes.stack(),
    )


# Up to this many centroids x features, distances are summed feature by feature rather than
# through a matrix product (measured: benchmarks/README.md).
_SMALL_PROBLEM = 32
_DISTANCE_BLOCK_BYTES = 64 * 2**20
# Rows summed in float32 before the partial sums are added up in float64.
_SUM_ROWS = 4096
_compiled = {}


def _compiled_lloyd_loop():
    """``_lloyd_loop`` under XLA when this TensorFlow build can compile it, else plain."""
    if "loop" not in _compiled:
        try:
            loop = tf.function(_lloyd_loop, jit_compile=True)
            # Compile a tiny problem once: a build without XLA fails here, not on real data.
            loop(tf.zeros((2, 1)), tf.zeros((1,)), tf.zeros((1, 1)), 1, tf.constant(0.0), True)
        except (tf.errors.OpError, NotImplementedError, ValueError):
            loop = tf.function(_lloyd_loop)
        _compiled["loop"] = loop
    return _compiled["loop"]


def save_figure(figure, path):
    """Write a matplotlib figure to ``path`` in one step: never a half-written file.

    The figure goes to a temporary file beside ``path`` first, which then replaces ``path``.
    The format comes from the extension of ``path``.
    """
    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lstrip(".").lower()
    supported = figure.canvas.get_supported_filetypes()
    if extension not in supported:
        raise ValueError(
            f"save_path {path!r}: unsupported figure format {extension!r}; use one of {', '.join(sorted(supported))}"
        )
    with atomic_write(path) as temporary:
        figure.savefig(temporary, format=extension, dpi=100, bbox_inches="tight")


class atomic_write:
    """Context manager: yields a temporary path beside ``path``, renamed to ``path`` on success.

    On an error the temporary file is removed, and ``path`` is left as it was.
    """

    def __init__(self, path):
        self.path = os.fspath(path)

    def __enter__(self):
        directory = os.path.dirname(os.path.abspath(self.path))
        suffix = os.path.splitext(self.path)[1]
        handle, self.temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=suffix)
        os.close(handle)
        # mkstemp makes the file private (0600); give it the permissions a new file would get.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.temporary, 0o666 & ~umask)
        return self.temporary

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is None:
            os.replace(self.temporary, self.path)
        elif os.path.exists(self.temporary):
            os.remove(self.temporary)
        return False


# --------------------------------------------------------------------------------------------
# Argument checks: a clear ValueError or TypeError that names the argument, up front, instead
# of an error from deep inside TensorFlow (or a silent NaN) later.
# --------------------------------------------------------------------------------------------


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_finite_number(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _check_seed(seed):
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be a non-negative integer or None, got {seed!r} ({type(seed).__name__})")
    if not 0 <= seed < 2**63:
        raise ValueError(f"seed must be a non-negative integer below 2**63, got {seed!r}")
    return int(seed)


def _as_float_matrix(value, name):
    """``value`` as a 2-D float32 tensor, or a TypeError/ValueError naming ``name``."""
    if isinstance(value, tf.Tensor):
        if not (value.dtype.is_floating or value.dtype.is_integer) or value.dtype == tf.bool:
            raise TypeError(f"{name} must hold numbers, got a tensor of {value.dtype.name}")
        matrix = tf.cast(value, tf.float32)
    else:
        try:
            array = np.asarray(value)
        except ValueError as error:  # NumPy refuses ragged lists
            raise ValueError(
                f"{name} must be a 2-D array of numbers with rows of equal length ({error})"
            ) from None
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


def _as_samples(samples, name="samples"):
    return _as_float_matrix(samples, name)


def _as_centroids(centroids, n_features, name="centroids"):
    centroids = _as_float_matrix(centroids, name)
    if centroids.shape[1] != n_features:
        raise ValueError(f"{name} has {centroids.shape[1]} features but the samples have {n_features}")
    return centroids


def _check_n_clusters(n_clusters, samples, name="n_clusters"):
    _check_positive_int(n_clusters, name)
    n_samples = samples.shape[0]
    if n_clusters > n_samples:
        raise ValueError(f"{name}: {n_clusters} clusters is more than the {n_samples} samples given")


def _as_indices(indices, n_samples, n_clusters, name):
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
        raise ValueError(
            f"{name} must have one entry per sample, shape ({n_samples},), got shape {array.shape}"
        )
    if array.size and (array.min() < 0 or array.max() >= n_clusters):
        bad = array[(array < 0) | (array >= n_clusters)][0]
        raise ValueError(f"{name} must lie in [0, {n_clusters}) for n_clusters={n_clusters}, found {bad}")
    return tf.constant(array, dtype=tf.int64)
