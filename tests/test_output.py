"""tfkmeans/_output.py: a run's files are put in place all or none, whatever fails on the way
(a file that cannot be replaced, a directory removed mid-run, a full stdout, a signal), and a
killed run's temporary files are removed by the next run only when its journal proves them its
own: never a file for its name alone. Faults are injected, not assumed."""

import errno
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, error_lines, headless_environment, write_json
from tfkmeans import _output, _serving
from tfkmeans.cli import Signalled

OLD = {"l.npy": b"old labels", "o.json": b'{"old": true}\n', "f.png": b"old figure"}


def lay_out(directory, files=OLD):
    for name, content in files.items():
        (directory / name).write_bytes(content)


def listing(directory):
    return sorted(path.name for path in directory.iterdir())


def fail_on(monkeypatch, function, destination_name, error):
    """Make ``os.<function>`` raise ``error`` when it would put a file at ``destination_name``
    (its second argument), and work as usual otherwise."""
    original = getattr(os, function)

    def failing(source, destination, *args, **kwargs):
        if os.path.basename(os.fspath(destination)) == destination_name:
            raise error
        return original(source, destination, *args, **kwargs)

    monkeypatch.setattr(os, function, failing)


def staged(directory, contents):
    outputs = _output.Outputs()
    for name, content in contents.items():
        with open(outputs.stage(directory / name), "wb") as handle:
            handle.write(content)
    return outputs


@pytest.mark.parametrize("failing", ["l.npy", "o.json", "f.png"])
@pytest.mark.parametrize(
    "error",
    [
        PermissionError(errno.EPERM, "Operation not permitted"),  # an immutable file (chattr +i)
        OSError(errno.ENOSPC, "No space left on device"),
        KeyboardInterrupt(),  # a signal between two renames lands after them and undoes them
    ],
    ids=["immutable", "full", "interrupted"],
)
def test_a_commit_that_fails_at_any_file_puts_every_old_file_back(tmp_path, monkeypatch, failing, error):
    lay_out(tmp_path)
    outputs = staged(tmp_path, {name: b"new " + name.encode() for name in OLD})
    fail_on(monkeypatch, "replace", failing, error)
    with outputs, pytest.raises(type(error)):
        outputs.commit()
    for name, content in OLD.items():
        assert (tmp_path / name).read_bytes() == content
    assert listing(tmp_path) == sorted(OLD)  # no temporary, kept-aside copy or journal left


def test_a_commit_error_names_the_destination_not_a_temporary(tmp_path, monkeypatch):
    lay_out(tmp_path)
    outputs = staged(tmp_path, {"l.npy": b"new", "o.json": b"new"})
    fail_on(monkeypatch, "replace", "o.json", PermissionError(errno.EPERM, "Operation not permitted"))
    with outputs, pytest.raises(OSError) as raised:
        outputs.commit()
    assert raised.value.filename == str(tmp_path / "o.json")
    assert "no output file was written or changed" in raised.value.strerror


def test_a_file_that_cannot_be_kept_aside_is_copied_aside(tmp_path, monkeypatch):
    """Where the file system has no hard links, the old file is copied aside, and still put back."""
    lay_out(tmp_path)
    monkeypatch.setattr(os, "link", lambda *args, **kwargs: (_ for _ in ()).throw(OSError(errno.EPERM, "no links")))
    outputs = staged(tmp_path, {"l.npy": b"new", "o.json": b"new"})
    fail_on(monkeypatch, "replace", "o.json", OSError(errno.EIO, "Input/output error"))
    with outputs, pytest.raises(OSError):
        outputs.commit()
    assert (tmp_path / "l.npy").read_bytes() == OLD["l.npy"] and listing(tmp_path) == sorted(OLD)


