"""Bisecting k-means: scikit-learn's ``BisectingKMeans`` on the same compiled loop as ``KMeans``.

Start with one cluster of all the samples; then, until there are ``n_clusters``, split one
cluster in two with 2-means (the one with the largest inertia, or the most samples). The splits
form a tree, and ``predict`` walks it down from the root, choosing between two centres at each
node, as scikit-learn's does.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import _loop
from ._kmeans import _BaseKMeans, _keeps_state_on_error
from ._samples import Samples
from ._tensorflow import tf


class _Node:
    """A cluster of the tree: its centre, its samples (while it is a leaf being grown), the
    score by which the next cluster to split is chosen, and its two halves once split."""

    def __init__(self, centre, indices, score):
        self.centre, self.indices, self.score = centre, indices, score
        self.left = self.right = None
        self.label = None

    def split(self, labels, centres, scores):
        self.left = _Node(centres[0], self.indices[labels == 0], scores[0])
        self.right = _Node(centres[1], self.indices[labels == 1], scores[1])
        self.indices = None

    def leaves(self):
        if self.left is None:
            yield self
        else:
            yield from self.left.leaves()
            yield from self.right.leaves()

    def to_split(self):
        """The leaf with the highest score (the first of them on a tie)."""
        best = None
        for leaf in self.leaves():
            if best is None or leaf.score > best.score:
                best = leaf
        return best


class BisectingKMeans(_BaseKMeans):
    """Bisecting k-means with TensorFlow, in scikit-learn's interface.

    The parameters, attributes and methods of ``sklearn.cluster.BisectingKMeans``, with the same
    meanings: each split is a 2-means fit (``n_init`` starts, the best kept) run by the same
    compiled Lloyd loop as ``KMeans``. Dense and sparse (CSR or CSC) input.

    Parameters
    ----------
    n_clusters : int, default 8
    init : "k-means++", "random" or callable, default "random"
        How each split's two starting centres are chosen (a callable is called with
        ``n_clusters=2``).
    n_init : int, default 1
        Starts per split; the split with the lowest inertia is kept.
    random_state : int, RandomState instance or None, default None
    max_iter : int, default 300
        The most iterations of each split's 2-means.
    verbose : int, default 0
        Print each split's new centres.
    tol : float, default 1e-4
        Each split's 2-means stops once its centres' squared moves sum to at most ``tol`` (as
        in scikit-learn, not relative to the data's variance here).
    copy_x : bool, default True
        As for ``KMeans``.
    algorithm : {"lloyd", "elkan"}, default "lloyd"
        As for ``KMeans``: both run the same exact computation.
    bisecting_strategy : {"biggest_inertia", "largest_cluster"}, default "biggest_inertia"
        Which cluster to split next: the one with the largest inertia, or the most samples.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,), int32
    inertia_ : float
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame whose column names are all strings.

    Examples
    --------
    >>> import numpy as np
    >>> from tfkmeans import BisectingKMeans
    >>> X = np.array([[1, 1], [10, 1], [3, 1], [10, 0], [2, 1], [10, 2], [10, 8], [10, 9], [10, 10]])
    >>> model = BisectingKMeans(n_clusters=3, random_state=0).fit(X)
    >>> sorted(model.cluster_centers_.round(6).tolist())
    [[2.0, 1.0], [10.0, 1.0], [10.0, 9.0]]
    """

    _parameter_constraints = {
        **_BaseKMeans._parameter_constraints,
        "init": [StrOptions({"k-means++", "random"}), callable],
        "n_init": [Interval(numbers.Integral, 1, None, closed="left")],
        "copy_x": ["boolean"],
        "algorithm": [StrOptions({"lloyd", "elkan"})],
        "bisecting_strategy": [StrOptions({"biggest_inertia", "largest_cluster"})],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="random",
        n_init=1,
        random_state=None,
        max_iter=300,
        verbose=0,
        tol=1e-4,
        copy_x=True,
        algorithm="lloyd",
        bisecting_strategy="biggest_inertia",
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.random_state = random_state
        self.max_iter = max_iter
        self.verbose = verbose
        self.tol = tol
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.bisecting_strategy = bisecting_strategy

    def _warn_mkl_vcomp(self, n_active_threads):
        """scikit-learn's hook for a Windows-only warning; nothing to warn about here."""

    @_keeps_state_on_error
    def fit(self, X, y=None, sample_weight=None):
        """Compute bisecting k-means clustering.

        Parameters
        ----------
        X : array-like or sparse matrix
            Of shape (n_samples, n_features).
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Used in the means, the inertia and (unless ``init`` is a callable) the seeding.

        Returns
        -------
        self
        """
        self._validate_params()
        X = self._check_data(X, reset=True)
        weights, scale = self._check_weights(sample_weight, X)
        dtype = X.dtype
        if weights is not None and weights.dtype.itemsize > X.dtype.itemsize:
            # Weights that float32 cannot carry, computed in float64 (``_precision.weights_dtype``):
            # the shifts, means and inertias worked out here too, not only the kernels' passes.
            X = X.astype(weights.dtype)
        self._check_params_vs_input(X, default_n_init=1)
        self._random_state = check_random_state(self.random_state)
        self._X_mean = None if sp.issparse(X) else X.mean(axis=0, dtype=np.float64).astype(X.dtype)
        relative = X if sp.issparse(X) else X - self._X_mean
        root = _Node(np.asarray(relative.mean(axis=0)).ravel(), np.arange(X.shape[0]), 0)
        for _ in range(self.n_clusters - 1):
            self._bisect(relative, weights, root.to_split())
        labels = np.full(X.shape[0], -1, dtype=np.int32)
        centres = np.empty((self.n_clusters, X.shape[1]), dtype=X.dtype)
        for label, leaf in enumerate(root.leaves()):
            labels[leaf.indices] = label
            centres[label] = leaf.centre
            leaf.label, leaf.indices = label, None
        if self._X_mean is not None:
            centres += self._X_mean
        self._bisecting_tree = root
        self.cluster_centers_ = centres.astype(dtype, copy=False)
        self.labels_ = labels
        self.inertia_ = _inertia(X, weights, centres, labels) * scale
        return self

    def _bisect(self, X, weights, node):
        """Split ``node`` in two by 2-means on its samples (``X`` relative to the data's mean)."""
        subset = X[node.indices]
        subset_weights = None if weights is None else weights[node.indices]
        samples = self._samples(subset, weights=subset_weights, n_clusters=2)
        run = samples.runner(samples.weights(subset_weights), 2)
        best = None
        for _ in range(self.n_init):
            start = self._init_centroids(
                subset, None, self.init, self._random_state, subset_weights, n_centroids=2, samples=samples
            )
            result = _loop.lloyd(
                run,
                samples.relative(start),
                tf.constant(self.tol, samples.dtype),
                tf.constant(-1.0, samples.dtype),
                tf.constant(True),
                self.max_iter,
                _loop.HISTORY_NONE,
                "sklearn",
            )
            inertia = float(result.inertia)
            if best is None or inertia < best[0] * (1 - 1e-6):
                best = (
                    inertia,
                    samples.labels(result.labels),
                    (result.centroids.numpy() + samples.offset).astype(X.dtype),
                )
        _, labels, centres = best
        if self.verbose:
            print(f"New centroids from bisection: {centres}")
        if self.bisecting_strategy == "biggest_inertia":
            scores = [_inertia_of_cluster(subset, subset_weights, centres, labels, j) for j in range(2)]
        else:
            scores = np.bincount(labels, minlength=2)
        node.split(labels, centres, scores)

    def predict(self, X):
        """The index of each sample's cluster, found by walking down the tree of splits.

        Parameters
        ----------
        X : array-like or sparse matrix
            Of shape (n_samples, n_features).

        Returns
        -------
        labels : ndarray of shape (n_samples,), int32
        """
        check_is_fitted(self)
        X = self._check_data(X, reset=False)
        return self._predict_down(X, self._bisecting_tree)

    def _predict_down(self, X, node):
        if node.left is None:
            return np.full(X.shape[0], node.label, dtype=np.int32)
        labels = np.full(X.shape[0], -1, dtype=np.int32)
        if X.shape[0] == 0:
            return labels
        centres = np.vstack([node.left.centre, node.right.centre]).astype(X.dtype)
        if self._X_mean is not None:
            centres = centres + self._X_mean
        left = _nearest(X, centres) == 0
        labels[left] = self._predict_down(X[left], node.left)
        labels[~left] = self._predict_down(X[~left], node.right)
        return labels


