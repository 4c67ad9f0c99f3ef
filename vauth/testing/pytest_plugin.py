"""pytest plugin (entry point ``pytest11``).

In process: ``virtual_authenticator`` and ``vauth_ctap_device``.

    def test_login(virtual_authenticator):
        response = virtual_authenticator.create(options, origin="https://example.com")

In a browser: ``vauth_page``, a Playwright page whose WebAuthn calls reach a vauth
authenticator in tester mode (presence auto, ephemeral, one per test) through vauth's
extension; ``vauth_daemon`` drives that authenticator over HTTP (CDP's override bits, ...).
Its W3C WebDriver / CDP options come from a marker:

    @pytest.mark.vauth_authenticator(hasPrf=True, defaultBackupEligibility=True)
    def test_sign_in(vauth_page, vauth_daemon):
        vauth_page.goto(...)

``vauth_browser_name`` (default "chromium") chooses the browser; override it, or parametrize
it, to run the same test in another one: "firefox" gives a page in Debian's firefox-esr driven
over WebDriver BiDi (``vauth.testing.browsers.firefox``: Playwright drives only its own Firefox
builds) with vauth's add-on, offering the Playwright names goto, evaluate and wait_for_function.

As Chromium's CDP authenticator is used (one browser for the run, a fresh context per test),
the browsers, Playwright and the native host are started once per session (``vauth_session``),
while each test gets what it could otherwise inherit fresh: its own daemon process and
authenticator (forked in a few tens of milliseconds by ``vauth.testing.harness.DaemonFactory``),
its own pages, and no cookies or site storage from the test before (both are cleared for every
origin its pages reached). What a test changes in the browser itself (the extension's own
settings, or routes and init scripts added to ``vauth_browser``) stays for the session.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from vauth.testing.browsers.firefox import Firefox, Page
    from vauth.testing.harness import DaemonFactory, VauthDaemon
    from vauth.testing.virtual import VirtualAuthenticator

MARKER = "vauth_authenticator"
CHROMIUM_ARGS = (
    "--headless=new",  # extensions need the new headless mode
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): the W3C WebDriver / CDP options of vauth_page's authenticator",
    )


@pytest.fixture
def virtual_authenticator() -> Iterator[VirtualAuthenticator]:
    """A fresh in-memory VirtualAuthenticator with WebDriver defaults, closed afterwards."""
    # imported late: loading pytest stays cheap
    from vauth.testing.virtual import VirtualAuthenticator

    authenticator = VirtualAuthenticator()
    try:
        yield authenticator
    finally:
        authenticator.close()


@pytest.fixture
def vauth_ctap_device(virtual_authenticator: VirtualAuthenticator) -> Any:
    """A python-fido2 CtapDevice over ``virtual_authenticator`` (needs the fido2 package)."""
    from vauth.testing.doubles import VauthCtapDevice

    return VauthCtapDevice(virtual_authenticator)


@pytest.fixture
def vauth_authenticator_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The options of the nearest ``vauth_authenticator`` marker (none: vauth's defaults)."""
    marker = request.node.get_closest_marker(MARKER)
    return dict(marker.kwargs) if marker is not None else {}


@pytest.fixture(scope="session")
def vauth_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TesterSession]:
    """What the session's tests share: one directory tree (the browsers' HOME and vauth's
    socket), the daemon factory, and each browser once it is first asked for."""
    session = TesterSession(tmp_path_factory.mktemp("vauth"))
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def vauth_daemon(
    vauth_session: TesterSession, vauth_authenticator_options: dict[str, Any]
) -> Iterator[VauthDaemon]:
    """A tester-mode daemon of the test's own (a new process and authenticator, configured by
    the marker), on the session's socket, where the browsers' native host finds it."""
    with vauth_session.daemon(vauth_authenticator_options) as daemon:
        yield daemon


@pytest.fixture
def vauth_browser_name() -> str:
    """The browser of ``vauth_page``: "chromium" or "firefox"."""
    return "chromium"


@pytest.fixture
def vauth_browser(
    vauth_session: TesterSession, vauth_daemon: VauthDaemon, vauth_browser_name: str
) -> Iterator[Any]:
    """A browser with vauth's extension, talking to ``vauth_daemon``: the session's Playwright
    browser context (Chromium), or a ``FirefoxContext``; ``new_page()`` either way. The pages
    a test opens are closed after it, and the cookies and storage of what they reached cleared."""
    with vauth_session.browser(vauth_browser_name).test() as context:
        yield context


@pytest.fixture
def vauth_page(vauth_browser: Any) -> Any:
    """A page of ``vauth_browser``: its navigator.credentials reach vauth."""
    return vauth_browser.new_page()


