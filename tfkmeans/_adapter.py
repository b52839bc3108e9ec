"""The protocol every kind of samples implements on the device, and the one-pass functions
written against it alone.

The loop (``_loop``), the seeding (``_seeding``) and the mini-batch steps (``_minibatch``) see
samples only through these members, so they run unchanged on dense samples
(``_dense.DenseSamples``) and sparse ones (``_sparse.SparseSamples``), in every geometry
(``_geometry``): an adapter applies its geometry in ``nearest``, ``distances``,
``distances_to``, ``reported`` and ``inertia``, and the loop calls ``geometry.finish`` on each
update. A new kind of samples (a new layout, a new device representation) is a new adapter
with these members; ``tests/test_adapter.py`` holds every adapter to them.

Everything runs inside a traced function (the dispatcher, ``_dispatch``, builds the adapter
from tensors there); nothing validates its input.
"""

import typing


class Adapter(typing.Protocol):
    """Samples on the device, in a geometry.

    Attributes: ``dtype`` (the compute dtype), ``geometry``, ``n_features`` (a Python int, or
    None in a trace for any shape: kernels size their work by ``_tensorflow.dim``), ``n_rows`` (rows held, padding included) and ``n_samples`` (rows that are samples), both
    scalar tensors.
    """

    dtype: typing.Any
    geometry: typing.Any
    n_features: int | None
    n_rows: typing.Any
    n_samples: typing.Any

    def real(self, values, filler):
        """``values`` (one per row) with ``filler`` on rows that are padding."""

    def count_changed(self, labels, old_labels):
        """How many samples (not padding) have another label (int32)."""

    def full_pass(self, weights, centroids):
        """One pass of Lloyd's algorithm: each sample's nearest centroid (int32), and the
        per-cluster sums (weighted) and weights of the samples so labelled (float64)."""

    def labels(self, centroids):
        """Each sample's nearest centroid (int32; the lower index on a tie)."""

    def nearest(self, centroids):
        """Each sample's nearest centroid and its distance to it (one block: a mini-batch)."""

    def cluster_sums(self, weights, nearest, n_clusters):
        """Per-cluster sums of the samples (weighted) and of their weights (float64)."""

    def distances_to(self, centroids, labels):
        """Each sample's distance to the centroid it is labelled with (-1 for padding)."""

    def distances(self, points):
        """(n_rows, n_points) distances to ``points``, never below 0."""

    def reported(self, points):
        """(n_rows, n_points) distances as ``transform`` reports them."""

    def rows_at(self, indices):
        """The rows at ``indices``, dense, (len(indices), n_features)."""

    def batch(self, indices):
        """The samples at ``indices`` (with repeats) as an adapter of the same kind."""

    def inertia(self, weights, centroids, labels, float64=False):
        """The (weighted) sum of each sample's distance to its labelled centroid, in float64,
        from the differences themselves; ``float64`` takes them in float64 too."""


MEMBERS = tuple(name for name in Adapter.__dict__ if not name.startswith("_")) + (
    "dtype",
    "geometry",
    "n_features",
    "n_rows",
    "n_samples",
)


def assign(data, weights, centroids):
    """Each sample's nearest centroid (int32) and the inertia of that assignment (float64)."""
    labels = data.labels(centroids)
    return labels, data.inertia(weights, centroids, labels)


def reported(data, weights, points):
    """``data.reported(points)`` (``weights`` are not used: the dispatcher's signature)."""
    return data.reported(points)
