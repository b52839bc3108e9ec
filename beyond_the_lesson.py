"""Helpers for kmeans_iterate.py that go beyond the lesson: your own data, results you can keep,
the final figure with the inertia, and an animation of the iterations.

They extend the lesson's last step (the exercises) and are not needed to follow it. A data
file is read and checked in full before any k-means work starts.
"""

import csv
import json
import math
import os

import numpy as np

from functions import atomic_write, plot_clusters, plot_coordinates


class DataError(ValueError):
    """A data file that cannot be clustered; the message names the file, line and column."""


# --------------------------------------------------------------------------------------------
# Reading your own data
# --------------------------------------------------------------------------------------------


def load_samples(path):
    """Read samples from a CSV or NumPy ``.npy`` file, as a float32 array (rows x features).

    CSV: comma-separated numbers, one sample per line, every column used. A first line whose
    cells are all non-numeric is a header and is skipped; blank lines are skipped.
    ``.npy``: a 2-D numeric array.

    Raises
    ------
    DataError
        For a missing, empty or unreadable file, a cell that is empty, not a number, NaN or
        infinite, rows of different lengths, or an array that is not 2-D. The message names
        the file, and the line and column (1-based) where the problem is.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory, not a data file")
    extension = os.path.splitext(path)[1].lower()
    if extension == ".csv":
        samples = _load_csv(path)
    elif extension == ".npy":
        samples = _load_npy(path)
    else:
        raise DataError(f"{path}: unknown file type {extension or '(no extension)'!r}; use .csv or .npy")
    return samples


def _parse_number(cell):
    try:
        return float(cell)
    except ValueError:
        return None


def _load_csv(path):
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            lines = list(enumerate(csv.reader(handle), start=1))
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file (it is not UTF-8)") from None
    except csv.Error as error:
        raise DataError(f"{path}: not a readable CSV file ({error})") from None
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error})") from None
    lines = [(number, row) for number, row in lines if any(cell.strip() for cell in row)]
    if not lines:
        raise DataError(f"{path}: the file is empty")
    first_number, first_row = lines[0]
    if all(cell.strip() and _parse_number(cell) is None for cell in first_row):
        lines = lines[1:]  # a header line
        if not lines:
            raise DataError(f"{path}: the file has a header line ({first_number}) but no data")
    width = len(lines[0][1])
    rows = []
    for number, row in lines:
        if len(row) != width:
            raise DataError(f"{path}, line {number}: {len(row)} columns, but line {lines[0][0]} has {width}")
        values = []
        for column, cell in enumerate(row, start=1):
            where = f"{path}, line {number}, column {column}"
            if not cell.strip():
                raise DataError(f"{where}: empty cell")
            value = _parse_number(cell)
            if value is None:
                raise DataError(f"{where}: {cell.strip()!r} is not a number")
            if not math.isfinite(value):
                raise DataError(f"{where}: {cell.strip()!r} is not a finite number")
            values.append(value)
        rows.append(values)
    return _to_float32(np.array(rows, dtype=np.float64), path)


def _load_npy(path):
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as error:
        raise DataError(f"{path}: not a readable .npy array of numbers ({error})") from None
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: not a readable .npy file ({error or 'it is empty'})") from None
    if array.dtype.kind not in "iuf":
        raise DataError(f"{path}: holds {array.dtype}, not numbers")
    if array.ndim != 2:
        raise DataError(f"{path}: expected a 2-D array (samples x features), got shape {array.shape}")
    if array.size == 0:
        raise DataError(f"{path}: the array is empty (shape {array.shape})")
    bad = np.argwhere(~np.isfinite(array))
    if len(bad):
        row, column = bad[0]
        raise DataError(
            f"{path}, row {row + 1}, column {column + 1}: {array[row, column]} is not a finite number"
        )
    return _to_float32(array, path)


def _to_float32(array, path):
    samples = array.astype(np.float32)
    if not np.all(np.isfinite(samples)):
        row, column = np.argwhere(~np.isfinite(samples))[0]
        raise DataError(
            f"{path}, row {row + 1}, column {column + 1}: {array[row, column]} is too large for float32"
        )
    return samples


# --------------------------------------------------------------------------------------------
# Results you can keep
# --------------------------------------------------------------------------------------------


def write_json(path, result):
    """Write ``result`` (a dict) as JSON to ``path`` through a temporary file and a rename, so
    that an interrupted run never leaves a partial file."""
    # One key per line, each value on one line: readable, and still small for many samples.
    text = (
        "{\n"
        + ",\n".join(f" {json.dumps(key)}: {json.dumps(value)}" for key, value in result.items())
        + "\n}\n"
    )
    with atomic_write(path) as temporary:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def plot_result(samples, centroids, nearest_indices, inertias, true_centroids=None, title=None):
    """The final figure: samples coloured by assigned cluster beside the inertia per iteration."""
    import matplotlib.pyplot as plt

    figure, (cluster_axes, inertia_axes) = plt.subplots(1, 2, figsize=(13, 5.5), width_ratios=[1.15, 1])
    plot_clusters(samples, centroids, None, nearest_indices=nearest_indices, ax=cluster_axes, title=title)
    if true_centroids is not None:
        _mark_true_centroids(cluster_axes, true_centroids)
    iterations = np.arange(1, len(inertias) + 1)
    inertia_axes.plot(iterations, inertias, "o-", color="tab:blue")
    inertia_axes.set_xlabel("iteration")
    inertia_axes.set_ylabel("inertia (within-cluster sum of squares)")
    inertia_axes.set_title("Inertia after each iteration")
    inertia_axes.set_xticks(
        iterations if len(iterations) <= 20 else np.linspace(1, len(iterations), 11).round()
    )
    inertia_axes.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def _mark_true_centroids(ax, true_centroids):
    x, y = plot_coordinates(true_centroids)
    ax.scatter(
        x,
        y,
        s=250,
        facecolors="none",
        edgecolors="k",
        linewidths=2,
        label="true centroids",
        zorder=3,
    )
    ax.legend(loc="best")


def animate(path, samples, centroid_history, index_history, inertias, true_centroids=None):
    """Write a GIF with one frame per iteration (frame 0: the initial centroids).

    Samples are coloured by their cluster at that iteration, and each centroid is drawn with
    the trail of where it has been. Written through a temporary file and a rename.

    Parameters
    ----------
    centroid_history : list of arrays (n_clusters, n_features), one per frame
    index_history : list of int arrays (n_samples,), one per frame
    inertias : list of floats, one per frame
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

    samples = np.asarray(samples)
    trails = np.stack(centroid_history)  # (frames, n_clusters, n_features)
    n_clusters = trails.shape[1]
    colours = plt.cm.rainbow(np.linspace(0, 1, n_clusters))

    figure, ax = plt.subplots(figsize=(6.5, 6))
    sample_x, sample_y = plot_coordinates(samples)
    trail_x, trail_y = plot_coordinates(trails)
    margin = 0.05 * (np.ptp(np.concatenate([sample_x, trail_x.ravel()])) + 1e-9)
    ax.set_xlim(min(sample_x.min(), trail_x.min()) - margin, max(sample_x.max(), trail_x.max()) + margin)
    margin = 0.05 * (np.ptp(np.concatenate([sample_y, trail_y.ravel()])) + 1e-9)
    ax.set_ylim(min(sample_y.min(), trail_y.min()) - margin, max(sample_y.max(), trail_y.max()) + margin)
    ax.set_xlabel("feature 0")
    ax.set_ylabel("feature 1" if samples.shape[1] > 1 else "")
    if true_centroids is not None:
        _mark_true_centroids(ax, true_centroids)
    points = ax.scatter(sample_x, sample_y, s=6, alpha=0.7)
    lines = [ax.plot([], [], "-", color="k", lw=1.5)[0] for _ in range(n_clusters)]
    markers = ax.scatter(
        trail_x[0], trail_y[0], marker="X", s=300, c="m", edgecolors="k", linewidths=1.5, zorder=4
    )

    def draw(frame):
        points.set_color(colours[np.asarray(index_history[frame])])
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