class TesterSession:
    """The pieces a session's tests share, each started on first use."""

    def __init__(self, base: Path) -> None:
        from vauth.testing.harness import environment

        self.base = base
        self.env = environment(base)
        # A Unix socket's path has room for 107 bytes; pytest's temporary directories can be
        # deeper than that leaves (pytester's are), so the socket lives in a short one.
        self._runtime = tempfile.mkdtemp(prefix="vauth-")
        self.env["XDG_RUNTIME_DIR"] = self._runtime
        self._factory: DaemonFactory | None = None
        self._browsers: dict[str, ChromiumBrowser | FirefoxBrowser] = {}
        self._unavailable: dict[str, str] = {}

    def daemon(self, options: dict[str, Any]) -> VauthDaemon:
        """A new daemon in the session's environment (stop it before asking for the next)."""
        if self._factory is None:
            from vauth.testing.harness import DaemonFactory

            self._factory = DaemonFactory(self.base / "daemon-factory.log")
        return self._factory.start(self.env, options)

    def browser(self, name: str) -> ChromiumBrowser | FirefoxBrowser:
        """The session's browser ``name``, launched on first use (a skip says why not)."""
        if name in self._unavailable:
            pytest.skip(self._unavailable[name])
        running = self._browsers.get(name)
        if running is not None and not running.alive():  # it crashed: a new one for the rest
            with contextlib.suppress(Exception):
                running.close()
            del self._browsers[name]
        if name not in self._browsers:
            try:
                self._browsers[name] = self._launch(name)
            except pytest.skip.Exception as skip:
                self._unavailable[name] = str(skip.msg)
                raise
        return self._browsers[name]

    def _launch(self, name: str) -> ChromiumBrowser | FirefoxBrowser:
        from vauth.testing.browsers.extension import ExtensionMissing

        try:
            if name == "chromium":
                return ChromiumBrowser(self.env)
            if name == "firefox":
                return FirefoxBrowser(self.env, self.base / "firefox")
        except ExtensionMissing as exc:
            pytest.skip(f"vauth_page: {exc}")
        pytest.skip(f"vauth_page drives chromium and firefox, not {name}")

    def close(self) -> None:
        for browser in self._browsers.values():
            with contextlib.suppress(Exception):
                browser.close()
        if self._factory is not None:
            self._factory.close()
        shutil.rmtree(self._runtime, ignore_errors=True)


def launch_chromium(playwright: Any, env: dict[str, str], user_data: Path) -> Any:
    """A Playwright persistent context of Debian's Chromium with vauth's extension and its
    native host (extensions load only in a persistent context)."""
    from vauth.testing.browsers.extension import chromium_extension
    from vauth.testing.harness import install_native_host

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("vauth_page needs Chromium (apt install chromium)")
    extension = chromium_extension()
    install_native_host(env, "chromium", user_data)
    return playwright.chromium.launch_persistent_context(
        str(user_data),
        executable_path=executable,
        headless=False,  # the new headless mode comes from the arguments
        env=env,
        args=[
            *CHROMIUM_ARGS,
            f"--disable-extensions-except={extension}",
            f"--load-extension={extension}",
        ],
    )


class ChromiumBrowser:
    """The session's Chromium: one Playwright driver and one persistent context."""

    def __init__(self, env: dict[str, str]) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        try:
            self.context = launch_chromium(self._playwright, env, Path(env["HOME"]) / "chromium")
        except BaseException:
            self._playwright.stop()
            raise
        # A page kept open for the session: the context lives on when a test closes its own,
        # and it carries the DevTools session that clears a test's site data.
        self._keeper = self.context.pages[0] if self.context.pages else self.context.new_page()
        self._devtools = self.context.new_cdp_session(self._keeper)

    def alive(self) -> bool:
        try:
            self._keeper.evaluate("1")
        except Exception:
            return False
        return True

    @contextlib.contextmanager
    def test(self) -> Iterator[Any]:
        before = set(self.context.pages)
        origins: set[str] = set()

        def reached(request: Any) -> None:
            origins.add(_origin(request.url))

        self.context.on("request", reached)
        try:
            yield self.context
        finally:
            self.context.remove_listener("request", reached)
            for page in self.context.pages:
                if page not in before:
                    origins.add(_origin(page.url))
                    page.close()
            self.context.clear_cookies()
            self.context.clear_permissions()
            for origin in sorted(origins - {""}):
                self._devtools.send(
                    "Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"}
                )

    def close(self) -> None:
        try:
            self.context.close()
        finally:
            self._playwright.stop()


class FirefoxBrowser:
    """The session's firefox-esr with vauth's add-on, its native host under the session's HOME."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        from vauth.testing.browsers import firefox
        from vauth.testing.browsers.extension import firefox_addon
        from vauth.testing.harness import install_native_host

        reason = firefox.why_not()
        if reason is not None:
            pytest.skip(f"vauth_page in Firefox: {reason}")
        install_native_host(env, "firefox", None)
        self.firefox: Firefox = firefox.Firefox(env, workdir, firefox_addon(workdir / "addon"))

    def alive(self) -> bool:
        return self.firefox.process.poll() is None

    @contextlib.contextmanager
    def test(self) -> Iterator[FirefoxContext]:
        context = FirefoxContext(self.firefox)
        try:
            yield context
        finally:
            context.close()

    def close(self) -> None:
        self.firefox.close()


class FirefoxContext:
    """A test's share of the session's Firefox: its pages (``new_page()``), closed after it,
    and the cookies and storage of the sites they reached, cleared."""

    def __init__(self, firefox: Firefox) -> None:
        self.firefox = firefox
        self.pages: list[Page] = []

    def new_page(self, url: str = "about:blank") -> Page:
        page = self.firefox.new_page(url)
        self.pages.append(page)
        return page

    def close(self) -> None:
        urls: set[str] = set()
        for page in self.pages:
            urls |= page.visited
            with contextlib.suppress(Exception):  # a page the test closed itself
                urls.add(page.evaluate("location.href"))
                page.close()
        self.firefox.clear_site_data(sorted({_origin(url) for url in urls} - {""}))


def _origin(url: str) -> str:
    """``url``'s origin if it is a web page's (http or https), else ""."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"
