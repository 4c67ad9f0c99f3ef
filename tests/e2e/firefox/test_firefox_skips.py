"""Without firefox-esr or node, the Firefox tests skip and say why (and what to install)."""

from __future__ import annotations

import pytest

from tests.e2e.firefox import conftest


def test_says_why_it_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "FIREFOX", "/nonexistent/firefox-esr")
    assert conftest.why_not() == "Debian's firefox-esr is not installed (apt install firefox-esr)"
    monkeypatch.undo()
    monkeypatch.setattr(conftest, "NODE", None)
    reason = conftest.why_not()
    assert reason is not None and "apt install nodejs npm" in reason
