"""Where XLA's compiled programs are kept across processes, set up before TensorFlow loads.

XLA keeps its compiled programs on disk (``TF_XLA_FLAGS=--tf_xla_persistent_cache_directory``),
so that a new process pays no compilation for a shape compiled before: in
``$TFKMEANS_COMPILE_CACHE``, or by default in the user's cache directory, one folder for each
TensorFlow version (``$XDG_CACHE_HOME/tfkmeans/xla/tensorflow-<version>``, usually under
``~/.cache``; a few kilobytes to a megabyte per compiled shape). ``TFKMEANS_COMPILE_CACHE=off``
turns it off; a ``--tf_xla_persistent_cache_directory`` of your own in ``TF_XLA_FLAGS`` is left
as it is. The setting reaches XLA as long as nothing was compiled with XLA before tfkmeans is
imported.

The default is on from TensorFlow 2.21. Before it, TensorFlow first tries every entry it reads
as text, and protobuf prints an error line to stderr for each (it then reads the entry as it
should): there the cache is on only when ``TFKMEANS_COMPILE_CACHE`` names a directory.

Nothing here imports TensorFlow: the tests set their own cache with it first.
"""

import os

COMPILE_CACHE = "TFKMEANS_COMPILE_CACHE"
# The first TensorFlow version known to read its cache without printing anything.
QUIET_FROM = (2, 21)


def tensorflow_version():
    """The installed TensorFlow's version string, read without importing it, or "unknown"."""
    from importlib import metadata

    for distribution in ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos", "tf-nightly"):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def quiet(version=None):
    """Whether this TensorFlow's XLA prints nothing unasked (2.21 or later): then the cache is
    on by default."""
    parts = (version or tensorflow_version()).split(".")[:2]
    try:
        return tuple(int(part) for part in parts) >= QUIET_FROM
    except ValueError:  # "unknown", or a version we cannot read: the quiet choice
        return False


def compile_cache_directory():
    """Where compiled XLA programs are kept across processes, or None when that is turned off."""
    setting = os.environ.get(COMPILE_CACHE, "")
    if setting.lower() in ("0", "off", "false", "no", "none"):
        return None
    if setting:
        return setting
    version = tensorflow_version()
    if not quiet(version):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tfkmeans", "xla", f"tensorflow-{version}")


def use_compile_cache():
    """Point XLA at ``compile_cache_directory()`` (made if need be), unless it is off, or the
    user's ``TF_XLA_FLAGS`` names a directory already, or it cannot be written."""
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
