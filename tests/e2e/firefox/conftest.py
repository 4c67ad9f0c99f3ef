"""Firefox fixtures: Debian's firefox-esr, headless, driven over WebDriver BiDi by a small Node
driver (driver.mjs, puppeteer-core), with the Firefox add-on (extension/firefox/assemble.sh) as a
temporary add-on and the native host installed where Firefox reads it: ~/.mozilla/ under the
test's HOME. One Firefox per module; each test gets its own daemon and a fresh vault.

Firefox's remote agent does not expose extension pages: the ceremony window is reached with a
frame script from Firefox's chrome (the remote agent's system access), and prompts are also
answered over the daemon's socket (`vauth prompts`), as a person can."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import support
from tests.e2e.conftest import PASSPHRASE, Environment, serve_rp
from tests.e2e.rp_server import RelyingParty

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
FIREFOX = shutil.which("firefox-esr") or "/usr/bin/firefox-esr"
NODE = shutil.which("node")
NPM = shutil.which("npm")
REPLY_TIMEOUT_S = 90
WINDOW_GONE_S = 20
collect_ignore = ["node_modules"]


def why_not() -> str | None:
    """Why the Firefox tests cannot run here (None when they can)."""
    if not Path(FIREFOX).exists():
        return "Debian's firefox-esr is not installed (apt install firefox-esr)"
    if NODE is None or NPM is None:
        return "node and npm are not installed (apt install nodejs npm): they run the BiDi driver"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = why_not()
    if reason is None:
        return
    for item in items:
        if "e2e/firefox" in item.nodeid:
            item.add_marker(pytest.mark.skip(reason=reason))


_npm_lock = threading.Lock()


def install_driver() -> None:
    """`npm ci` once into this directory (no browser download: Debian's firefox-esr is used)."""
    with _npm_lock:
        if (HERE / "node_modules" / "puppeteer-core").is_dir():
            return
        assert NPM is not None
        done = subprocess.run(
            [NPM, "ci", "--no-audit", "--no-fund"],
            cwd=HERE,
            env={**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"},
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci for the Firefox driver failed:\n{done.stderr}")


class Firefox:
    """firefox-esr behind driver.mjs: one JSON line per request, one per reply."""

    def __init__(self, environment: Environment, with_addon: bool = True) -> None:
        """Firefox with vauth's add-on (or, ``with_addon=False``, Firefox alone: the
        reference), and Firefox's own virtual authenticator either way."""
        install_driver()
        addon = environment.base / "addon"
        if with_addon:
            subprocess.run(
                ["sh", str(ROOT / "extension" / "firefox" / "assemble.sh"), str(addon)],
                check=True,
                capture_output=True,
            )
        assert NODE is not None
        self.process = subprocess.Popen(
            [
                NODE,
                str(HERE / "driver.mjs"),
                FIREFOX,
                str(addon) if with_addon else "-",
                str(environment.base / "ff"),
            ],
            env=environment.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.next_id = 0
        # Replies are read on a thread, so that a Firefox that hangs fails the test in time.
        self.replies: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        ready = self._line()
        assert ready.get("ready"), ready
        self.version: str = ready["version"]
        self.authenticator: str = ready["authenticator"]  # Firefox's own virtual authenticator

    def own_credentials(self) -> str:
        """The rpIds of the credentials in Firefox's own virtual authenticator (JSON)."""
        return self.chrome(  # type: ignore[no-any-return]
            'JSON.stringify(Cc["@mozilla.org/webauthn/service;1"]'
            ".getService(Ci.nsIWebAuthnService)"
            f'.getCredentials("{self.authenticator}").map(c => c.rpId))'
        )

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.replies.put(line)
        self.replies.put("")

    def _line(self) -> dict[str, Any]:
        try:
            line = self.replies.get(timeout=REPLY_TIMEOUT_S)
        except queue.Empty:
            raise AssertionError(f"Firefox did not answer in {REPLY_TIMEOUT_S} s") from None
        if not line:
            raise AssertionError(f"the Firefox driver stopped (exit {self.process.wait(10)})")
        return json.loads(line)  # type: ignore[no-any-return]

    def request(self, op: str, **params: Any) -> Any:
        assert self.process.stdin is not None
        self.next_id += 1
        self.process.stdin.write(json.dumps({"id": self.next_id, "op": op, **params}) + "\n")
        self.process.stdin.flush()
        reply = self._line()
        assert reply.get("id") == self.next_id, reply
        if "error" in reply:
            raise AssertionError(f"Firefox driver: {reply['error']}")
        return reply["result"]

    def chrome(self, expression: str) -> Any:
        """``expression`` evaluated in Firefox's privileged chrome window."""
        return self.request("chrome", expression=expression)

    def window(self, expression: str) -> Any:
        """``expression`` evaluated in vauth's ceremony window (``document`` is its document);
        None when no ceremony window is open."""
        return self.request("window", expression=expression)

    def open(self, url: str) -> Page:
        """A new tab at ``url``, in Firefox's main window. BiDi's browsingContext.create puts a
        new tab in the focused window, and while a ceremony window (a popup) from an earlier
        test is still closing, that is the ceremony window: the page became a second tab there,
        and vauth's backstop, which removes the ceremony's window 1.5 s after the ceremony,
        closed the test's page with it. So wait for the earlier window to be gone first."""
        deadline = time.monotonic() + WINDOW_GONE_S
        while self.window("true") is not None:
            if time.monotonic() > deadline:
                raise AssertionError(f"a ceremony window was still open after {WINDOW_GONE_S} s")
            time.sleep(0.1)
        return Page(self, self.request("open", url=url))

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


class Page:
    def __init__(self, firefox: Firefox, page: int) -> None:
        self.firefox = firefox
        self.page = page

    def evaluate(self, expression: str, frame: str | None = None) -> Any:
        """The value of ``expression`` in the page (or its frame named ``frame``), a promise
        awaited."""
        return self.firefox.request("evaluate", page=self.page, expression=expression, frame=frame)

    def close(self) -> None:
        self.firefox.request("close", page=self.page)


@pytest.fixture(scope="module")
def firefox_environment(tmp_path_factory: pytest.TempPathFactory) -> Environment:
    base = tmp_path_factory.mktemp("firefox")
    environment = Environment(base, support.environment(base, PASSPHRASE))
    environment.cli("native-host", "install", "--browser", "firefox")
    return environment


@pytest.fixture(scope="module")
def firefox(firefox_environment: Environment) -> Iterator[Firefox]:
    browser = Firefox(firefox_environment)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="module")
def rp() -> Iterator[RelyingParty]:
    with serve_rp() as party:
        yield party


@pytest.fixture
def environment(firefox_environment: Environment) -> Iterator[Environment]:
    """The module's environment (Firefox's HOME and native host), with a fresh vault per test."""
    yield firefox_environment
    shutil.rmtree(Path(firefox_environment.env["XDG_DATA_HOME"]), ignore_errors=True)


@pytest.fixture
def start_daemon(environment: Environment, rp: RelyingParty) -> Iterator[Any]:
    daemons: list[support.Daemon] = []

    def start(*args: str) -> support.Daemon:
        daemon = support.Daemon(environment.base, *args, env=environment.env)
        daemons.append(daemon)
        return daemon

    yield start
    for daemon in daemons:
        daemon.stop()
    rp.users.clear()
    rp.credentials.clear()