def test_an_announcement_that_fails_undoes_the_commit(tmp_path):
    """The run says what it wrote after putting it in place; if it cannot (a full stdout), the
    files go back, new ones are removed, and old ones return."""
    lay_out(tmp_path, {"l.npy": OLD["l.npy"]})
    outputs = staged(tmp_path, {"l.npy": b"new", "new.json": b"new"})

    def announce():
        assert (tmp_path / "l.npy").read_bytes() == b"new" and (tmp_path / "new.json").exists()
        raise _output.OutputStreamError(errno.ENOSPC, "standard output: No space left on device")

    with outputs, pytest.raises(_output.OutputStreamError):
        outputs.commit(announce)
    assert (tmp_path / "l.npy").read_bytes() == OLD["l.npy"] and listing(tmp_path) == ["l.npy"]


def test_undo_never_removes_a_file_someone_else_put_there(tmp_path):
    outputs = staged(tmp_path, {"new.json": b"ours"})

    def announce():
        os.remove(tmp_path / "new.json")
        (tmp_path / "new.json").write_bytes(b"someone else's")
        raise KeyboardInterrupt

    with outputs, pytest.raises(KeyboardInterrupt):
        outputs.commit(announce)
    assert (tmp_path / "new.json").read_bytes() == b"someone else's"


def test_a_committed_run_leaves_only_its_files(tmp_path):
    lay_out(tmp_path)
    with staged(tmp_path, {name: b"new" for name in OLD}) as outputs:
        figure = outputs.stage_new("tfkmeans", ".png", str(tmp_path))
        open(figure, "wb").close()
        outputs.commit()
        assert outputs.placed(figure) == os.path.join(str(tmp_path), "tfkmeans.png")
    assert all((tmp_path / name).read_bytes() == b"new" for name in OLD)
    assert listing(tmp_path) == sorted([*OLD, "tfkmeans.png"])


# --- the command ---------------------------------------------------------------------------


def command_files(tmp_path):
    lay_out(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "o.json").write_bytes(OLD["o.json"])
    return ["--labels", "l.npy", "--output", "out/o.json", "--save", "f.png"]


def assert_unchanged(tmp_path):
    for name in ("l.npy", "f.png"):
        assert (tmp_path / name).read_bytes() == OLD[name]
    assert listing(tmp_path) == sorted(["l.npy", "o.json", "f.png", "out"])


def test_an_immutable_output_changes_no_other_file(cli, tmp_path, monkeypatch):
    """o.json cannot be replaced (chattr +i gives EPERM): l.npy, put in place before it, goes back."""
    arguments = command_files(tmp_path)
    fail_on(monkeypatch, "replace", "o.json", PermissionError(errno.EPERM, "Operation not permitted"))
    finished = cli(*arguments)
    assert finished.returncode == 2
    assert error_lines(finished.stderr) == [
        "tfkmeans: error: out/o.json: Operation not permitted; no output file was written or changed"
    ]
    assert_unchanged(tmp_path)
    assert (tmp_path / "out" / "o.json").read_bytes() == OLD["o.json"]


def test_an_output_directory_removed_mid_run_changes_no_other_file(cli, tmp_path, monkeypatch):
    import shutil

    arguments = command_files(tmp_path)
    draw = _output.draw_figure

    def draw_then_remove_the_directory(*args):
        draw(*args)
        shutil.rmtree(tmp_path / "out")

    monkeypatch.setattr(_output, "draw_figure", draw_then_remove_the_directory)
    finished = cli(*arguments)
    assert finished.returncode == 2
    (line,) = error_lines(finished.stderr)
    assert line.startswith("tfkmeans: error: out/o.json: No such file or directory") and ".tmp" not in line
    for name in ("l.npy", "f.png"):
        assert (tmp_path / name).read_bytes() == OLD[name]
    assert listing(tmp_path) == ["f.png", "l.npy", "o.json"]


