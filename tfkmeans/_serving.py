"""A fitted model as a TensorFlow SavedModel, for serving without this package.

The serving function computes what ``predict`` computes, with the same kernel
(``_dense.nearest_centroids``), the same precision policy (``_precision``: float64 where float32
squares could overflow) and the same geometry (``_geometry``): for cosine, each sample is
scaled to unit length first. A sample with a NaN or infinite value, or in cosine geometry a
row of zeros (which has no direction), gets cluster -1 and NaN distances. A distance that
float32 cannot hold, which ``transform`` refuses (``_precision.in_dtype``), is served as NaN,
never as infinity; the sample's cluster, which ``predict`` gives, is still served. The
directory is written by ``_output.save_model``: whole or not at all.
"""

import numpy as np

from . import _dense, _output, _precision
from ._geometry import SQUARED_EUCLIDEAN, unit_rows_in_graph
from ._tensorflow import tf


def export(centres, path, geometry=SQUARED_EUCLIDEAN):
    """Write a SavedModel of ``centres`` to the new directory ``path``. Its ``serving_default``
    maps float32 ``samples`` (None, n_features) to ``cluster_index`` (int64, as ``predict``)
    and ``distance`` (float32, as ``transform`` gives it, to that centre), and in squared
    Euclidean geometry ``squared_distance``, in cosine geometry ``similarity`` (float32)."""
    centres = np.asarray(centres, np.float32)
    n_features = centres.shape[1]
    # Relative to the centres' mean, as predict measures them (unit rows need no shift); in
    # float64 where float32 squares could overflow, else float32, as predict.
    mean = centres.mean(axis=0) if geometry.centred else np.zeros(n_features, np.float32)
    dtypes = (np.float32, np.float64)
    relative = {dtype: tf.constant(centres.astype(dtype) - mean.astype(dtype)) for dtype in dtypes}
    offsets = {dtype: tf.constant(mean.astype(dtype)) for dtype in dtypes}
    limit = _precision.largest_safe(n_features)

    def in_float32(values):
        """``values`` in float32, NaN where they exceed its range: what ``_precision.in_dtype``
        refuses, a serving signature cannot (it answers for each sample, and may not raise)."""
        fits = tf.abs(values) <= tf.constant(np.finfo(np.float32).max, values.dtype)
        return tf.where(fits, tf.cast(values, tf.float32), tf.constant(float("nan"), tf.float32))

    def nearest_in(samples, dtype):
        shifted = tf.cast(samples, dtype) - offsets[dtype]
        relative_centres = relative[dtype]
        nearest, _ = _dense.nearest_centroids(shifted, relative_centres)
        squared = tf.reduce_sum(tf.square(shifted - tf.gather(relative_centres, nearest)), axis=1)
        return nearest, in_float32(squared), in_float32(geometry.reported(squared))

    @tf.function(input_signature=[tf.TensorSpec([None, n_features], tf.float32, name="samples")])
    def serve(samples):
        usable = tf.reduce_all(tf.math.is_finite(samples), axis=1)
        if not geometry.centred:  # cosine: unit rows, as predict scales them; a row of zeros has no direction
            samples, has_direction = unit_rows_in_graph(samples)
            usable = tf.logical_and(usable, has_direction)
        clean = tf.where(usable[:, tf.newaxis], samples, tf.zeros_like(samples))
        largest = tf.reduce_max(tf.abs(clean - offsets[np.float32]))  # -inf for no samples
        nearest, squared, distance = tf.cond(
            largest < limit, lambda: nearest_in(clean, np.float32), lambda: nearest_in(clean, np.float64)
        )
        nan = tf.constant(float("nan"), tf.float32)
        outputs = {
            "cluster_index": tf.where(usable, tf.cast(nearest, tf.int64), tf.constant(-1, tf.int64)),
            "distance": tf.where(usable, distance, nan),
        }
        if geometry.centred:
            outputs["squared_distance"] = tf.where(usable, squared, nan)
        else:
            outputs["similarity"] = tf.where(usable, 1.0 - distance, nan)
        return outputs

    module = tf.Module()
    module.serve = serve
    _output.save_model(module, {"serving_default": serve}, path)
