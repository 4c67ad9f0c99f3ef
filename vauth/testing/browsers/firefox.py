"""Debian's firefox-esr driven over WebDriver BiDi, for ``vauth_page`` and vauth's Firefox tests.

Playwright drives only its own patched Firefox builds, not a distribution's firefox-esr, so a
small Node driver does it (``firefox-driver/driver.mjs``, puppeteer-core over BiDi, one JSON
line per request and per reply). It ships inside the package with its package.json and
package-lock.json; its packages are installed once per user, by ``npm ci`` of that lock file,
into the cache (``$XDG_CACHE_HOME/vauth/firefox-driver/``), without a browser download and from
npm's own cache when it has them. ``why_not()`` says when Firefox cannot be driven here.

    with Firefox(env, workdir, firefox_addon()) as firefox:   # env: its HOME has the host
        page = firefox.new_page()
        page.goto("http://localhost:8000/")
        page.wait_for_function("typeof window.register === 'function'")
        page.evaluate("register('alice')")

``Page`` offers the small Playwright surface vauth's fixture tests use (goto, evaluate with an
optional argument, wait_for_function), so one test body runs in Chromium and in Firefox.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vauth import paths

DRIVER_SOURCE = Path(__file__).resolve().parent / "firefox-driver"  # package data
DRIVER_FILES = ("driver.mjs", "package.json", "package-lock.json")
REPLY_TIMEOUT_S = 90
NPM_TIMEOUT_S = 600
_MISSING: Any = object()
# Run in Firefox's privileged chrome window (nsIClearDataService), with the origins' list.
CLEAR_SITE_DATA = """async (origins) => {
  Services.cookies.removeAll();
  const flags = Ci.nsIClearDataService.CLEAR_ALL;
  for (const origin of origins) {
    const principal = Services.scriptSecurityManager.createContentPrincipalFromOrigin(origin);
    await new Promise((done) => Services.clearData.deleteDataFromPrincipal(
      principal, true, flags, done));
  }
}"""


class FirefoxError(RuntimeError):
    """The driver failed, stopped or did not answer in time (the message says which)."""


def firefox_executable() -> str:
    return shutil.which("firefox-esr") or "/usr/bin/firefox-esr"


def why_not(source: Path = DRIVER_SOURCE) -> str | None:
    """Why Firefox cannot be driven here (None when it can)."""
    if not Path(firefox_executable()).exists():
        return "Debian's firefox-esr is not installed (apt install firefox-esr)"
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are not installed (apt install nodejs npm): they run the BiDi driver"
    missing = [source / name for name in DRIVER_FILES if not (source / name).is_file()]
    if missing:
        return f"vauth's Firefox driver is incomplete ({missing[0]} is missing): reinstall vauth"
    return None


_npm_lock = threading.Lock()


def install_driver(source: Path = DRIVER_SOURCE) -> Path:
    """The runnable driver: the packaged one beside its node_modules, installed by ``npm ci``
    once per version of the driver into the user's cache (no browser download, no install
    scripts, npm's cache preferred so that a machine that has fetched the packages once
    needs no network). Safe when several test processes start at once."""
    digest = hashlib.sha256(b"".join((source / n).read_bytes() for n in DRIVER_FILES))
    home = paths.cache_dir() / "firefox-driver"
    target = home / digest.hexdigest()[:16]
    driver = target / "driver.mjs"
    if (target / "node_modules" / "puppeteer-core" / "package.json").is_file():
        return driver
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _npm_lock, _file_lock(home / ".lock"):
        if (target / "node_modules" / "puppeteer-core" / "package.json").is_file():
            return driver  # another process installed it meanwhile
        npm = shutil.which("npm")
        if npm is None:
            raise FirefoxError(
                "npm is not installed (apt install npm): vauth needs it once, to install its "
                "Firefox driver's packages (puppeteer-core)"
            )
        scratch = Path(tempfile.mkdtemp(prefix="install-", dir=home))
        try:
            for name in DRIVER_FILES:
                shutil.copyfile(source / name, scratch / name)
            _npm_ci(npm, scratch)
            shutil.rmtree(target, ignore_errors=True)
            scratch.rename(target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return driver


def _npm_ci(npm: str, where: Path) -> None:
    done = subprocess.run(  # noqa: S603 - npm ci of the packaged lock file
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline"],
        cwd=where,
        env={**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise FirefoxError(
            "npm could not install the Firefox driver's packages (puppeteer-core): it needs "
            f"the npm registry, or npm's cache, the first time. npm said:\n{tail}"
        )


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class Firefox:
    """firefox-esr behind driver.mjs: one JSON line per request, one per reply."""

    def __init__(self, env: dict[str, str], workdir: Path, addon: Path | None) -> None:
        """Firefox with the add-on in ``addon`` (None: Firefox alone, the reference), its
        profile under ``workdir``, and Firefox's own virtual authenticator either way. ``env``
        is Firefox's environment: its HOME is where Firefox reads the native host's manifest."""
        driver = install_driver()
        node = shutil.which("node")
        if node is None:
            raise FirefoxError("node is not installed (apt install nodejs)")
        self.process = subprocess.Popen(  # noqa: S603 - node running vauth's driver
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
        page = Page(self, self.request("open", url=url))
        page.visited.add(url)
        return page

    def clear_site_data(self, origins: list[str]) -> None:
        """Forget every cookie, and what these origins stored (storage, caches, service
        workers, permissions), as a fresh profile would not have it."""
        self.chrome(f"({CLEAR_SITE_DATA})({json.dumps(origins)})")

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
        self.visited: set[str] = set()  # the URLs it was sent to

    def goto(self, url: str) -> None:
        """Navigate and wait for the load event."""
        self.visited.add(url)
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
