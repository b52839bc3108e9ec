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
