"""scikit-learn's k-means family on TensorFlow: ``KMeans``, ``MiniBatchKMeans``, and the
``k_means`` and ``kmeans_plusplus`` functions.

The parameters, attributes, methods, warnings and error messages are scikit-learn's (its own
test module passes against these classes: tests/sklearn_suite). This module checks the input
once, at the edge, and turns results into NumPy values; the samples are made ready for the
kernels by the host data layer (``_samples``), and the work is done by the loop (``_loop``),
the seeding (``_seeding``), the mini-batch steps (``_minibatch``) and, for tf.data and
tf.distribute, the stream's passes (``_stream``). ``_BaseKMeans`` works in a geometry
(``_geometry``): squared Euclidean here, cosine in ``_spherical_k_means``.
"""

import functools
import hashlib
import numbers
import os
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.sparsefuncs import mean_variance_axis
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import _checkpoint, _dispatch, _loop, _minibatch, _precision, _seeding, _serving, _stream
from ._geometry import SQUARED_EUCLIDEAN
from ._precision import FLOAT_DTYPES
from ._samples import Samples
from ._tensorflow import tf
from ._validation import check_count, check_sparse_structure, check_weights, refuse_bools

# The most Lloyd iterations k-means|| runs on its weighted candidates (Spark's LocalKMeans runs 30).
RECLUSTER_ITERATIONS = 30


