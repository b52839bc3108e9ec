"""tfkmeans._adapter: the one protocol the dense and sparse adapters implement, which is where a
geometry plugs in. Both adapters have every member, with the protocol's signature, and give the
same answers on the same samples, in each geometry, as NumPy computes them by hand."""

import inspect

import numpy as np
import pytest
import scipy.sparse as sp

from tfkmeans import _adapter, _dense, _dispatch, _geometry, _samples, _sparse
from tfkmeans._tensorflow import tf

ADAPTERS = [_dense.DenseSamples, _sparse.SparseSamples]
GEOMETRIES = [_geometry.SQUARED_EUCLIDEAN, _geometry.COSINE]


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda adapter: adapter.__name__)
def test_every_adapter_has_every_member_with_the_protocols_signature(adapter):
    for name, member in vars(_adapter.Adapter).items():
        if name.startswith("_") or not callable(member):
            continue
        assert hasattr(adapter, name), f"{adapter.__name__} lacks {name}"
        assert inspect.signature(getattr(adapter, name)) == inspect.signature(member), name
    assert set(_adapter.MEMBERS) >= {"full_pass", "inertia", "distances", "dtype", "geometry", "n_samples"}


def every_member(data, weights, centroids, labels, indices):
    """What each member of the protocol gives, for one set of arguments (in a trace for one shape
    or for any shape)."""
    n_clusters = tf.shape(centroids)[0] if centroids.shape[0] is None else centroids.shape[0]
    full_labels, sums, counts = data.full_pass(weights, centroids)
    nearest, nearest_distances = data.nearest(centroids)
    batch_nearest, batch_distances = data.batch(indices).nearest(centroids)
    return {
        "full_pass labels": full_labels,
        "full_pass sums": sums,
        "full_pass counts": counts,
        "labels": data.labels(centroids),
        "nearest": nearest,
        "nearest distances": nearest_distances,
        "cluster_sums": data.cluster_sums(weights, labels, n_clusters)[0],
        "distances_to": data.distances_to(centroids, labels),
        "distances": data.distances(centroids),
        "reported": data.reported(centroids),
        "rows_at": data.rows_at(indices),
        "inertia": data.inertia(weights, centroids, labels),
        "inertia float64": data.inertia(weights, centroids, labels, float64=True),
        "count_changed": data.count_changed(labels, full_labels),
        "batch nearest": batch_nearest,
        "batch distances": batch_distances,
        "real": data.real(tf.ones([data.n_rows], tf.float64), 0.0),
        "n_samples": tf.cast(data.n_samples, tf.int64),
    }


def by_hand(X, weights, centroids, labels, indices, geometry):
    """The same, from NumPy, in float64."""
    squared = np.sum((X[:, None, :] - centroids[None]) ** 2, axis=2)
    to_distance = (lambda d: d / 2) if geometry is _geometry.COSINE else (lambda d: d)
    distances = to_distance(squared)
    nearest = squared.argmin(axis=1)
    own = to_distance(np.sum((X - centroids[labels]) ** 2, axis=1))
    w = np.ones(len(X)) if weights is None else weights
    reported = distances if geometry is _geometry.COSINE else np.sqrt(squared)
    return {
        "full_pass labels": nearest,
        "full_pass sums": np.array([(X * w[:, None])[nearest == j].sum(axis=0) for j in range(len(centroids))]),
        "full_pass counts": np.bincount(nearest, weights=w, minlength=len(centroids)),
        "labels": nearest,
        "nearest": nearest,
        "nearest distances": distances.min(axis=1),
        "cluster_sums": np.array([(X * w[:, None])[labels == j].sum(axis=0) for j in range(len(centroids))]),
        "distances_to": own,
        "distances": distances,
        "reported": reported,
        "rows_at": X[indices],
        "inertia": np.sum(own * w),
        "inertia float64": np.sum(own * w),
        "count_changed": np.count_nonzero(labels != nearest),
        "batch nearest": nearest[indices],
        "batch distances": distances.min(axis=1)[indices],
        "real": np.ones(len(X)),
        "n_samples": len(X),
    }


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda geometry: geometry.name)
@pytest.mark.parametrize("weighted", [False, True])
def test_dense_and_sparse_give_numpys_answers(geometry, weighted):
    rng = np.random.default_rng(4)
    X = np.abs(rng.normal(size=(120, 6)))
    X[X < 0.4] = 0.0  # sparse rows with holes
    X = geometry.prepare(X)
    centroids = geometry.prepare(X[[3, 40, 77, 100]] + 0.05)
    labels = rng.integers(0, 4, size=120)
    indices = np.array([5, 5, 90, 0])
    weights = rng.uniform(0.5, 2.0, size=120) if weighted else None
    arguments = [tf.constant(centroids), tf.constant(labels, tf.int32), tf.constant(indices, tf.int32)]
    tensor_weights = None if weights is None else tf.constant(weights)
    dense = _dispatch.run_dense(
        every_member, tf.constant(X), tensor_weights, *arguments, n_clusters=4, allow_xla=False, geometry=geometry
    )
    parts = _samples.sparse_parts(sp.csr_matrix(X))
    sparse = _dispatch.run_sparse(every_member, parts, tensor_weights, *arguments, geometry=geometry)
    expected = by_hand(X, weights, centroids, labels, indices, geometry)
    for name, value in expected.items():
        for kind, got in (("dense", dense[name]), ("sparse", sparse[name])):
            np.testing.assert_allclose(np.asarray(got), value, rtol=1e-9, atol=1e-12, err_msg=f"{kind} {name}")
