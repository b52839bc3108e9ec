"""The dispatcher: how a kernel runs. It owns XLA (when a function is compiled by it), the
padding of row counts into buckets that share a compilation, the size thresholds behind both,
the functions traced so far, and where the samples are placed.

A kernel function is written against ``_adapter.Adapter`` as ``function(data, weights,
*arguments, **static)``; ``run_dense`` and ``run_sparse`` trace it with the adapter built from
the tensors inside the trace (``_dense.DenseSamples``, ``_sparse.SparseSamples``), in the
geometry given. A new device path (another compiler, a GPU-only kernel) is a decision here
and an adapter or kernel below; nothing above this module chooses how to compile.
"""

import collections
import itertools
import types

from ._dense import CHAIN_CLUSTERS, DenseSamples
from ._geometry import SQUARED_EUCLIDEAN
from ._sparse import SparseSamples
from ._tensorflow import tf, xla_available

# Up to this many samples x clusters x features, and this many samples, a kernel runs as a plain
# tf.function traced once for every shape of its dtype: a fit at a new shape traces and compiles
# nothing. Beyond either, it is traced for its shape, and XLA compiles it (or its sums): a pass
# compiled for its shape is several times faster on many rows (benchmarks/README.md).
GENERIC_MAX_WORK = 2**24
GENERIC_MAX_ROWS = 2**14
# Beyond CHAIN_CLUSTERS[1] centroids and from this many centroids x features, the matrix product
# dominates a pass, and a plain tf.function (``_dense.chunked_pass``, oneDNN's product on
# cache-sized chunks) runs it faster than XLA (benchmarks/README.md).
CHUNKED_MIN_PRODUCT = 2048
# The smallest step between buckets of padded row counts (``padded_rows``), and the padding
# that is always allowed, in bytes (beyond it, at most 1/16 of the data).
MIN_BUCKET_STEP = 1024
PAD_FREE_BYTES = 2**20
# The most functions traced for distinct shapes kept at once by ``traced``: each holds its graph
# (and, through XLA, its compiled programs), so a process fitting many shapes must not keep
# them all.
MAX_TRACED_SHAPES = 8


