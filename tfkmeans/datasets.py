"""Data to try k-means on: the lesson's blobs."""

import numpy as np

from ._tensorflow import tf
from ._validation import check_count, check_seed


def lesson_blobs(n_clusters=3, n_samples_per_cluster=500, n_features=2, embiggen_factor=70, seed=700):
    """The blobs of the lesson "Clustering and k-means", the same numbers as its ``create_samples``.

    The centres are what ``np.random.seed(seed)`` followed by ``np.random.random((1,
    n_features)) * embiggen_factor - embiggen_factor / 2`` for each cluster gives (drawn from a
    ``RandomState`` of its own, so NumPy's global generator is left alone); around each centre,
    ``n_samples_per_cluster`` samples from TensorFlow's stateless normal draw with seed
    ``(seed, i)`` and standard deviation 5.

    Returns
    -------
    centres : ndarray of float32, shape (n_clusters, n_features)
    samples : ndarray of float32, shape (n_clusters * n_samples_per_cluster, n_features)
        Blob 0's samples first, then blob 1's, and so on.
    """
    check_count(n_clusters, "n_clusters")
    check_count(n_samples_per_cluster, "n_samples_per_cluster")
    check_count(n_features, "n_features")
    if not np.isfinite(embiggen_factor):
        raise ValueError(f"embiggen_factor must be a finite number, got {embiggen_factor!r}")
    seed = check_seed(seed)
    if seed is None:
        seed = int(np.random.default_rng().integers(2**32))
    random_state = np.random.RandomState(seed % 2**32)
    centres = np.concatenate(
        [random_state.random_sample((1, n_features)) * embiggen_factor - embiggen_factor / 2 for _ in range(n_clusters)]
    ).astype(np.float32)
    blobs = [
        tf.random.stateless_normal((n_samples_per_cluster, n_features), seed=[seed, i], stddev=5.0) + centres[i]
        for i in range(n_clusters)
    ]
    return centres, tf.concat(blobs, 0).numpy()
