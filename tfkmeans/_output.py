"""Writing results: every file is written whole or not at all (JSON, figures, animations)."""

import contextlib
import json
import os
import tempfile


@contextlib.contextmanager
def atomic_write(path):
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    On an error the temporary file is removed and ``path`` is left as it was, so an interrupted
    run never leaves half a file, nor destroys the file it was about to replace.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.splitext(path)[1])
    os.close(handle)
    # mkstemp makes the file private (0600); give it the permissions a new file would get.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_json(path, result):
    """Write ``result`` (a dict) as JSON to ``path``, whole or not at all.

    One key per line, each value on one line: readable, and still small for many samples.
    """
    text = "{\n" + ",\n".join(f" {json.dumps(key)}: {json.dumps(value)}" for key, value in result.items()) + "\n}\n"
    with atomic_write(path) as temporary:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)


def write_npy(path, array):
    """Write a NumPy array to ``path`` (.npy), whole or not at all."""
    import numpy as np

    with atomic_write(path) as temporary:
        with open(temporary, "wb") as handle:
            np.save(handle, array)


def save_figure(figure, path):
    """Write a matplotlib figure to ``path`` (format from the extension), whole or not at all."""
    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lstrip(".").lower()
    supported = figure.canvas.get_supported_filetypes()
    if extension not in supported:
        raise ValueError(
            f"save_path {path!r}: unsupported figure format {extension!r}; use one of {', '.join(sorted(supported))}"
        )
    with atomic_write(path) as temporary:
        figure.savefig(temporary, format=extension, dpi=100, bbox_inches="tight")


def export_saved_model(centres, path):
    """Write a SavedModel whose ``serving_default`` maps float32 samples (None, n_features) to
    ``cluster_index`` (int64) and ``squared_distance`` (float32), through a temporary directory
    beside ``path`` renamed into place: ``path`` appears whole or not at all."""
    import shutil

    import numpy as np
    import tensorflow as tf

    from ._lloyd import nearest_centroids

    path = os.fspath(path)
    if os.path.exists(path):
        raise ValueError(f"export path {path!r} already exists; give a new directory (nothing was overwritten)")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ValueError(f"export path {path!r}: the directory {parent} does not exist")
    centres = np.asarray(centres, np.float32)
    offset = tf.constant(centres.mean(axis=0))
    relative_centres = tf.constant(centres - centres.mean(axis=0))

    @tf.function(input_signature=[tf.TensorSpec([None, centres.shape[1]], tf.float32, name="samples")])
    def serve(samples):
        relative = samples - offset
        nearest, _ = nearest_centroids(relative, relative_centres)  # the kernel predict uses
        squared = tf.reduce_sum(tf.square(relative - tf.gather(relative_centres, nearest)), axis=1)
        return {"cluster_index": tf.cast(nearest, tf.int64), "squared_distance": squared}

    module = tf.Module()
    module.serve = serve
    temporary = tempfile.mkdtemp(dir=parent, prefix=".tmp-savedmodel-")
    try:
        tf.saved_model.save(module, temporary, signatures={"serving_default": serve})
        os.rename(temporary, path)
    finally:
        if os.path.exists(temporary):
            shutil.rmtree(temporary)
