"""TensorFlow, imported without its start-up log lines.

TensorFlow's C++ libraries print a dozen "I0000 ..." and "W0000 ..." lines to stderr, some
while they load (before any setting can reach them) and some during computations (float64
ones among them). Unless ``TF_CPP_MIN_LOG_LEVEL`` is already set, this sets it to 3 (fatal
errors only: TensorFlow raises the others as Python exceptions), and it loads TensorFlow with
stderr pointed at /dev/null; a Python exception while loading still shows. Set
``TF_CPP_MIN_LOG_LEVEL=0`` to see everything.
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


if "tensorflow" not in sys.modules and os.environ.get("TF_CPP_MIN_LOG_LEVEL") != "0":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _stderr_silenced():
        import tensorflow  # noqa: F401

import tensorflow as tf  # noqa: E402

__all__ = ["tf"]