@pytest.mark.parametrize("flag, name", [("--output", "o.json"), ("--labels", "l.npy"), ("--save", "f.png")])
def test_an_output_directory_removed_before_its_file_is_staged_names_the_output(cli, tmp_path, monkeypatch, flag, name):
    """The directory goes while k-means runs, before the run makes its journal and temporary
    file there: the error names the output the user gave, never the journal or a temporary
    (it said ``out/.tfkmeans-<pid>-x.journal: No such file or directory``), and changes no file."""
    import shutil

    import tfkmeans._functions

    lay_out(tmp_path)
    (tmp_path / "out").mkdir()
    lloyd = tfkmeans._functions.lloyd_with_history

    def remove_the_directory_then_fit(*args, **kwargs):
        shutil.rmtree(tmp_path / "out")
        return lloyd(*args, **kwargs)

    monkeypatch.setattr(tfkmeans._functions, "lloyd_with_history", remove_the_directory_then_fit)
    others = [argument for other, file in OLD_FLAGS.items() if other != flag for argument in (other, file)]
    finished = cli(flag, f"out/{name}", *others)
    assert finished.returncode == 2
    assert error_lines(finished.stderr) == [
        f"tfkmeans: error: out/{name}: No such file or directory; no output file was written or changed"
    ]
    assert all((tmp_path / file).read_bytes() == content for file, content in OLD.items())
    assert listing(tmp_path) == sorted(OLD)


OLD_FLAGS = {"--output": "o.json", "--labels": "l.npy", "--save": "f.png"}


def test_a_write_that_fails_in_a_removed_directory_names_the_file_given(tmp_path, monkeypatch):
    """The library's writers too: the temporary file's name never reaches the caller."""
    import shutil

    (tmp_path / "out").mkdir()
    write_text = _output.write_text

    def remove_the_directory_then_write(temporary, text):
        shutil.rmtree(tmp_path / "out")
        write_text(temporary, text)

    monkeypatch.setattr(_output, "write_text", remove_the_directory_then_write)
    with pytest.raises(FileNotFoundError) as raised:
        write_json(tmp_path / "out" / "r.json", {"a": 1})
    assert raised.value.filename == str(tmp_path / "out" / "r.json")
    assert ".tfkmeans-" not in str(raised.value) and "no output file was written or changed" in str(raised.value)


def test_a_journal_that_cannot_be_written_is_removed_and_the_error_names_the_output(tmp_path, monkeypatch):
    """A disk with no space left takes the journal's name but not its first line: the error
    names the output (it named nothing), and the empty journal, which no later run could prove
    its own, is removed at once (it was left for ever)."""

    def full(self, entry):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_output._Journal, "_write", full)
    with pytest.raises(OSError) as raised:
        write_json(tmp_path / "r.json", {"a": 1})
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(tmp_path / "r.json")
    assert listing(tmp_path) == []


def test_a_full_stdout_writes_no_file(cli, tmp_path, monkeypatch):
    """Standard output on a full disk (/dev/full): the run cannot say what it wrote, so it writes
    nothing, with -q too (where it prints only the files written)."""

    class Full:
        def write(self, text):
            return len(text)

        def flush(self):
            raise OSError(errno.ENOSPC, "No space left on device")

    lay_out(tmp_path)
    monkeypatch.setattr(sys, "stdout", Full())
    finished = cli("-q", "--labels", "l.npy", "--output", "o.json", "--save", "f.png")
    assert finished.returncode == 2
    assert error_lines(finished.stderr) == [
        "tfkmeans: error: standard output: No space left on device; no output file was written or changed"
    ]
    assert all((tmp_path / name).read_bytes() == content for name, content in OLD.items())
    assert listing(tmp_path) == sorted(OLD)


def test_a_default_figure_that_cannot_be_written_changes_no_other_file(cli, tmp_path, monkeypatch):
    """No --save and no display: the figure takes a new name in the current directory as part of
    the same commit, so when it cannot, the JSON is not replaced."""
    lay_out(tmp_path, {"o.json": OLD["o.json"]})
    fail_on(monkeypatch, "link", "tfkmeans.png", PermissionError(errno.EACCES, "Permission denied"))
    finished = cli("--output", "o.json")
    assert finished.returncode == 2 and "tfkmeans.png: Permission denied" in finished.stderr
    assert (tmp_path / "o.json").read_bytes() == OLD["o.json"] and listing(tmp_path) == ["o.json"]


