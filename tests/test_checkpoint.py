"""tfkmeans._checkpoint: a long fit killed part-way goes on from its last completed iteration and
ends as an uninterrupted fit ends, bit for bit; a checkpoint of another fit, or one that cannot
be read, is refused or passed over, and a refused run changes nothing in the directory."""

import json
import os
import random
import re
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from conftest import error_lines, headless_environment, localhost_workers
from tfkmeans import KMeans, _checkpoint


def blobs(n_samples=6000, n_features=3, n_centres=6, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-8, 8, size=(n_centres, n_features))
    return (centres[rng.integers(0, n_centres, n_samples)] + rng.normal(size=(n_samples, n_features))).astype(
        np.float32
    )


def listing(directory):
    """Each file of a directory with its size and modification time: what "unchanged" means."""
    return {
        name: (os.stat(os.path.join(directory, name)).st_size, os.stat(os.path.join(directory, name)).st_mtime_ns)
        for name in sorted(os.listdir(directory))
    }


# --- the checkpoint files -------------------------------------------------------------------


def test_values_come_back_as_saved_and_only_the_last_three_are_kept(tmp_path):
    checkpoint = _checkpoint.FitCheckpoint(tmp_path / "ck", {"k": 3})
    for number in range(1, 8):
        checkpoint.save(number, iteration=number, centres=np.full((3, 2), number, np.float32), extra={"a": [number]})
    restored = _checkpoint.FitCheckpoint(tmp_path / "ck").restore()
    assert restored["iteration"] == 7 and restored["extra"] == {"a": [7]} and not restored["complete"]
    np.testing.assert_array_equal(restored["centres"], np.full((3, 2), 7, np.float32))
    assert restored["centres"].dtype == np.float32 and restored["fingerprint"] == {"k": 3}
    indexes = sorted(name for name in os.listdir(tmp_path / "ck") if name.endswith(".index"))
    assert indexes == ["ckpt-5.index", "ckpt-6.index", "ckpt-7.index"]  # pruned: never more than 3


def test_a_checkpoint_of_another_fit_is_refused_naming_what_differs(tmp_path):
    _checkpoint.FitCheckpoint(tmp_path, {"k": 3, "mean": [1.0, 2.0], "tol": 0.0}).save(1, iteration=1)
    before = listing(tmp_path)
    reader = _checkpoint.FitCheckpoint(tmp_path)
    saved = reader.restore()
    with pytest.raises(ValueError, match=r"holds another fit's checkpoint \(k 3 there, 4 here\)"):
        reader.check(saved, {"k": 4, "mean": [1.0, 2.0], "tol": 0.0})
    with pytest.raises(ValueError, match=r"mean \[1\.0, 2\.0\] there, \[1\.0, 2\.5\] here"):
        reader.check(saved, {"k": 3, "mean": [1.0, 2.5], "tol": 0.0})
    assert listing(tmp_path) == before


