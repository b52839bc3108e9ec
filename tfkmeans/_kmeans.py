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

from . import _lloyd, _minibatch, _seeding, _stream
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

    def _check_params_vs_input(self, X, default_n_init, check_n_samples=True):
        if check_n_samples and X.shape[0] < self.n_clusters:
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

    def _check_dataset(self, dataset, reset):
        n_features = _stream.element_features(dataset)
        if reset:
            self.n_features_in_ = n_features
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif n_features != self.n_features_in_:
            raise ValueError(
                f"X has {n_features} features, but {type(self).__name__} is expecting {self.n_features_in_} features as input."
            )
        return n_features

    # --- a fitted model -------------------------------------------------------------------

    def _labels_and_inertia(self, X, weights=None):
        X = X.astype(self.cluster_centers_.dtype, copy=False)
        centred, offset = _lloyd.centred(X, self.cluster_centers_.mean(axis=0))
        weights = None if weights is None else tf.constant(weights.astype(X.dtype, copy=False))
        labels, total = _lloyd.run_compiled(
            _lloyd.assign, centred, weights, tf.constant(self.cluster_centers_ - offset), n_clusters=self.n_clusters
        )
        return labels.numpy(), float(total)

    def predict(self, X):
        """The index of each sample's nearest cluster centre.

        Parameters
        ----------
        X : array-like, DataFrame, tf.Tensor of shape (n_samples, n_features), or a
            tf.data.Dataset of (batch, n_features) batches

        Returns
        -------
        labels : ndarray of shape (n_samples,), int32
        """
        check_is_fitted(self)
        if isinstance(X, tf.data.Dataset):
            self._check_dataset(X, reset=False)
            offset = self.cluster_centers_.mean(axis=0)
            centres = tf.constant(self.cluster_centers_ - offset, X.element_spec.dtype)
            return _stream.Passes(X).labels(tf.constant(offset, X.element_spec.dtype), centres)[0]
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
        rows = max(1, _lloyd.DISTANCE_BLOCK_BYTES // (X.itemsize * self.n_clusters))
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
    strategy : tf.distribute.Strategy or None, default None
        Share each pass over the data out among the strategy's replicas: a
        ``MirroredStrategy`` over local devices (several GPUs), or a
        ``MultiWorkerMirroredStrategy`` over worker processes (every worker runs the same
        program on the same data; ``TF_CONFIG`` says who the workers are). Each replica adds up
        its share's per-cluster sums and counts; these are all-reduced every iteration.

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

    _parameter_constraints = {**_BaseKMeans._parameter_constraints, "strategy": [None, tf.distribute.Strategy]}

    def __init__(
        self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300, tol=1e-4, random_state=None, strategy=None
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.strategy = strategy

    def fit(self, X, y=None, sample_weight=None):
        """Compute the k-means clustering.

        Parameters
        ----------
        X : array-like, DataFrame or tf.Tensor of shape (n_samples, n_features), or a
            tf.data.Dataset of float batches of shape (batch, n_features)
            float32 data is computed in float32; float64 and integer data in float64, as in
            scikit-learn. A dataset is streamed: each iteration is one pass over it, so the
            data never has to be in memory at once; the starts are chosen from a uniform sample
            of up to 100,000 of its rows (greedy k-means++ on the sample, or random rows of
            it), and ``labels_`` come from a last pass. It must give the same batches in the
            same order on every pass (no reshuffling).
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Each sample's weight in the means and the inertia (and in the seeding). Not with
            a dataset or a strategy.

        Returns
        -------
        self
        """
        self._validate_params()
        if isinstance(X, tf.data.Dataset) or self.strategy is not None:
            if sample_weight is not None:
                raise TypeError("sample_weight is not supported with a tf.data.Dataset or a strategy")
            if isinstance(X, tf.data.Dataset):
                self._check_dataset(X, reset=True)
                return self._fit_stream(X)
            X = self._check_data(X, reset=True)
            return self._fit_stream(_stream.array_dataset(X), X)
        X = self._check_data(X, reset=True)
        weights, scale = self._check_weights(sample_weight, X)
        self._check_params_vs_input(X, default_n_init=10)
        random_state = check_random_state(self.random_state)

        centred, offset = _lloyd.centred(X)
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
        sizes = best.counts.numpy() if weights is None else np.bincount(self.labels_, minlength=self.n_clusters)
        distinct = np.count_nonzero(sizes)
        if distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than n_clusters ({self.n_clusters}). "
                "Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _fit_stream(self, dataset, X=None):
        """Fit on a tf.data.Dataset (or, with a strategy, an array ``X`` fed as one): each
        iteration one pass over it, the sums and counts added batch by batch and replica by
        replica. Seeded from ``X`` when given, else from a uniform sample of the stream."""
        random_state = check_random_state(self.random_state)
        passes = _stream.Passes(dataset, self.strategy)
        if X is None:
            survey = _stream.survey(dataset, _stream.SEED_SAMPLE_ROWS, int(random_state.randint(2**31 - 1)))
            sample, mean, variance, n_samples = survey.sample, survey.mean, survey.variance, survey.n_samples
        else:
            sample, mean, variance, n_samples = X, X.mean(axis=0), np.var(X, axis=0), X.shape[0]
        if n_samples < self.n_clusters:
            raise ValueError(f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}.")
        self._check_params_vs_input(sample, default_n_init=10, check_n_samples=False)
        self._tol = float(np.mean(variance) * self.tol) if self.tol else 0.0
        offset = tf.constant(mean, passes.dtype)
        centred_sample = tf.constant(sample, passes.dtype) - offset
        best = None
        for _ in range(self._n_init):
            start = self._initial_centres(sample, centred_sample, mean, None, random_state)
            result = _stream.lloyd(passes, offset, start, self.max_iter, tol_total=self._tol)
            if best is None or result.inertia < best.inertia:
                best = result
        labels, inertia = passes.labels(offset, best.centroids)
        self.cluster_centers_ = (best.centroids.numpy() + mean).astype(passes.dtype.as_numpy_dtype)
        self.labels_ = labels
        self.inertia_ = inertia
        self.n_iter_ = best.n_updates
        return self


class MiniBatchKMeans(_BaseKMeans):
    """Mini-batch k-means (Sculley, 2010) with TensorFlow, in scikit-learn's interface.

    The parameters, attributes and methods of ``sklearn.cluster.MiniBatchKMeans``, with the same
    meanings and the same rules: each step takes ``batch_size`` samples drawn at random, moves
    each centre to the running mean of all the samples it has been given, now and then moves
    centres with very few samples onto random samples (``reassignment_ratio``), and the run stops
    after ``max_iter`` passes' worth of steps, or earlier when the smoothed inertia of the
    batches stops improving (``max_no_improvement``) or the centres stop moving (``tol``). All
    the steps of a fit run as one compiled TensorFlow function.

    Parameters
    ----------
    n_clusters : int, default 8
    init : {"k-means++", "random"}, callable or array-like, default "k-means++"
        As for ``KMeans``; the starts are chosen from ``init_size`` random samples.
    max_iter : int, default 100
        The most passes over the data (``max_iter x n_samples / batch_size`` steps).
    batch_size : int, default 1024
    tol : float, default 0.0
        Stop when the squared moves of the centres in a step sum to at most ``tol`` times the
        mean variance of the features; 0 turns this off.
    max_no_improvement : int or None, default 10
        Stop after this many steps without an improvement of the smoothed inertia; None turns
        this off.
    init_size : int or None, default None
        Samples to choose the starts from (default ``3 x batch_size``, at least ``3 x
        n_clusters``); the starts are compared on another random ``init_size`` samples.
    n_init : "auto" or int, default "auto"
        Starts to compare ("auto": 1 for k-means++ or given centres, 3 otherwise).
    reassignment_ratio : float, default 0.01
        A centre whose count of samples falls below this fraction of the largest count is
        moved onto a random sample.
    random_state : int, RandomState instance or None, default None
    compute_labels : bool, default True
        Compute ``labels_`` and ``inertia_`` with one last pass over all the data.

    Attributes
    ----------
    cluster_centers_, labels_, inertia_, n_features_in_, feature_names_in_
        As for ``KMeans``.
    n_iter_ : int
        Passes over the data (counted in started passes, as scikit-learn does).
    n_steps_ : int
        Mini-batch steps taken.

    Examples
    --------
    >>> import numpy as np
    >>> from tfkmeans import MiniBatchKMeans
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [4, 2], [4, 0], [4, 4], [4, 5], [0, 1], [2, 2], [3, 2], [5, 5], [1, -1]])
    >>> model = MiniBatchKMeans(n_clusters=2, batch_size=6, random_state=0, n_init="auto").fit(X)
    >>> model.cluster_centers_.shape, model.predict([[0, 0], [4, 4]]).shape
    ((2, 2), (2,))
    """

    _parameter_constraints = {
        **_BaseKMeans._parameter_constraints,
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_no_improvement": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "init_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "reassignment_ratio": [Interval(numbers.Real, 0, None, closed="left")],
        "compute_labels": ["boolean"],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        max_iter=100,
        batch_size=1024,
        tol=0.0,
        max_no_improvement=10,
        init_size=None,
        n_init="auto",
        reassignment_ratio=0.01,
        random_state=None,
        compute_labels=True,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio
        self.random_state = random_state
        self.compute_labels = compute_labels

    def _init_size(self, n_samples):
        size = self.init_size if self.init_size is not None else 3 * self.batch_size
        if size < self.n_clusters:
            size = 3 * self.n_clusters
        return min(size, n_samples)

    def _best_start(self, X, offset, random_state):
        """The start with the lowest inertia on a validation sample, each chosen from its own
        random ``init_size`` samples (relative to ``offset``, the data's mean)."""
        n_samples = X.shape[0]
        init_size = self._init_size(n_samples)
        validation = X[random_state.randint(0, n_samples, init_size)]
        best, best_inertia = None, None
        for _ in range(self._n_init):
            subset = X[random_state.randint(0, n_samples, init_size)] if init_size < n_samples else X
            start = self._initial_centres(subset, tf.constant(subset) - offset, offset, None, random_state)
            centres = start.numpy() + offset
            _, inertia = _lloyd.run_compiled(
                _lloyd.assign, tf.constant(validation) - offset, None, start, n_clusters=self.n_clusters
            )
            if best_inertia is None or float(inertia) < best_inertia:
                best, best_inertia = centres, float(inertia)
        return best.astype(X.dtype)

    def fit(self, X, y=None, sample_weight=None):
        """Compute the centres with mini-batch steps.

        Parameters
        ----------
        X : array-like, DataFrame or tf.Tensor of shape (n_samples, n_features), or a
            tf.data.Dataset of float batches of shape (batch, n_features)
            With a dataset, each of its batches is one step (``batch_size`` does not apply),
            ``max_iter`` counts passes over it, and the starts come from a uniform sample of
            it; it may reshuffle between passes.
        sample_weight : array-like of shape (n_samples,), optional (not with a dataset)

        Returns
        -------
        self
        """
        self._validate_params()
        random_state = check_random_state(self.random_state)
        if isinstance(X, tf.data.Dataset):
            if sample_weight is not None:
                raise TypeError("sample_weight is not supported with a tf.data.Dataset")
            self._check_dataset(X, reset=True)
            return self._fit_dataset(X, random_state)
        X = self._check_data(X, reset=True)
        weights, scale = self._check_weights(sample_weight, X)
        self._check_params_vs_input(X, default_n_init=3)
        n_samples = X.shape[0]
        centred, offset = _lloyd.centred(X)
        start = self._best_start(X, offset, random_state)
        n_steps = (self.max_iter * n_samples) // self.batch_size
        state = _lloyd.run_compiled(
            _minibatch.loop,
            centred,
            None if weights is None else tf.constant(weights),
            tf.constant(start - offset),
            tf.zeros([self.n_clusters], X.dtype),
            tf.constant(random_state.randint(2**31 - 1), tf.int64),
            tf.constant(self._tol, tf.float64),
            n_clusters=self.n_clusters,
            n_steps=n_steps,
            batch_size=self.batch_size,
            max_no_improvement=self.max_no_improvement,
            reassignment_ratio=float(self.reassignment_ratio),
        )
        self.cluster_centers_ = (state.centres.numpy() + offset).astype(X.dtype)
        self._counts = state.counts.numpy()
        self._n_since_last_reassign = 0
        self.n_steps_ = int(state.step)
        self.n_iter_ = int(np.ceil(self.n_steps_ * self.batch_size / n_samples))
        if self.compute_labels:
            self.labels_, inertia = self._labels_and_inertia(X, weights)
            self.inertia_ = inertia * scale
        else:
            self.inertia_ = float(state.ewa) * n_samples * scale
        return self

    def _fit_dataset(self, dataset, random_state):
        survey = _stream.survey(dataset, _stream.SEED_SAMPLE_ROWS, int(random_state.randint(2**31 - 1)))
        if survey.n_samples < self.n_clusters:
            raise ValueError(f"n_samples={survey.n_samples} should be >= n_clusters={self.n_clusters}.")
        self._check_params_vs_input(survey.sample, default_n_init=3, check_n_samples=False)
        self._tol = float(np.mean(survey.variance) * self.tol) if self.tol else 0.0
        dtype = dataset.element_spec.dtype
        start = self._best_start(survey.sample, survey.mean, random_state)
        offset = tf.constant(survey.mean, dtype)
        state = _minibatch.start_state(tf.constant(start - survey.mean, dtype), tf.zeros([self.n_clusters], dtype))
        seed = tf.constant(random_state.randint(2**31 - 1), tf.int64)
        batches = 0
        for _ in range(self.max_iter):
            batches_before = int(state.step)
            state = _epoch(
                dataset,
                offset,
                state,
                seed,
                tf.constant(self._tol, tf.float64),
                survey.n_samples,
                self.max_no_improvement,
                float(self.reassignment_ratio),
            )
            batches = max(batches, int(state.step) - batches_before)
            if bool(state.stop):
                break
        self.cluster_centers_ = (state.centres.numpy() + survey.mean).astype(dtype.as_numpy_dtype)
        self._counts = state.counts.numpy()
        self._n_since_last_reassign = 0
        self.n_steps_ = int(state.step)
        self.n_iter_ = int(np.ceil(self.n_steps_ / max(batches, 1)))
        if self.compute_labels:
            centres = tf.constant(state.centres.numpy())
            self.labels_, self.inertia_ = _stream.Passes(dataset).labels(offset, centres)
        else:
            self.inertia_ = float(state.ewa) * survey.n_samples
        return self

    def partial_fit(self, X, y=None, sample_weight=None):
        """One mini-batch step on ``X`` (the first call also chooses the starts from it).

        Returns
        -------
        self
        """
        has_centres = hasattr(self, "cluster_centers_")
        if not has_centres:
            self._validate_params()
        X = self._check_data(X, reset=not has_centres)
        weights, _ = self._check_weights(sample_weight, X)
        self._random_state = getattr(self, "_random_state", None) or check_random_state(self.random_state)
        if not has_centres:
            self._check_params_vs_input(X, default_n_init=3)
            self.cluster_centers_ = self._best_start(X, X.mean(axis=0), self._random_state)
            self._counts = np.zeros(self.n_clusters, X.dtype)
            self._n_since_last_reassign = 0
            self.n_steps_ = 0
        self._n_since_last_reassign += X.shape[0]
        reassign = bool(np.any(self._counts == 0)) or self._n_since_last_reassign >= 10 * self.n_clusters
        if reassign:
            self._n_since_last_reassign = 0
        offset = self.cluster_centers_.mean(axis=0).astype(X.dtype)
        centres, counts, _ = _partial_step(
            tf.constant(X) - offset,
            None if weights is None else tf.constant(weights),
            tf.constant(self.cluster_centers_.astype(X.dtype) - offset),
            tf.constant(self._counts.astype(X.dtype)),
            tf.constant(reassign),
            tf.constant([self._random_state.randint(2**31 - 1), self.n_steps_], tf.int64),
            float(self.reassignment_ratio),
        )
        self.cluster_centers_ = (centres.numpy() + offset).astype(X.dtype)
        self._counts = counts.numpy()
        self.n_steps_ += 1
        if self.compute_labels:
            self.labels_, self.inertia_ = self._labels_and_inertia(X, weights)
        return self


@tf.function
def _partial_step(batch, weights, centres, counts, reassign, seed, reassignment_ratio):
    return _minibatch.update(batch, weights, centres, counts, reassign, seed, reassignment_ratio)


@tf.function
def _epoch(dataset, offset, state, seed, tol, n_samples, max_no_improvement, reassignment_ratio):
    return _minibatch.epoch(dataset, offset, state, seed, tol, n_samples, max_no_improvement, reassignment_ratio)


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
    centred, offset = _lloyd.centred(samples)
    result = _lloyd.run_compiled(
        _lloyd.lloyd_loop,
        centred,
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
    centred, offset = _lloyd.centred(samples)
    labels, total = _lloyd.run_compiled(
        _lloyd.assign,
        centred,
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