def test_a_directory_that_takes_no_new_file_is_refused_before_any_work(cli, tmp_path, monkeypatch):
    import tfkmeans._command

    lay_out(tmp_path, {"o.json": OLD["o.json"]})
    can_create_in = _output.can_create_in
    monkeypatch.setattr(
        _output,
        "can_create_in",
        lambda directory: "Read-only file system" if directory == "." else can_create_in(directory),
    )
    monkeypatch.setattr(tfkmeans._command, "load", lambda settings: pytest.fail("the data was loaded"))
    finished = cli("--output", "o.json")
    assert finished.returncode == 2
    (line,) = error_lines(finished.stderr)
    assert "cannot take a new file (Read-only file system); name one with --save" in line
    assert (tmp_path / "o.json").read_bytes() == OLD["o.json"]


def test_the_animation_is_staged_once_and_written_straight_into_the_run_s_temporary(cli, tmp_path, monkeypatch):
    """The run stages the GIF (a temporary file, committed with the others); the animation is
    written into that very file, never staged a second time beside it (a temporary of a
    temporary, with a journal of its own)."""
    from matplotlib.animation import PillowWriter

    staged, written = {}, []
    stage, setup = _output.Outputs.stage, PillowWriter.setup

    def record_stage(self, path, replace=True):
        temporary = stage(self, path, replace)
        staged[temporary] = os.fspath(path)
        return temporary

    def record_setup(self, figure, outfile, *args, **kwargs):
        written.append(os.fspath(outfile))
        return setup(self, figure, outfile, *args, **kwargs)

    monkeypatch.setattr(_output.Outputs, "stage", record_stage)
    monkeypatch.setattr(PillowWriter, "setup", record_setup)
    finished = cli("--iterations", "2", "--animate", "a.gif", "--save", "f.png")
    assert finished.returncode == 0, finished.stderr
    assert sorted(staged.values()) == ["a.gif", "f.png"]  # only the paths given, never a temporary
    assert written == [temporary for temporary, path in staged.items() if path == "a.gif"]
    assert listing(tmp_path) == ["a.gif", "f.png"]


def stop_at_the_first_frame(monkeypatch, stop):
    """Make the animation's first frame raise ``stop()`` as it is grabbed."""
    from matplotlib.animation import PillowWriter

    grab = PillowWriter.grab_frame

    def grab_and_stop(self, *args, **kwargs):
        if not getattr(self, "_frames", None):
            raise stop()
        return grab(self, *args, **kwargs)

    monkeypatch.setattr(PillowWriter, "grab_frame", grab_and_stop)


@pytest.mark.parametrize(
    "stop, status, line",
    [
        (lambda: Signalled(signal.SIGTERM), 143, "tfkmeans: stopped by SIGTERM"),  # what its handler raises
        (KeyboardInterrupt, 130, "tfkmeans: interrupted"),
    ],
    ids=["SIGTERM", "Ctrl-C"],
)
def test_a_signal_at_the_animation_s_first_frame_is_the_run_s_one_line(cli, tmp_path, monkeypatch, stop, status, line):
    """SIGTERM (its handler raises where the run is) or Ctrl-C while the first frame is drawn:
    matplotlib's ``FuncAnimation.save`` then wrote the GIF in a ``finally`` with no frame, and its
    IndexError hid the signal (a traceback). Now: the exit status and one line, no file changed,
    nothing left."""
    lay_out(tmp_path)
    stop_at_the_first_frame(monkeypatch, stop)
    finished = cli("--iterations", "2", "--animate", "a.gif", "--labels", "l.npy", "--save", "f.png")
    assert finished.returncode == status
    assert error_lines(finished.stderr) == [f"{line}; no output file was written or changed"]
    assert all((tmp_path / name).read_bytes() == content for name, content in OLD.items())
    assert listing(tmp_path) == sorted(OLD)


