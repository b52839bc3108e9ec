"""k-means with scikit-learn's interface (``KMeans``), and as functions (``kmeans``, ``assign``,
``inertia``). The heavy lifting is in ``_lloyd`` (the compiled loop) and ``_seeding``; this
module checks the input once, at the edge, and turns results into NumPy values."""

import collections
import numbers
import warnings

import numpy as np
import tensorflow as tf
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_array, check_is_fitted, validate_data

from . import _lloyd, _seeding
from ._validation import FLOAT_DTYPES, as_centroids, as_labels, as_samples, check_count, check_n_clusters


class _BaseKMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """What ``KMeans`` and ``MiniBatchKMeans`` share: parameters, input checks, seeding, and
    everything a fitted model does (``predict``, ``transform``, ``score``, ``export``)."""

    _parameter_constraints = {
        "n_clusters": [Interval(numbers.Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), callable, "array-like"],
        "n_init": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @property
    def _n_features_out(self):
        return self.cluster_centers_.shape[0]

    # --- input checks -------------------------------------------------------------------

    def _check_data(self, X, reset):
        """``X`` as a C-ordered float32/float64 array, with scikit-learn's checks and messages
        (and ``n_features_in_``, ``feature_names_in_`` when ``reset``)."""
        if isinstance(X, (tf.Tensor, tf.Variable)):
            X = X.numpy()
        return validate_data(self, X, dtype=FLOAT_DTYPES, order="C", reset=reset, accept_sparse=False)

    def _check_weights(self, sample_weight, X):
        """None where all weights are equal (they do not move the centroids; the inertia is
        scaled after), else a NumPy array of non-negative weights in ``X``'s dtype."""
        if sample_weight is None:
            return None, 1.0
        weights = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        if np.any(weights < 0) or not np.any(weights > 0):
            raise ValueError("sample_weight must be non-negative, with at least one positive weight")
        if np.all(weights == weights[0]):
            return None, float(weights[0])
        return weights, 1.0

    def _check_params_vs_input(self, X, default_n_init):
        if X.shape[0] < self.n_clusters:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}.")
        # scikit-learn's tolerance: relative to the mean variance of the features.
        self._tol = float(np.mean(np.var(X, axis=0)) * self.tol) if self.tol else 0.0
        if self.n_init == "auto":
            self._n_init = default_n_init if isinstance(self.init, str) and self.init == "random" else 1
            if callable(self.init):
                self._n_init = default_n_init
        else:
            self._n_init = self.n_init
        if not isinstance(self.init, str) and not callable(self.init):
            self._init_array = self._check_centres(self.init, X, "init")
            if self._n_init != 1:
                warnings.warn(
                    f"Explicit initial center position passed: performing only one init in "
                    f"{type(self).__name__} instead of n_init={self._n_init}.",
                    RuntimeWarning,
                    stacklevel=3,
                )
                self._n_init = 1

    def _check_centres(self, centres, X, name):
        centres = check_array(centres, dtype=X.dtype, input_name=name)
        if centres.shape != (self.n_clusters, X.shape[1]):
            raise ValueError(
                f"The shape of the initial centers {centres.shape} does not match the number of clusters "
                f"{self.n_clusters} and the number of features {X.shape[1]} of the data."
            )
        return centres

    # --- seeding --------------------------------------------------------------------------

    def _initial_centres(self, X, centred, offset, weights, random_state):
        """Initial centroids, relative to ``offset`` (a tensor), for one run."""
        seed = int(random_state.randint(np.iinfo(np.int32).max))
        if isinstance(self.init, str) and self.init == "k-means++":
            trials = _seeding.default_local_trials(self.n_clusters)
            indices = _seeding.plusplus_indices(centred, weights, seed, self.n_clusters, trials)
            return tf.gather(centred, indices)
        if isinstance(self.init, str) and self.init == "random":
            return tf.gather(centred, _seeding.choose_random_indices(X.shape[0], self.n_clusters, seed, weights))
        if callable(self.init):
            centres = self._check_centres(self.init(X, self.n_clusters, random_state=random_state), X, "init")
        else:
            centres = self._init_array
        return tf.constant(centres) - offset

    # --- a fitted model -------------------------------------------------------------------

    def _labels_and_inertia(self, X, weights=None):
        X = X.astype(self.cluster_centers_.dtype, copy=False)
        offset = self.cluster_centers_.mean(axis=0)
        centred = tf.constant(X) - offset
        weights = None if weights is None else tf.constant(weights.astype(X.dtype, copy=False))
        labels, total = _lloyd.run_compiled(
            _lloyd.assign, centred, weights, tf.constant(self.cluster_centers_ - offset), n_clusters=self.n_clusters
        )
        return labels.numpy(), float(total)

    def predict(self, X):
        """The index of each sample's nearest cluster centre.

        Parameters
        ----------
        X : array-like, DataFrame or tf.Tensor of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,), int32
        """
        check_is_fitted(self)
        return self._labels_and_inertia(self._check_data(X, reset=False))[0]

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, and return ``labels_``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X):
        """The Euclidean distance from each sample to each cluster centre.

        Computed a block of samples at a time from |x|^2 - 2 x.c + |c|^2 (relative to the
        centres' mean), never as an n_samples x n_clusters x n_features tensor.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters), the dtype of the centres
        """
        check_is_fitted(self)
        X = self._check_data(X, reset=False).astype(self.cluster_centers_.dtype, copy=False)
        offset = self.cluster_centers_.mean(axis=0)
        centres = tf.constant(self.cluster_centers_ - offset)
        rows = _lloyd.block_rows(X.shape[0], self.n_clusters, self.n_clusters + 1, X.itemsize)
        blocks = [
            _distances(tf.constant(X[begin : begin + rows]) - offset, centres).numpy()
            for begin in range(0, X.shape[0], rows)
        ]
        return np.concatenate(blocks) if blocks else np.zeros((0, self.n_clusters), X.dtype)

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, and return the distances from each sample to each cluster centre."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Minus the inertia of ``X`` (weighted) with respect to the fitted centres: higher is better."""
        check_is_fitted(self)
        X = self._check_data(X, reset=False)
        weights, scale = self._check_weights(sample_weight, X)
        return -self._labels_and_inertia(X, weights)[1] * scale

    def export(self, path):
        """Write the fitted model as a TensorFlow SavedModel, for serving.

        Its ``serving_default`` signature takes ``samples``, a float32 batch of shape
        (None, n_features), and returns ``cluster_index`` (int64, each sample's nearest centre,
        as ``predict`` gives) and ``squared_distance`` (float32, to that centre). Load it with
        ``tf.saved_model.load(path)`` in any process that has TensorFlow: this package is not
        needed there. The directory is written whole or not at all.

        Parameters
        ----------
        path : str or path-like
            A directory that does not exist yet.
        """
        from ._output import export_saved_model

        check_is_fitted(self)
        export_saved_model(self.cluster_centers_, path)