def padded_rows(n_samples, row_bytes=0):
    """The bucket of ``n_samples`` rows of ``row_bytes`` each: rounded up to a multiple of 2**e
    with 16 to 32 multiples (at most 1/16 more rows), and of 1,024 at least. Every sample count
    in a bucket shares one XLA compilation: a few buckets an octave, and at most four below
    4,096 samples.

    The padding costs at most ``PAD_FREE_BYTES`` or 1/16 of the data, whichever is more: for
    wide rows the step shrinks (to a power of two) until it does, down to no padding at all
    (10 rows of a million float32 features were once padded to 1,024 rows, 4 GB for 40 MB)."""
    step = max(MIN_BUCKET_STEP, 1 << max(0, (n_samples - 1).bit_length() - 5))
    if row_bytes:
        allowed = max(PAD_FREE_BYTES, n_samples * row_bytes // 16) // row_bytes
        while step > 1 and step - 1 > allowed:
            step //= 2
    return -(-n_samples // step) * step


def pads(n_samples, n_features, n_clusters):
    """Whether samples for a problem of this size are padded to a bucketed count: under XLA, and
    in ``_dense.chunked_pass``, whose per-cluster sums XLA compiles."""
    big = n_samples > GENERIC_MAX_ROWS or n_samples * n_features * n_clusters > GENERIC_MAX_WORK
    return big and xla_available()


def per_shape(n_samples, n_features, n_clusters, allow_xla=True):
    """Whether ``run_dense`` traces a problem of this size for its shape (and XLA compiles it, or
    its per-cluster sums): enough work to pay for a compilation. Else one trace serves every
    shape of its dtype."""
    return allow_xla and pads(n_samples, n_features, n_clusters)


def uses_xla(n_samples, n_features, n_clusters, allow_xla=True):
    """Whether ``run_dense`` runs a problem of this size under XLA: enough work to pay for a
    compilation, and not so many centroids x features that the matrix product dominates (there
    ``_dense.chunked_pass`` outside XLA is faster)."""
    product_bound = n_clusters > CHAIN_CLUSTERS[1] and n_clusters * n_features >= CHUNKED_MIN_PRODUCT
    return allow_xla and pads(n_samples, n_features, n_clusters) and not product_bound


class Size(int):
    """A static keyword argument of a kernel that sizes its work (a batch's rows): a Python int
    in a trace for one shape, an int32 tensor in a trace for every shape (so that a new size
    does not trace again)."""


def _split_sizes(static, per_shape_trace):
    """``static`` without its ``Size`` values, and those values: as Python ints kept in
    ``static`` (a trace for one shape), or apart, by name (a trace for every shape)."""
    sizes = {name: int(value) for name, value in static.items() if isinstance(value, Size)}
    rest = {name: value for name, value in static.items() if not isinstance(value, Size)}
    if per_shape_trace:
        return {**rest, **sizes}, {}
    return rest, dict(sorted(sizes.items()))


def on_device(tensor):
    """``tensor`` where a kernel will use it: on the first GPU, copied there once, where there is
    one (where ``tf.constant`` would have put it); else as it is."""
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        with tf.device(gpus[0].name):
            return tf.identity(tensor)
    return tensor


_compiled = {}
_made = itertools.count()


def _own_code(call):
    """``call`` with a code object of its own, so that TensorFlow's warning about frequent
    retracing counts each compiled function's traces apart (each traces once). Code objects
    compare by content: a new name makes a new one."""
    name = f"{call.__name__}_{next(_made)}"
    return types.FunctionType(
        call.__code__.replace(co_name=name), call.__globals__, name, call.__defaults__, call.__closure__
    )


def run_dense(
    function,
    samples,
    weights,
    *arguments,
    n_clusters,
    allow_xla=True,
    valid=None,
    geometry=SQUARED_EUCLIDEAN,
    **static,
):
    """Call ``function(DenseSamples(samples, ...), weights, *arguments, **static)`` as a
    compiled ``tf.function``.

    Large problems (beyond ``GENERIC_MAX_ROWS`` samples or ``GENERIC_MAX_WORK``) are traced
    for their shape: under XLA, compiled once per shape, or (``uses_xla`` false) as a plain
    ``tf.function`` for any number of samples whose per-cluster sums XLA compiles. The rest,
    and every call with ``allow_xla`` False, run as a plain ``tf.function`` traced once for
    every shape (each dimension of ``samples``, ``weights`` and ``arguments`` ``None``), so
    that fits at new sizes, as in a cross-validation over ``n_clusters``, cost no trace and no
    compilation. ``static`` values (Python ints and bools) and ``geometry`` are part of the
    trace. Falls back on plain ``tf.function`` where this TensorFlow build cannot use XLA.
    ``valid`` (a scalar int32 tensor): ``samples`` has padded rows past this many
    (``padded_rows``); as a tensor, it does not change the compiled shape.
    """
    n_samples, n_features = samples.shape
    traced_for_shape = per_shape(n_samples, n_features, n_clusters, allow_xla)
    xla = traced_for_shape and uses_xla(n_samples, n_features, n_clusters, allow_xla)
    weighted, padded = weights is not None, valid is not None
    static, sizes = _split_sizes(static, traced_for_shape)
    key = ("dense", function, xla, weighted and weights.dtype, padded, geometry, tuple(sorted(static.items())))
    key += (tuple(sizes),)
    key += (samples.dtype, tuple(a.dtype for a in arguments))
    if traced_for_shape:
        key += (n_features, tuple(tuple(a.shape) for a in arguments))
    else:
        key += (tuple(a.shape.rank for a in arguments),)
    if xla:  # compiled for this one shape: a tf.function of its own, never retraced
        key += (n_samples,)
    if key not in _compiled:
        names = tuple(sizes)

        def call(samples, weights, valid, *arguments):
            data = DenseSamples(samples, valid if padded else None, geometry, xla=xla)
            arguments, given = arguments[: len(arguments) - len(names)], arguments[len(arguments) - len(names) :]
            return function(data, weights if weighted else None, *arguments, **static, **dict(zip(names, given)))

        call = _own_code(call)
        if xla:
            _compiled[key] = tf.function(call, jit_compile=True, autograph=False)
        else:
            rows = tf.TensorSpec((None, n_features if traced_for_shape else None), samples.dtype)
            row_weights = tf.TensorSpec((None,), weights.dtype) if weighted else tf.TensorSpec((), samples.dtype)
            rest = [
                tf.TensorSpec(argument.shape if traced_for_shape else [None] * argument.shape.rank, argument.dtype)
                for argument in arguments
            ]
            signature = [rows, row_weights, tf.TensorSpec((), tf.int32), *rest]
            signature += [tf.TensorSpec((), tf.int32)] * len(names)
            _compiled[key] = tf.function(call, input_signature=signature, autograph=False)
    if not weighted:
        weights = tf.zeros((), samples.dtype)  # a placeholder the function ignores
    given = [tf.constant(value, tf.int32) for value in sizes.values()]
    return _compiled[key](samples, weights, valid if padded else tf.constant(0), *arguments, *given)


def run_sparse(function, parts, weights, *arguments, geometry=SQUARED_EUCLIDEAN, **static):
    """Call ``function(SparseSamples(*parts), weights, *arguments, **static)`` as a
    ``tf.function`` traced once for every shape of its dtype (XLA does not compile sparse
    products; on many nonzeros the sums are compiled on their own, ``_sparse.by_nonzeros``):
    any number of samples, nonzeros, features and centroids. ``parts`` come from
    ``_samples.sparse_parts``; ``static`` values and ``geometry`` are part of the trace."""
    weighted = weights is not None
    dtype = parts[2].dtype
    static, sizes = _split_sizes(static, False)
    key = ("sparse", function, weighted and weights.dtype, dtype, geometry, tuple(sorted(static.items())))
    key += tuple((argument.shape.rank, argument.dtype) for argument in arguments) + (tuple(sizes),)
    if key not in _compiled:
        names = tuple(sizes)

        def call(rows, columns, values, shape, squared_norms, row_splits, weights, *arguments):
            data = SparseSamples(rows, columns, values, shape, squared_norms, row_splits, None, geometry)
            arguments, given = arguments[: len(arguments) - len(names)], arguments[len(arguments) - len(names) :]
            return function(data, weights if weighted else None, *arguments, **static, **dict(zip(names, given)))

        vector = tf.TensorSpec((None,), tf.int64)
        signature = [vector, vector, tf.TensorSpec((None,), dtype), tf.TensorSpec((2,), tf.int64)]
        signature += [tf.TensorSpec((None,), dtype), vector]
        signature += [tf.TensorSpec((None,), weights.dtype) if weighted else tf.TensorSpec((), dtype)]
        signature += [tf.TensorSpec([None] * argument.shape.rank, argument.dtype) for argument in arguments]
        signature += [tf.TensorSpec((), tf.int32)] * len(names)
        _compiled[key] = tf.function(_own_code(call), input_signature=signature, autograph=False)
    if not weighted:
        weights = tf.zeros((), dtype)
    return _compiled[key](*parts, weights, *arguments, *[tf.constant(value, tf.int32) for value in sizes.values()])


def function(python_function, **options):
    """``tf.function(python_function, **options)``, with a code object of its own: a pass traced
    for several shapes is several functions, and TensorFlow's warning about frequent retracing
    counts each one's traces apart."""
    return tf.function(_own_code(python_function), **options)


_traced = collections.defaultdict(collections.OrderedDict)


def traced(name, make, *key):
    """``make()``, a new ``tf.function`` for the pass ``name``, kept for ``key`` (what its trace
    depends on) among the ``MAX_TRACED_SHAPES`` of that pass used last. One function object per
    shape keeps TensorFlow from adding trace after trace to one object for good, and a process
    that fits many shapes holds only the latest few."""
    functions = _traced[name]
    if key in functions:
        functions.move_to_end(key)
    else:
        functions[key] = make()
        while len(functions) > MAX_TRACED_SHAPES:
            functions.popitem(last=False)
    return functions[key]
