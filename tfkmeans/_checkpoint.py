"""A long fit's state on disk, so that a fit killed part-way goes on where it stopped.

Written as TensorFlow's guides write checkpoints: a ``tf.train.Checkpoint`` of named variables
(the centres, the iteration, the inertia history, the random state the rest of the fit draws
from, and a fingerprint of the settings and the data), saved after every completed iteration by
a ``tf.train.CheckpointManager`` that keeps the last ``MAX_TO_KEEP``. Each save writes its own
files and then names them in the manager's state file, which is replaced whole, so a save that
is interrupted leaves the previous checkpoint as it was; older checkpoints are pruned.

- **Resume**: ``restore`` gives the latest checkpoint's values, and the fit goes on from them
  exactly (the drivers in ``_loop`` are deterministic from a saved state).
- **Mismatch**: a checkpoint whose fingerprint differs from this fit's is refused with a
  ValueError that says what differs, before anything is written.
- **Corruption**: a checkpoint whose files cannot be read (truncated, overwritten) is passed over
  for the one before it; when none can be read the fit is refused, and the directory left as it
  is.
- **Completion**: the last save of a finished fit says so (``complete``), and rerunning the fit
  returns its result without iterating again.

Under ``MultiWorkerMirroredStrategy`` every worker restores from the same directory and only
the chief writes it: the others hold the same values, and writing one directory from several
processes would mix their files.
"""

import json
import os

import numpy as np

from ._loop import StreamState
from ._tensorflow import stderr_silenced, tf

MAX_TO_KEEP = 3
# A checkpoint of ours holds this variable, which says what wrote it.
FORMAT = "tfkmeans-fit-1"


class FitCheckpoint:
    """The checkpoints of one fit in ``directory``.

    ``fingerprint`` (a dict of JSON values, or given later to ``check``) describes the settings
    and the data; a checkpoint written with another is refused. ``chief``: whether this process
    writes (False for the other workers of a multi-worker fit).
    """

    def __init__(self, directory, fingerprint=None, chief=True, max_to_keep=MAX_TO_KEEP):
        self.directory = os.fspath(directory)
        self.fingerprint = json.loads(json.dumps(fingerprint))  # as it will read back
        self.chief = chief
        self.max_to_keep = max_to_keep
        self._variables = None
        self._manager = None

    # --- reading -------------------------------------------------------------------------------

    def restore(self):
        """The values of the latest checkpoint that can be read (a dict of NumPy arrays and
        Python values, ``fingerprint`` among them, unchecked: see ``check``), or None when the
        directory holds none yet. Raises ValueError when checkpoints exist and none can be
        read."""
        if not os.path.isdir(self.directory):
            if os.path.exists(self.directory):
                raise ValueError(f"checkpoint directory {self.directory!r} is not a directory")
            return None
        paths = self._written()
        if not paths:
            return None
        problems = []
        for path in reversed(paths):
            try:
                values = self._read(path)
            except Exception as error:  # noqa: BLE001 - a file cut short fails in many ways
                problems.append(f"{os.path.basename(path)}: {_reason(error)}")
                continue
            return values
        raise ValueError(
            f"checkpoint directory {self.directory!r}: none of its checkpoints can be read ({'; '.join(problems)}); "
            "move it aside or give another directory (nothing was changed)"
        )

    def _written(self):
        """The checkpoints the manager's state file names, oldest first."""
        state = tf.train.get_checkpoint_state(self.directory)
        if state is None:
            return []
        # (get_checkpoint_state gives them under this directory, however they were written)
        return [name for name in list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path] if name]

    def _read(self, path):
        with stderr_silenced():
            reader = tf.train.load_checkpoint(path)
        names = {key.split("/")[0]: key for key in reader.get_variable_to_shape_map() if "/" in key}
        if "format" not in names or reader.get_tensor(names["format"]).decode() != FORMAT:
            raise ValueError("not a tfkmeans fit's checkpoint")
        values = {}
        for name, key in names.items():
            if name in ("format", "save_counter", "_CHECKPOINTABLE_OBJECT_GRAPH"):
                continue
            value = reader.get_tensor(key)
            values[name] = json.loads(value.decode()) if name in _JSON else value
        return values

    def check(self, values, fingerprint):
        """Take this fit's ``fingerprint`` (the settings and the data, as JSON values), and refuse
        restored ``values`` (None: nothing was restored) written with another: a ValueError that
        says what differs."""
        self.fingerprint = json.loads(json.dumps(fingerprint))  # as it reads back
        if values is None:
            return
        written = values.get("fingerprint")
        if written == self.fingerprint:
            return
        differences = [
            f"{key} {_shown(written.get(key))} there, {_shown(self.fingerprint.get(key))} here"
            for key in sorted(set(written) | set(self.fingerprint))
            if written.get(key) != self.fingerprint.get(key)
        ]
        shown = "; ".join(differences[:4]) + ("; ..." if len(differences) > 4 else "")
        raise ValueError(
            f"checkpoint directory {self.directory!r} holds another fit's checkpoint ({shown}); "
            "give a new directory, or the same data and settings (nothing was changed)"
        )

    # --- writing -------------------------------------------------------------------------------

    def save(self, number, complete=False, **values):
        """Write ``values`` (NumPy arrays, Python numbers, or for ``_JSON`` names any JSON value)
        as checkpoint ``number``, with this fit's fingerprint; the chief only. A full disk or a
        directory that cannot be written is an OSError that says the fit stopped and the last
        checkpoint is whole."""
        if not self.chief:
            return
        values = dict(values, fingerprint=self.fingerprint, complete=bool(complete))
        try:
            if self._manager is None:
                os.makedirs(self.directory, exist_ok=True)
                self._variables = {"format": tf.Variable(FORMAT)}
                for name, value in values.items():
                    self._variables[name] = tf.Variable(_tensor(name, value), shape=tf.TensorShape(None))
                checkpoint = tf.train.Checkpoint(**self._variables)
                self._manager = tf.train.CheckpointManager(checkpoint, self.directory, max_to_keep=self.max_to_keep)
            else:
                for name, value in values.items():
                    self._variables[name].assign(_tensor(name, value))
            with stderr_silenced():
                self._manager.save(checkpoint_number=number)
        except (tf.errors.OpError, OSError) as error:
            raise OSError(
                f"checkpoint directory {self.directory!r} could not be written ({_reason(error)}); the fit "
                "stopped, and its last checkpoint there is whole"
            ) from None