@pytest.mark.parametrize("damage", ["truncate", "overwrite", "remove"])
def test_a_checkpoint_that_cannot_be_read_falls_back_to_the_one_before(tmp_path, damage):
    checkpoint = _checkpoint.FitCheckpoint(tmp_path, {"k": 3})
    for number in (1, 2):
        checkpoint.save(number, iteration=number, centres=np.arange(6000.0) * number)
    data = tmp_path / "ckpt-2.data-00000-of-00001"
    if damage == "truncate":
        os.truncate(data, data.stat().st_size // 2)
    elif damage == "overwrite":
        data.write_bytes(b"\0" * data.stat().st_size)
    else:
        data.unlink()
    restored = _checkpoint.FitCheckpoint(tmp_path).restore()
    assert restored["iteration"] == 1
    np.testing.assert_array_equal(restored["centres"], np.arange(6000.0))


def test_when_no_checkpoint_can_be_read_the_fit_is_refused_and_nothing_changes(tmp_path):
    checkpoint = _checkpoint.FitCheckpoint(tmp_path, {"k": 3})
    checkpoint.save(1, iteration=1, centres=np.arange(3000.0))
    os.truncate(tmp_path / "ckpt-1.data-00000-of-00001", 10)
    before = listing(tmp_path)
    with pytest.raises(ValueError, match=r"none of its checkpoints can be read \(ckpt-1: .*\); move it aside"):
        KMeans(3, random_state=0, checkpoint_dir=tmp_path).fit(blobs())
    assert listing(tmp_path) == before


def test_a_directory_of_another_programs_checkpoints_is_refused(tmp_path):
    variable = tf.Variable([1.0, 2.0])
    tf.train.CheckpointManager(tf.train.Checkpoint(v=variable), str(tmp_path), max_to_keep=1).save()
    before = listing(tmp_path)
    with pytest.raises(ValueError, match=r"none of its checkpoints can be read .*not a tfkmeans fit's checkpoint"):
        KMeans(3, random_state=0, checkpoint_dir=tmp_path).fit(blobs())
    assert listing(tmp_path) == before


def test_a_full_disk_stops_the_fit_with_one_clear_error_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    X = blobs()
    saves = []
    original = tf.train.CheckpointManager.save

    def fill_the_disk(self, *arguments, **keywords):
        if len(saves) == 2:
            raise tf.errors.ResourceExhaustedError(None, None, "ckpt-3_temp/part-00000; No space left on device")
        saves.append(1)
        return original(self, *arguments, **keywords)

    monkeypatch.setattr(tf.train.CheckpointManager, "save", fill_the_disk)
    with pytest.raises(OSError, match=r"could not be written \(.*No space left on device\); the fit stopped, and its"):
        KMeans(4, random_state=0, n_init=1, tol=0, max_iter=10, checkpoint_dir=tmp_path).fit(X)
    assert _checkpoint.FitCheckpoint(tmp_path).restore()["iteration"] == 2


def test_a_path_that_is_a_file_is_refused():
    with pytest.raises(ValueError, match="is not a directory"):
        KMeans(3, checkpoint_dir=__file__).fit(blobs())


# --- resuming: a fit killed outright ends as one that never was -------------------------------

FIT = """
import json, os, signal, sys
import numpy as np
import tensorflow as tf
from tfkmeans import KMeans, MiniBatchKMeans, _checkpoint

kind, directory, kill_after = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kill_after:  # SIGKILL right after the kill_after-th checkpoint is written: nothing runs after it
    saves, save = [], _checkpoint.FitCheckpoint.save
    def save_then_die(self, *arguments, **keywords):
        save(self, *arguments, **keywords)
        saves.append(1)
        if len(saves) == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
    _checkpoint.FitCheckpoint.save = save_then_die
X = np.load("X.npy")
dataset = tf.data.Dataset.from_tensor_slices(X).batch(700)
if kind == "stream":
    model = KMeans(6, n_init=3, max_iter=12, tol=0, random_state=5, checkpoint_dir=directory).fit(dataset)
elif kind == "minibatch":
    model = MiniBatchKMeans(6, max_iter=4, batch_size=200, max_no_improvement=None, random_state=5,
                            checkpoint_dir=directory, checkpoint_interval=9).fit(X)
else:
    model = MiniBatchKMeans(6, max_iter=6, max_no_improvement=None, random_state=5, checkpoint_dir=directory).fit(dataset)
np.save("centres.npy", model.cluster_centers_)
np.save("labels.npy", model.labels_)
json.dump({"n_iter": int(model.n_iter_), "inertia": float(model.inertia_),
           "n_steps": int(getattr(model, "n_steps_", -1))}, open("result.json", "w"))
"""


def fit_in_a_process(tmp_path, kind, directory, kill_after=0):
    finished = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FIT), kind, str(directory), str(kill_after)],
        cwd=tmp_path,
        env=headless_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return finished


def result(tmp_path):
    return (
        np.load(tmp_path / "centres.npy"),
        np.load(tmp_path / "labels.npy"),
        json.loads((tmp_path / "result.json").read_text()),
    )


def history(directory):
    """From a finished fit's last checkpoint: the inertia after each iteration of its best run,
    the mini-batch state, and the random state after its last start was drawn (which tells
    whether every start was drawn as in an uninterrupted fit)."""
    saved = _checkpoint.FitCheckpoint(directory).restore()
    assert saved["complete"]
    names = [name for name in saved if "inertias" in name or name.startswith("state_") or name == "random_state"]
    return {name: np.asarray(saved[name], dtype=object if name == "random_state" else None) for name in names}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["stream", "minibatch", "minibatch-stream"])