def _keeps_state_on_error(method):
    """A fit that raises leaves the estimator exactly as it was before the call."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        state = dict(self.__dict__)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    return wrapper


class _BaseKMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """What the k-means estimators share: parameters, input checks, seeding, and everything a
    fitted model does (``predict``, ``transform``, ``score``, ``export``), in ``_geometry``."""

    _geometry = SQUARED_EUCLIDEAN

    _parameter_constraints = {
        "n_clusters": [Interval(numbers.Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), callable, "array-like"],
        "n_init": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @property
    def _n_features_out(self):
        return self.cluster_centers_.shape[0]

    # --- input checks -------------------------------------------------------------------

    def _check_data(self, X, reset):
        """``X`` as a C-ordered float32/float64 array or CSR matrix, with scikit-learn's checks
        and messages (and ``n_features_in_``, ``feature_names_in_`` when ``reset``)."""
        if isinstance(X, (tf.Tensor, tf.Variable)):
            X = X.numpy()
        if isinstance(X, tf.data.Dataset):  # the methods that stream one never get here
            raise TypeError(
                f"this {type(self).__name__} method does not take a tf.data.Dataset; pass an array, a tensor "
                "or a sparse matrix"
            )
        check_sparse_structure(X)
        # scikit-learn's finiteness check first sums X, which overflows (and warns) for finite
        # values near float32's largest; it then checks them one by one and refuses only NaN and
        # infinity.
        with np.errstate(over="ignore", invalid="ignore"):
            return validate_data(
                self, X, accept_sparse="csr", dtype=FLOAT_DTYPES, order="C", accept_large_sparse=False, reset=reset
            )

    def _samples(self, X, offset=None, weights=None, **options):
        """``X`` (checked, its rows as the geometry takes them) for the kernels, to be weighted
        by ``weights`` (``_check_weights``'): computed in at least their dtype."""
        at_least = None if weights is None else weights.dtype
        return Samples(X, offset, geometry=self._geometry, at_least=at_least, **options)

    def _stream_rows(self, dataset):
        """A dataset's batches as the geometry takes them (``SphericalKMeans``: unit rows)."""
        return dataset

    def _check_weights(self, sample_weight, X, rescale=True):
        """``(weights, scale)``: ``_validation.check_weights``."""
        return check_weights(sample_weight, X, rescale)

    # Parameters that are integers: a bool there is refused, where scikit-learn takes True for 1.
    _integer_parameters = ("n_clusters", "n_init", "max_iter", "batch_size", "max_no_improvement", "init_size")

    def _validate_params(self):
        refuse_bools(self, (*self._integer_parameters, "random_state"))
        super()._validate_params()

    def _check_params_vs_input(self, X, default_n_init, check_n_samples=True):
        if check_n_samples and X.shape[0] < self.n_clusters:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}.")
        self._tol = _tolerance(X, self.tol)
        if self.n_init == "auto":
            if isinstance(self.init, str) and self.init in ("k-means++", "k-means||"):
                self._n_init = 1
            elif isinstance(self.init, str) and self.init == "random":
                self._n_init = default_n_init
            elif callable(self.init):
                self._n_init = default_n_init
            else:  # array-like
                self._n_init = 1
        else:
            self._n_init = self.n_init
        if _is_array_like(self.init) and self._n_init != 1:
            warnings.warn(
                "Explicit initial center position passed: performing only"
                f" one init in {self.__class__.__name__} instead of "
                f"n_init={self._n_init}.",
                RuntimeWarning,
                stacklevel=4,
            )
            self._n_init = 1

    def _validate_center_shape(self, X, centers, n_centroids=None):
        n_centroids = self.n_clusters if n_centroids is None else n_centroids
        if centers.shape[0] != n_centroids:
            raise ValueError(
                f"The shape of the initial centers {centers.shape} does not match the number of clusters {n_centroids}."
            )
        if centers.shape[1] != X.shape[1]:
            raise ValueError(
                f"The shape of the initial centers {centers.shape} does not "
                f"match the number of features of the data {X.shape[1]}."
            )

    def _checked_init(self, X):
        """``init`` as checked centres when it is an array, else as it is."""
        if _is_array_like(self.init):
            init = check_array(self.init, dtype=X.dtype, copy=True, order="C")
            self._validate_center_shape(X, init)
            return init
        return self.init

    # --- seeding --------------------------------------------------------------------------

    def _init_centroids(
        self, X, x_squared_norms, init, random_state, sample_weight, init_size=None, n_centroids=None, samples=None
    ):
        """Initial centres, as scikit-learn's ``_BaseKMeans._init_centroids`` computes them
        (the same signature; ``x_squared_norms`` is not needed here).

        ``samples`` (a ``Samples`` of ``X``, for the seeding kernels) is built when not given.
        Returns a NumPy array of ``X``'s dtype.
        """
        n_samples = X.shape[0]
        n_clusters = self.n_clusters if n_centroids is None else n_centroids
        if init_size is not None and init_size < n_samples:
            chosen = random_state.randint(0, n_samples, init_size)
            X = X[chosen]
            sample_weight = None if sample_weight is None else sample_weight[chosen]
            samples = None if samples is None else self._samples(X, samples.offset, sample_weight)
            n_samples = init_size
        if samples is None:
            samples = self._samples(X, weights=sample_weight)
        weights = None if sample_weight is None or np.all(sample_weight == sample_weight[0]) else sample_weight
        if isinstance(init, str) and init == "k-means++":
            seed = int(random_state.randint(np.iinfo(np.int32).max))
            return samples.rows(samples.plusplus(weights, seed, n_clusters, _seeding.default_local_trials(n_clusters)))
        if isinstance(init, str) and init == "random":
            seed = int(random_state.randint(np.iinfo(np.int32).max))
            return samples.rows(_seeding.choose_random_indices(n_samples, n_clusters, seed, weights))
        if isinstance(init, str) and init == "k-means||":
            passes = _stream.Passes(_stream.array_dataset(X.astype(samples.dtype, copy=False)), geometry=self._geometry)
            return self._parallel_init(passes, samples.offset, X, weights, random_state, n_clusters)
        if callable(init):
            centers = init(X, n_clusters, random_state=random_state)
            if sp.issparse(centers):
                centers = centers.toarray()
            centers = check_array(centers, dtype=X.dtype, copy=False, order="C")
            self._validate_center_shape(X, centers, n_centroids=n_clusters)
        else:
            centers = np.asarray(init, X.dtype)
        return centers

    def _parallel_init(self, passes, offset, sample, weights, random_state, n_clusters):
        """k-means||'s initial centres over ``passes`` (an array's or a stream's), in data
        coordinates: the first a uniform row of ``sample`` (uniform rows of the data, or the data
        itself; in proportion to ``weights`` when given), then ``_seeding.parallel_candidates``,
        reduced to ``n_clusters`` by greedy weighted k-means++."""
        if weights is None:
            first = sample[random_state.randint(len(sample))]
        else:
            first = sample[
                min(np.searchsorted(np.cumsum(weights), random_state.uniform(0, np.sum(weights))), len(sample) - 1)
            ]
        seed = int(random_state.randint(np.iinfo(np.int32).max))
        points, point_weights = _seeding.parallel_candidates(
            passes,
            offset,
            np.asarray(first, np.float64) - offset,
            passes.consistency.n_samples or len(sample),
            n_clusters,
            self.init_rounds,
            self.oversampling_factor,
            seed,
            weights,
        )
        candidates = self._samples((points + offset).astype(sample.dtype))
        seed = int(random_state.randint(np.iinfo(np.int32).max))
        indices = candidates.plusplus(point_weights, seed, n_clusters, _seeding.default_local_trials(n_clusters))
        # Then Lloyd's iterations on the weighted candidates, as Spark's k-means|| reclusters
        # them: cheap (the candidates are a few times k), and a better start than their seeds.
        weights = candidates.weights(point_weights)
        result = _loop.lloyd(
            candidates.runner(weights, n_clusters, allow_xla=False),  # a new count of candidates each time
            candidates.relative(candidates.rows(indices)),
            tf.constant(0.0, candidates.dtype),
            tf.constant(-1.0, candidates.dtype),
            tf.constant(True),
            RECLUSTER_ITERATIONS,
            _loop.HISTORY_NONE,
            "sklearn",
        )
        return (result.centroids.numpy() + candidates.offset).astype(sample.dtype)

    def _open_checkpoint(self):
        """``(FitCheckpoint, the values of its latest checkpoint or None)``, or ``(None, None)``
        without ``checkpoint_dir``. The chief of a multi-worker strategy writes; every worker
        reads."""
        if getattr(self, "checkpoint_dir", None) is None:
            return None, None
        strategy = getattr(self, "strategy", None)
        checkpoint = _checkpoint.FitCheckpoint(self.checkpoint_dir, chief=_checkpoint.is_chief(strategy))
        return checkpoint, checkpoint.restore()

    def _check_dataset(self, dataset, reset):
        n_features = _stream.element_features(dataset, whole_pipeline=True)
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
        """Each sample's nearest centre and the (weighted) inertia, X checked."""
        centres = self.cluster_centers_.astype(X.dtype, copy=False)
        offset = None if sp.issparse(X) else centres.mean(axis=0)
        return self._samples(X, offset, weights).assign(centres, weights)

    def predict(self, X):
        """The index of each sample's nearest cluster centre.

        Parameters
        ----------
        X : array-like, sparse matrix, DataFrame, tf.Tensor or tf.data.Dataset
            Of shape (n_samples, n_features); a dataset yields batches of shape (batch,
            n_features).

        Returns
        -------
        labels : ndarray of shape (n_samples,), int32
        """
        check_is_fitted(self)
        if isinstance(X, tf.data.Dataset):
            return self._fitted_passes(X, "labels")[0]
        return self._labels_and_inertia(self._check_data(X, reset=False))[0]

    def _fitted_passes(self, dataset, name):
        """The pass ``name`` of ``_stream.Passes`` ("labels", "distances") over a dataset, with
        the fitted centres (relative to their mean, in a geometry that shifts the samples)."""
        self._check_dataset(dataset, reset=False)
        centres = self.cluster_centers_
        offset = centres.mean(axis=0) if self._geometry.centred else np.zeros_like(centres[0])
        dtype = dataset.element_spec.dtype
        passes = _stream.Passes(self._stream_rows(dataset), geometry=self._geometry)
        return getattr(passes, name)(tf.constant(offset, dtype), tf.constant(centres - offset, dtype))

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, and return ``labels_``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X):
        """The Euclidean distance from each sample to each cluster centre.

        Computed a block of samples at a time from |x|^2 - 2 x.c + |c|^2 (dense samples
        relative to the centres' mean), never as an n_samples x n_clusters x n_features tensor;
        where that expansion loses its precision (a sample close to a centre) the distance is
        computed again from the difference, so a centre's distance to itself is exactly 0.

        Parameters
        ----------
        X : array-like, sparse matrix or tf.data.Dataset
            Of shape (n_samples, n_features); a dataset yields batches of shape (batch,
            n_features).

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters), the dtype of the centres
        """
        check_is_fitted(self)
        if isinstance(X, tf.data.Dataset):
            return self._fitted_passes(X, "distances")
        X = self._check_data(X, reset=False)
        dtype = X.dtype
        if X.shape[0] == 0:
            return np.zeros((0, self.n_clusters), dtype)
        # Relative to the centres' mean: float64 where float32 squares would overflow, or refused.
        offset = None if sp.issparse(X) else self.cluster_centers_.astype(dtype).mean(axis=0)
        distances = self._samples(X, offset).reported(self.cluster_centers_)
        return _precision.in_dtype(distances, dtype)

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
        as ``predict`` gives; -1 for a sample with a NaN or infinite value), ``squared_distance``
        and ``distance`` (float32, to that centre; NaN for such a sample). A signature answers
        for each sample and cannot raise: where ``transform`` refuses a distance that float32
        cannot hold (a sample near 3.4e38 far from the centres; a squared distance beyond about
        1.8e19), that value is served as NaN, never as infinity, and ``cluster_index`` is still
        ``predict``'s. Load it with
        ``tf.saved_model.load(path)`` in any process that has TensorFlow: this package is not
        needed there. The directory is written whole or not at all.

        Parameters
        ----------
        path : str or path-like
            A directory that does not exist yet.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        ValueError
            When ``path`` is empty or exists, or its parent directory does not exist or cannot
            be written to.
        """
        check_is_fitted(self)
        _serving.export(self.cluster_centers_, path, self._geometry)


def _is_array_like(init):
    return not isinstance(init, str) and not callable(init)


def _tolerance(X, tol):
    """scikit-learn's tolerance: ``tol`` times the mean variance of the features."""
    if tol == 0:
        return 0.0
    if sp.issparse(X):
        with np.errstate(over="ignore"):
            variances = mean_variance_axis(X, axis=0)[1]
        if X.dtype == np.float32 and not np.all(np.isfinite(variances)):
            # scikit-learn's helper returns float32 variances, infinite beyond about 1e19: take
            # them in float64 then (the samples are computed in float64 too, ``Samples``).
            variances = mean_variance_axis(X.astype(np.float64), axis=0)[1]
    else:
        # float32 squares of 1e19 would overflow; float64 data that overflows here is refused
        # when the samples are centred (``_precision.compute_dtype``), so no warning now.
        with np.errstate(over="ignore", invalid="ignore"):
            variances = np.var(X, axis=0, dtype=np.float64)
    return float(np.mean(variances) * tol)


