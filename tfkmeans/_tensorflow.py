"""TensorFlow, imported without its start-up log lines, and with a compile cache on disk.

TensorFlow's C++ libraries print a dozen "I0000 ..." and "W0000 ..." lines to stderr, some
while they load (before any setting can reach them) and some during computations (float64
ones among them). Unless ``TF_CPP_MIN_LOG_LEVEL`` is already set, this sets it to 3 (fatal
errors only: TensorFlow raises the others as Python exceptions), and it loads TensorFlow with
stderr pointed at /dev/null (and, before TensorFlow 2.21, starts XLA there too, whose lines
ignore the setting); a Python exception while loading still shows. Set
``TF_CPP_MIN_LOG_LEVEL=0`` to see everything.

XLA's compiled programs are kept on disk across processes: see ``_compile_cache``.
"""

import contextlib
import os
import sys

from ._compile_cache import compile_cache_directory, quiet, use_compile_cache  # noqa: F401 - re-exported


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


use_compile_cache()

if "tensorflow" not in sys.modules and os.environ.get("TF_CPP_MIN_LOG_LEVEL") != "0":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _stderr_silenced():
        import tensorflow

        # Before 2.21, XLA's service prints its start-up lines at the first compilation,
        # whatever TF_CPP_MIN_LOG_LEVEL says: start it now, while stderr is silenced.
        if not quiet(tensorflow.__version__):
            try:
                tensorflow.function(lambda x: x + 1, jit_compile=True)(tensorflow.constant(0.0))
            except Exception:  # noqa: BLE001 - no XLA in this build: nothing to start
                pass

import tensorflow as tf  # noqa: E402

__all__ = ["tf"]