class KMeans(_BaseKMeans):
    """k-means clustering (Lloyd's algorithm) with TensorFlow, in scikit-learn's interface.

    The parameters, attributes and methods are those of ``sklearn.cluster.KMeans`` and mean
    the same; from the same start the centres are scikit-learn's ``algorithm="lloyd"`` ones up
    to float rounding (empty clusters aside: here an empty cluster takes the sample farthest
    from its centre, as in the lesson this package grew from). Each run is one compiled
    TensorFlow function: the distances from a matrix product, the new centres from per-cluster
    sums taken in the same pass over the data, under XLA.

    Parameters
    ----------
    n_clusters : int, default 8
    init : {"k-means++", "random"}, callable or array-like of shape (n_clusters, n_features), default "k-means++"
        "k-means++": greedy k-means++ (``2 + log(n_clusters)`` candidates per centre);
        "random": ``n_clusters`` distinct samples chosen at random (in proportion to
        ``sample_weight``); a callable ``init(X, n_clusters, random_state=...)`` returning the
        centres; or the centres themselves.
    n_init : "auto" or int, default "auto"
        Runs from different starts; the one with the lowest inertia is kept. "auto": 1 for
        "k-means++" or given centres, 10 for "random" or a callable.
    max_iter : int, default 300
        The most iterations in a run.
    tol : float, default 1e-4
        A run has converged when the squared distances the centres moved in an iteration sum
        to at most ``tol`` times the mean variance of the features (or when no sample changes
        cluster).
    random_state : int, RandomState instance or None, default None
        Seeds the starts: the same value gives the same result in every process.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        float64 for float64 input, else float32.
    labels_ : ndarray of shape (n_samples,), int32
    inertia_ : float
        The sum of squared distances of the samples to their closest centre (weighted).
    n_iter_ : int
        Iterations of the best run, counted as scikit-learn counts them.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame whose column names are all strings.

    Examples
    --------
    >>> import numpy as np
    >>> from tfkmeans import KMeans
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> model = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> model.cluster_centers_[np.argsort(model.cluster_centers_[:, 0])]
    array([[ 1.,  2.],
           [10.,  2.]])
    >>> model.predict([[0, 0], [12, 3]]).tolist() == [model.labels_[0], model.labels_[3]]
    True
    """

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300, tol=1e-4, random_state=None):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def fit(self, X, y=None, sample_weight=None):
        """Compute the k-means clustering.

        Parameters
        ----------
        X : array-like, DataFrame or tf.Tensor of shape (n_samples, n_features)
            float32 data is computed in float32; float64 and integer data in float64, as in
            scikit-learn.
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Each sample's weight in the means and the inertia (and in the seeding).

        Returns
        -------
        self
        """
        self._validate_params()
        X = self._check_data(X, reset=True)
        weights, scale = self._check_weights(sample_weight, X)
        self._check_params_vs_input(X, default_n_init=10)
        random_state = check_random_state(self.random_state)

        offset = X.mean(axis=0)
        centred = tf.constant(X) - offset
        tensor_weights = None if weights is None else tf.constant(weights)
        best = None
        for _ in range(self._n_init):
            start = self._initial_centres(X, centred, offset, weights, random_state)
            result = _lloyd.run_compiled(
                _lloyd.lloyd_loop,
                centred,
                tensor_weights,
                start,
                tf.constant(self._tol, X.dtype),
                tf.constant(-1.0, X.dtype),
                tf.constant(True),
                n_clusters=self.n_clusters,
                max_iter=self.max_iter,
                history=False,
            )
            if best is None or float(result.inertia) < float(best.inertia):
                best = result
        self.cluster_centers_ = (best.centroids.numpy() + offset).astype(X.dtype)
        self.labels_ = best.labels.numpy()
        self.inertia_ = float(best.inertia) * scale
        self.n_iter_ = _sklearn_iterations(best, self.max_iter)
        distinct = len(np.unique(self.labels_))
        if distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than n_clusters ({self.n_clusters}). "
                "Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self