def _is_same_clustering(labels1, labels2, n_clusters):
    """Whether two labellings are the same clustering up to renaming the clusters."""
    mapping = np.full(n_clusters, -1, dtype=np.int64)
    for a, b in zip(labels1.tolist(), labels2.tolist()):
        if mapping[a] == -1:
            mapping[a] = b
        elif mapping[a] != b:
            return False
    return True


class KMeans(_BaseKMeans):
    """k-means clustering (Lloyd's algorithm) with TensorFlow, in scikit-learn's interface.

    The parameters, attributes and methods are those of ``sklearn.cluster.KMeans`` and mean
    the same; from the same start the centres, labels, inertia and ``n_iter_`` are
    scikit-learn's ``algorithm="lloyd"`` ones up to float rounding, empty clusters included
    (they are relocated by scikit-learn's rule). Each run is one compiled TensorFlow
    function: the distances from a matrix product, the new centres from per-cluster sums taken
    in the same pass over the data, under XLA. Sparse (CSR or CSC) input stays sparse
    throughout.

    Parameters
    ----------
    n_clusters : int, default 8
    init : "k-means++", "k-means||", "random", callable or array-like, default "k-means++"
        "k-means++": greedy k-means++ (``2 + log(n_clusters)`` candidates per centre; on a
        dataset, on a uniform sample of up to 100,000 of its rows); "k-means||": scalable
        k-means++ (Bahmani et al., 2012) over all the data, dense only: ``init_rounds`` rounds
        of drawing every row with probability ``oversampling_factor x n_clusters x`` its share
        of the current cost, then weighted k-means++ and Lloyd's iterations on the candidates
        (``2 x init_rounds + 1`` passes over the data); "random": ``n_clusters`` distinct
        samples chosen at random (in proportion to ``sample_weight``); a callable
        ``init(X, n_clusters, random_state=...)`` returning the centres; or the centres
        themselves, of shape (n_clusters, n_features).
    n_init : "auto" or int, default "auto"
        Runs from different starts; the one with the lowest inertia is kept. "auto": 1 for
        "k-means++" or given centres, 10 for "random" or a callable.
    max_iter : int, default 300
        The most iterations in a run.
    tol : float, default 1e-4
        A run has converged when the squared distances the centres moved in an iteration sum
        to at most ``tol`` times the mean variance of the features (or when no sample changes
        cluster).
    verbose : int, default 0
        Print the progress as scikit-learn does: "Initialization complete", the inertia of
        each iteration, and why the run stopped, printed as the run goes: the compiled loop
        runs in calls of 1, 2, 4, ... iterations while a call takes under half a second, and
        each call's lines are printed when it returns. A dataset's lines, one a pass, start at
        iteration 1: the pass after an update measures the new centres.
    random_state : int, RandomState instance or None, default None
        Seeds the starts: the same value gives the same result in every process.
    copy_x : bool, default True
        False: shift dense data in place while fitting (saving a copy of it) and shift it back
        after, which may change its last bits, as in scikit-learn. Data that is not aligned and
        C-ordered is copied anyway.
    algorithm : {"lloyd", "elkan"}, default "lloyd"
        Accepted for scikit-learn's interface. Both run the same exact computation, Lloyd's
        iterations with the distances from a matrix product, so the results are identical;
        scikit-learn's "elkan" skips distances with triangle-inequality bounds, which on the
        data the benchmark uses made it slower than its own "lloyd".
    strategy : tf.distribute.Strategy or None, default None
        Share each pass over the data out among the strategy's replicas: a
        ``MirroredStrategy`` over local devices (several GPUs), or a
        ``MultiWorkerMirroredStrategy`` over worker processes (every worker runs the same
        program on the same data; ``TF_CONFIG`` says who the workers are). Each replica adds up
        its share's per-cluster sums and counts; these are all-reduced every iteration.
    checkpoint_dir : str, path-like or None, default None
        A directory where the fit saves every completed iteration (TensorFlow checkpoints: the
        centres, the iteration, the inertia history, the random state the rest of the fit draws
        from, and a fingerprint of the settings and the data; the last 3 are kept). A fit that
        finds a checkpoint of its own there goes on from it, and ends as an uninterrupted fit
        ends, bit for bit; one that finds another fit's checkpoint is refused, saying what
        differs, and changes nothing; a checkpoint that cannot be read is passed over for the
        one before. A finished fit's last checkpoint says it is complete: fitting again returns
        its result with no iteration run. Under ``MultiWorkerMirroredStrategy`` only the chief
        writes; every worker reads. With an array, the fit runs as over a dataset (one pass an
        iteration), as with a strategy; not with ``sample_weight``.
    oversampling_factor : float, default 2.0
        k-means||: the rows drawn in a round, in multiples of ``n_clusters`` (their expected
        number).
    init_rounds : int, default 5
        k-means||: the rounds of drawing.

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

    _parameter_constraints = {
        **_BaseKMeans._parameter_constraints,
        "init": [StrOptions({"k-means++", "random", "k-means||"}), callable, "array-like"],
        "oversampling_factor": [Interval(numbers.Real, 0, None, closed="neither")],
        "init_rounds": [Interval(numbers.Integral, 1, None, closed="left")],
        "copy_x": ["boolean"],
        "algorithm": [StrOptions({"lloyd", "elkan"})],
        "strategy": [None, tf.distribute.Strategy],
        "checkpoint_dir": [None, str, os.PathLike],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        verbose=0,
        random_state=None,
        copy_x=True,
        algorithm="lloyd",
        strategy=None,
        checkpoint_dir=None,
        oversampling_factor=2.0,
        init_rounds=5,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.strategy = strategy
        self.checkpoint_dir = checkpoint_dir
        self.oversampling_factor = oversampling_factor
        self.init_rounds = init_rounds

    def _warn_mkl_vcomp(self, n_active_threads):
        """scikit-learn's hook for a Windows-only warning; nothing to warn about here."""

    @_keeps_state_on_error
    def fit(self, X, y=None, sample_weight=None):
        """Compute the k-means clustering.

        Parameters
        ----------
        X : array-like, sparse matrix, DataFrame, tf.Tensor or tf.data.Dataset
            Of shape (n_samples, n_features); a dataset yields float batches of shape (batch,
            n_features). float32 data is computed in float32; float64 and integer data in float64, as in
            scikit-learn. A dataset is streamed: each iteration is one pass over it, so the
            data never has to be in memory at once; the starts are chosen from a uniform sample
            of up to 100,000 of its rows (greedy k-means++ on the sample, or random rows of
            it), and ``labels_`` come from a last pass. It must give the same rows in the
            same order on every pass (no reshuffling; each pass's rows and checksum are
            checked), and be finite.
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Each sample's weight in the means and the inertia (and in the seeding). Not with
            a dataset or a strategy.

        Returns
        -------
        self
        """
        self._validate_params()
        if isinstance(X, tf.data.Dataset) or self.strategy is not None or self.checkpoint_dir is not None:
            if sample_weight is not None:
                raise TypeError("sample_weight is not supported with a tf.data.Dataset, a strategy or a checkpoint_dir")
            if isinstance(X, tf.data.Dataset):
                self._check_dataset(X, reset=True)
                return self._fit_stream(X)
            X = self._check_data(X, reset=True)
            if sp.issparse(X):
                raise TypeError("sparse input is not supported with a strategy or a checkpoint_dir; fit it without one")
            return self._fit_stream(_stream.array_dataset(X), X)
        X = self._check_data(X, reset=True)
        weights, scale = self._check_weights(sample_weight, X)
        self._check_params_vs_input(X, default_n_init=10)
        random_state = check_random_state(self.random_state)
        init = self._checked_init(X)
        if sp.issparse(X) and isinstance(init, str) and init == "k-means||":
            raise TypeError("init='k-means||' takes dense data; use 'k-means++' for sparse input")
        self._check_algorithm()
        samples = self._samples(X, weights=weights, in_place=self._shift_in_place(), n_clusters=self.n_clusters)
        try:
            best, best_labels = self._runs(X, samples, weights, init, random_state)
        finally:
            samples.restore()
        centres = (best.centroids.numpy() + samples.offset).astype(X.dtype)
        sizes = best.counts.numpy() if weights is None else np.bincount(best_labels, minlength=self.n_clusters)
        distinct = np.count_nonzero(sizes)
        if distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than n_clusters ({self.n_clusters}). "
                "Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.cluster_centers_ = centres
        self.labels_ = best_labels
        self.inertia_ = float(best.inertia) * scale
        self.n_iter_ = _sklearn_iterations(best, self.max_iter)
        return self

    def _shift_in_place(self):
        """Whether fit may shift the checked X itself rather than a copy (``copy_x=False``)."""
        return not self.copy_x

    def _check_algorithm(self):
        if self.algorithm == "elkan" and self.n_clusters == 1:
            warnings.warn(
                "algorithm='elkan' doesn't make sense for a single cluster. Using 'lloyd' instead.",
                RuntimeWarning,
                stacklevel=4,
            )

    def _runs(self, X, samples, weights, init, random_state):
        """The ``_n_init`` runs; returns the best one's ``_loop.LoopResult`` and labels."""
        run = samples.runner(samples.weights(weights), self.n_clusters)
        history = _loop.HISTORY_SCALARS if self.verbose else _loop.HISTORY_NONE
        best, best_labels = None, None
        for _ in range(self._n_init):
            start = self._init_centroids(X, None, init, random_state, weights, samples=samples)
            if self.verbose:
                print("Initialization complete")
            progress = _LloydProgress(self.max_iter, self._tol) if self.verbose else None
            result = _loop.lloyd(
                run,
                samples.relative(start),
                tf.constant(self._tol, samples.dtype),
                tf.constant(-1.0, samples.dtype),
                tf.constant(True),
                self.max_iter,
                history,
                "sklearn",
                report=progress,
            )
            if self.verbose:
                progress.finish(result)
            labels = samples.labels(result.labels)
            inertia = float(result.inertia)
            # scikit-learn's rule: a lower inertia wins unless it is the same clustering (the
            # difference is then rounding).
            if best is None or (
                inertia < float(best.inertia) and not _is_same_clustering(labels, best_labels, self.n_clusters)
            ):
                best, best_labels = result, labels
        return best, best_labels

    def _fit_stream(self, dataset, X=None):
        """Fit on a tf.data.Dataset (or, with a strategy or a checkpoint directory, an array ``X``
        fed as one): each iteration one pass over it, the sums and counts added batch by batch
        and replica by replica. Seeded from ``X`` when given, else from a uniform sample of the
        stream. With ``checkpoint_dir``, every completed iteration is saved there
        (``_checkpoint``), and a fit that finds a checkpoint of its own goes on from it."""
        random_state = check_random_state(self.random_state)
        dtype = dataset.element_spec.dtype
        consistency = None  # a stream's rows and their order, from its survey, for every pass after
        geometry = self._geometry
        checkpoint, saved = self._open_checkpoint()
        if X is None:
            dataset = self._stream_rows(dataset)
            seed = saved["extra"]["survey_seed"] if saved else int(random_state.randint(2**31 - 1))
            survey = _stream.survey(
                dataset, _stream.SEED_SAMPLE_ROWS, seed, at_least=self.n_clusters, geometry=geometry
            )
            sample, mean, variance, n_samples = survey.sample, survey.mean, survey.variance, survey.n_samples
            consistency = survey.consistency
            compute = survey.dtype
            data = {"n_samples": n_samples, "mean": mean, "variance": variance, "low": survey.low}
            data.update(high=survey.high, checksum=consistency.fingerprints["plain"])
        else:
            seed = None
            sample, mean, variance, n_samples = X, X.mean(axis=0), np.var(X, axis=0, dtype=np.float64), X.shape[0]
            largest = float(np.max(np.abs(X - mean))) if X.size else 0.0
            magnitude = float(np.max(np.abs(mean), initial=0.0))
            compute = _precision.compute_dtype(X.dtype, largest, X.shape[1], magnitude=magnitude)
            data = {"n_samples": n_samples, "mean": mean, "variance": variance}
        if not geometry.centred:
            mean = np.zeros_like(mean)
        if compute != dtype.as_numpy_dtype:  # float32 whose squares could overflow: in float64
            dataset = dataset.map(lambda batch: tf.cast(batch, tf.float64))
        passes = _stream.Passes(dataset, self.strategy, consistency, geometry)
        if n_samples < self.n_clusters:
            raise ValueError(f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}.")
        self._check_params_vs_input(sample, default_n_init=10, check_n_samples=False)
        self._tol = float(np.mean(variance) * self.tol) if self.tol else 0.0
        init = self._checked_init(sample)
        if checkpoint is not None:
            checkpoint.check(saved, _json_ready(self._fingerprint(init, compute, data)))
        offset = tf.constant(mean, passes.dtype)
        sample_samples = self._samples(sample.astype(passes.dtype.as_numpy_dtype, copy=False))
        best, first = None, 0
        if saved:
            _checkpoint.set_random_state(random_state, saved["random_state"])
            best, first = _saved_best(saved, passes.dtype), int(saved["start"])
        complete = bool(saved and saved["complete"])
        for start_index in range(first, self._n_init):  # none, for a complete checkpoint
            resume = None
            if saved and start_index == first:
                resume = _checkpoint.stream_state(saved, passes.dtype)
                if self.verbose:
                    print(f"Going on from checkpoint {checkpoint.directory}: {resume.iteration} iterations done.")
            elif isinstance(init, str) and init == "k-means||":  # over the whole stream, each worker all of it
                plain = _stream.Passes(dataset, None, passes.consistency if X is None else None, geometry)
                start = self._parallel_init(plain, mean, sample, None, random_state, self.n_clusters)
                start = tf.constant(start - mean, passes.dtype)
            else:
                start = self._init_centroids(sample, None, init, random_state, None, samples=sample_samples)
                start = tf.constant(start - mean, passes.dtype)
            if self.verbose and resume is None:
                print("Initialization complete", flush=True)
            drawn = _checkpoint.random_state_value(random_state)

            def save(state, start_index=start_index, drawn=drawn, best=best):
                if self.verbose:  # the inertia of the centres after the update, as scikit-learn numbers it
                    print(f"Iteration {state.iteration}, inertia {state.inertias[-1]}.", flush=True)
                if checkpoint is not None:
                    number = start_index * (self.max_iter + 1) + state.iteration
                    _save_stream(checkpoint, number, state, start_index, best, drawn, seed)

            result = _loop.lloyd_passes(
                passes,
                offset,
                None if resume else start,
                self.max_iter,
                tol_total=self._tol,
                relocation="sklearn",
                on_iteration=save,
                resume=resume,
            )
            if self.verbose and result.tol_reached:  # numbered as scikit-learn numbers it, from 0
                why = "strict convergence" if result.shifts[-1] == 0 else f"center shift within tolerance {self._tol}"
                print(f"Converged at iteration {result.n_updates - 1}: {why}.")
            if best is None or result.inertia < best.inertia:
                best = result
        if checkpoint is not None and not complete:
            final = _loop.StreamState(
                best.n_updates, best.centroids, np.zeros(0), np.zeros(0), best.inertias, best.shifts, True
            )
            drawn = _checkpoint.random_state_value(random_state)
            _save_stream(checkpoint, self._n_init * (self.max_iter + 1), final, self._n_init, best, drawn, seed, True)
        elif complete and self.verbose:
            print(f"Checkpoint {checkpoint.directory} holds this fit, complete: its result, with no iteration run.")
        labels, inertia = passes.labels(offset, best.centroids)
        distinct = np.count_nonzero(np.bincount(labels, minlength=self.n_clusters))
        if distinct < self.n_clusters:  # as for an array
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than n_clusters ({self.n_clusters}). "
                "Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.cluster_centers_ = (best.centroids.numpy() + mean).astype(dtype.as_numpy_dtype)
        self.labels_ = labels
        self.inertia_ = inertia
        self.n_iter_ = best.n_updates
        return self

    def _fingerprint(self, init, compute, data):
        """What a checkpoint of this fit must agree with: the settings that decide its numbers,
        and the data as its survey found it (a stream) or as it is (an array)."""
        random_state = self.random_state if isinstance(self.random_state, numbers.Integral) else None
        return {
            "estimator": type(self).__name__,
            "geometry": self._geometry.name,
            "n_clusters": int(self.n_clusters),
            "init": _init_description(init),
            "n_init": int(self._n_init),
            "max_iter": int(self.max_iter),
            "tol": float(self.tol),
            "random_state": random_state,
            "strategy": None if self.strategy is None else type(self.strategy).__name__,
            "dtype": np.dtype(compute).name,
            **data,
        }


