"""Figures: samples coloured by their cluster, the inertia per iteration, and an animation."""

import os
import sys

import numpy as np

from ._output import atomic_write, save_figure

# The principal components come from the eigenvectors of the smaller of the d x d covariance
# and the n x n Gram matrix, which is exact and small while one side is at most this; beyond
# it (both sides larger) they come from a randomized SVD, whose memory grows as n + d.
EXACT_PCA_LIMIT = 2_048
# The samples are converted to float64 this many values at a time (8 MiB), so a figure never
# needs a float64 copy of all of them.
CHUNK_VALUES = 2**20


class Projection:
    """What a figure plots of points with many features: two of the features, or the first two
    principal components of the samples. Call it on points (..., n_features) for their (x, y);
    ``labels`` are the axes' labels. ``standardized``: the points are standardized values
    (mean 0, standard deviation 1 in each feature), and the labels say so; ``unit_rows``: each
    sample was scaled to unit length (cosine geometry), and the labels say that too."""

    def __init__(
        self,
        n_features,
        feature_names=None,
        columns=None,
        components=None,
        mean=None,
        labels=None,
        standardized=False,
        unit_rows=False,
    ):
        self.n_features = n_features
        self.columns = columns
        self.components, self.mean = components, mean
        if labels is None:
            labels = axis_labels(n_features, feature_names, columns, standardized, unit_rows)
        self.labels = labels

    @classmethod
    def choose(cls, samples, feature_names=None, columns=None, standardized=False, unit_rows=False):
        """``columns`` (two positions) if given; the features themselves when there are at most
        two; else the samples' first two principal components."""
        samples = np.asarray(samples)
        n_features = samples.shape[1]
        if columns is not None or n_features <= 2:
            return cls(n_features, feature_names, columns, standardized=standardized, unit_rows=unit_rows)
        mean, components, shares = principal_components(samples, 2)
        of = {
            (False, False): "",
            (True, False): " of the standardized features",
            (False, True): " of the rows scaled to unit length",
            (True, True): " of the standardized rows scaled to unit length",
        }[bool(standardized), bool(unit_rows)]
        labels = tuple(f"principal component {i + 1}{of} ({shares[i]:.0%} of the variance)" for i in range(2))
        return cls(n_features, feature_names, components=components, mean=mean, labels=labels)

    def __call__(self, points):
        points = np.asarray(points)
        if self.components is not None:
            flat = points.reshape(-1, points.shape[-1])
            projected = np.empty((len(flat), len(self.components)))
            for rows in _row_chunks(flat):
                projected[rows] = (flat[rows].astype(np.float64) - self.mean) @ self.components.T
            projected = projected.reshape(*points.shape[:-1], len(self.components))
            return projected[..., 0], projected[..., 1]
        if self.columns is not None:
            return points[..., self.columns[0]], points[..., self.columns[1]]
        return plot_coordinates(points)


def principal_components(samples, count=2, seed=0):
    """The first ``count`` principal components of ``samples`` (n, d), in memory that grows as
    n + d (never a d x d matrix for large d, nor a float64 copy of the samples).

    Returns ``(mean, components, shares)``: the samples' mean (d,), the components as unit rows
    (count, d), each with its largest entry positive, and each one's share of the variance.
    A component past the samples' rank has a share of 0 (and is zero when there are fewer
    samples than components, or than features), never NaN.
    """
    samples = np.asarray(samples)
    if samples.ndim != 2:
        raise ValueError(f"samples must be 2-D, got shape {samples.shape}")
    n, d = samples.shape
    mean = samples.mean(axis=0, dtype=np.float64)
    total = 0.0
    for rows in _row_chunks(samples):
        total += float(np.sum(np.square(samples[rows].astype(np.float64) - mean)))
    if min(n, d) <= EXACT_PCA_LIMIT:
        variances, components = (_from_covariance if d <= n else _from_gram)(samples, mean)
    else:
        variances, components = _randomized(samples, mean, count, seed)
    variances, components = np.maximum(variances[:count], 0.0), components[:count]
    if len(variances) < count:  # fewer samples or features than components
        variances = np.concatenate([variances, np.zeros(count - len(variances))])
        components = np.concatenate([components, np.zeros((count - len(components), d))])
    largest = components[np.arange(count), np.argmax(np.abs(components), axis=1)]
    components = components * np.where(largest < 0, -1.0, 1.0)[:, np.newaxis]
    shares = variances / total if total > 0 else np.zeros(count)
    return mean, components, shares


