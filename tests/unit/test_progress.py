from __future__ import annotations

import io
import sys

from loopkit_privacy import _progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bars_only_on_a_terminal_and_when_not_silenced(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not _progress.enabled()
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    assert _progress.enabled()
    assert not _progress.enabled(quiet=True)
    monkeypatch.setenv("LOOPKIT_PRIVACY_PROGRESS", "0")
    assert not _progress.enabled()
    monkeypatch.delenv("LOOPKIT_PRIVACY_PROGRESS")
    with _progress.progress(total=3, desc="work") as bar:
        bar.update(3)
    assert "work" in tty.getvalue()
    silent = io.StringIO()
    monkeypatch.setattr(sys, "stderr", silent)
    assert list(_progress.progress(range(3), desc="quiet")) == [0, 1, 2]
    assert silent.getvalue() == ""
