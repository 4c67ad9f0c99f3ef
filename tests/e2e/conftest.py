"""End-to-end fixtures: Debian's chromium (new headless) with the real extension, the real
native host and a real `vauth serve`, in front of a relying party on 127.0.0.1."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests import support
from tests.e2e.rp_server import RelyingParty

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "extension"
EXTENSION_ID = "bompmoifgjflchfcefcfnmejiaempafp"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
PASSPHRASE = "e2e passphrase"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]
EXTENSION_ARGS = [f"--disable-extensions-except={EXTENSION}", f"--load-extension={EXTENSION}"]

E2E = Path(__file__).parent
FIREFOX_TESTS = E2E / "firefox"


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e/ drives a real browser: marked e2e here, for each module (a
    ``pytestmark`` in a conftest marks nothing: pytest reads it in test modules only). This
    hook sees the whole session's items, so it picks out its own."""
    skip = None
    if not Path(CHROMIUM).exists():
        skip = pytest.mark.skip(reason="Debian's chromium is not installed (apt install chromium)")
    for item in items:
        if E2E not in item.path.parents:
            continue
        item.add_marker(pytest.mark.e2e)
        if skip is not None and FIREFOX_TESTS not in item.path.parents:
            item.add_marker(skip)


@dataclass
class Environment:
    base: Path
    env: dict[str, str]

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return support.cli(self.env, *args, check=check)


@pytest.fixture
def environment(tmp_path: Path) -> Environment:
    return Environment(tmp_path, support.environment(tmp_path, PASSPHRASE))


class Daemon(support.Daemon):
    def __init__(self, environment: Environment, *args: str) -> None:
        super().__init__(environment.base, *args, env=environment.env)


@pytest.fixture
def start_daemon(environment: Environment) -> Iterator[Any]:
    daemons: list[Daemon] = []

    def start(*args: str) -> Daemon:
        daemon = Daemon(environment, *args)
        daemons.append(daemon)
        return daemon

    yield start
    for daemon in daemons:
        daemon.stop()


@pytest.fixture
def rp() -> Iterator[RelyingParty]:
    """The relying party, on its own event loop in a thread."""
    with serve_rp() as party:
        yield party


@contextmanager
def serve_rp() -> Iterator[RelyingParty]:
    """Run a relying party on 127.0.0.1 (origin http://localhost:PORT) until the block ends."""
    party = RelyingParty()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner = web.AppRunner(party.app())
    port: list[int] = []

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop)
    assert ready.wait(10)
    party.origin = f"http://localhost:{port[0]}"
    yield party
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    """Playwright for a module that launches browsers of its own (one driver per module: its
    sync API allows one per thread)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    """The relying party's origin, one for a module's comparisons."""
    with serve_rp() as party:
        yield party.origin


@pytest.fixture
def mode() -> str:
    """How vauth reaches pages: "page" (its page script, the default) or "proxy"
    (chrome.webAuthenticationProxy). A test module parametrizes this to run in both."""
    return "page"


@pytest.fixture
def browser(environment: Environment, mode: str) -> Iterator[Any]:
    """A persistent Chromium context with the extension and the native host installed, in
    `mode`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = launch_with_extension(playwright, environment)
        try:
            if mode == "proxy":
                assert switch_proxy_mode(context, on=True) == "on"
            yield context
        finally:
            context.close()


def switch_proxy_mode(context: Any, *, on: bool) -> str:
    """Flip the popup's "vauth answers every passkey request in this browser" switch as a person
    would; the popup's note then says what holds: "on", "off", "held" or "unsupported"."""
    popup = context.new_page()
    popup.goto(f"chrome-extension://{EXTENSION_ID}/popup/popup.html")
    popup.wait_for_selector("#proxy-note[data-state]")
    if popup.is_checked("#proxy-switch") != on:
        previous = popup.get_attribute("#proxy-note", "data-state")
        popup.click("#proxy-switch")
        # (a selector, not wait_for_function: the popup's CSP forbids evaluating strings)
        popup.wait_for_selector(f"#proxy-note:not([data-state='{previous}'])")
    state = str(popup.get_attribute("#proxy-note", "data-state"))
    popup.close()
    return state


def launch_with_extension(playwright: Any, environment: Environment, *others: Path) -> Any:
    """Chromium (a persistent profile under the environment) with the extension loaded and
    the native host installed for it; `others`: more unpacked extensions to load, first."""
    user_data = environment.base / "chromium"
    extensions = ",".join(str(path) for path in [*others, EXTENSION])
    environment.cli(
        "native-host", "install", "--browser", "chromium", "--user-data-dir", str(user_data)
    )
    return playwright.chromium.launch_persistent_context(
        str(user_data),
        executable_path=CHROMIUM,
        headless=False,
        env=environment.env,
        args=[
            *CHROMIUM_ARGS,
            f"--disable-extensions-except={extensions}",
            f"--load-extension={extensions}",
        ],
    )


@contextmanager
def chromium_alone(playwright: Any, origin: str) -> Iterator[tuple[Any, Any]]:
    """Chromium without vauth: a new context and its page at ``origin`` (the caller adds CDP
    virtual authenticators), for the side-by-side comparisons."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        context = browser.new_context()
        page = context.new_page()
        page.goto(origin)
        yield context, page
    finally:
        browser.close()


@contextmanager
def chromium_with_vauth(playwright: Any, origin: str, base: Path) -> Iterator[tuple[Any, Any]]:
    """Chromium with vauth answering in the page, its daemon in tester mode (`--presence auto`,
    no window): the environment and a page at ``origin``."""
    environment = Environment(base, support.environment(base, PASSPHRASE))
    daemon = Daemon(environment, "--presence", "auto")
    try:
        context = launch_with_extension(playwright, environment)
        try:
            page = context.new_page()
            page.goto(origin)
            yield environment, page
        finally:
            context.close()
    finally:
        daemon.stop()


def virtual_platform_authenticator(browser: Any, page: Any) -> Any:
    """Chromium's own (CDP) virtual authenticator standing in for the platform one."""
    cdp = browser.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


@pytest.fixture(scope="module")
def vauth_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The plugin's session, for one module at a time here: the plugin keeps one Playwright
    driver for a whole session, and Playwright's sync API allows one per thread, so this suite's
    other modules (which start their own) could not run after a ``vauth_page`` test otherwise."""
    from vauth.testing.pytest_plugin import TesterSession

    session = TesterSession(tmp_path_factory.mktemp("vauth"))
    try:
        yield session
    finally:
        session.close()