def _row_chunks(matrix):
    step = max(1, CHUNK_VALUES // max(1, matrix.shape[-1]))
    return [slice(start, start + step) for start in range(0, len(matrix), step)]


def _column_chunks(matrix):
    step = max(1, CHUNK_VALUES // max(1, matrix.shape[0]))
    return [slice(start, start + step) for start in range(0, matrix.shape[1], step)]


def _descending(values, vectors):
    order = np.argsort(values)[::-1]
    return values[order], vectors[:, order]


def _from_covariance(samples, mean):
    """Fewer features than samples: the d x d scatter matrix's eigenvectors."""
    scatter = np.zeros((samples.shape[1],) * 2)
    for rows in _row_chunks(samples):
        centred = samples[rows].astype(np.float64) - mean
        scatter += centred.T @ centred
    variances, vectors = _descending(*np.linalg.eigh(scatter))
    return variances, vectors.T


def _from_gram(samples, mean):
    """Fewer samples than features: the n x n Gram matrix's eigenvectors u give the components
    X^T u / s, with the same variances s^2."""
    gram = np.zeros((samples.shape[0],) * 2)
    for columns in _column_chunks(samples):
        centred = samples[:, columns].astype(np.float64) - mean[columns]
        gram += centred @ centred.T
    variances, vectors = _descending(*np.linalg.eigh(gram))
    singular = np.sqrt(np.maximum(variances, 0.0))
    # A direction with no variance (beyond the samples' rank) has no component: zero, not 0/0.
    inverse = np.where(singular > singular[0] * 1e-10, 1.0 / np.where(singular > 0, singular, 1.0), 0.0)
    components = np.empty((len(variances), samples.shape[1]))
    for columns in _column_chunks(samples):
        centred = samples[:, columns].astype(np.float64) - mean[columns]
        components[:, columns] = (vectors.T @ centred) * inverse[:, np.newaxis]
    return variances, components


def _randomized(samples, mean, count, seed, oversample=10, power_iterations=7):
    """Halko, Martinsson and Tropp's randomized SVD (as scikit-learn's randomized_svd), with
    the centring left implicit, (X - 1 m^T) V = X V - 1 (m^T V), so no centred copy is made."""
    n, d = samples.shape
    width = min(count + oversample, n, d)

    def times(vectors):  # (X - 1 m^T) V, (n, width)
        result = np.empty((n, vectors.shape[1]))
        for rows in _row_chunks(samples):
            result[rows] = samples[rows].astype(np.float64) @ vectors
        return result - mean @ vectors

    def transposed_times(vectors):  # (X - 1 m^T)^T U, (d, width)
        result = np.zeros((d, vectors.shape[1]))
        for rows in _row_chunks(samples):
            result += samples[rows].astype(np.float64).T @ vectors[rows]
        return result - np.outer(mean, vectors.sum(axis=0))

    basis = times(np.random.default_rng(seed).standard_normal((d, width)))
    for _ in range(power_iterations):  # each pass sharpens the gap between the large and the small
        basis = times(np.linalg.qr(transposed_times(np.linalg.qr(basis)[0]))[0])
    basis = np.linalg.qr(basis)[0]
    _, singular, right = np.linalg.svd(transposed_times(basis).T, full_matrices=False)
    return singular**2, right


def plot_coordinates(points):
    """The x and y to plot for ``points`` (..., n_features): the first two features, or the
    only one against zero."""
    points = np.asarray(points)
    if points.shape[-1] == 1:
        return points[..., 0], np.zeros(points.shape[:-1])
    return points[..., 0], points[..., 1]


def axis_labels(n_features, feature_names=None, columns=None, standardized=False, unit_rows=False):
    """Labels for the x and y axes of ``plot_coordinates``' points (or of the two ``columns``);
    ``standardized``: each says that its values are standardized; ``unit_rows``: that they are
    a sample's values scaled to unit length."""
    names = list(feature_names) if feature_names is not None else [f"feature {j}" for j in range(n_features)]
    how = [word for word, used in (("standardized", standardized), ("of a unit row", unit_rows)) if used]
    if how:
        names = [f"{name} ({', '.join(how)})" for name in names]
    if columns is not None:
        return names[columns[0]], names[columns[1]]
    if n_features == 1:
        return f"{names[0]} (the only feature)", ""
    if n_features == 2:
        return names[0], names[1]
    shown = f" (first 2 of {n_features} features shown)"
    return names[0] + shown, names[1] + shown


def plot_clusters(
    samples, centroids, labels, *, feature_names=None, title=None, ax=None, save_path=None, projection=None
):
    """Samples coloured by the cluster they belong to, each centroid a big magenta X.

    Parameters
    ----------
    samples : array-like, shape (n_samples, n_features)
        With more than two features the first two are plotted (the axis labels say so); with
        one feature the samples are plotted against zero.
    centroids : array-like, shape (n_clusters, n_features)
    labels : array-like of int, shape (n_samples,)
        Each sample's cluster, in ``[0, n_clusters)``.
    feature_names : list of str, optional
        Axis labels (default "feature 0", "feature 1").
    title : str, optional
    ax : matplotlib Axes, optional
        Draw on these axes instead of a new figure.
    save_path : str or path, optional
        Also write the figure to this file (format from its extension).
    projection : Projection, optional
        What to plot of many features (default: the first two).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    samples, centroids, labels = np.asarray(samples), np.asarray(centroids), np.asarray(labels)
    if samples.ndim != 2 or centroids.ndim != 2 or samples.shape[1] != centroids.shape[1]:
        raise ValueError(
            f"samples {samples.shape} and centroids {centroids.shape} must be 2-D with the same number of features"
        )
    if labels.shape != (len(samples),) or labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be one integer per sample, shape ({len(samples)},), got {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(centroids)):
        raise ValueError(f"labels must lie in [0, {len(centroids)}), one per centroid")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 6))
    projection = projection or Projection(samples.shape[1], feature_names)
    colour = plt.cm.rainbow(np.linspace(0, 1, len(centroids)))
    for i, centroid in enumerate(centroids):
        x, y = projection(samples[labels == i])
        ax.scatter(x, y, c=[colour[i]], s=8, alpha=0.8)
        cx, cy = projection(centroid[np.newaxis, :])
        ax.plot(cx, cy, markersize=35, marker="x", color="k", mew=10)
        ax.plot(cx, cy, markersize=30, marker="x", color="m", mew=5)
    xlabel, ylabel = projection.labels
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if samples.shape[1] == 1 and projection.columns is None:
        ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    if save_path is not None:
        save_figure(ax.figure, save_path)
    return ax.figure


def plot_result(
    samples,
    centroids,
    labels,
    inertias,
    *,
    true_centroids=None,
    feature_names=None,
    title=None,
    projection=None,
    standardized=False,
    metric="euclidean",
):
    """The final figure: samples coloured by cluster beside the inertia after each iteration.
    ``standardized``: everything given is in standardized values, and the inertia's label says
    so; ``metric``: "euclidean" or "cosine", what the inertia sums."""
    import matplotlib.pyplot as plt

    projection = projection or Projection(np.shape(samples)[1], feature_names)
    figure, (cluster_axes, inertia_axes) = plt.subplots(1, 2, figsize=(13, 5.5), width_ratios=[1.15, 1])
    plot_clusters(samples, centroids, labels, ax=cluster_axes, title=title, projection=projection)
    if true_centroids is not None:
        _mark_true_centroids(cluster_axes, true_centroids, projection)
    iterations = np.arange(1, len(inertias) + 1)
    inertia_axes.plot(iterations, inertias, "o-", color="tab:blue")
    inertia_axes.set_xlabel("iteration")
    inertia_axes.set_ylabel(inertia_label(standardized, metric))
    inertia_axes.set_title("Inertia after each iteration")
    inertia_axes.set_xticks(iterations if len(iterations) <= 20 else np.linspace(1, len(iterations), 11).round())
    inertia_axes.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def _mark_true_centroids(ax, true_centroids, projection):
    x, y = projection(true_centroids)
    ax.scatter(x, y, s=250, facecolors="none", edgecolors="k", linewidths=2, label="true centroids", zorder=3)
    ax.legend(loc="best")


def animate(
    path,
    samples,
    centroid_history,
    label_history,
    inertias,
    *,
    true_centroids=None,
    feature_names=None,
    projection=None,
    staged=False,
):
    """Write a GIF with one frame per iteration (frame 0: the initial centroids), whole or not at all.

    Samples are coloured by their cluster at that iteration, and each centroid is drawn with
    the trail of where it has been.

    Parameters
    ----------
    centroid_history : list of arrays (n_clusters, n_features), one per frame
    label_history : list of int arrays (n_samples,), one per frame
    inertias : list of floats, one per frame
    projection : Projection, optional
        What to plot of many features (default: the first two).
    staged : bool, default False
        ``path`` is a temporary file that the caller staged (``_output.Outputs.stage``) and
        puts in place itself: it is written as it is, not staged a second time.
    """
    import matplotlib.pyplot as plt

    samples = np.asarray(samples)
    projection = projection or Projection(samples.shape[1], feature_names)
    trails = np.stack(centroid_history)  # (frames, n_clusters, n_features)
    colours = plt.cm.rainbow(np.linspace(0, 1, trails.shape[1]))

    figure, ax = plt.subplots(figsize=(6.5, 6))
    sample_x, sample_y = projection(samples)
    trail_x, trail_y = projection(trails)
    for set_limits, values in ((ax.set_xlim, [sample_x, trail_x.ravel()]), (ax.set_ylim, [sample_y, trail_y.ravel()])):
        values = np.concatenate(values)
        margin = 0.05 * (np.ptp(values) + 1e-9)
        set_limits(values.min() - margin, values.max() + margin)
    xlabel, ylabel = projection.labels
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if true_centroids is not None:
        _mark_true_centroids(ax, true_centroids, projection)
    points = ax.scatter(sample_x, sample_y, s=6, alpha=0.7)
    lines = [ax.plot([], [], "-", color="k", lw=1.5)[0] for _ in range(trails.shape[1])]
    markers = ax.scatter(trail_x[0], trail_y[0], marker="X", s=300, c="m", edgecolors="k", linewidths=1.5, zorder=4)

    def draw(frame):
        points.set_color(colours[np.asarray(label_history[frame])])
        for cluster, line in enumerate(lines):
            line.set_data(trail_x[: frame + 1, cluster], trail_y[: frame + 1, cluster])
        markers.set_offsets(np.column_stack([trail_x[frame], trail_y[frame]]))
        # The text differs from frame to frame, so no frame is merged into the next in the GIF.
        label = "initial centroids" if frame == 0 else f"iteration {frame}"
        ax.set_title(f"k-means, {label}: inertia {inertias[frame]:,.1f}")

    try:
        if staged:
            _write_gif(figure, draw, len(centroid_history), path)
        else:
            with atomic_write(path) as temporary:
                _write_gif(figure, draw, len(centroid_history), temporary)
    finally:
        plt.close(figure)


def _write_gif(figure, draw, n_frames, path, fps=2):
    """``draw(frame)`` for each frame and the figure grabbed, then the GIF written to ``path``.

    What ``FuncAnimation.save`` does, but for its ``finally``, which writes the file however the
    frames stopped: stopped by a signal or Ctrl-C before the first frame was grabbed, that fails
    with an ``IndexError`` of its own, which hid the signal (a traceback rather than the run's
    one line and exit status). Here the file is written only once every frame is drawn."""
    import matplotlib
    from matplotlib.animation import PillowWriter

    dpi = matplotlib.rcParams["savefig.dpi"]
    writer = PillowWriter(fps=fps)
    try:
        writer.setup(figure, path, dpi=figure.dpi if dpi == "figure" else dpi)
    except FileNotFoundError as error:  # matplotlib checks that the directory exists, and names it
        raise FileNotFoundError(error.errno, error.strerror, os.fspath(path)) from None
    with matplotlib.rc_context({"savefig.bbox": None}):  # as FuncAnimation.save: one frame size
        for frame in range(n_frames):
            draw(frame)
            writer.grab_frame()
    writer.finish()


def inertia_label(standardized=False, metric="euclidean"):
    of = " of the standardized features" if standardized else ""
    if metric == "cosine":
        return f"inertia (sum of cosine distances, 1 - cos{of})"
    return f"inertia (within-cluster sum of squares{of})"


def plot_sweep(sweep, title=None, standardized=False, metric="euclidean"):
    """Inertia (the elbow) and silhouette score against the number of clusters, side by side.

    ``sweep`` is a list of ``{"n_clusters", "inertia", "silhouette"}`` (silhouette may be None);
    ``standardized``: they were computed on standardized values, and the labels say so;
    ``metric``: "euclidean" or "cosine", the distance both are measured in.
    """
    import matplotlib.pyplot as plt

    counts = [entry["n_clusters"] for entry in sweep]
    figure, (inertia_axes, silhouette_axes) = plt.subplots(1, 2, figsize=(12, 4.8))
    inertia_axes.plot(counts, [entry["inertia"] for entry in sweep], "o-", color="tab:blue")
    inertia_axes.set_ylabel(inertia_label(standardized, metric))
    inertia_axes.set_title("Inertia: look for the elbow")
    scored = [(entry["n_clusters"], entry["silhouette"]) for entry in sweep if entry["silhouette"] is not None]
    if scored:
        silhouette_axes.plot(*zip(*scored), "o-", color="tab:green")
        best = max(scored, key=lambda pair: pair[1])
        silhouette_axes.plot(*best, "o", markersize=14, markerfacecolor="none", markeredgecolor="k")
    silhouette_axes.set_ylabel(
        "silhouette score ("
        + ("cosine, " if metric == "cosine" else "")
        + "higher is better)"
        + (", on the standardized features" if standardized else "")
    )
    silhouette_axes.set_title("Silhouette score")
    for ax in (inertia_axes, silhouette_axes):
        ax.set_xlabel("number of clusters k")
        ax.set_xticks(counts)
        ax.grid(alpha=0.3)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def has_display():
    """Whether ``plt.show()`` would open a window (or draw inline in a notebook)."""
    import matplotlib

    backend = matplotlib.get_backend().lower()
    if backend in ("agg", "pdf", "ps", "svg", "pgf", "cairo", "template"):
        return False
    if backend.startswith("module://"):
        return True
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    return True
