"""tfkmeans: k-means for TensorFlow 2.

Where the lesson "Clustering and k-means" (LearningTensorFlow.com) ends: ``KMeans``, a
scikit-learn estimator whose Lloyd loop is compiled by XLA, k-means++ seeding, SavedModel
export, and your own data on the command line (``tfkmeans``).

TensorFlow is imported on first use of a name below, not on ``import tfkmeans``, so that the
command line answers ``--help`` at once.
"""

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "KMeans": "._kmeans",
    "BisectingKMeans": "._bisect_k_means",
    "MiniBatchKMeans": "._kmeans",
    "k_means": "._kmeans",
    "kmeans": "._functions",
    "KMeansResult": "._functions",
    "inertia": "._functions",
    "assign": "._functions",
    "kmeans_plusplus": "._seeding",
    "random_centroids": "._seeding",
    "lesson_blobs": ".datasets",
    "load_samples": "._input",
    "DataError": "._input",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