def test_an_output_directory_removed_before_the_animation_is_drawn_names_the_animation(cli, tmp_path, monkeypatch):
    """matplotlib checks the GIF's directory before the first frame and names the directory:
    the error names the animation the user asked for."""
    import shutil

    from tfkmeans import plotting

    lay_out(tmp_path)
    (tmp_path / "out").mkdir()
    animate = plotting.animate

    def remove_the_directory_then_animate(*args, **kwargs):
        shutil.rmtree(tmp_path / "out")
        return animate(*args, **kwargs)

    monkeypatch.setattr(plotting, "animate", remove_the_directory_then_animate)
    finished = cli("--iterations", "2", "--animate", "out/a.gif", "--labels", "l.npy", "--save", "f.png")
    assert finished.returncode == 2
    assert error_lines(finished.stderr) == [
        "tfkmeans: error: out/a.gif: No such file or directory; no output file was written or changed"
    ]
    assert all((tmp_path / name).read_bytes() == content for name, content in OLD.items())
    assert listing(tmp_path) == sorted(OLD)


SIGTERM_AT_THE_FIRST_FRAME = """
import os, signal, sys
from matplotlib.animation import PillowWriter
from tfkmeans.cli import main

grab = PillowWriter.grab_frame
def signal_then_grab(self, *args, **kwargs):
    if not self._frames:  # reaches the process, so one of TensorFlow's threads may take it
        os.kill(os.getpid(), signal.SIGTERM)
    return grab(self, *args, **kwargs)
PillowWriter.grab_frame = signal_then_grab
sys.exit(main(["--iterations", "2", "--animate", "a.gif", "--labels", "l.npy", "--save", "f.png"]))
"""