def _json_ready(value):
    """``value`` with NumPy arrays and scalars as JSON values (float64 round-trips exactly)."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    if isinstance(value, np.ndarray):
        return _json_ready(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def _init_description(init):
    """``init`` as a checkpoint's fingerprint records it: its name, a callable's name, or the
    given centres' shape and digest."""
    if isinstance(init, str):
        return init
    if callable(init):
        return f"callable {getattr(init, '__qualname__', type(init).__name__)}"
    array = np.ascontiguousarray(init)
    return f"array {array.shape} {array.dtype} {hashlib.sha256(array.tobytes()).hexdigest()[:16]}"


def _save_stream(checkpoint, number, state, start_index, best, drawn, seed, complete=False):
    """One checkpoint of a stream fit: the current run's state, the best run so far, the random
    state after the current start was drawn, and the survey's seed."""
    empty = np.zeros((0,) + tuple(state.centroids.shape))
    checkpoint.save(
        number,
        complete=complete,
        start=start_index,
        **_checkpoint.stream_state_values(state),
        best_centroids=empty.astype(np.asarray(state.centroids).dtype)
        if best is None
        else np.asarray(best.centroids)[None],
        best_inertias=np.zeros(0) if best is None else np.asarray(best.inertias, np.float64),
        best_shifts=np.zeros(0) if best is None else np.asarray(best.shifts, np.float64),
        best_n_updates=-1 if best is None else int(best.n_updates),
        best_tol_reached=False if best is None else bool(best.tol_reached),
        random_state=drawn,
        extra={"survey_seed": seed},
    )