def test_a_fit_killed_at_a_random_checkpoint_ends_as_an_uninterrupted_fit(tmp_path, kind):
    np.save(tmp_path / "X.npy", blobs())
    finished = fit_in_a_process(tmp_path, kind, tmp_path / "whole")
    assert finished.returncode == 0, finished.stderr[-2000:]
    whole = result(tmp_path)
    whole_history = history(tmp_path / "whole")
    kill_after = random.Random(kind).randint(1, 6)  # a random iteration, the same on every run
    killed = fit_in_a_process(tmp_path, kind, tmp_path / "resumed", kill_after)
    assert killed.returncode == -signal.SIGKILL, f"not killed after checkpoint {kill_after}: {killed.stderr[-2000:]}"
    assert not (tmp_path / "result.json").exists() or result(tmp_path)[2] == whole[2]
    (tmp_path / "result.json").unlink()
    finished = fit_in_a_process(tmp_path, kind, tmp_path / "resumed")
    assert finished.returncode == 0, finished.stderr[-2000:]
    resumed = result(tmp_path)
    np.testing.assert_array_equal(resumed[0], whole[0])  # bit for bit
    np.testing.assert_array_equal(resumed[1], whole[1])
    assert resumed[2] == whole[2]
    resumed_history = history(tmp_path / "resumed")
    assert resumed_history.keys() == whole_history.keys()
    for name in whole_history:
        np.testing.assert_array_equal(resumed_history[name], whole_history[name], err_msg=name)
    # Complete: a rerun gives the same result and writes nothing.
    before = listing(tmp_path / "resumed")
    finished = fit_in_a_process(tmp_path, kind, tmp_path / "resumed")
    assert finished.returncode == 0 and listing(tmp_path / "resumed") == before
    np.testing.assert_array_equal(result(tmp_path)[0], whole[0])


def test_a_complete_stream_fit_is_not_fitted_again(tmp_path, monkeypatch, capsys):
    from tfkmeans import _loop

    dataset = tf.data.Dataset.from_tensor_slices(blobs()).batch(1000)
    first = KMeans(5, random_state=1, n_init=1, tol=0, max_iter=20, checkpoint_dir=tmp_path).fit(dataset)
    before = listing(tmp_path)

    def no_passes(*arguments, **keywords):
        resume = keywords["resume"]
        assert resume is not None and resume.tol_reached
        return _loop.StreamResult(
            resume.centroids, resume.inertias[-1], resume.iteration, True, resume.inertias, [], None
        )

    monkeypatch.setattr(_loop, "lloyd_passes", no_passes)
    again = KMeans(5, random_state=1, n_init=1, tol=0, max_iter=20, checkpoint_dir=tmp_path, verbose=1).fit(dataset)
    assert "holds this fit, complete: its result, with no iteration run" in capsys.readouterr().out
    np.testing.assert_array_equal(again.cluster_centers_, first.cluster_centers_)
    np.testing.assert_array_equal(again.labels_, first.labels_)
    assert again.n_iter_ == first.n_iter_ and listing(tmp_path) == before


@pytest.mark.parametrize(
    "changed, words",
    [
        (dict(n_clusters=4), "n_clusters 5 there, 4 here"),
        (dict(max_iter=7), "max_iter 20 there, 7 here"),
        (dict(data=2.0), "checksum"),
        (dict(init="random"), re.escape('init "k-means++" there, "random" here')),
    ],
)
def test_a_stream_fit_refuses_the_checkpoint_of_other_settings_or_data(tmp_path, changed, words):
    X = blobs()
    KMeans(5, random_state=1, n_init=1, tol=0, max_iter=20, checkpoint_dir=tmp_path).fit(
        tf.data.Dataset.from_tensor_slices(X).batch(1000)
    )
    before = listing(tmp_path)
    settings = dict(n_clusters=5, random_state=1, n_init=1, tol=0, max_iter=20, checkpoint_dir=tmp_path)
    settings.update({key: value for key, value in changed.items() if key != "data"})
    data = X * changed.get("data", 1.0)
    with pytest.raises(ValueError, match=words):
        KMeans(**settings).fit(tf.data.Dataset.from_tensor_slices(data).batch(1000))
    assert listing(tmp_path) == before


