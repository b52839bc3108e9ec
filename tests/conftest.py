"""Shared set-up: the lesson files on sys.path, quiet TensorFlow, and ways to run the lesson's
scripts and the package's command as a user runs them."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the lesson's functions.py and lesson_cli.py
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")


def headless_environment():
    """The environment of a server or CI job: no display, matplotlib's default backend choice."""
    environment = {
        key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")
    }
    environment["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return environment


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