def _mean(X):
    """Each feature's mean in float64, dense or sparse."""
    return np.asarray(X.mean(axis=0, dtype=np.float64)).ravel()


def _digest(weights):
    """A short digest of the sample weights (None for none), for a checkpoint's fingerprint."""
    return None if weights is None else hashlib.sha256(np.ascontiguousarray(weights).tobytes()).hexdigest()[:16]


def _save_minibatch(checkpoint, state, start, seed, complete=False, survey_seed=None, epoch=0, batches=0):
    """One checkpoint of a mini-batch fit: its ``_minibatch.State``, and the start and seed it
    drew before its first step."""
    checkpoint.save(
        int(state.step) + int(complete),  # the last chunk's number, then one more for the end
        complete=complete,
        start_centres=np.asarray(start),
        seed=int(seed),
        epoch=int(epoch),
        batches=int(batches),
        extra={"survey_seed": survey_seed},
        **{f"state_{name}": np.asarray(value) for name, value in state._asdict().items()},
    )


def _saved_minibatch_state(saved):
    """The ``_minibatch.State`` a checkpoint holds, as tensors of its dtypes (None for none)."""
    if not saved:
        return None
    return _minibatch.State(*(tf.constant(saved[f"state_{name}"]) for name in _minibatch.State._fields))


def _saved_best(saved, dtype):
    """The best finished run so far (a ``_loop.StreamResult``) from a checkpoint's values, or None."""
    if int(saved["best_n_updates"]) < 0:
        return None
    inertias = [float(value) for value in saved["best_inertias"]]
    return _loop.StreamResult(
        tf.constant(saved["best_centroids"][0], dtype),
        inertias[-1],
        int(saved["best_n_updates"]),
        bool(saved["best_tol_reached"]),
        inertias,
        [float(value) for value in saved["best_shifts"]],
        None,
    )


class _LloydProgress:
    """scikit-learn's verbose lines for one run, printed as the run goes (``_loop.lloyd``'s
    ``report``): "Iteration i, inertia x." once iteration i is known to be one scikit-learn
    counts, then why the run stopped."""

    def __init__(self, max_iter, tol):
        self.max_iter, self.tol, self.printed = max_iter, tol, 0

    def _print_up_to(self, result, n_lines):
        inertias = result.inertias
        for i in range(self.printed, n_lines):
            print(f"Iteration {i}, inertia {result.start_inertia if i == 0 else float(inertias[i - 1])}.", flush=True)
        self.printed = max(self.printed, n_lines)

    def __call__(self, result):
        # scikit-learn counts one iteration more than the updates run when the labels stopped
        # changing (``_sklearn_iterations``): the updates so far are always counted.
        self._print_up_to(result, result.n_updates)

    def finish(self, result):
        n_iter = _sklearn_iterations(result, self.max_iter)
        self._print_up_to(result, n_iter)
        if result.unchanged and not result.tol_reached:
            print(f"Converged at iteration {n_iter - 1}: strict convergence.")
        elif result.tol_reached:
            total = float(result.shift_totals[result.n_updates - 1])
            print(f"Converged at iteration {n_iter - 1}: center shift {total} within tolerance {self.tol}.")


