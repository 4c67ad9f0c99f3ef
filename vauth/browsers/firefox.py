"""Debian's firefox-esr driven over WebDriver BiDi, for ``vauth_page`` and vauth's Firefox tests.

Playwright drives only its own patched Firefox builds, not a distribution's firefox-esr, so a
small Node driver does it (``driver.mjs``, puppeteer-core over BiDi, one JSON line per request
and per reply). The driver lives in a source checkout, at tests/e2e/firefox/driver.mjs (its
``npm ci`` runs on first use, without a browser download); ``why_not()`` says when it cannot run.

    with Firefox(env, workdir) as firefox:          # env: its HOME holds the native host
        page = firefox.new_page()
        page.goto("http://localhost:8000/")
        page.wait_for_function("typeof window.register === 'function'")
        page.evaluate("register('alice')")

``Page`` offers the small Playwright surface vauth's fixture tests use (goto, evaluate with an
optional argument, wait_for_function), so one test body runs in Chromium and in Firefox.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]  # a source checkout's root
DRIVER = ROOT / "tests" / "e2e" / "firefox" / "driver.mjs"
ASSEMBLE = ROOT / "extension" / "firefox" / "assemble.sh"
REPLY_TIMEOUT_S = 90
_MISSING: Any = object()


class FirefoxError(RuntimeError):
    """The driver failed, stopped or did not answer in time (the message says which)."""


def firefox_executable() -> str:
    return shutil.which("firefox-esr") or "/usr/bin/firefox-esr"


def why_not(driver: Path = DRIVER) -> str | None:
    """Why Firefox cannot be driven here (None when it can)."""
    if not Path(firefox_executable()).exists():
        return "Debian's firefox-esr is not installed (apt install firefox-esr)"
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are not installed (apt install nodejs npm): they run the BiDi driver"
    if not driver.exists() or not ASSEMBLE.exists():
        return f"the Firefox driver needs vauth's source checkout ({driver} is missing)"
    return None


_npm_lock = threading.Lock()


def install_driver(driver: Path = DRIVER) -> None:
    """`npm ci` once beside the driver (no browser download: Debian's firefox-esr is used)."""
    here = driver.parent
    with _npm_lock:
        if (here / "node_modules" / "puppeteer-core").is_dir():
            return
        npm = shutil.which("npm")
        if npm is None:
            raise FirefoxError("npm is not installed (apt install npm)")
        done = subprocess.run(  # noqa: S603 - npm ci of the checked-in lock file
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=here,
            env={**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"},
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            raise FirefoxError(f"npm ci for the Firefox driver failed:\n{done.stderr}")


def assemble_addon(out: Path) -> Path:
    """vauth's Firefox add-on assembled into ``out`` (extension/firefox/assemble.sh)."""
    command = ["sh", str(ASSEMBLE), str(out)]  # the checkout's own script
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603
    return out


class Firefox:
    """firefox-esr behind driver.mjs: one JSON line per request, one per reply."""

    def __init__(
        self, env: dict[str, str], workdir: Path, addon: Path | None, driver: Path = DRIVER
    ) -> None:
        """Firefox with the add-on in ``addon`` (None: Firefox alone, the reference), its
        profile under ``workdir``, and Firefox's own virtual authenticator either way. ``env``
        is Firefox's environment: its HOME is where Firefox reads the native host's manifest."""
        install_driver(driver)
        node = shutil.which("node")
        if node is None:
            raise FirefoxError("node is not installed (apt install nodejs)")
        self.process = subprocess.Popen(  # noqa: S603 - node running the checkout's driver
            [node, str(driver), firefox_executable(), str(addon or "-"), str(workdir / "ff")],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.next_id = 0
        # Replies are read on a thread, so that a Firefox that hangs fails the test in time.
        self.replies: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        ready = self._line()
        if not ready.get("ready"):
            raise FirefoxError(f"the Firefox driver did not start: {ready}")
        self.version: str = ready["version"]
        self.authenticator: str = ready["authenticator"]  # Firefox's own virtual authenticator

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.replies.put(line)
        self.replies.put("")

    def _line(self) -> dict[str, Any]:
        try:
            line = self.replies.get(timeout=REPLY_TIMEOUT_S)
        except queue.Empty:
            raise FirefoxError(f"Firefox did not answer in {REPLY_TIMEOUT_S} s") from None
        if not line:
            raise FirefoxError(f"the Firefox driver stopped (exit {self.process.wait(10)})")
        return json.loads(line)  # type: ignore[no-any-return]

    def request(self, op: str, **params: Any) -> Any:
        assert self.process.stdin is not None
        self.next_id += 1
        self.process.stdin.write(json.dumps({"id": self.next_id, "op": op, **params}) + "\n")
        self.process.stdin.flush()
        reply = self._line()
        if reply.get("id") != self.next_id:
            raise FirefoxError(f"the Firefox driver answered out of turn: {reply}")
        if "error" in reply:
            raise FirefoxError(f"Firefox driver: {reply['error']}")
        return reply["result"]

    def chrome(self, expression: str) -> Any:
        """``expression`` evaluated in Firefox's privileged chrome window."""
        return self.request("chrome", expression=expression)

    def window(self, expression: str) -> Any:
        """``expression`` evaluated in vauth's ceremony window (``document`` is its document);
        None when no ceremony window is open."""
        return self.request("window", expression=expression)

    def own_credentials(self) -> str:
        """The rpIds of the credentials in Firefox's own virtual authenticator (JSON)."""
        return self.chrome(  # type: ignore[no-any-return]
            'JSON.stringify(Cc["@mozilla.org/webauthn/service;1"]'
            ".getService(Ci.nsIWebAuthnService)"
            f'.getCredentials("{self.authenticator}").map(c => c.rpId))'
        )

    def new_page(self, url: str = "about:blank") -> Page:
        """A new tab (Playwright's ``context.new_page()``), at ``url``."""
        return Page(self, self.request("open", url=url))

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def __enter__(self) -> Firefox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    """A tab, with Playwright's names: goto, evaluate, wait_for_function, close."""

    def __init__(self, firefox: Firefox, page: int) -> None:
        self.firefox = firefox
        self.page = page

    def goto(self, url: str) -> None:
        """Navigate and wait for the load event."""
        self.firefox.request("goto", page=self.page, url=url)

    def evaluate(self, expression: str, arg: Any = _MISSING, *, frame: str | None = None) -> Any:
        """The value of ``expression`` in the page (or its frame named ``frame``), a promise
        awaited; with ``arg`` (JSON), ``expression`` is a function called with it, as
        Playwright's ``page.evaluate(expression, arg)``."""
        if arg is not _MISSING:
            expression = f"({expression})({json.dumps(arg)})"
        return self.firefox.request("evaluate", page=self.page, expression=expression, frame=frame)

    def wait_for_function(self, expression: str, timeout: float = 30_000) -> Any:
        """Wait until ``expression`` is truthy in the page (``timeout`` in ms, as Playwright's);
        its value."""
        deadline = time.monotonic() + timeout / 1000
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise FirefoxError(f"{expression!r} stayed falsy for {timeout / 1000:g} s")
            time.sleep(0.1)

    def close(self) -> None:
        self.firefox.request("close", page=self.page)
