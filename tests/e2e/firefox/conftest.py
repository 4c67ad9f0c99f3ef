"""Firefox fixtures: Debian's firefox-esr, headless, driven over WebDriver BiDi by a small Node
driver (vauth/testing/browsers/firefox-driver/driver.mjs, puppeteer-core), with the Firefox add-on
(extension/firefox/assemble.sh) as a
temporary add-on and the native host installed where Firefox reads it: ~/.mozilla/ under the
test's HOME. One Firefox per module; each test gets its own daemon and a fresh vault.

Firefox's remote agent does not expose extension pages: the ceremony window is reached with a
frame script from Firefox's chrome (the remote agent's system access), and prompts are also
answered over the daemon's socket (`vauth prompts`), as a person can."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import support
from tests.e2e.conftest import PASSPHRASE, Environment, serve_rp
from tests.e2e.rp_server import RelyingParty
from vauth.testing.browsers import firefox as bidi  # not "firefox": the fixture below has that name
from vauth.testing.browsers.extension import firefox_addon

WINDOW_GONE_S = 20


def why_not() -> str | None:
    """Why the Firefox tests cannot run here (None when they can)."""
    return bidi.why_not()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = why_not()
    if reason is None:
        return
    for item in items:
        if "e2e/firefox" in item.nodeid:
            item.add_marker(pytest.mark.skip(reason=reason))


class Firefox(bidi.Firefox):
    """vauth.testing.browsers.firefox.Firefox in a test's Environment (its HOME, its directory)."""

    def __init__(self, environment: Environment, with_addon: bool = True) -> None:
        """Firefox with vauth's add-on (or, ``with_addon=False``, Firefox alone: the
        reference), and Firefox's own virtual authenticator either way."""
        addon = firefox_addon(environment.base / "addon") if with_addon else None
        super().__init__(environment.env, environment.base, addon)

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
