"""Figures: samples coloured by their cluster, the inertia per iteration, and an animation."""

import os
import sys

import numpy as np

from ._output import atomic_write, save_figure


class Projection:
    """What a figure plots of points with many features: two of the features, or the first two
    principal components of the samples. Call it on points (..., n_features) for their (x, y);
    ``labels`` are the axes' labels."""

    def __init__(self, n_features, feature_names=None, columns=None, components=None, mean=None, labels=None):
        self.n_features = n_features
        self.columns = columns
        self.components, self.mean = components, mean
        if labels is None:
            labels = axis_labels(n_features, feature_names, columns)
        self.labels = labels

    @classmethod
    def choose(cls, samples, feature_names=None, columns=None):
        """``columns`` (two positions) if given; the features themselves when there are at most
        two; else the samples' first two principal components."""
        samples = np.asarray(samples, np.float64)
        n_features = samples.shape[1]
        if columns is not None or n_features <= 2:
            return cls(n_features, feature_names, columns)
        mean = samples.mean(axis=0)
        centred = samples - mean
        # The covariance's eigenvectors: a d x d problem, not an SVD of all the samples.
        variances, vectors = np.linalg.eigh(centred.T @ centred)
        order = np.argsort(variances)[::-1]
        variances, vectors = np.maximum(variances[order], 0.0), vectors[:, order].T
        shares = variances / max(np.sum(variances), np.finfo(float).tiny)
        labels = tuple(f"principal component {i + 1} ({shares[i]:.0%} of the variance)" for i in range(2))
        return cls(n_features, feature_names, components=vectors[:2], mean=mean, labels=labels)

    def __call__(self, points):
        points = np.asarray(points, np.float64)
        if self.components is not None:
            projected = (points - self.mean) @ self.components.T
            return projected[..., 0], projected[..., 1]
        if self.columns is not None:
            return points[..., self.columns[0]], points[..., self.columns[1]]
        return plot_coordinates(points)


def plot_coordinates(points):
    """The x and y to plot for ``points`` (..., n_features): the first two features, or the
    only one against zero."""
    points = np.asarray(points)
    if points.shape[-1] == 1:
        return points[..., 0], np.zeros(points.shape[:-1])
    return points[..., 0], points[..., 1]


def axis_labels(n_features, feature_names=None, columns=None):
    """Labels for the x and y axes of ``plot_coordinates``' points (or of the two ``columns``)."""
    names = list(feature_names) if feature_names is not None else [f"feature {j}" for j in range(n_features)]
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
    samples, centroids, labels, inertias, *, true_centroids=None, feature_names=None, title=None, projection=None
):
    """The final figure: samples coloured by cluster beside the inertia after each iteration."""
    import matplotlib.pyplot as plt

    projection = projection or Projection(np.shape(samples)[1], feature_names)
    figure, (cluster_axes, inertia_axes) = plt.subplots(1, 2, figsize=(13, 5.5), width_ratios=[1.15, 1])
    plot_clusters(samples, centroids, labels, ax=cluster_axes, title=title, projection=projection)
    if true_centroids is not None:
        _mark_true_centroids(cluster_axes, true_centroids, projection)
    iterations = np.arange(1, len(inertias) + 1)
    inertia_axes.plot(iterations, inertias, "o-", color="tab:blue")
    inertia_axes.set_xlabel("iteration")
    inertia_axes.set_ylabel("inertia (within-cluster sum of squares)")
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
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

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
        return [points, markers, *lines]

    animation = FuncAnimation(figure, draw, frames=len(centroid_history), blit=False)
    with atomic_write(path) as temporary:
        animation.save(temporary, writer=PillowWriter(fps=2))
    plt.close(figure)


def plot_sweep(sweep, title=None):
    """Inertia (the elbow) and silhouette score against the number of clusters, side by side.

    ``sweep`` is a list of ``{"n_clusters", "inertia", "silhouette"}`` (silhouette may be None).
    """
    import matplotlib.pyplot as plt

    counts = [entry["n_clusters"] for entry in sweep]
    figure, (inertia_axes, silhouette_axes) = plt.subplots(1, 2, figsize=(12, 4.8))
    inertia_axes.plot(counts, [entry["inertia"] for entry in sweep], "o-", color="tab:blue")
    inertia_axes.set_ylabel("inertia (within-cluster sum of squares)")
    inertia_axes.set_title("Inertia: look for the elbow")
    scored = [(entry["n_clusters"], entry["silhouette"]) for entry in sweep if entry["silhouette"] is not None]
    if scored:
        silhouette_axes.plot(*zip(*scored), "o-", color="tab:green")
        best = max(scored, key=lambda pair: pair[1])
        silhouette_axes.plot(*best, "o", markersize=14, markerfacecolor="none", markeredgecolor="k")
    silhouette_axes.set_ylabel("silhouette score (higher is better)")
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