class MiniBatchKMeans(_BaseKMeans):
    """Mini-batch k-means (Sculley, 2010) with TensorFlow, in scikit-learn's interface.

    The parameters, attributes and methods of ``sklearn.cluster.MiniBatchKMeans``, with the same
    meanings and the same rules: each step takes ``batch_size`` samples drawn at random (in
    proportion to ``sample_weight``), moves each centre to the running mean of all the samples
    it has been given, now and then moves centres with very few samples onto random samples
    (``reassignment_ratio``), and the run stops after ``max_iter`` passes' worth of steps, or
    earlier when the smoothed inertia of the batches stops improving (``max_no_improvement``)
    or the centres stop moving (``tol``). All the steps of a fit run as one compiled
    TensorFlow function.

    Parameters
    ----------
    n_clusters : int, default 8
    init : "k-means++", "random", callable or array-like, default "k-means++"
        As for ``KMeans``; the starts are chosen from ``init_size`` random samples.
    max_iter : int, default 100
        The most passes over the data (``max_iter x n_samples / batch_size`` steps).
    batch_size : int, default 1024
        Samples per step (at most the number of samples).
    verbose : int, default 0
        Print the progress as scikit-learn does, step by step, printed as the fit goes (in
        calls of 1, 2, 4, ... steps while a call takes under half a second). A dataset's
        progress is one line a pass, a pass being one compiled call.
    compute_labels : bool, default True
        Compute ``labels_`` and ``inertia_`` with one last pass over all the data.
    random_state : int, RandomState instance or None, default None
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
    checkpoint_dir : str, path-like or None, default None
        As for ``KMeans``: the fit's state (``n_steps_``, the centres and their counts, the
        smoothed inertia, the start and the seed) is saved every ``checkpoint_interval`` steps,
        or after every pass over a dataset, and a fit that finds its own checkpoint goes on
        from it, bit for bit.
    checkpoint_interval : int, default 1000
        Steps between checkpoints of a fit on an array.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,), int32
        With ``compute_labels``.
    inertia_ : float
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame whose column names are all strings.
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
        "compute_labels": ["boolean"],
        "max_no_improvement": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "init_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "reassignment_ratio": [Interval(numbers.Real, 0, None, closed="left")],
        "checkpoint_dir": [None, str, os.PathLike],
        "checkpoint_interval": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        max_iter=100,
        batch_size=1024,
        verbose=0,
        compute_labels=True,
        random_state=None,
        tol=0.0,
        max_no_improvement=10,
        init_size=None,
        n_init="auto",
        reassignment_ratio=0.01,
        checkpoint_dir=None,
        checkpoint_interval=1000,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_interval = checkpoint_interval

    def _check_params_vs_input(self, X, default_n_init=3, check_n_samples=True):
        super()._check_params_vs_input(X, default_n_init=3, check_n_samples=check_n_samples)
        self._batch_size = min(self.batch_size, X.shape[0])
        self._init_size = self.init_size
        if self._init_size is None:
            self._init_size = 3 * self._batch_size
            if self._init_size < self.n_clusters:
                self._init_size = 3 * self.n_clusters
        elif self._init_size < self.n_clusters:
            warnings.warn(
                f"init_size={self._init_size} should be larger than "
                f"n_clusters={self.n_clusters}. Setting it to "
                "min(3*n_clusters, n_samples)",
                RuntimeWarning,
                stacklevel=4,
            )
            self._init_size = 3 * self.n_clusters
        self._init_size = min(self._init_size, X.shape[0])

    def _best_start(self, X, samples, weights, init, random_state):
        """The start with the lowest inertia on a validation sample, each chosen from its own
        random ``init_size`` samples (in the data's coordinates)."""
        n_samples = X.shape[0]
        validation = random_state.randint(0, n_samples, self._init_size)
        valid_weights = None if weights is None else weights[validation]
        valid = self._samples(X[validation], weights=valid_weights)
        best, best_inertia = None, None
        for index in range(self._n_init):
            if self.verbose:
                print(f"Init {index + 1}/{self._n_init} with method {init}")
            start = self._init_centroids(
                X, None, init, random_state, weights, init_size=self._init_size, samples=samples
            )
            _, inertia = valid.assign(start, valid_weights)
            if self.verbose:
                print(f"Inertia for init {index + 1}/{self._n_init}: {float(inertia)}")
            if best_inertia is None or float(inertia) < best_inertia:
                best, best_inertia = start, float(inertia)
        return best

    @_keeps_state_on_error
    def fit(self, X, y=None, sample_weight=None):
        """Compute the centres with mini-batch steps.

        Parameters
        ----------
        X : array-like, sparse matrix or tf.data.Dataset
            Of shape (n_samples, n_features); a dataset yields float batches of shape (batch,
            n_features). With a dataset, each of its batches is one step (``batch_size`` does not apply),
            ``max_iter`` counts passes over it, and the starts come from a uniform sample of
            it; it may reshuffle between passes only with ``compute_labels=False`` (``labels_``
            come from a last pass, in its order).
        sample_weight : array-like of shape (n_samples,), optional (not with a dataset)
            Batches are drawn in proportion to the weights, as in scikit-learn.

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
        self._check_params_vs_input(X)
        init = self._checked_init(X)
        n_samples = X.shape[0]
        samples = self._samples(X, weights=weights, n_clusters=self.n_clusters)
        checkpoint, saved = self._open_checkpoint()
        if saved:  # the start and the seed the fit drew before it was stopped
            start, seed = saved["start_centres"], int(saved["seed"])
        else:
            start = self._best_start(X, samples, weights, init, random_state)
            seed = int(random_state.randint(2**31 - 1))
        data = {"n_samples": n_samples, "mean": _mean(X), "weights": _digest(weights)}
        on_chunk = None
        if checkpoint is not None:
            checkpoint.check(saved, _json_ready(self._minibatch_fingerprint(init, samples.dtype, data)))
            on_chunk = functools.partial(_save_minibatch, checkpoint, start=start, seed=seed)
        n_steps = (self.max_iter * n_samples) // self._batch_size
        state = _minibatch.run(
            samples.runner(samples.cumulative(weights), self.n_clusters),
            samples.relative(start),
            tf.zeros([self.n_clusters], samples.dtype),
            tf.constant(seed, tf.int64),
            tf.constant(self._tol, tf.float64),
            n_steps,
            trace=bool(self.verbose),
            report=functools.partial(_print_minibatch_steps, n_steps=n_steps) if self.verbose else None,
            resume=_saved_minibatch_state(saved),
            every=None if checkpoint is None else self.checkpoint_interval,
            on_chunk=on_chunk,
            batch_size=_dispatch.Size(self._batch_size),
            # (No fit runs 2**62 steps: a larger patience is the same, and fits the int64 counter.)
            max_no_improvement=None if self.max_no_improvement is None else min(self.max_no_improvement, 2**62),
            reassignment_ratio=float(self.reassignment_ratio),
        )
        if checkpoint is not None and not (saved and saved["complete"]):
            _save_minibatch(checkpoint, state, start=start, seed=seed, complete=True)
        if self.verbose:
            _print_minibatch_end(state, n_steps)
        centres = (state.centres.numpy() + samples.offset).astype(X.dtype)
        self.cluster_centers_ = centres
        self._counts = state.counts.numpy()
        self._n_since_last_reassign = 0
        self.n_steps_ = int(state.step)
        self.n_iter_ = int(np.ceil(self.n_steps_ * self._batch_size / n_samples))
        if self.compute_labels:
            self.labels_, inertia = self._labels_and_inertia(X, weights)
            self.inertia_ = inertia * scale
        else:
            total_weight = n_samples if weights is None else float(np.sum(weights))
            self.inertia_ = float(state.ewa) * total_weight * scale
        return self

    def _fit_dataset(self, dataset, random_state):
        # labels_ come from one last pass, which must give the rows in the order every pass does;
        # without them the dataset may reshuffle, but must give the same rows.
        checkpoint, saved = self._open_checkpoint()
        seed = saved["extra"]["survey_seed"] if saved else int(random_state.randint(2**31 - 1))
        survey_seed = seed
        order = bool(self.compute_labels)
        survey = _stream.survey(dataset, _stream.SEED_SAMPLE_ROWS, seed, same_order=order, at_least=self.n_clusters)
        if survey.n_samples < self.n_clusters:
            raise ValueError(f"n_samples={survey.n_samples} should be >= n_clusters={self.n_clusters}.")
        self._check_params_vs_input(survey.sample, check_n_samples=False)
        self._tol = float(np.mean(survey.variance) * self.tol) if self.tol else 0.0
        init = self._checked_init(survey.sample)
        data_dtype = dataset.element_spec.dtype.as_numpy_dtype
        if survey.dtype != data_dtype:  # float32 whose squares could overflow: in float64
            dataset = dataset.map(lambda batch: tf.cast(batch, tf.float64))
        dtype = tf.as_dtype(survey.dtype)
        samples = self._samples(survey.sample.astype(data_dtype, copy=False))
        if saved:  # the start and the seed the fit drew before it was stopped
            start, seed_value = saved["start_centres"], int(saved["seed"])
        else:
            start = self._best_start(survey.sample, samples, None, init, random_state)
            seed_value = int(random_state.randint(2**31 - 1))
        offset = tf.constant(survey.mean, dtype)
        state = _minibatch.start_state(tf.constant(start - survey.mean, dtype), tf.zeros([self.n_clusters], dtype))
        seed = tf.constant(seed_value, tf.int64)
        batches, first = 0, 0
        if checkpoint is not None:
            data = {"n_samples": survey.n_samples, "mean": survey.mean, "variance": survey.variance}
            data.update(low=survey.low, high=survey.high)
            checkpoint.check(saved, _json_ready(self._minibatch_fingerprint(init, survey.dtype, data)))
            save = functools.partial(_save_minibatch, checkpoint, start=start, seed=seed_value, survey_seed=survey_seed)
        if saved:
            state, batches, first = (
                _minibatch.State(*_saved_minibatch_state(saved)),
                int(saved["batches"]),
                int(saved["epoch"]),
            )
        passes = _stream.Passes(dataset, consistency=survey.consistency)
        for epoch in range(first, self.max_iter):
            if bool(state.stop):
                break
            batches_before = int(state.step)
            state, rows = passes.minibatch_epoch(
                offset,
                state,
                seed,
                tf.constant(self._tol, tf.float64),
                tf.constant(survey.n_samples, tf.int64),
                self.max_no_improvement,
                float(self.reassignment_ratio),
            )
            batches = max(batches, int(state.step) - batches_before)
            if not bool(state.stop):
                survey.consistency.check(rows, None, order=False)  # a whole pass: the same rows
            if self.verbose:  # a pass is one compiled call: a line for each, not for each step
                print(
                    f"Minibatch pass {epoch + 1}/{self.max_iter}: {int(state.step)} steps, ewa inertia: {float(state.ewa)}",
                    flush=True,
                )
            if checkpoint is not None:
                save(state, epoch=epoch + 1, batches=batches)
        if checkpoint is not None and not (saved and saved["complete"]):
            save(state, epoch=max(first, self.max_iter), batches=batches, complete=True)
        if self.verbose and bool(state.stop):  # the steps allowed are known once a pass is whole
            reason = "small centers change" if bool(state.stopped_by_tol) else "lack of improvement in inertia"
            allowed = f"/{self.max_iter * batches}" if int(state.step) > batches or first > 0 else ""
            print(f"Converged ({reason}) at step {int(state.step)}{allowed}")
        self.cluster_centers_ = (state.centres.numpy() + survey.mean).astype(data_dtype)
        self._counts = state.counts.numpy()
        self._n_since_last_reassign = 0
        self.n_steps_ = int(state.step)
        self.n_iter_ = int(np.ceil(self.n_steps_ / max(batches, 1)))
        if self.compute_labels:
            self.labels_, self.inertia_ = passes.labels(offset, tf.constant(state.centres.numpy()))
        else:
            self.inertia_ = float(state.ewa) * survey.n_samples
        return self

    def _minibatch_fingerprint(self, init, compute, data):
        random_state = self.random_state if isinstance(self.random_state, numbers.Integral) else None
        return {
            "estimator": type(self).__name__,
            "n_clusters": int(self.n_clusters),
            "init": _init_description(init),
            "n_init": int(self._n_init),
            "max_iter": int(self.max_iter),
            "batch_size": int(self.batch_size),
            "tol": float(self.tol),
            "max_no_improvement": self.max_no_improvement,
            "init_size": self.init_size,
            "reassignment_ratio": float(self.reassignment_ratio),
            "random_state": random_state,
            "dtype": np.dtype(compute).name,
            **data,
        }

    @_keeps_state_on_error
    def partial_fit(self, X, y=None, sample_weight=None):
        """One mini-batch step on ``X`` (the first call also chooses the starts from it).

        Parameters
        ----------
        X : array-like or sparse matrix
            Of shape (n_samples, n_features).
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        has_centres = hasattr(self, "cluster_centers_")
        if not has_centres:
            self._validate_params()
        X = self._check_data(X, reset=not has_centres)
        weights, _ = self._check_weights(sample_weight, X, rescale=False)
        self._random_state = getattr(self, "_random_state", None) or check_random_state(self.random_state)
        self.n_steps_ = getattr(self, "n_steps_", 0)
        if not has_centres:
            self._check_params_vs_input(X)
            init = self._checked_init(X)
            start = self._init_centroids(X, None, init, self._random_state, weights, init_size=self._init_size)
            self.cluster_centers_ = start.astype(X.dtype)
            self._counts = np.zeros(self.n_clusters, X.dtype)
            self._n_since_last_reassign = 0
        self._n_since_last_reassign += self._batch_size
        reassign = bool(np.any(self._counts == 0)) or self._n_since_last_reassign >= 10 * self.n_clusters
        if reassign:
            self._n_since_last_reassign = 0
        centres_before = self.cluster_centers_.astype(X.dtype)
        samples = self._samples(X, None if sp.issparse(X) else centres_before.mean(axis=0), weights)
        centres, counts, _, reassigned = samples.run(
            _minibatch.partial_step,
            samples.weights(weights),
            samples.relative(centres_before),
            tf.constant(self._counts.astype(samples.dtype)),
            tf.constant(reassign),
            tf.constant([self._random_state.randint(2**31 - 1), self.n_steps_], tf.int64),
            n_clusters=self.n_clusters,
            allow_xla=False,
            reassignment_ratio=float(self.reassignment_ratio),
        )
        if self.verbose and int(reassigned):
            print(f"[MiniBatchKMeans] Reassigning {int(reassigned)} cluster centers.")
        self.cluster_centers_ = (centres.numpy() + samples.offset).astype(X.dtype)
        self._counts = counts.numpy()
        if self.compute_labels:
            self.labels_, self.inertia_ = self._labels_and_inertia(X, weights)
        self.n_steps_ += 1
        return self


def _print_minibatch_steps(state, trace, first, n_steps):
    """scikit-learn's verbose lines for the steps of one call of ``_minibatch.loop``, printed
    as the fit goes (``_minibatch.run``'s ``report``)."""
    batch_inertias, ewas, reassigned = (values.numpy() for values in trace)
    for index, step in enumerate(range(first, int(state.step))):
        if reassigned[index]:
            print(f"[MiniBatchKMeans] Reassigning {int(reassigned[index])} cluster centers.")
        if step == 0:
            print(f"Minibatch step {step + 1}/{n_steps}: mean batch inertia: {batch_inertias[index]}", flush=True)
        else:
            print(
                f"Minibatch step {step + 1}/{n_steps}: mean batch inertia: {batch_inertias[index]}, "
                f"ewa inertia: {ewas[index]}",
                flush=True,
            )


def _print_minibatch_end(state, n_steps):
    if bool(state.stop):
        reason = "small centers change" if bool(state.stopped_by_tol) else "lack of improvement in inertia"
        print(f"Converged ({reason}) at step {int(state.step)}/{n_steps}")


def _sklearn_iterations(result, max_iter):
    """Iterations as scikit-learn counts them. Both stop when the labels stop changing, but
    scikit-learn notices one iteration later (it compares an iteration's labels with the
    previous iteration's before updating); the centres are the same."""
    updates = int(result.n_updates)
    if bool(result.unchanged) and not bool(result.tol_reached):
        return min(updates + 1, max_iter)
    return updates


def k_means(
    X,
    n_clusters,
    *,
    sample_weight=None,
    init="k-means++",
    n_init="auto",
    max_iter=300,
    verbose=False,
    tol=1e-4,
    random_state=None,
    copy_x=True,
    algorithm="lloyd",
    return_n_iter=False,
):
    """Perform k-means clustering: ``sklearn.cluster.k_means``, computed by ``KMeans``.

    Parameters
    ----------
    X : array-like or sparse matrix
        Of shape (n_samples, n_features).
    n_clusters : int
    sample_weight : array-like of shape (n_samples,), optional
    init, n_init, max_iter, verbose, tol, random_state, copy_x, algorithm
        As for ``KMeans``.
    return_n_iter : bool, default False
        Whether to return the number of iterations too.

    Returns
    -------
    centroid : ndarray of shape (n_clusters, n_features)
    label : ndarray of shape (n_samples,)
    inertia : float
    best_n_iter : int
        Only when ``return_n_iter``.

    Examples
    --------
    >>> from tfkmeans import k_means
    >>> centres, labels, inertia = k_means([[0.0], [1.0], [10.0], [11.0]], 2, random_state=0)
    >>> sorted(centres.ravel().tolist()), inertia
    ([0.5, 10.5], 1.0)
    """
    model = KMeans(
        n_clusters=n_clusters,
        init=init,
        n_init=n_init,
        max_iter=max_iter,
        verbose=verbose,
        tol=tol,
        random_state=random_state,
        copy_x=copy_x,
        algorithm=algorithm,
    ).fit(X, sample_weight=sample_weight)
    if return_n_iter:
        return model.cluster_centers_, model.labels_, model.inertia_, model.n_iter_
    return model.cluster_centers_, model.labels_, model.inertia_


def kmeans_plusplus(X, n_clusters, *, sample_weight=None, x_squared_norms=None, random_state=None, n_local_trials=None):
    """Choose initial centres by k-means++ seeding (Arthur and Vassilvitskii, 2007), as
    ``sklearn.cluster.kmeans_plusplus`` does.

    The first centre is a sample drawn at random (in proportion to its weight); each next one
    is drawn with probability proportional to its (weighted) squared distance from the nearest
    centre chosen so far. "Greedy" k-means++, as in scikit-learn: ``n_local_trials`` candidates
    are drawn for each centre and the one that lowers the inertia most is kept. The whole
    seeding runs as one TensorFlow graph (``tf.function``).

    Parameters
    ----------
    X : array-like or sparse matrix
        Of shape (n_samples, n_features).
    n_clusters : int
    sample_weight : array-like of shape (n_samples,), default None
    x_squared_norms : array-like of shape (n_samples,), default None
        Accepted for scikit-learn's signature and checked; the distances are computed here.
    random_state : int, RandomState instance or None, default None
        The same value gives the same centres in every process.
    n_local_trials : int, default None
        Candidates per centre after the first: ``2 + int(log(n_clusters))`` by default; 1 is
        the original k-means++.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        In the dtype of the data (float64 for integers).
    indices : ndarray of shape (n_clusters,)
        The samples chosen: ``X[indices] == centers``.

    Examples
    --------
    >>> from tfkmeans import kmeans_plusplus
    >>> centers, indices = kmeans_plusplus([[0.0], [0.1], [10.0], [10.1]], 2, random_state=3)
    >>> sorted(centers.round().ravel().tolist())
    [0.0, 10.0]
    """
    check_sparse_structure(X)
    X = check_array(X, accept_sparse="csr", dtype=[np.float64, np.float32])
    # Rescaled (only their proportions matter here): weights near the dtype's largest number
    # would overflow the probabilities, subnormal ones vanish.
    weights, _ = check_weights(sample_weight, X)
    if X.shape[0] < n_clusters:
        raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={n_clusters}.")
    if x_squared_norms is not None:
        x_squared_norms = check_array(x_squared_norms, dtype=None, ensure_2d=False)
        if x_squared_norms.shape[0] != X.shape[0]:
            raise ValueError(
                f"The length of x_squared_norms {x_squared_norms.shape[0]} should "
                f"be equal to the length of n_samples {X.shape[0]}."
            )
    check_count(n_clusters, "n_clusters")
    trials = (
        _seeding.default_local_trials(n_clusters)
        if n_local_trials is None
        else check_count(n_local_trials, "n_local_trials")
    )
    seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    indices = Samples(X, at_least=None if weights is None else weights.dtype).plusplus(
        weights, seed, n_clusters, trials
    )
    centres = X[indices]
    return (centres.toarray() if sp.issparse(X) else centres), indices
