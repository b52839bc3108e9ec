"""When the scripts open a window and when they save the figure instead."""

from lesson_cli import has_display

import matplotlib
import pytest


@pytest.mark.parametrize(
    "backend, environment, expected",
    [
        ("agg", {"DISPLAY": ":0"}, False),  # a non-interactive backend never shows a window
        ("pdf", {}, False),
        ("tkagg", {}, False),  # Linux without a display
        ("tkagg", {"DISPLAY": ":0"}, True),
        ("qtagg", {"WAYLAND_DISPLAY": "wayland-0"}, True),
        ("module://matplotlib_inline.backend_inline", {}, True),  # a notebook draws inline
    ],
)
def test_has_display(monkeypatch, backend, environment, expected):
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.setattr(matplotlib, "get_backend", lambda: backend)
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert has_display() is expected