def _sklearn_iterations(result, max_iter):
    """Iterations as scikit-learn counts them. Both stop when the labels stop changing, but
    scikit-learn notices one iteration later (it compares an iteration's labels with the
    previous iteration's before updating); the centres are the same."""
    updates = int(result.n_updates)
    if bool(result.unchanged) and not bool(result.tol_reached):
        return min(updates + 1, max_iter)
    return updates


@tf.function(reduce_retracing=True)
def _distances(block, centres):
    squared = (
        tf.reduce_sum(tf.square(block), axis=1)[:, None]
        - 2.0 * tf.matmul(block, centres, transpose_b=True)
        + tf.reduce_sum(tf.square(centres), axis=1)
    )
    return tf.sqrt(tf.maximum(squared, 0.0))


# --- functions ------------------------------------------------------------------------------

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

centroids : ndarray (n_clusters, n_features), the dtype of the samples
nearest_indices : ndarray of int64 (n_samples,) -- each sample's nearest of ``centroids``
inertia : float -- of ``centroids`` and ``nearest_indices``
n_iterations : int -- update steps run
converged : bool -- whether the last iteration met the stopping rule
inertia_history, shift_history, changed_history : ndarrays, one entry per iteration: the
    inertia after it, the largest distance a centroid moved in it, the samples that changed
    cluster in it
