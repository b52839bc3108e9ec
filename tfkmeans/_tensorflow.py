"""TensorFlow, imported without its start-up log lines, and with a compile cache on disk.

TensorFlow's C++ libraries print a dozen "I0000 ..." and "W0000 ..." lines to stderr, some
while they load (before any setting can reach them), some when the first computation sets up
its devices ("failed call to cuInit" on a machine without a GPU driver) or XLA's service, and
some during computations (float64 ones among them). Unless ``TF_CPP_MIN_LOG_LEVEL`` is already
set, this sets it to 3 (fatal errors only: TensorFlow raises the others as Python exceptions),
and it loads TensorFlow with stderr pointed at /dev/null; a Python exception while loading
still shows. Set ``TF_CPP_MIN_LOG_LEVEL=0`` to see everything.

Before TensorFlow 2.21, XLA's start-up lines ignore the level: its service is started here
too, while stderr is silenced. A program that imported TensorFlow first keeps its own level;
XLA's first compilation (``xla_available``) is silenced there instead, but nothing is
computed on import: the program may still set up its devices (``tf.config``) after it.

XLA's compiled programs are kept on disk across processes: see ``_compile_cache``.
"""

import contextlib
import os
import sys

from ._compile_cache import compile_cache_directory, errors_hidden, quiet, use_compile_cache  # noqa: F401 - re-exported


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


# As it is now: a program that imported TensorFlow first has its level set already, or never.
_loaded_before = "tensorflow" in sys.modules
_show_everything = os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0"
if not _loaded_before and not _show_everything:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
use_compile_cache()  # after the level: by default the cache is on only where its lines are hidden

if not _loaded_before and not _show_everything:
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


def xla_start_up_silenced():
    """Silence stderr around XLA's first compilation, where its start-up lines ("XLA service ...
    initialized", "Compiled cluster using XLA!") would show: in a program that imported
    TensorFlow first, with its errors shown (and not TF_CPP_MIN_LOG_LEVEL=0, which asks for
    everything). Where tfkmeans loaded TensorFlow, its level hides them already."""
    if _show_everything or (quiet(tf.__version__) and errors_hidden()):
        return contextlib.nullcontext()
    return _stderr_silenced()


_xla = []


def xla_available():
    """Whether this TensorFlow build compiles with XLA here: tried once, by compiling a small
    function eagerly (even when first asked while a function is traced: ``init_scope``), with
    XLA's start-up lines silenced where they would show."""
    if not _xla:
        try:
            with xla_start_up_silenced(), tf.init_scope():
                tf.function(lambda x: tf.reduce_sum(x), jit_compile=True, autograph=False)(tf.zeros((2,)))
            _xla.append(True)
        except (tf.errors.OpError, NotImplementedError, ValueError):
            _xla.append(False)
    return _xla[0]


def stderr_silenced():
    """Silence stderr around a call whose C++ code logs before absl's logging is set up (its
    "WARNING: All log messages before absl::InitializeLog() ..." line, written past
    TF_CPP_MIN_LOG_LEVEL); a Python exception still shows. Not with TF_CPP_MIN_LOG_LEVEL=0,
    which asks for everything."""
    return contextlib.nullcontext() if _show_everything else _stderr_silenced()


def dim(tensor, axis):
    """``tensor``'s size along ``axis``: a Python int where the trace knows it, else a scalar
    tensor. Kernels size their work with it, so that one trace serves every shape (the
    dispatcher's generic functions) and a trace for one shape keeps its sizes known to XLA."""
    static = tensor.shape[axis]
    return tf.shape(tensor)[axis] if static is None else static


def known(*sizes):
    """Whether all ``sizes`` (from ``dim``) are Python ints, known to the trace."""
    return all(isinstance(size, int) for size in sizes)


__all__ = ["dim", "known", "stderr_silenced", "tf", "xla_available", "xla_start_up_silenced"]
