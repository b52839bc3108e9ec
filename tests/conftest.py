"""Shared set-up: the lesson files on sys.path, quiet TensorFlow, a compile cache of the tests'
own, and ways to run the lesson's scripts and the package's command as a user runs them."""

import atexit
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the lesson's functions.py and lesson_cli.py
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
# The tests' compiled programs (tens of megabytes a run) are kept in this checkout, not in the
# user's cache directory, where the package keeps them by default (TensorFlow 2.21 on); a later
# run reuses them.
from tfkmeans import _compile_cache  # noqa: E402 - imports no TensorFlow

if _compile_cache.quiet():
    VERSION = _compile_cache.tensorflow_version()
    os.environ.setdefault(_compile_cache.COMPILE_CACHE, str(REPO / ".pytest_cache" / "tfkmeans-xla" / VERSION))


# The temporary directory of every process a test starts. TensorFlow's autograph writes a source
# file there for each converted function and removes it at a normal exit; a child the tests kill
# (SIGKILL, to prove a resume) cannot, so its files land here and go with this directory when the
# test process ends, not in the machine's /tmp.
CHILD_TEMP = tempfile.mkdtemp(prefix="tfkmeans-tests-")
atexit.register(shutil.rmtree, CHILD_TEMP, ignore_errors=True)


def headless_environment():
    """The environment of a server or CI job: no display, matplotlib's default backend choice,
    temporary files in ``CHILD_TEMP``."""
    environment = {
        key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")
    }
    environment["TF_CPP_MIN_LOG_LEVEL"] = "3"
    environment["TMPDIR"] = CHILD_TEMP
    return environment


def free_ports(count):
    """``count`` localhost ports free a moment ago (bound, read and released)."""
    sockets = [socket.socket() for _ in range(count)]
    for each in sockets:
        each.bind(("localhost", 0))
    ports = [each.getsockname()[1] for each in sockets]
    for each in sockets:
        each.close()
    return ports


def localhost_workers(directory, script, arguments=(), count=2, timeout=300):
    """Run ``script`` (Python source, written to ``directory``/worker.py) as ``count``
    MultiWorkerMirroredStrategy workers on free localhost ports, each with its ``TF_CONFIG``;
    wait for all of them (at most ``timeout`` seconds), kill any left, and return each one's
    ``(returncode, stdout, stderr)``."""
    (Path(directory) / "worker.py").write_text(textwrap.dedent(script))
    workers = [f"localhost:{port}" for port in free_ports(count)]
    processes = []
    try:
        for index in range(count):
            environment = headless_environment()
            environment["TF_CONFIG"] = json.dumps(
                {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            )
            processes.append(
                subprocess.Popen(
                    [sys.executable, "worker.py", *map(str, arguments)], cwd=directory, env=environment,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                )
            )  # fmt: skip
        outputs = [process.communicate(timeout=timeout) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert all(process.poll() is not None for process in processes)  # nothing left running
    return [(process.returncode, stdout, stderr) for process, (stdout, stderr) in zip(processes, outputs)]


def console_command():
    """The installed ``tfkmeans`` command of this Python's environment."""
    command = Path(sys.executable).parent / "tfkmeans"
    if not command.exists():
        command = shutil.which("tfkmeans")
    assert command, "the tfkmeans command is not installed: pip install -e ."
    return str(command)


def run_headless(command, cwd):
    """Run ``command`` in ``cwd`` as a user on a server would: headless, output captured."""
    return subprocess.run(
        [*map(str, command)], cwd=cwd, env=headless_environment(), capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def run_script(tmp_path):
    """Run ``python <lesson script> <args>`` in an empty directory, headless."""
    return lambda script, *args, cwd=None: run_headless([sys.executable, REPO / script, *args], cwd or tmp_path)


@pytest.fixture
def run_command(tmp_path):
    """Run the installed ``tfkmeans <args>`` in an empty directory (not the repository), headless."""
    return lambda *args, cwd=None: run_headless([console_command(), *args], cwd or tmp_path)


def run_python(code, cwd, timeout=300, environment=None):
    """Run ``python -c code`` in ``cwd`` in a fresh process, headless; the test fails with its
    stderr unless it succeeds. Returns what it printed."""
    finished = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=environment or headless_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return finished.stdout


def error_lines(stderr):
    """stderr without TensorFlow's start-up notices, which it prints before our code runs."""
    notices = ("WARNING: All log messages", "I0000", "E0000", "W0000")
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith(notices)]


class Finished:
    """What a command run in this process gave: like ``subprocess.CompletedProcess``."""

    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """Run ``tfkmeans <args>`` in this process (``tfkmeans.cli.main``), in an empty directory,
    headless: the same code the installed command runs, without a new interpreter importing
    TensorFlow each time. ``cli(*args, cwd=...)`` returns a ``Finished``."""
    from tfkmeans.cli import main

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)

    def run(*args, cwd=None):
        import matplotlib.pyplot as plt

        monkeypatch.chdir(cwd or tmp_path)
        capsys.readouterr()
        status = main([str(argument) for argument in args])
        plt.close("all")
        captured = capsys.readouterr()
        return Finished(status, captured.out, captured.err)

    return run


@pytest.fixture
def lesson_script(tmp_path, monkeypatch, capsys):
    """Run a lesson script in this process, as ``python <script> <args>`` from an empty
    directory would (``__main__``, ``sys.argv``), headless. Returns a ``Finished``; a script's
    exit status comes from ``SystemExit``."""
    import runpy

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)

    def run(script, *args, cwd=None):
        import matplotlib.pyplot as plt

        monkeypatch.chdir(cwd or tmp_path)
        monkeypatch.setattr(sys, "argv", [str(REPO / script), *map(str, args)])
        capsys.readouterr()
        status = 0
        try:
            runpy.run_path(str(REPO / script), run_name="__main__")
        except SystemExit as exit:
            status = exit.code if isinstance(exit.code, int) else 1
        plt.close("all")
        captured = capsys.readouterr()
        return Finished(status, captured.out, captured.err)

    return run


def same_message(ours, theirs):
    """scikit-learn's message, but that KMeans takes one start more, "k-means||": a message that
    lists the starts names it too, among the others (in a set's order, which may differ)."""

    def options_sorted(message):
        return re.sub(
            r"must be a str among \{([^}]*)\}",
            lambda found: (
                "must be a str among {"
                + ", ".join(sorted(option for option in found.group(1).split(", ") if option != "'k-means||'"))
                + "}"
            ),
            str(message),
        )

    return options_sorted(ours) == options_sorted(theirs)


def write_json(path, result):
    """Strict JSON written whole or not at all, as the command writes --output: from
    ``_output``'s own parts (an atomic write of its strict JSON text)."""
    from tfkmeans import _output

    text = _output.json_text(result)
    with _output.atomic_write(path) as temporary:
        _output.write_text(temporary, text)


def save_figure_new(figure, stem, extension=".png", directory="."):
    """A figure under the first free default name, as the command saves it without --save and
    without a display: ``_output.Outputs``' own ``stage_new`` and ``commit``."""
    from tfkmeans import _output

    with _output.Outputs() as outputs:
        temporary = outputs.stage_new(stem, extension, directory)
        _output.draw_figure(figure, temporary, extension.lstrip("."))
        outputs.commit()
        return outputs.placed(temporary)
