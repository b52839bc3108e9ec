"""Writing results: every file is written whole or not at all (JSON, NumPy, figures,
animations, SavedModels).

A file is first written to a hidden temporary file beside its destination, named after this
process (``.tfkmeans-<pid>-<random>.tmp<ext>``), and then renamed into place. A run killed
outright (SIGKILL) cannot remove its temporary files; the next run that writes into the same
directory removes those whose process is gone.
"""

import contextlib
import json
import math
import os
import re
import tempfile

TEMPORARY_PREFIX = ".tfkmeans-"
_TEMPORARY = re.compile(r"\.tfkmeans-(\d+)-[^/]*\.tmp")


def _temporary_prefix():
    return f"{TEMPORARY_PREFIX}{os.getpid()}-"


def remove_stale_temporaries(directory):
    """Remove the temporary files that runs killed outright left in ``directory``: those named
    by ``atomic_write`` whose process no longer exists. Returns how many were removed."""
    removed = 0
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    for name in names:
        match = _TEMPORARY.match(name)
        if not match or _process_exists(int(match.group(1))):
            continue
        try:
            path = os.path.join(directory, name)
            if os.path.isdir(path) and not os.path.islink(path):
                import shutil

                shutil.rmtree(path)
            else:
                os.remove(path)
            removed += 1
        except OSError:
            pass
    return removed


def _process_exists(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process, or not a pid at all: leave the file alone
    return True


def can_create_in(directory):
    """None if a file can be created in ``directory`` (one is, and removed at once), else why
    not: what the operating system said (a read-only or pseudo file system such as /proc, no
    permission, no space)."""
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=_temporary_prefix(), suffix=".tmp")
        os.close(handle)
        os.remove(temporary)
    except OSError as error:
        return error.strerror or type(error).__name__
    return None


def _new_temporary(path):
    """A new empty temporary file beside ``path``, with the permissions a new file gets."""
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(
        dir=directory, prefix=_temporary_prefix(), suffix=".tmp" + os.path.splitext(path)[1]
    )
    os.close(handle)
    # mkstemp makes the file private (0600); give it the permissions a new file would get.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    return temporary


@contextlib.contextmanager
def atomic_write(path, replace=True):
    """Yield a temporary path beside ``path``; on success it takes ``path``'s place.

    On an error the temporary file is removed and ``path`` is left as it was, so an interrupted
    run never leaves half a file, nor destroys the file it was about to replace. With
    ``replace=False`` an existing ``path`` is never replaced: ``FileExistsError`` is raised
    instead (a hard link, which the file system makes atomically or not at all).
    """
    path = os.fspath(path)
    temporary = _new_temporary(path)
    try:
        yield temporary
        _commit(temporary, path, replace)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _commit(temporary, path, replace):
    if replace:
        os.replace(temporary, path)
    else:
        os.link(temporary, path)  # FileExistsError if path exists, never a replacement
        os.remove(temporary)


class Outputs:
    """Several output files of one run, written to temporary files as the run goes and put in
    place together at its end (``commit``), so that a run that fails or is interrupted leaves
    every file as it was. A ``with`` block removes what was not committed."""

    def __init__(self):
        self._staged = []  # (temporary, path, replace)

    def stage(self, path, replace=True):
        """A temporary path to write ``path``'s content to; it takes ``path``'s place at
        ``commit``."""
        path = os.fspath(path)
        remove_stale_temporaries(os.path.dirname(os.path.abspath(path)))
        temporary = _new_temporary(path)
        self._staged.append((temporary, path, replace))
        return temporary

    def commit(self):
        """Rename every staged file into place, in the order staged."""
        while self._staged:
            temporary, path, replace = self._staged[0]
            _commit(temporary, path, replace)
            self._staged.pop(0)

    def discard(self):
        for temporary, _, _ in self._staged:
            if os.path.exists(temporary):
                os.remove(temporary)
        self._staged = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.discard()


def json_text(result):
    """``result`` (a dict) as strict JSON text: one key per line, each value on one line.

    NaN and infinity are not JSON; a value holding one raises ``ValueError`` naming its key
    rather than writing a file that strict parsers reject.
    """
    lines = []
    for key, value in result.items():
        try:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, allow_nan=False)}")
        except ValueError:
            raise ValueError(f"the result's {key!r} holds NaN or infinity, which JSON cannot hold") from None
    return "{\n" + ",\n".join(lines) + "\n}\n"


def finite_or_none(value):
    """A float, or None for NaN and infinity (JSON's null)."""
    value = float(value)
    return value if math.isfinite(value) else None


def write_text(temporary, text):
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_json(path, result):
    """Write ``result`` (a dict) as strict JSON to ``path``, whole or not at all."""
    text = json_text(result)
    with atomic_write(path) as temporary:
        write_text(temporary, text)


