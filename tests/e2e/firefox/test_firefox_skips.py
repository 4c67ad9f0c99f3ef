"""Without firefox-esr, node or the driver, the Firefox tests skip and say why (and what to
install)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.firefox import conftest
from vauth.testing.browsers import firefox as bidi


def test_says_why_it_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    assert conftest.why_not() is None  # here they can
    monkeypatch.setattr(bidi, "firefox_executable", lambda: "/nonexistent/firefox-esr")
    assert conftest.why_not() == "Debian's firefox-esr is not installed (apt install firefox-esr)"
    monkeypatch.undo()
    real_which = bidi.shutil.which
    monkeypatch.setattr(bidi.shutil, "which", lambda n: None if n == "node" else real_which(n))
    reason = conftest.why_not()
    assert reason is not None and "apt install nodejs npm" in reason
    monkeypatch.undo()
    reason = bidi.why_not(Path("/nonexistent"))
    assert reason is not None and "reinstall vauth" in reason
