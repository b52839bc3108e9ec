"""tfkmeans.plotting: samples coloured by their cluster, the result figure, and the animation."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

from tfkmeans.plotting import animate, plot_clusters, plot_result  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def scattered_points(ax):
    """The sample points drawn on ``ax``, one array per scatter call."""
    return [collection.get_offsets() for collection in ax.collections]


def test_colour_by_assigned_cluster_title_and_axes():
    samples = np.array([[0, 0], [1, 1], [10, 10], [11, 11]], dtype=float)
    figure, ax = plt.subplots()
    returned = plot_clusters(samples, [[0, 0], [10, 10]], [1, 0, 1, 0], ax=ax, title="t")
    assert returned is figure and ax.get_title() == "t"
    assert [group.tolist() for group in scattered_points(ax)] == [[[1, 1], [11, 11]], [[0, 0], [10, 10]]]
    assert ax.get_xlabel() == "feature 0" and ax.get_ylabel() == "feature 1"
    crosses = [line for line in ax.lines if line.get_marker() == "x"]
    assert len(crosses) == 4 and {line.get_color() for line in crosses} == {"k", "m"}


def test_feature_names_label_the_axes():
    ax = plot_clusters(np.zeros((2, 2)), np.zeros((1, 2)), [0, 0], feature_names=["petal length", "petal width"]).axes[
        0
    ]
    assert ax.get_xlabel() == "petal length" and ax.get_ylabel() == "petal width"


def test_more_than_two_features_plots_the_first_two_and_says_so():
    samples = np.arange(12, dtype=float).reshape(4, 3)
    ax = plot_clusters(samples, samples[:2], [0, 0, 1, 1]).axes[0]
    assert np.array_equal(np.concatenate(scattered_points(ax)), samples[:, :2])
    assert "first 2 of 3 features" in ax.get_xlabel() and "first 2 of 3 features" in ax.get_ylabel()


def test_one_feature_is_plotted_against_zero():
    samples = np.array([[1.0], [2.0], [5.0], [6.0]])
    ax = plot_clusters(samples, [[1.5], [5.5]], [0, 0, 1, 1]).axes[0]
    points = np.concatenate(scattered_points(ax))
    assert points[:, 0].tolist() == [1.0, 2.0, 5.0, 6.0] and np.all(points[:, 1] == 0)
    assert "only feature" in ax.get_xlabel()


def test_save_path_writes_the_file(tmp_path):
    plot_clusters([[0.0, 0.0], [1.0, 1.0]], [[0.5, 0.5]], [0, 0], save_path=tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")
    assert [path.name for path in tmp_path.iterdir()] == ["f.png"]


def test_result_figure_has_the_clusters_and_the_inertia():
    figure = plot_result(
        np.zeros((4, 2)), np.zeros((2, 2)), [0, 1, 0, 1], [5.0, 3.0, 2.5], true_centroids=np.ones((2, 2))
    )
    clusters, inertia = figure.axes
    assert inertia.lines[0].get_ydata().tolist() == [5.0, 3.0, 2.5]
    assert clusters.get_legend().get_texts()[0].get_text() == "true centroids"


def test_animation_has_one_frame_per_entry(tmp_path):
    samples = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    history = [np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[0.5, 0.0], [5.0, 5.0]])]
    animate(tmp_path / "a.gif", samples, history, [[0, 1, 1], [0, 0, 1]], [30.0, 0.5])
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.n_frames == 2
    assert [path.name for path in tmp_path.iterdir()] == ["a.gif"]


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(labels=[0, 1, 2, 0]), "labels must lie in [0, 2)"),
        (dict(labels=[0, 1]), "labels must be one integer per sample"),
        (dict(centroids=np.zeros((2, 3))), "must be 2-D with the same number of features"),
        (dict(save_path="figure.xyz"), "unsupported figure format 'xyz'"),
    ],
)
def test_bad_input(tmp_path, kwargs, words):
    arguments = dict(samples=np.zeros((4, 2)), centroids=np.zeros((2, 2)), labels=[0, 1, 0, 1])
    arguments.update(kwargs)
    if "save_path" in kwargs:
        arguments["save_path"] = tmp_path / kwargs["save_path"]
    with pytest.raises(ValueError) as caught:
        plot_clusters(**arguments)
    assert words in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_many_features_are_plotted_on_their_first_two_principal_components():
    """The projection is scikit-learn's PCA's (up to the components' signs), and the axis
    labels give each component's share of the variance."""
    from sklearn.decomposition import PCA

    from tfkmeans.plotting import Projection

    rng = np.random.default_rng(0)
    samples = rng.normal(size=(500, 5)) @ rng.normal(size=(5, 5)) + 3
    projection = Projection.choose(samples, [f"f{j}" for j in range(5)])
    reference = PCA(2).fit(samples)
    x, y = projection(samples)
    expected = reference.transform(samples)
    for ours, theirs in ((x, expected[:, 0]), (y, expected[:, 1])):
        np.testing.assert_allclose(np.abs(ours), np.abs(theirs), rtol=1e-6, atol=1e-8)
    shares = [f"{share:.0%}" for share in reference.explained_variance_ratio_]
    assert projection.labels == (
        f"principal component 1 ({shares[0]} of the variance)",
        f"principal component 2 ({shares[1]} of the variance)",
    )
    chosen = Projection.choose(samples, [f"f{j}" for j in range(5)], columns=[3, 1])
    np.testing.assert_array_equal(chosen(samples)[0], samples[:, 3])
    assert chosen.labels == ("f3", "f1")