def write_npy(path, array):
    """Write a NumPy array to ``path`` (.npy), whole or not at all."""
    import numpy as np

    with atomic_write(path) as temporary:
        with open(temporary, "wb") as handle:
            np.save(handle, array)


def check_figure_format(figure, path):
    """The format ``path``'s extension names, if matplotlib can write it, else ValueError."""
    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lstrip(".").lower()
    supported = figure.canvas.get_supported_filetypes()
    if extension not in supported:
        raise ValueError(
            f"save_path {path!r}: unsupported figure format {extension!r}; use one of {', '.join(sorted(supported))}"
        )
    return extension


def draw_figure(figure, temporary, extension):
    figure.savefig(temporary, format=extension, dpi=100, bbox_inches="tight")


def save_figure(figure, path):
    """Write a matplotlib figure to ``path`` (format from the extension), whole or not at all."""
    extension = check_figure_format(figure, path)
    with atomic_write(path) as temporary:
        draw_figure(figure, temporary, extension)


def save_figure_new(figure, stem, extension=".png", directory="."):
    """Write a figure to ``stem.png`` in ``directory``, or ``stem-2.png``, ... : the first name
    no file has, taken atomically (two runs at once never take the same name, and no existing
    file is ever replaced). Returns the path written."""
    number = 1
    while True:
        candidate = os.path.join(directory, f"{stem}{extension}" if number == 1 else f"{stem}-{number}{extension}")
        if not os.path.lexists(candidate):
            try:
                with atomic_write(candidate, replace=False) as temporary:
                    draw_figure(figure, temporary, extension.lstrip("."))
                return candidate
            except FileExistsError:
                pass  # taken since we looked: the next number
        number += 1


def export_saved_model(centres, path):
    """Write a SavedModel whose ``serving_default`` maps float32 samples (None, n_features) to
    ``cluster_index`` (int64, as ``predict``), ``squared_distance`` and ``distance`` (float32,
    to that centre; ``distance`` as ``transform`` gives it), through a temporary directory
    beside ``path`` renamed into place: ``path`` appears whole or not at all. A sample with a
    NaN or infinite value gets cluster -1 and NaN distances."""
    import shutil

    import numpy as np

    from ._lloyd import nearest_centroids
    from ._tensorflow import tf

    path = os.fspath(path)
    if not path:
        raise ValueError("export path is empty; give the name of a new directory")
    if os.path.lexists(path):
        raise ValueError(f"export path {path!r} already exists; give a new directory (nothing was overwritten)")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ValueError(f"export path {path!r}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"export path {path!r}: cannot write to the directory {parent}")
    centres = np.asarray(centres, np.float32)
    n_features = centres.shape[1]
    mean = centres.mean(axis=0)
    # Relative to the centres' mean, as predict measures them; in float64 where float32 squares
    # could overflow (predict's rule, ``squares_could_overflow``), else float32, as predict.
    dtypes = (np.float32, np.float64)
    wide = {dtype: tf.constant(centres.astype(dtype) - mean.astype(dtype)) for dtype in dtypes}
    offsets = {dtype: tf.constant(mean.astype(dtype)) for dtype in dtypes}
    limit = float(np.sqrt(np.finfo(np.float32).max / (64.0 * n_features)))

    def nearest_in(samples, dtype):
        relative = tf.cast(samples, dtype) - offsets[dtype]
        relative_centres = wide[dtype]
        nearest, _ = nearest_centroids(relative, relative_centres)  # the kernel predict uses
        squared = tf.reduce_sum(tf.square(relative - tf.gather(relative_centres, nearest)), axis=1)
        return nearest, tf.cast(squared, tf.float32), tf.cast(tf.sqrt(squared), tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([None, n_features], tf.float32, name="samples")])
    def serve(samples):
        finite = tf.reduce_all(tf.math.is_finite(samples), axis=1)
        clean = tf.where(finite[:, tf.newaxis], samples, tf.zeros_like(samples))
        largest = tf.reduce_max(tf.abs(clean - offsets[np.float32]))  # -inf for no samples
        nearest, squared, distance = tf.cond(
            largest < limit, lambda: nearest_in(clean, np.float32), lambda: nearest_in(clean, np.float64)
        )
        # A sample with a NaN or infinite value has no nearest centre: -1, and NaN distances.
        nan = tf.constant(float("nan"), tf.float32)
        return {
            "cluster_index": tf.where(finite, tf.cast(nearest, tf.int64), tf.constant(-1, tf.int64)),
            "squared_distance": tf.where(finite, squared, nan),
            "distance": tf.where(finite, distance, nan),
        }

    module = tf.Module()
    module.serve = serve
    remove_stale_temporaries(parent)
    temporary = tempfile.mkdtemp(dir=parent, prefix=_temporary_prefix(), suffix=".tmp")
    try:
        tf.saved_model.save(module, temporary, signatures={"serving_default": serve})
        os.rename(temporary, path)
    finally:
        if os.path.exists(temporary):
            shutil.rmtree(temporary)
