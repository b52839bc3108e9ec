"""The lesson's plot_clusters: one colour per generated blob, each centroid a black X under a
magenta X."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from functions import plot_clusters  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_lesson_call_colours_each_generated_blob():
    samples = np.array([[0, 0], [1, 1], [10, 10], [11, 11], [20, 0], [21, 1]], dtype=float)
    centroids = np.array([[0.5, 0.5], [10.5, 10.5], [20.5, 0.5]])
    figure = plot_clusters(samples, centroids, 2)
    ax = figure.axes[0]
    groups = [collection.get_offsets().tolist() for collection in ax.collections]
    assert groups == [samples[0:2].tolist(), samples[2:4].tolist(), samples[4:6].tolist()]
    colours = [tuple(collection.get_facecolor()[0]) for collection in ax.collections]
    assert colours == [tuple(c) for c in plt.cm.rainbow(np.linspace(0, 1, 3))]
    # Each centroid: a black X (markersize 35, mew 10) under a magenta X (markersize 30, mew 5).
    crosses = [
        (line.get_xydata().tolist(), line.get_color(), line.get_markersize(), line.get_mew()) for line in ax.lines
    ]
    expected = []
    for centroid in centroids.tolist():
        expected += [([centroid], "k", 35, 10), ([centroid], "m", 30, 5)]
    assert crosses == expected


def test_more_than_two_features_plots_the_first_two():
    samples = np.arange(12, dtype=float).reshape(4, 3)
    ax = plot_clusters(samples, samples[:2], 2).axes[0]
    assert np.array_equal(np.concatenate([c.get_offsets() for c in ax.collections]), samples[:, :2])


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(n_samples_per_cluster=3), ValueError, "does not match the 4 samples"),
        (dict(n_samples_per_cluster=None), TypeError, "n_samples_per_cluster"),
        (dict(all_samples=np.zeros((4, 1)), centroids=np.zeros((2, 1))), ValueError, "at least 2 features"),
        (dict(centroids=np.zeros((2, 3))), ValueError, "centroids has 3 features"),
        (dict(all_samples=[[0.0, np.nan]] * 4), ValueError, "all_samples contains NaN"),
    ],
)
def test_bad_input(kwargs, error, words):
    arguments = dict(all_samples=np.zeros((4, 2)), centroids=np.zeros((2, 2)), n_samples_per_cluster=2)
    arguments.update(kwargs)
    with pytest.raises(error) as caught:
        plot_clusters(**arguments)
    assert words in str(caught.value)
