"""KMeans.export: a SavedModel that TensorFlow alone can serve, with predict's labels."""

import numpy as np
import pytest

from conftest import run_python
from tfkmeans import KMeans


def serve_in_a_fresh_process(model_path, samples_path, tmp_path):
    """Load the SavedModel where only TensorFlow is imported, and run its serving signature."""
    code = (
        "import sys\n"
        "import numpy as np\n"
        "import tensorflow as tf\n"
        f"model = tf.saved_model.load({str(model_path)!r})\n"
        "serve = model.signatures['serving_default']\n"
        f"out = serve(samples=tf.constant(np.load({str(samples_path)!r})))\n"
        "np.save('labels.npy', out['cluster_index'].numpy())\n"
        "np.save('distances.npy', out['squared_distance'].numpy())\n"
        "assert not any(name.startswith('tfkmeans') for name in sys.modules), 'tfkmeans was imported'\n"
        "print(out['cluster_index'].dtype.name, out['squared_distance'].dtype.name)\n"
    )
    printed = run_python(code, tmp_path, timeout=180)
    return printed.split(), np.load(tmp_path / "labels.npy"), np.load(tmp_path / "distances.npy")


@pytest.mark.slow  # fresh processes
def test_saved_model_gives_predicts_labels_in_a_process_with_only_tensorflow(tmp_path):
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((4000, 6)) + rng.integers(0, 4, (4000, 1)) * 3 + 100).astype(np.float32)
    model = KMeans(7, random_state=0).fit(X)
    model.export(tmp_path / "model")
    new = (rng.standard_normal((3000, 6)) * 4 + 100).astype(np.float32)
    np.save(tmp_path / "new.npy", new)
    dtypes, labels, distances = serve_in_a_fresh_process(tmp_path / "model", tmp_path / "new.npy", tmp_path)
    assert dtypes == ["int64", "float32"]
    np.testing.assert_array_equal(labels, model.predict(new))
    expected = ((new.astype(np.float64) - model.cluster_centers_[labels]) ** 2).sum(axis=1)
    np.testing.assert_allclose(distances, expected, rtol=1e-4, atol=1e-3)


def test_export_never_overwrites_and_leaves_nothing_half_written(tmp_path):
    model = KMeans(2, random_state=0).fit(np.arange(20.0).reshape(10, 2))
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="already exists"):
        model.export(tmp_path / "taken")
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"
    with pytest.raises(ValueError, match="does not exist"):
        model.export(tmp_path / "no" / "such" / "place")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["taken"]  # no temporary directory left


def test_export_of_an_unfitted_model_is_refused(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        KMeans(2).export(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []
