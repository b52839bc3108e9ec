"""TensorFlow, imported without its start-up log lines, and with a compile cache on disk.

TensorFlow's C++ libraries print a dozen "I0000 ..." and "W0000 ..." lines to stderr, some
while they load (before any setting can reach them) and some during computations (float64
ones among them). Unless ``TF_CPP_MIN_LOG_LEVEL`` is already set, this sets it to 3 (fatal
errors only: TensorFlow raises the others as Python exceptions), and it loads TensorFlow with
stderr pointed at /dev/null (and, before TensorFlow 2.21, starts XLA there too, whose lines
ignore the setting); a Python exception while loading still shows. Set
``TF_CPP_MIN_LOG_LEVEL=0`` to see everything.

XLA's compiled programs are kept on disk (``TF_XLA_FLAGS=--tf_xla_persistent_cache_directory``),
so that a new process pays no compilation for a shape compiled before: in
``$TFKMEANS_COMPILE_CACHE``, or by default in the user's cache directory, one folder for each
TensorFlow version (``$XDG_CACHE_HOME/tfkmeans/xla/tensorflow-<version>``, usually under
``~/.cache``; a few kilobytes to a megabyte per compiled shape). ``TFKMEANS_COMPILE_CACHE=off``
turns it off; a ``--tf_xla_persistent_cache_directory`` of your own in ``TF_XLA_FLAGS`` is left
as it is. The setting reaches XLA as long as nothing was compiled with XLA before tfkmeans is
imported.
"""

import contextlib
import os
import sys


@contextlib.contextmanager
def _stderr_silenced():
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real file descriptor 2 (an embedded interpreter)
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


COMPILE_CACHE = "TFKMEANS_COMPILE_CACHE"


def compile_cache_directory():
    """Where compiled XLA programs are kept across processes, or None when that is turned off."""
    setting = os.environ.get(COMPILE_CACHE, "")
    if setting.lower() in ("0", "off", "false", "no", "none"):
        return None
    if setting:
        return setting
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tfkmeans", "xla", f"tensorflow-{_tensorflow_version()}")


def _tensorflow_version():
    """The installed TensorFlow's version, read without importing it (the cache's setting must
    be in place first). One directory a version: another version's entries are not its format
    (TensorFlow 2.16 reports 2.21's as unreadable, and compiles again)."""
    from importlib import metadata

    for distribution in ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos", "tf-nightly"):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def _use_compile_cache():
    directory = compile_cache_directory()
    flags = os.environ.get("TF_XLA_FLAGS", "")
    if directory is None or "tf_xla_persistent_cache_directory" in flags:
        return
    try:
        os.makedirs(directory, exist_ok=True)
        if not os.access(directory, os.W_OK):
            return
    except OSError:  # a read-only home, say: no cache rather than an error
        return
    os.environ["TF_XLA_FLAGS"] = f"{flags} --tf_xla_persistent_cache_directory={directory}".strip()


_use_compile_cache()

if "tensorflow" not in sys.modules and os.environ.get("TF_CPP_MIN_LOG_LEVEL") != "0":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _stderr_silenced():
        import tensorflow

        # Before 2.21, XLA's service prints its start-up lines at the first compilation,
        # whatever TF_CPP_MIN_LOG_LEVEL says: start it now, while stderr is silenced.
        if tuple(int(part) for part in tensorflow.__version__.split(".")[:2] if part.isdigit()) < (2, 21):
            try:
                tensorflow.function(lambda x: x + 1, jit_compile=True)(tensorflow.constant(0.0))
            except Exception:  # noqa: BLE001 - no XLA in this build: nothing to start
                pass

import tensorflow as tf  # noqa: E402

__all__ = ["tf"]