"""


def kmeans(samples, initial_centroids, max_iterations=10, tolerance=0.0):
    """Run Lloyd's algorithm from given centroids as one compiled TensorFlow function, keeping
    its history.

    Given the same start it finds the same centroids as the lesson's loop (alternating
    ``assign_to_nearest`` and ``update_centroids``), up to float rounding, without its
    n_samples x n_clusters x n_features tensor. Empty clusters are relocated as in the lesson's
    ``update_centroids``. Each iteration updates the centroids from the current assignment,
    then assigns every sample to its nearest new centroid.

    Parameters
    ----------
    samples : array-like of shape (n_samples, n_features)
        float32 stays float32; other numbers are computed in float64.
    initial_centroids : array-like of shape (n_clusters, n_features)
    max_iterations : int, default 10
    tolerance : float or None, default 0.0
        Stop when no centroid moves farther than this (in data units) in an iteration, or no
        sample changes cluster. ``0.0`` stops only when nothing changes; ``None`` never stops
        early and runs exactly ``max_iterations`` iterations.

    Returns
    -------
    KMeansResult

    Examples
    --------
    >>> from tfkmeans import kmeans
    >>> result = kmeans([[0.0], [1.0], [10.0], [11.0]], [[0.0], [1.0]])
    >>> result.centroids.ravel().tolist(), result.nearest_indices.tolist(), result.n_iterations
    ([0.5, 10.5], [0, 0, 1, 1], 2)
    """
    samples = as_samples(samples, "samples")
    initial_centroids = as_centroids(initial_centroids, samples, "initial_centroids")
    check_n_clusters(initial_centroids.shape[0], samples, "initial_centroids")
    check_count(max_iterations, "max_iterations")
    stop_early = tolerance is not None
    if stop_early:
        if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Real) or not np.isfinite(tolerance):
            raise ValueError(f"tolerance must be a finite number >= 0 (or None), got {tolerance!r}")
        if tolerance < 0:
            raise ValueError(f"tolerance must be >= 0 (or None), got {tolerance!r}")
    offset = samples.mean(axis=0)
    result = _lloyd.run_compiled(
        _lloyd.lloyd_loop,
        tf.constant(samples) - offset,
        None,
        tf.constant(initial_centroids - offset),
        tf.constant(-1.0, samples.dtype),
        tf.constant(tolerance if stop_early else -1.0, samples.dtype),
        tf.constant(stop_early),
        n_clusters=initial_centroids.shape[0],
        max_iter=max_iterations,
        history=True,
    )
    n_iterations = int(result.n_updates)
    inertia_history = result.inertias.numpy()[:n_iterations]
    inertia_history[-1] = float(result.inertia)  # the same number, computed without the expansion
    return KMeansResult(
        centroids=(result.centroids.numpy() + offset).astype(samples.dtype),
        nearest_indices=result.labels.numpy().astype(np.int64),
        inertia=float(result.inertia),
        n_iterations=n_iterations,
        converged=bool(result.unchanged) or bool(result.tol_reached),
        inertia_history=inertia_history,
        shift_history=result.shifts.numpy()[:n_iterations],
        changed_history=result.changes.numpy()[:n_iterations],
    )


def assign(samples, centroids):
    """Each sample's nearest centroid, and the inertia of that assignment.

    Returns
    -------
    nearest_indices : ndarray of int64, shape (n_samples,)
    inertia : float
    """
    samples = as_samples(samples, "samples")
    centroids = as_centroids(centroids, samples, "centroids")
    offset = samples.mean(axis=0)
    labels, total = _lloyd.run_compiled(
        _lloyd.assign,
        tf.constant(samples) - offset,
        None,
        tf.constant(centroids - offset),
        n_clusters=centroids.shape[0],
    )
    return labels.numpy().astype(np.int64), float(total)


def inertia(samples, centroids, nearest_indices):
    """The within-cluster sum of squares: each sample's squared distance to its centroid, summed
    (in float64). Lloyd's algorithm never makes it larger.

    Parameters
    ----------
    samples : array-like of shape (n_samples, n_features)
    centroids : array-like of shape (n_clusters, n_features)
    nearest_indices : array-like of int, shape (n_samples,)

    Returns
    -------
    float
    """
    samples = as_samples(samples, "samples")
    centroids = as_centroids(centroids, samples, "centroids")
    labels = as_labels(nearest_indices, samples.shape[0], centroids.shape[0])
    return float(_lloyd.exact_inertia(tf.constant(samples), None, tf.constant(centroids), tf.constant(labels)))
