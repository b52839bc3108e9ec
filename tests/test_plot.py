"""plot_clusters: the lesson's picture, and the options the later steps use."""

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


def scattered_points(ax):
    """The sample points drawn on ``ax``, one array per scatter call."""
    return [collection.get_offsets() for collection in ax.collections]


def test_lesson_call_colours_each_generated_blob():
    samples = np.array([[0, 0], [1, 1], [10, 10], [11, 11], [20, 0], [21, 1]], dtype=float)
    centroids = np.array([[0.5, 0.5], [10.5, 10.5], [20.5, 0.5]])
    figure = plot_clusters(samples, centroids, 2)
    ax = figure.axes[0]
    groups = scattered_points(ax)
    assert [group.tolist() for group in groups] == [
        samples[0:2].tolist(),
        samples[2:4].tolist(),
        samples[4:6].tolist(),
    ]
    colours = {tuple(collection.get_facecolor()[0]) for collection in ax.collections}
    assert len(colours) == 3
    # Each centroid: a black X under a magenta X.
    crosses = [line for line in ax.lines if line.get_marker() == "x"]
    assert len(crosses) == 6
    assert {line.get_color() for line in crosses} == {"k", "m"}
    assert ax.get_xlabel() == "feature 0" and ax.get_ylabel() == "feature 1"


def test_colour_by_assigned_cluster_title_and_axes():
    samples = np.array([[0, 0], [1, 1], [10, 10], [11, 11]], dtype=float)
    figure, ax = plt.subplots()
    returned = plot_clusters(
        samples, [[0, 0], [10, 10]], None, nearest_indices=[1, 0, 1, 0], ax=ax, title="t"
    )
    assert returned is figure and ax.get_title() == "t"
    assert [group.tolist() for group in scattered_points(ax)] == [[[1, 1], [11, 11]], [[0, 0], [10, 10]]]


def test_more_than_two_features_plots_the_first_two_and_says_so():
    samples = np.arange(12, dtype=float).reshape(4, 3)
    ax = plot_clusters(samples, samples[:2], 2).axes[0]
    assert np.array_equal(np.concatenate(scattered_points(ax)), samples[:, :2])
    assert "first 2 of 3 features" in ax.get_xlabel() and "first 2 of 3 features" in ax.get_ylabel()


def test_one_feature_is_plotted_against_zero():
    samples = np.array([[1.0], [2.0], [5.0], [6.0]])
    ax = plot_clusters(samples, [[1.5], [5.5]], 2).axes[0]
    points = np.concatenate(scattered_points(ax))
    assert points[:, 0].tolist() == [1.0, 2.0, 5.0, 6.0] and np.all(points[:, 1] == 0)
    assert "only one" in ax.get_xlabel()


def test_save_path_writes_the_file(tmp_path):
    plot_clusters([[0.0, 0.0], [1.0, 1.0]], [[0.5, 0.5]], 2, save_path=tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(n_samples_per_cluster=3), ValueError, "does not match the 4 samples"),
        (dict(n_samples_per_cluster=None), TypeError, "n_samples_per_cluster"),
        (dict(nearest_indices=[0, 1, 2, 0]), ValueError, "nearest_indices must lie in [0, 2)"),
        (dict(save_path="figure.xyz"), ValueError, "unsupported figure format 'xyz'"),
    ],
)
def test_bad_input(tmp_path, kwargs, error, words):
    arguments = dict(all_samples=np.zeros((4, 2)), centroids=np.zeros((2, 2)), n_samples_per_cluster=2)
    arguments.update(kwargs)
    if "save_path" in kwargs:
        arguments["save_path"] = tmp_path / kwargs["save_path"]
    with pytest.raises(error) as caught:
        plot_clusters(**arguments)
    assert words in str(caught.value)
    assert list(tmp_path.iterdir()) == []
