"""The functions of the lesson "Clustering and k-means" (LearningTensorFlow.com), in TensorFlow 2.

Five functions, in the order the lesson adds them to this file:

1. ``create_samples``           -- "Generating Samples"
2. ``plot_clusters``            -- "Generating Samples" (the plot)
3. ``choose_random_centroids``  -- "Initialisation"
4. ``assign_to_nearest``        -- "Updating Centroids" (assign to nearest cluster)
5. ``update_centroids``         -- "Updating Centroids" (update centroids)

The lesson ran them in a ``tf.Session``; in TensorFlow 2 they run eagerly and return
``tf.Tensor`` values, so ``tensor.numpy()`` takes the place of ``session.run(tensor)``.
The argument checks sit at the bottom of the file, out of the lesson's way.
"""

import numbers

import numpy as np
import tensorflow as tf

# --------------------------------------------------------------------------------------------
# 1. Generating Samples
# --------------------------------------------------------------------------------------------


def create_samples(n_clusters, n_samples_per_cluster, n_features, embiggen_factor, seed):
    """Generate blobs of samples around random centres.

    "create ``n_clusters`` different centroids at random (using ``np.random.random((1,
    n_features))``) and using those as the centre points for ``tf.random_normal``."

    The centres are the lesson's own: the lesson calls ``np.random.seed(seed)`` and then
    ``np.random.random((1, n_features))`` for each centre. Here a ``np.random.RandomState(seed)``
    of our own draws the same numbers, without changing NumPy's global generator. The blobs
    around them are TensorFlow 2's stateless normal draws (the TF 1 ``tf.random_normal``
    numbers cannot be reproduced).

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
        seed = int(np.random.default_rng().integers(2**32))

    # The lesson's np.random.seed(seed), as a generator of our own: the same numbers.
    random_state = np.random.RandomState(seed % 2**32)
    slices = []
    centroids = []
    for i in range(n_clusters):
        # tf.random_normal -> a stateless op with the seed pair (seed, i): every blob is its own
        # independent draw, and the same seed gives the same blob in every process.
        samples = tf.random.stateless_normal(
            (n_samples_per_cluster, n_features),
            seed=[seed, i],
            mean=0.0,
            stddev=5.0,
            dtype=tf.float32,
            name=f"cluster_{i}",
        )
        # The lesson's np.random.random((1, n_features)), from that generator.
        current_centroid = random_state.random_sample((1, n_features)) * embiggen_factor - embiggen_factor / 2
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


def plot_clusters(all_samples, centroids, n_samples_per_cluster):
    """Plot the samples, one colour per generated blob, and each centroid as a big magenta X.

    "All this code does is plots out the samples from each cluster using a different colour,
    and creates a big magenta X where the centroid is." The first ``n_samples_per_cluster``
    samples get the first colour, and so on. Unlike the lesson's version it does not call
    ``plt.show()`` itself: it returns the figure, and the scripts show it (or, with no display,
    save it).

    Parameters
    ----------
    all_samples : array-like, shape (n_clusters * n_samples_per_cluster, n_features)
        Only the first two features are plotted.
    centroids : array-like, shape (n_clusters, n_features)
    n_samples_per_cluster : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    all_samples = _as_samples(all_samples, "all_samples").numpy()
    centroids = _as_centroids(centroids, all_samples.shape[1], "centroids").numpy()
    _check_positive_int(n_samples_per_cluster, "n_samples_per_cluster")
    if all_samples.shape[1] < 2:
        raise ValueError(f"plot_clusters needs at least 2 features to plot, got {all_samples.shape[1]}")
    if n_samples_per_cluster * len(centroids) != len(all_samples):
        raise ValueError(
            f"plot_clusters: {len(centroids)} centroids x n_samples_per_cluster={n_samples_per_cluster} "
            f"does not match the {len(all_samples)} samples given"
        )

    figure = plt.figure(figsize=(7, 6))
    # Choose a colour for each cluster
    colour = plt.cm.rainbow(np.linspace(0, 1, len(centroids)))
    for i, centroid in enumerate(centroids):
        # Grab just the samples for the given cluster and plot them out with a new colour
        samples = all_samples[i * n_samples_per_cluster : (i + 1) * n_samples_per_cluster]
        plt.scatter(samples[:, 0], samples[:, 1], c=[colour[i]], s=8)
        # Also plot centroid
        plt.plot(centroid[0], centroid[1], markersize=35, marker="x", color="k", mew=10)
        plt.plot(centroid[0], centroid[1], markersize=30, marker="x", color="m", mew=5)
    return figure


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
    random_indices = tf.range(0, n_samples)
    if seed is None:
        random_indices = tf.random.shuffle(random_indices)
    else:
        random_indices = tf.random.experimental.stateless_shuffle(random_indices, seed=[seed, 0])
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
    n_centroids x n_samples x n_features numbers, which is fine for the lesson's data.

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
    are distinct.

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
    new_centroids = tf.concat([tf.expand_dims(tf.reduce_mean(partition, 0), 0) for partition in partitions], 0)

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


def _as_samples(value, name="samples"):
    """``value`` as a 2-D float32 tensor of finite numbers, or a TypeError/ValueError naming it."""
    if isinstance(value, tf.Tensor):
        if not (value.dtype.is_floating or value.dtype.is_integer) or value.dtype == tf.bool:
            raise TypeError(f"{name} must hold numbers, got a tensor of {value.dtype.name}")
        matrix = tf.cast(value, tf.float32)
    else:
        try:
            array = np.asarray(value)
        except ValueError as error:  # NumPy refuses ragged lists
            raise ValueError(f"{name} must be a 2-D array of numbers with rows of equal length ({error})") from None
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


def _as_centroids(centroids, n_features, name="centroids"):
    centroids = _as_samples(centroids, name)
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
        raise ValueError(f"{name} must have one entry per sample, shape ({n_samples},), got shape {array.shape}")
    if array.size and (array.min() < 0 or array.max() >= n_clusters):
        bad = array[(array < 0) | (array >= n_clusters)][0]
        raise ValueError(f"{name} must lie in [0, {n_clusters}) for n_clusters={n_clusters}, found {bad}")
    return tf.constant(array, dtype=tf.int64)
