"""Spherical k-means: k-means in cosine geometry, for text (TF-IDF rows) and embeddings.

Dhillon and Modha (2001), "Concept decompositions for large sparse text data using clustering":
every sample is scaled to unit length; each sample goes to the centre of largest cosine
similarity (on unit rows, the nearest in squared Euclidean distance: ``|x - c|^2 = 2 - 2 x.c``),
and each centre is the mean of its cluster scaled back to unit length. ``SphericalKMeans`` is
``KMeans`` run in ``_geometry.COSINE``: the same compiled loop, seeding, streams and
strategies, with the geometry's two steps in place of squared Euclidean's.
"""

import numbers
import os

from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array

from ._geometry import COSINE
from ._kmeans import KMeans, _is_array_like
from ._tensorflow import tf


class SphericalKMeans(KMeans):
    """Spherical k-means (Dhillon and Modha, 2001), with TensorFlow, in scikit-learn's interface.

    k-means in cosine geometry: samples are scaled to unit length, each goes to the centre with
    the largest cosine similarity, and each centre is its cluster's mean scaled to unit length.
    The objective is the sum of cosine distances, ``1 - cos(x, c)``, which never rises from one
    iteration to the next. Dense and sparse input (a TF-IDF matrix stays sparse), tf.data
    streams, tf.distribute strategies, sample weights and SavedModel export, as for ``KMeans``.

    Parameters
    ----------
    n_clusters : int, default 8
    init : "k-means++", "random", callable or array-like, default "k-means++"
        "k-means++": greedy k-means++ in cosine distance (each next centre drawn in proportion
        to its cosine distance from the nearest centre chosen, ``2 + log(n_clusters)``
        candidates per centre); "random": ``n_clusters`` distinct samples at random (in
        proportion to ``sample_weight``); a callable ``init(X, n_clusters, random_state=...)``;
        or the centres themselves, of shape (n_clusters, n_features). Given or returned centres
        are scaled to unit length.
    n_init : "auto" or int, default "auto"
        Runs from different starts; the one with the lowest inertia is kept. "auto": 1 for
        "k-means++" or given centres, 10 for "random" or a callable.
    max_iter : int, default 300
    tol : float, default 1e-4
        A run has converged when the squared distances the centres moved in an iteration sum
        to at most ``tol`` times the mean variance of the features of the unit rows (or when no
        sample changes cluster).
    verbose : int, default 0
    random_state : int, RandomState instance or None, default None
    copy_x : bool, default True
        False: the rows of a dense X (or the values of a sparse one) that is already float and
        C-ordered are scaled to unit length in place, and left so (a copy is saved).
    strategy : tf.distribute.Strategy or None, default None
        As for ``KMeans``.
    checkpoint_dir : str, path-like or None, default None
        As for ``KMeans``: every completed iteration saved, and a killed fit goes on from it.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Each of unit length.
    labels_ : ndarray of shape (n_samples,), int32
    inertia_ : float
        The sum of the samples' cosine distances to their centres, ``1 - cos`` (weighted).
    n_iter_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame whose column names are all strings.

    Notes
    -----
    An empty cluster takes the sample farthest (in cosine distance) from its centre, as
    ``KMeans`` relocates one, scikit-learn's rule. A cluster whose samples cancel out (their
    mean has length 0, so no direction) keeps its centre. A row of zeros has no direction and
    is refused with a ValueError, in every method.

    Examples
    --------
    >>> from tfkmeans import SphericalKMeans
    >>> X = [[1.0, 0.1], [10.0, 0.5], [0.1, 1.0], [0.4, 8.0]]
    >>> model = SphericalKMeans(n_clusters=2, random_state=0).fit(X)
    >>> bool(model.labels_[0] == model.labels_[1] != model.labels_[2] == model.labels_[3])
    True
    >>> sorted(model.cluster_centers_.round(2).tolist())
    [[0.07, 1.0], [1.0, 0.07]]
    """

    _geometry = COSINE
    _parameter_constraints = {
        "n_clusters": [Interval(numbers.Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), callable, "array-like"],
        "n_init": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "copy_x": ["boolean"],
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
        strategy=None,
        checkpoint_dir=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.strategy = strategy
        self.checkpoint_dir = checkpoint_dir

    def _check_data(self, X, reset):
        """``X`` checked as ``KMeans`` checks it, with its rows scaled to unit length: in place
        only when fitting with ``copy_x=False``, never in ``predict``, ``transform`` or
        ``score``."""
        X = super()._check_data(X, reset)
        return self._geometry.prepare(X, copy=not (reset and not self.copy_x))

    def _samples(self, X, offset=None, weights=None, **options):
        """As ``KMeans``'; where the weights are computed in float64 for float32 rows (the
        precision policy, ``_precision.weights_dtype``), the rows are scaled to unit length again
        in float64: a float32 row's length is 1 only to within about 1e-7, and times a weight
        2**100 times the smallest that rounding outweighs the light samples' whole distances."""
        if weights is not None and weights.dtype.itemsize > X.dtype.itemsize:
            X = self._geometry.prepare(X.astype(weights.dtype), copy=False)
        return super()._samples(X, offset, weights, **options)

    def _check_algorithm(self):
        """No ``algorithm`` here: Lloyd's iterations, in cosine geometry."""

    def _shift_in_place(self):
        """The checked rows are this fit's own unit-length copy (or, with ``copy_x=False``, the
        caller's rows, scaled in place already): the kernels may take them as they are."""
        return True

    def _stream_rows(self, dataset):
        return dataset.map(self._geometry.prepare_batch)

    def _checked_init(self, X):
        init = super()._checked_init(X)
        return self._geometry.prepare(init, name="init") if _is_array_like(init) else init

    def _init_centroids(self, X, x_squared_norms, init, random_state, sample_weight, **options):
        centres = super()._init_centroids(X, x_squared_norms, init, random_state, sample_weight, **options)
        if callable(init):
            centres = self._geometry.prepare(check_array(centres, dtype=X.dtype), name="the centres init returned")
        return centres

    def fit(self, X, y=None, sample_weight=None):
        """Compute spherical k-means clustering.

        Parameters
        ----------
        X : array-like, sparse matrix, DataFrame, tf.Tensor or tf.data.Dataset
            Of shape (n_samples, n_features), no row of zeros. As for ``KMeans.fit``: a dataset
            is streamed (each batch's rows scaled to unit length as it comes).
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Each sample's weight in the means, the inertia and the seeding. Not with a dataset
            or a strategy.

        Returns
        -------
        self
        """
        return super().fit(X, y, sample_weight)

    def transform(self, X):
        """The cosine distance, ``1 - cos(x, c)``, from each sample to each cluster centre.

        Parameters
        ----------
        X : array-like, sparse matrix or tf.data.Dataset
            Of shape (n_samples, n_features).

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters), the dtype of the centres
        """
        return super().transform(X)

    def export(self, path):
        """Write the fitted model as a TensorFlow SavedModel, for serving.

        Its ``serving_default`` signature takes ``samples``, a float32 batch of shape
        (None, n_features), scales each to unit length, and returns ``cluster_index`` (int64,
        as ``predict``; -1 for a sample with a NaN or infinite value or a row of zeros),
        ``distance`` (float32, the cosine distance to that centre, as ``transform``) and
        ``similarity`` (float32, the cosine similarity); NaN for a sample of cluster -1. Cosine
        distances lie in [0, 2], so float32 always holds them: no other sample's are NaN (in
        ``KMeans``' export, a distance that float32 cannot hold is served as NaN). Load it with
        ``tf.saved_model.load(path)``; this package is not needed there.

        Parameters
        ----------
        path : str or path-like
            A directory that does not exist yet.
        """
        super().export(path)