# Values stored as JSON text (nested or mixed values a tensor cannot hold).
_JSON = {"fingerprint", "random_state", "extra"}


def _tensor(name, value):
    if name in _JSON:
        return tf.constant(json.dumps(value, allow_nan=False))
    return tf.constant(np.asarray(value))


def _shown(value):
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _reason(error):
    message = getattr(error, "message", None) or getattr(error, "strerror", None) or str(error)
    return " ".join(str(message).split())[:200]


def random_state_value(random_state):
    """A NumPy ``RandomState``'s state as JSON values, to be saved."""
    kind, keys, position, has_gauss, cached = random_state.get_state()
    return [kind, np.asarray(keys).tolist(), int(position), int(has_gauss), float(cached)]


def set_random_state(random_state, value):
    """Put a state ``random_state_value`` gave back into ``random_state``."""
    kind, keys, position, has_gauss, cached = value
    random_state.set_state((kind, np.asarray(keys, np.uint32), position, has_gauss, cached))


def is_chief(strategy):
    """Whether this process writes a multi-worker fit's checkpoints: the chief, or worker 0
    where the cluster has no chief; always, without a cluster."""
    resolver = getattr(strategy, "cluster_resolver", None) if strategy is not None else None
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and not has_chief


def stream_state_values(state):
    """A ``_loop.StreamState`` as checkpoint values (``stream_state`` gives it back)."""
    return {
        "iteration": state.iteration,
        "centroids": np.asarray(state.centroids),
        "sums": np.asarray(state.sums),
        "counts": np.asarray(state.counts),
        "inertias": np.asarray(state.inertias, np.float64),
        "shifts": np.asarray(state.shifts, np.float64),
        "tol_reached": bool(state.tol_reached),
    }


def stream_state(values, dtype):
    """The ``_loop.StreamState`` that ``stream_state_values`` saved, its centroids in ``dtype``."""
    return StreamState(
        int(values["iteration"]),
        tf.constant(values["centroids"], dtype),
        tf.constant(values["sums"]),
        tf.constant(values["counts"]),
        [float(value) for value in values["inertias"]],
        [float(value) for value in values["shifts"]],
        bool(values["tol_reached"]),
    )
