"""The command never loses data: no output may name an input or another output, writes are
whole or not at all (all of a run's files, or none), a default name is never taken twice, and
what a killed run left behind is cleaned up. Faults are injected, not assumed."""

import errno
import json
import os
import threading

import numpy as np
import pytest

from conftest import error_lines, save_figure_new, write_json
from tfkmeans import _output


def refused(finished, words):
    assert finished.returncode == 2, finished.stdout + finished.stderr
    lines = error_lines(finished.stderr)
    assert len(lines) == 1 and words in lines[0], finished.stderr


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "in.npy"
    np.save(path, np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32))
    return path


@pytest.mark.parametrize("stream", [[], ["--stream"]])
@pytest.mark.parametrize("spelling", ["in.npy", "./in.npy", "{tmp}/in.npy", "sub/../in.npy", "link.npy", "hard.npy"])
def test_an_output_naming_the_input_is_refused_before_any_work(cli, tmp_path, data, spelling, stream):
    (tmp_path / "sub").mkdir()
    os.symlink(data, tmp_path / "link.npy")
    os.link(data, tmp_path / "hard.npy")
    before = data.read_bytes()
    finished = cli("--data", "in.npy", "--labels", spelling.format(tmp=tmp_path), "--save", "f.png", *stream)
    refused(finished, "is the same file as --data in.npy; nothing was written")
    assert data.read_bytes() == before
    assert not (tmp_path / "f.png").exists()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--animate", "x.gif", "--save", "x.gif"], "--animate x.gif: is the same file as --save x.gif"),
        (["--animate", "./x.gif", "--save", "x.gif"], "--animate ./x.gif: is the same file as --save x.gif"),
    ],
)
def test_two_outputs_naming_the_same_file_are_refused(cli, tmp_path, args, words):
    (tmp_path / "x.gif").write_bytes(b"keep")
    refused(cli(*args), words)
    assert (tmp_path / "x.gif").read_bytes() == b"keep"


def test_an_output_that_is_a_device_a_directory_or_unwritable_is_refused(cli, tmp_path):
    os.symlink("/dev/null", tmp_path / "null.json")
    refused(cli("--output", "null.json"), "--output null.json: exists and is not a regular file")
    (tmp_path / "dir.json").mkdir()
    refused(cli("--output", "dir.json"), "--output dir.json: is a directory")
    refused(cli("--output", "/proc/result.json"), "--output /proc/result.json: cannot write to the directory /proc")
    refused(cli("--save", "/sys/figure.png"), "--save /sys/figure.png: cannot write to the directory /sys")
    assert os.path.islink(tmp_path / "null.json") and os.readlink(tmp_path / "null.json") == "/dev/null"


def fail_when(monkeypatch, module, name, error):
    """Make ``module.name`` raise ``error`` after it has started writing."""
    original = getattr(module, name)

    def failing(*args, **kwargs):
        original(*args, **kwargs)
        raise error

    monkeypatch.setattr(module, name, failing)


@pytest.mark.parametrize(
    "error, status, words",
    [
        (OSError(errno.ENOSPC, "No space left on device"), 2, "No space left on device"),
        (KeyboardInterrupt(), 130, "interrupted; no output file was written or changed"),
    ],
)
def test_a_run_that_fails_while_writing_changes_no_file(cli, tmp_path, monkeypatch, error, status, words):
    """The figure is the last file written: when drawing it fails (a full disk, Ctrl-C), the
    JSON and labels already written to temporary files must not replace the old ones, and no
    temporary file may be left."""
    old = {"result.json": b'{"old": true}\n', "labels.npy": b"old labels", "figure.png": b"old figure"}
    for name, content in old.items():
        (tmp_path / name).write_bytes(content)
    fail_when(monkeypatch, _output, "draw_figure", error)
    finished = cli("--output", "result.json", "--labels", "labels.npy", "--save", "figure.png")
    assert finished.returncode == status
    assert words in finished.stderr and len(error_lines(finished.stderr)) == 1
    for name, content in old.items():
        assert (tmp_path / name).read_bytes() == content
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(old)


def test_write_json_failing_midway_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "result.json"
    path.write_text('{"old": true}\n')

    def half_then_fail(temporary, text):
        with open(temporary, "w") as handle:
            handle.write(text[: len(text) // 2])
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(_output, "write_text", half_then_fail)
    with pytest.raises(OSError):
        write_json(path, {"new": list(range(1000))})
    assert path.read_text() == '{"old": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_json_is_strict(tmp_path):
    with pytest.raises(ValueError, match="'inertia' holds NaN or infinity"):
        write_json(tmp_path / "r.json", {"centroids": [[1.0]], "inertia": [1.0, float("inf")]})
    assert not (tmp_path / "r.json").exists()


def test_default_figure_names_are_taken_once_even_at_the_same_time(tmp_path):
    """Eight figures saved at once to the default name: eight different files, and the file
    that was there first is untouched."""
    import matplotlib.pyplot as plt

    (tmp_path / "tfkmeans.png").write_bytes(b"mine")
    figures = [plt.figure() for _ in range(8)]
    names = []
    start = threading.Barrier(8)

    def save(figure):
        start.wait()
        names.append(save_figure_new(figure, "tfkmeans", directory=str(tmp_path)))

    threads = [threading.Thread(target=save, args=(figure,)) for figure in figures]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    plt.close("all")
    assert len(set(names)) == 8 and str(tmp_path / "tfkmeans.png") not in names
    assert (tmp_path / "tfkmeans.png").read_bytes() == b"mine"
    assert {p.name for p in tmp_path.iterdir()} == {"tfkmeans.png"} | {f"tfkmeans-{n}.png" for n in range(2, 10)}


def test_outputs_are_put_in_place_together(tmp_path):
    """Staged files replace their destinations only at commit, in the order staged."""
    outputs = _output.Outputs()
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    _output.write_text(outputs.stage(first), "a")
    _output.write_text(outputs.stage(second), "b")
    assert not first.exists() and not second.exists()
    outputs.commit()
    assert first.read_text() == "a" and second.read_text() == "b"
    with _output.Outputs() as abandoned:
        _output.write_text(abandoned.stage(first), "new")
    assert first.read_text() == "a" and sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]


def test_export_never_overwrites_and_names_its_problems(tmp_path):
    from sklearn.exceptions import NotFittedError

    from tfkmeans import KMeans

    with pytest.raises(NotFittedError):
        KMeans(2).export(tmp_path / "model")
    model = KMeans(2, random_state=0).fit(np.arange(20.0).reshape(10, 2))
    with pytest.raises(ValueError, match="export path is empty"):
        model.export("")
    (tmp_path / "taken").mkdir()
    with pytest.raises(ValueError, match="already exists"):
        model.export(tmp_path / "taken")
    with pytest.raises(ValueError, match="does not exist"):
        model.export(tmp_path / "no" / "model")


def test_json_output_of_a_run_parses_strictly(cli, tmp_path):
    assert cli("--output", "r.json", "--save", "f.png").returncode == 0
    json.loads((tmp_path / "r.json").read_text(), parse_constant=lambda constant: 1 / 0)