# --- the command --------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_command_killed_mid_stream_goes_on_from_its_checkpoint(tmp_path):
    """--checkpoint: SIGKILL after a random iteration's checkpoint; the same command then ends
    with the JSON (centroids, inertia after every iteration, iterations) and labels of a run
    that was never stopped."""
    np.save(tmp_path / "X.npy", blobs(20_000))
    run = [sys.executable, "-m", "tfkmeans", "--data", "X.npy", "--stream", "--n-clusters", "6", "--iterations", "15"]
    whole = subprocess.run(
        [*run, "--output", "whole.json", "--labels", "whole.npy", "--save", "w.png", "-q"],
        cwd=tmp_path, env=headless_environment(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert whole.returncode == 0, whole.stderr
    kill_after = random.Random("command").randint(2, 12)
    hook = (
        "import os, signal, runpy, sys\n"
        "from tfkmeans import _checkpoint\n"
        "save, saves = _checkpoint.FitCheckpoint.save, []\n"
        "def save_then_die(self, *a, **k):\n"
        "    save(self, *a, **k); saves.append(1)\n"
        f"    if len(saves) == {kill_after}: os.kill(os.getpid(), signal.SIGKILL)\n"
        "_checkpoint.FitCheckpoint.save = save_then_die\n"
        "sys.argv = ['tfkmeans'] + sys.argv[1:]\n"
        "runpy.run_module('tfkmeans', run_name='__main__')\n"
    )
    rest = ["--checkpoint", "ck", "--output", "o.json", "--labels", "o.npy", "--save", "o.png", "-q"]
    killed = subprocess.run(
        [sys.executable, "-c", hook, *run[3:], *rest],
        cwd=tmp_path, env=headless_environment(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (tmp_path / "o.json").exists()
    resumed = subprocess.run([*run, *rest], cwd=tmp_path, env=headless_environment(), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    first, second = (json.loads((tmp_path / name).read_text()) for name in ("whole.json", "o.json"))
    for key in ("centroids", "initial_centroids", "inertia", "iterations", "converged"):
        assert first[key] == second[key], key
    np.testing.assert_array_equal(np.load(tmp_path / "whole.npy"), np.load(tmp_path / "o.npy"))


def test_the_command_refuses_a_checkpoint_without_a_stream_and_one_of_another_run(cli, tmp_path):
    np.save(tmp_path / "X.npy", blobs(3000))
    finished = cli("--data", "X.npy", "--checkpoint", "ck")
    assert finished.returncode == 2 and "--checkpoint goes with streaming a .npy file" in finished.stderr
    first = cli("--data", "X.npy", "--stream", "--n-clusters", "4", "--checkpoint", "ck", "--save", "f.png")
    assert first.returncode == 0, first.stderr
    before = listing(tmp_path / "ck")
    other = cli("--data", "X.npy", "--stream", "--n-clusters", "3", "--checkpoint", "ck", "--save", "g.png")
    lines = error_lines(other.stderr)
    assert other.returncode == 2 and len(lines) == 1, other.stderr
    assert "--checkpoint 'ck' holds another fit's checkpoint (n_clusters 4 there, 3 here)" in lines[0]
    assert listing(tmp_path / "ck") == before
    same = cli("--data", "X.npy", "--stream", "--n-clusters", "4", "--checkpoint", "ck", "--save", "h.png")
    assert "Going on from the checkpoint in ck: complete, so no pass is run again" in same.stdout
    file = cli("--data", "X.npy", "--stream", "--checkpoint", "X.npy", "--save", "i.png")
    assert file.returncode == 2 and "--checkpoint X.npy: holds or is --data X.npy" in file.stderr


def test_the_command_stopped_mid_stream_says_where_its_checkpoint_is(cli, tmp_path, monkeypatch):
    from tfkmeans import _loop

    np.save(tmp_path / "X.npy", blobs(3000))
    original = _loop.lloyd_passes

    def interrupted(*arguments, **keywords):
        keywords["on_iteration"] = _interrupt_after(keywords["on_iteration"], 2)
        return original(*arguments, **keywords)

    monkeypatch.setattr(_loop, "lloyd_passes", interrupted)
    finished = cli("--data", "X.npy", "--stream", "--n-clusters", "4", "--checkpoint", "ck", "--save", "f.png")
    assert finished.returncode == 130
    assert "interrupted; no output file was written or changed; ck holds the last completed iteration" in (
        finished.stderr
    )
    assert _checkpoint.FitCheckpoint(tmp_path / "ck").restore()["iteration"] == 2


def _interrupt_after(on_iteration, count):
    def hook(state):
        on_iteration(state)
        if state.iteration == count:
            raise KeyboardInterrupt

    return hook


# --- two workers: one killed, both restarted -----------------------------------------------------

WORKER = """
import json, os, signal, sys
import numpy as np
import tensorflow as tf
strategy = tf.distribute.MultiWorkerMirroredStrategy()
from tfkmeans import KMeans, _checkpoint

directory, kill_after = sys.argv[1], int(sys.argv[2])
index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
if kill_after and index == 1:  # worker 1 dies, killed outright, after that many iterations
    saves, save = [], _checkpoint.FitCheckpoint.save
    def save_then_die(self, *arguments, **keywords):
        save(self, *arguments, **keywords)  # (the chief's only: this worker writes nothing)
        saves.append(1)
        if len(saves) == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
    _checkpoint.FitCheckpoint.save = save_then_die
X, start = np.load("X.npy"), np.load("start.npy")
model = KMeans(6, init=start, n_init=1, tol=0, max_iter=25, strategy=strategy, checkpoint_dir=directory).fit(X)
np.save(f"{directory}-worker{index}.npy", model.cluster_centers_)
np.save(f"{directory}-labels{index}.npy", model.labels_)
"""


def two_workers(tmp_path, directory, kill_after=0, timeout=240):
    """Two localhost workers on free ports, waited for (bounded), what is left killed: each one's
    return code and stderr."""
    results = localhost_workers(tmp_path, WORKER, [directory, kill_after], timeout=timeout)
    return [(returncode, stderr) for returncode, _, stderr in results]


@pytest.mark.slow
def test_a_worker_killed_mid_fit_then_both_restarted_end_as_an_uninterrupted_fit(tmp_path):
    """TensorFlow's multi-worker fault tolerance: worker 1 is killed outright after a random
    iteration, the chief then fails, both are restarted on the same directory, and the fit goes
    on from the chief's last checkpoint to the centres and labels of a fit never stopped."""
    X = blobs(12_000)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "start.npy", X[:6])
    for code, stderr in two_workers(tmp_path, "whole"):
        assert code == 0, stderr[-3000:]
    kill_after = random.Random("workers").randint(2, 8)
    (worker0, _), (worker1, stderr1) = two_workers(tmp_path, "resumed", kill_after)
    assert worker1 == -signal.SIGKILL, stderr1[-3000:]
    assert worker0 != 0  # the chief cannot finish alone
    assert _checkpoint.FitCheckpoint(tmp_path / "resumed").restore()["iteration"] >= kill_after - 1
    for code, stderr in two_workers(tmp_path, "resumed"):
        assert code == 0, stderr[-3000:]
    for index in range(2):
        np.testing.assert_array_equal(
            np.load(tmp_path / f"resumed-worker{index}.npy"), np.load(tmp_path / "whole-worker0.npy")
        )
        np.testing.assert_array_equal(
            np.load(tmp_path / f"resumed-labels{index}.npy"), np.load(tmp_path / "whole-labels0.npy")
        )


class _Resolver:
    def __init__(self, task_type, task_id, cluster):
        self.task_type, self.task_id, self._cluster = task_type, task_id, cluster

    def cluster_spec(self):
        return tf.train.ClusterSpec(self._cluster)


class _Strategy:
    def __init__(self, resolver):
        self.cluster_resolver = resolver


@pytest.mark.parametrize(
    "task, cluster, chief",
    [
        (("worker", 0), {"worker": ["a:1", "b:2"]}, True),
        (("worker", 1), {"worker": ["a:1", "b:2"]}, False),
        (("chief", 0), {"chief": ["c:0"], "worker": ["a:1"]}, True),
        (("worker", 0), {"chief": ["c:0"], "worker": ["a:1"]}, False),
    ],
)
def test_only_the_chief_writes(tmp_path, task, cluster, chief):
    strategy = _Strategy(_Resolver(*task, cluster))
    assert _checkpoint.is_chief(strategy) is chief
    writer = _checkpoint.FitCheckpoint(tmp_path / "ck", {"k": 1}, chief=_checkpoint.is_chief(strategy))
    writer.save(1, iteration=1)
    assert (tmp_path / "ck").exists() is chief
    assert _checkpoint.is_chief(None) and _checkpoint.is_chief(tf.distribute.get_strategy())


def test_a_save_cut_short_leaves_the_one_before_whole(tmp_path):
    """A process killed while it writes checkpoint 3 leaves that checkpoint's files half
    written and the manager's state file naming checkpoint 2 (TensorFlow writes the state file
    last, whole): the fit goes on from 2, and its next save writes 3 anew."""
    checkpoint = _checkpoint.FitCheckpoint(tmp_path, {"k": 3})
    for number in (1, 2):
        checkpoint.save(number, iteration=number, centres=np.arange(100.0) * number)
    (tmp_path / "ckpt-3.data-00000-of-00001").write_bytes(b"\x08\x01half a checkpoint")
    (tmp_path / "ckpt-3.index").write_bytes(b"")
    reader = _checkpoint.FitCheckpoint(tmp_path, {"k": 3})
    assert reader.restore()["iteration"] == 2
    reader.save(3, iteration=3, centres=np.arange(100.0) * 3)
    assert _checkpoint.FitCheckpoint(tmp_path).restore()["iteration"] == 3