def _inertia_of_cluster(X, weights, centres, labels, j):
    chosen = labels == j
    return _inertia(X[chosen], None if weights is None else weights[chosen], centres[j : j + 1], labels[chosen] * 0)


def _nearest(X, centres):
    """Each sample's nearest of ``centres`` (X checked, not empty)."""
    return Samples(X, None if sp.issparse(X) else centres.mean(axis=0)).assign(centres)[0]


def _inertia(X, weights, centres, labels):
    """The (weighted) inertia of ``labels`` with respect to ``centres``, in float64 (0 for no
    samples): a bisection's labels are not each sample's nearest centre, so it is computed from
    them, not by assigning again."""
    if X.shape[0] == 0:
        return 0.0
    centres = np.asarray(centres, np.float64)
    if sp.issparse(X):
        X = X.astype(np.float64, copy=False)  # float32 squares of 1e20 would overflow
        norms = np.asarray(X.multiply(X).sum(axis=1), np.float64).ravel()
        products = np.asarray(X @ centres.T, np.float64)[np.arange(X.shape[0]), labels]
        squared = np.maximum(norms - 2.0 * products + np.sum(centres**2, axis=1)[labels], 0.0)
    else:
        squared = np.sum(np.square(X - centres[labels], dtype=np.float64), axis=1)
    return float(np.sum(squared if weights is None else squared * weights))
