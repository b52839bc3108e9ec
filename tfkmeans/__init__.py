"""tfkmeans: k-means for TensorFlow 2.

Where the lesson "Clustering and k-means" (LearningTensorFlow.com) ends: scikit-learn's k-means
family (``KMeans``, ``MiniBatchKMeans``, ``BisectingKMeans``, ``k_means``, ``kmeans_plusplus``),
and spherical k-means for cosine geometry (``SphericalKMeans``), computed by TensorFlow, dense or sparse, in memory, streamed from ``tf.data`` or shared out by
``tf.distribute``; SavedModel export; and your own data on the command line (``tfkmeans``).

TensorFlow is imported on first use of a name below, not on ``import tfkmeans``, so that the
command line answers ``--help`` at once.
"""

import importlib
import typing

__version__ = "0.2.0"

__all__ = [
    "BisectingKMeans",
    "DataError",
    "KMeans",
    "KMeansResult",
    "MiniBatchKMeans",
    "SphericalKMeans",
    "assign",
    "inertia",
    "k_means",
    "kmeans",
    "kmeans_plusplus",
    "lesson_blobs",
    "load_samples",
    "random_centroids",
]

# Where each public name is defined (imported on first use).
_PUBLIC = {
    "BisectingKMeans": "._bisect_k_means",
    "DataError": "._input",
    "KMeans": "._kmeans",
    "KMeansResult": "._functions",
    "MiniBatchKMeans": "._kmeans",
    "SphericalKMeans": "._spherical_k_means",
    "assign": "._functions",
    "inertia": "._functions",
    "k_means": "._kmeans",
    "kmeans": "._functions",
    "kmeans_plusplus": "._kmeans",
    "lesson_blobs": ".datasets",
    "load_samples": "._input",
    "random_centroids": "._functions",
}

if typing.TYPE_CHECKING:  # what static readers (type checkers, the API reference) see
    from ._bisect_k_means import BisectingKMeans
    from ._functions import KMeansResult, assign, inertia, kmeans, random_centroids
    from ._input import DataError, load_samples
    from ._kmeans import KMeans, MiniBatchKMeans, k_means, kmeans_plusplus
    from ._spherical_k_means import SphericalKMeans
    from .datasets import lesson_blobs


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