@pytest.mark.slow
def test_sigterm_at_the_animation_s_first_frame_exits_143_with_one_line(tmp_path):
    """A real SIGTERM to a real process while the animation grabs its first frame: exit status
    143, the run's one line and nothing else on stderr (no traceback, no matplotlib warning),
    every file as it was, no temporary file or journal left."""
    lay_out(tmp_path)
    finished = subprocess.run(
        [sys.executable, "-c", SIGTERM_AT_THE_FIRST_FRAME],
        cwd=tmp_path,
        env={**headless_environment(), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 143, finished.stderr
    assert error_lines(finished.stderr) == ["tfkmeans: stopped by SIGTERM; no output file was written or changed"]
    assert all((tmp_path / name).read_bytes() == content for name, content in OLD.items())
    assert listing(tmp_path) == sorted(OLD)


SIGNAL_DURING_THE_WRITE = """
import os, signal, sys
from tfkmeans import _output
from tfkmeans.cli import main

draw = _output.draw_figure
def draw_then_signal(*args):
    draw(*args)
    os.kill(os.getpid(), signal.{name})
_output.draw_figure = draw_then_signal
sys.exit(main(["--labels", "l.npy", "--output", "o.json", "--save", "f.png"]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("name, status", [("SIGTERM", 143), ("SIGHUP", 129), ("SIGINT", 130)])
def test_a_signal_during_the_write_changes_no_file_and_leaves_nothing(tmp_path, name, status):
    """A real signal to a real process while its last file is written: every file as it was, no
    temporary file left, one line."""
    lay_out(tmp_path)
    finished = subprocess.run(
        [sys.executable, "-c", SIGNAL_DURING_THE_WRITE.format(name=name)],
        cwd=tmp_path,
        env={**headless_environment(), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == status, finished.stderr
    (line,) = error_lines(finished.stderr)
    assert "no output file was written or changed" in line
    assert all((tmp_path / name).read_bytes() == content for name, content in OLD.items())
    assert listing(tmp_path) == sorted(OLD)


SIGNAL_BETWEEN_TWO_RENAMES = """
import os, signal, sys
from tfkmeans.cli import main

replace, renamed = os.replace, []
def replace_then_signal(source, destination):
    replace(source, destination)
    renamed.append(destination)
    if len(renamed) == 1:  # reaches the process, so one of TensorFlow's threads may take it
        os.kill(os.getpid(), signal.{name})
os.replace = replace_then_signal
sys.exit(main(["--labels", "l.npy", "--output", "o.json", "--save", "f.png"]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("name, status", [("SIGTERM", 143), ("SIGINT", 130)])
def test_a_signal_between_two_renames_puts_every_old_file_back(tmp_path, name, status):
    """The signal comes right after the first file was put in place: it is handled after the
    renames, which are then undone, so every old file is back and nothing is left."""
    lay_out(tmp_path)
    finished = subprocess.run(
        [sys.executable, "-c", SIGNAL_BETWEEN_TWO_RENAMES.format(name=name)],
        cwd=tmp_path,
        env={**headless_environment(), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == status, finished.stderr
    (line,) = error_lines(finished.stderr)
    assert "no output file was written or changed" in line
    assert all((tmp_path / name).read_bytes() == content for name, content in OLD.items())
    assert listing(tmp_path) == sorted(OLD)


@pytest.mark.slow
def test_stdout_on_dev_full_writes_no_file(tmp_path):
    lay_out(tmp_path)
    with open("/dev/full", "w") as full:
        finished = subprocess.run(
            [sys.executable, "-m", "tfkmeans", "-q", "--labels", "l.npy", "--output", "o.json", "--save", "f.png"],
            cwd=tmp_path,
            env={**headless_environment(), "PYTHONPATH": str(REPO)},
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert finished.returncode == 2
    assert error_lines(finished.stderr) == [
        "tfkmeans: error: standard output: No space left on device; no output file was written or changed"
    ]
    assert all((tmp_path / name).read_bytes() == content for name, content in OLD.items())
    assert listing(tmp_path) == sorted(OLD)


# --- what a killed run left ------------------------------------------------------------------

KILLED_WHILE_WRITING = """
import os, signal
from tfkmeans import _output

outputs = _output.Outputs()
for name in ("o.json", "l.npy"):
    with open(outputs.stage(name), "w") as handle:
        handle.write("half")
directory = outputs.stage_directory("model")
open(os.path.join(directory, "saved_model.pb"), "w").close()
print(os.getpid(), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_run_s_temporaries_are_removed_by_the_next_run_and_nothing_else(cli, tmp_path):
    """A run killed outright leaves its temporary files and their journal. The next run that
    writes there removes exactly those. The user's files are kept, even named like temporaries
    of that very (dead) process, a folder included, and even listed in a journal, when the inode
    is not the one the journal recorded."""
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WHILE_WRITING],
        cwd=tmp_path,
        env={**headless_environment(), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    pid = int(killed.stdout)
    left = set(listing(tmp_path))
    assert len(left) == 4 and all(
        name.startswith(f".tfkmeans-{pid}-") for name in left
    )  # 2 files, a folder, the journal

    notes = tmp_path / f".tfkmeans-{pid}-notes.tmp.txt"
    notes.write_text("my notes")
    backup = tmp_path / f".tfkmeans-{pid}-backup.tmpdir"
    backup.mkdir()
    (backup / "data.csv").write_text("1,2\n")
    # A user's file under the exact name of one of the killed run's temporaries: another inode.
    (journal,) = [name for name in left if name.endswith(".journal")]
    (temporary,) = [name for name in left if name.endswith(".tmp.json")]
    (tmp_path / "mine").write_text("the user's file since")
    os.replace(tmp_path / "mine", tmp_path / temporary)
    (tmp_path / "alive").mkdir()
    alive = tmp_path / "alive" / f".tfkmeans-{os.getpid()}-abcdefgh.tmp.json"
    alive.write_text("being written by a live process")
    (tmp_path / "alive" / f".tfkmeans-{os.getpid()}-abcdefgh.journal").write_text("not parsed: the process lives")

    finished = cli("--output", "result.json", "--save", "f.png")
    assert finished.returncode == 0, finished.stderr
    assert set(listing(tmp_path)) == {notes.name, backup.name, temporary, "alive", "result.json", "f.png"}
    assert notes.read_text() == "my notes" and (backup / "data.csv").read_text() == "1,2\n"
    assert (tmp_path / temporary).read_text() == "the user's file since"
    assert journal not in listing(tmp_path)
    finished = cli("--output", "result.json", "--save", "f.png", cwd=tmp_path / "alive")
    assert alive.exists() and finished.returncode == 0


KILLED_WHILE_PROBING = """
import errno, os, signal, sys
from tfkmeans import _output

directory, kind = sys.argv[1:]
if kind == "named":  # a file system that makes no unnamed file (NFS, say)
    open_ = os.open
    def no_unnamed_file(path, flags, *args, **kwargs):
        if flags & os.O_TMPFILE == os.O_TMPFILE:
            raise OSError(errno.EOPNOTSUPP, "Operation not supported", path)
        return open_(path, flags, *args, **kwargs)
    os.open = no_unnamed_file
def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
# The probe's last step, what it made still there: closing the unnamed file; removing the
# named one (before: its plain .tmp; now: its journal).
setattr(os, "close" if kind == "unnamed" else "remove", killed)
_output.can_create_in(directory)
"""


@pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="O_TMPFILE is Linux's")
@pytest.mark.parametrize("kind", ["unnamed", "named"])
def test_a_probe_killed_outright_leaves_nothing_a_later_run_does_not_remove(tmp_path, kind):
    """can_create_in makes a file to see that the directory takes one. Killed outright at that
    instant, it left an empty ``.tfkmeans-<pid>-*.tmp`` that no journal listed, so no run
    removed it. Now the probe is an unnamed file (O_TMPFILE), which goes with the process, or,
    where the file system makes none, a journal, which the next run removes."""
    probe = tmp_path / "probed"
    probe.mkdir()
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WHILE_PROBING, str(probe), kind],
        env={**headless_environment(), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    left = listing(probe)
    if kind == "unnamed":
        assert left == []
    else:  # its journal, with its first line: proof enough for the next run
        assert len(left) == 1 and left[0].endswith(".journal")
    _output.remove_stale_temporaries(str(probe))  # what the next run that writes there does first
    assert listing(probe) == []


OURS = '{"kind": "tfkmeans temporary files", "pid": PID, "host": "HOST"}\n'


@pytest.mark.parametrize(
    "journal, is_ours",
    [
        ("not json\n", False),
        ('{"kind": "something else", "pid": PID, "host": "HOST"}\n', False),
        ('{"kind": "tfkmeans temporary files", "pid": PID, "host": "another machine"}\n', False),
        (OURS + '{"name": "../escape.tmp", "device": 0, "inode": 0, "directory": false}\n', False),
        (OURS + '{"name": "NAME", "device": 0, "inode": 0, "directory": true}\n', True),
        (OURS + '{"name": "NAME", "device": 0, "inode": 0, "directory": false}\n', True),
    ],
    ids=["not-json", "not-ours", "another-host", "outside-name", "not-a-directory", "another-inode"],
)
def test_a_journal_removes_only_what_it_proves_its_own(tmp_path, journal, is_ours):
    """A journal that is not wholly one of ours removes nothing; one of ours removes nothing
    whose inode (or kind) is not the one it recorded, and then goes itself."""
    import socket

    pid = 2**22 + 12345  # above Linux's largest pid: no such process
    name = f".tfkmeans-{pid}-abcdefgh.tmp.json"
    (tmp_path / name).write_text("keep")
    text = journal.replace("PID", str(pid)).replace("HOST", socket.gethostname()).replace("NAME", name)
    journal_name = f".tfkmeans-{pid}-abcdefgh.journal"
    (tmp_path / journal_name).write_text(text)
    assert _output.remove_stale_temporaries(str(tmp_path)) == 0
    assert listing(tmp_path) == sorted([name] + ([] if is_ours else [journal_name]))
    assert (tmp_path / name).read_text() == "keep"


# --- SavedModels -------------------------------------------------------------------------------


def test_an_export_onto_a_full_disk_is_one_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    from tfkmeans._tensorflow import tf

    def full(*args, **kwargs):
        raise tf.errors.ResourceExhaustedError(None, None, "saved_model.pb; No space left on device")

    monkeypatch.setattr(tf.saved_model, "save", full)
    with pytest.raises(OSError, match=r"export path .*model.*could not be written \(saved_model.pb; No space left"):
        _serving.export([[0.0, 0.0], [1.0, 1.0]], tmp_path / "model")
    assert listing(tmp_path) == []


def test_a_temporary_that_cannot_be_removed_keeps_its_journal_and_hides_no_error(tmp_path, monkeypatch):
    """Removing what was staged fails (the directory made read-only meanwhile, say): the error
    that stopped the run is the one raised, not one naming a temporary file, and the journal
    that lists the temporary file stays, for the next run to remove both."""
    import json

    remove = os.remove

    def refuse_temporaries(path, *args, **kwargs):
        if os.path.basename(path).endswith(".tmp.json"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return remove(path, *args, **kwargs)

    with pytest.raises(ValueError, match="what stopped the run"), _output.Outputs() as outputs:
        temporary = outputs.stage(tmp_path / "r.json")
        monkeypatch.setattr(os, "remove", refuse_temporaries)
        raise ValueError("what stopped the run")
    monkeypatch.undo()
    (journal,) = [name for name in listing(tmp_path) if name.endswith(".journal")]
    entries = [json.loads(line) for line in (tmp_path / journal).read_text().splitlines()]
    assert [entry.get("name") for entry in entries[1:]] == [os.path.basename(temporary)]
    assert sorted(listing(tmp_path)) == sorted([journal, os.path.basename(temporary)])


def test_an_export_onto_a_full_disk_names_no_temporary(tmp_path, monkeypatch):
    """TensorFlow names the file it failed to write, one of its own temporary files inside the
    export's temporary directory (as on a full tmpfs): the error says why, and names only the
    path given."""
    from tfkmeans._tensorflow import tf

    def full(module, path, **kwargs):
        raise tf.errors.ResourceExhaustedError(
            None,
            None,
            "{{function_node __wrapped__SaveV2_dtypes_1_device_/job:localhost/replica:0/task:0/device:CPU:0}} "
            f"{path}/variables/variables_temp/part-00000-of-00001.data-00000-of-00001.tempstate2065542574526676521; "
            "No space left on device [Op:SaveV2]",
        )

    monkeypatch.setattr(tf.saved_model, "save", full)
    with pytest.raises(OSError) as raised:
        _serving.export([[0.0, 0.0], [1.0, 1.0]], tmp_path / "model")
    assert str(raised.value) == (
        f"export path {str(tmp_path / 'model')!r}: the SavedModel could not be written (No space left on device); "
        "nothing was written"
    )
    assert listing(tmp_path) == []


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_an_export_into_a_directory_that_takes_no_file_is_a_value_error_naming_it():
    """/proc takes no file, even from root (for whom os.access says yes): a ValueError that names
    the path given, never a FileNotFoundError naming the export's journal."""
    from tfkmeans import KMeans

    model = KMeans(2, random_state=0).fit(np.arange(20.0).reshape(10, 2))
    with pytest.raises(ValueError) as raised:
        model.export("/proc/model")
    assert str(raised.value).startswith("export path '/proc/model': cannot write to the directory /proc (")
    assert ".tfkmeans-" not in str(raised.value)


def test_an_export_whose_path_is_taken_meanwhile_is_told_so_and_replaces_nothing(tmp_path, monkeypatch):
    """Another export (another thread, another process) takes the path while this one writes: the
    SavedModel that got there first is kept whole, and this export says the path exists (it
    never names its temporary directory)."""
    from tfkmeans._tensorflow import tf

    save = tf.saved_model.save

    def save_while_another_takes_the_path(module, path, **kwargs):
        save(module, path, **kwargs)
        (tmp_path / "model").mkdir()
        (tmp_path / "model" / "saved_model.pb").write_bytes(b"the other export's")

    monkeypatch.setattr(tf.saved_model, "save", save_while_another_takes_the_path)
    with pytest.raises(ValueError, match="already exists; give a new directory") as raised:
        _serving.export([[0.0, 0.0], [1.0, 1.0]], tmp_path / "model")
    assert ".tmp" not in str(raised.value)
    assert listing(tmp_path) == ["model"]
    assert (tmp_path / "model" / "saved_model.pb").read_bytes() == b"the other export's"
