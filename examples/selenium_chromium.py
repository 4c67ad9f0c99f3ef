"""Recipe: Selenium drives Chromium whose WebAuthn calls reach vauth in tester mode.

Debian's chromedriver (apt install chromium-driver: /usr/bin/chromedriver) is named explicitly,
so Selenium Manager never downloads a driver or a browser. The daemon is a tester-mode one of
its own (``vauth.testing.harness.VauthDaemon``: ephemeral, presence auto, its own directories
and port), reached through vauth's extension and native host; CDP's response override bits are
set over its HTTP API.

    python examples/selenium_chromium.py http://localhost:8000/   # a page of your site
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from vauth.testing.harness import VauthDaemon

ROOT = Path(__file__).resolve().parents[1]
EXTENSION = ROOT / "extension"
CHROMEDRIVER = "/usr/bin/chromedriver"
CREATE = """
const done = arguments[arguments.length - 1];
const random = (n) => crypto.getRandomValues(new Uint8Array(n));
navigator.credentials.create({publicKey: {
    rp: {name: "Example"}, user: {id: random(16), name: "alice", displayName: "Alice"},
    challenge: random(32), pubKeyCredParams: [{type: "public-key", alg: -7}],
    authenticatorSelection: {residentKey: "required"}}})
  .then(c => done({ok: true, id: c.id}), e => done({ok: false, name: e.name}));
"""


def browser(daemon: VauthDaemon) -> Any:
    """Chromium (new headless) with vauth's extension and its native host, for ``daemon``."""
    profile = Path(daemon.env["HOME"]) / "chromium"
    daemon.install_native_host(profile)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in (
        "--headless=new",
        "--no-sandbox",
        f"--user-data-dir={profile}",
        f"--disable-extensions-except={EXTENSION}",
        f"--load-extension={EXTENSION}",
    ):
        options.add_argument(argument)
    # The browser (and so the native host) inherits the daemon's directories from chromedriver.
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER, env=daemon.env))


def register(url: str) -> dict[str, Any]:
    """One registration at ``url`` (its origin must be one WebAuthn allows, e.g. localhost)."""
    with tempfile.TemporaryDirectory() as base, VauthDaemon.start(Path(base)) as daemon:
        driver = browser(daemon)
        try:
            driver.set_script_timeout(30)
            driver.get(url)
            result: dict[str, Any] = driver.execute_async_script(CREATE)
            result["stored"] = [c["userName"] for c in daemon.credentials()]
            return result
        finally:
            driver.quit()


if __name__ == "__main__":
    print(register(sys.argv[1] if len(sys.argv) > 1 else "http://localhost:8000/"))
