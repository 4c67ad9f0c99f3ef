"""examples/selenium_chromium.py: Selenium with Debian's chromedriver (never Selenium Manager),
Chromium's WebAuthn calls reaching a tester-mode vauth through the extension."""

from __future__ import annotations

import importlib.util
import os

import pytest

from tests import support
from tests.e2e.rp_server import RelyingParty

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.access("/usr/bin/chromedriver", os.X_OK),
        reason="needs Debian's chromedriver (apt install chromium-driver)",
    ),
]


def test_selenium_example_registers_with_vauth(rp: RelyingParty) -> None:
    pytest.importorskip("selenium")
    spec = importlib.util.spec_from_file_location(
        "selenium_chromium", support.ROOT / "examples" / "selenium_chromium.py"
    )
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.register(rp.origin)
    assert result["ok"], result
    assert result["stored"] == ["alice"]
