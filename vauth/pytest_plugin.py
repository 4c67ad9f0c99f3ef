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
over WebDriver BiDi (``vauth.browsers.firefox``: Playwright drives only its own Firefox builds)
with vauth's add-on, offering the Playwright names goto, evaluate and wait_for_function.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from vauth.harness import VauthDaemon
    from vauth.virtual import VirtualAuthenticator

MARKER = "vauth_authenticator"
EXTENSION = Path(__file__).resolve().parents[1] / "extension"  # a source checkout's
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
    from vauth.virtual import VirtualAuthenticator  # imported late: loading pytest stays cheap

    authenticator = VirtualAuthenticator()
    try:
        yield authenticator
    finally:
        authenticator.close()


@pytest.fixture
def vauth_ctap_device(virtual_authenticator: VirtualAuthenticator) -> Any:
    """A python-fido2 CtapDevice over ``virtual_authenticator`` (needs the fido2 package)."""
    from vauth.testing import VauthCtapDevice

    return VauthCtapDevice(virtual_authenticator)


@pytest.fixture
def vauth_authenticator_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The options of the nearest ``vauth_authenticator`` marker (none: vauth's defaults)."""
    marker = request.node.get_closest_marker(MARKER)
    return dict(marker.kwargs) if marker is not None else {}


@pytest.fixture
def vauth_daemon(
    tmp_path_factory: pytest.TempPathFactory, vauth_authenticator_options: dict[str, Any]
) -> Iterator[VauthDaemon]:
    """A tester-mode daemon of its own (own directories, socket and port), stopped afterwards."""
    from vauth.harness import VauthDaemon

    with VauthDaemon.start(tmp_path_factory.mktemp("vauth"), vauth_authenticator_options) as daemon:
        yield daemon


@pytest.fixture
def vauth_browser_name() -> str:
    """The browser of ``vauth_page``: "chromium" or "firefox"."""
    return "chromium"


@pytest.fixture
def vauth_browser(vauth_daemon: VauthDaemon, vauth_browser_name: str) -> Iterator[Any]:
    """A browser with vauth's extension, talking to ``vauth_daemon``: a Playwright browser
    context (Chromium), or a ``vauth.browsers.firefox.Firefox``; ``new_page()`` either way."""
    if vauth_browser_name == "firefox":
        with launch_firefox(vauth_daemon) as firefox:
            yield firefox
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = launch_browser(playwright, vauth_browser_name, vauth_daemon)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def vauth_page(vauth_browser: Any) -> Any:
    """A page of ``vauth_browser``: its navigator.credentials reach vauth."""
    return vauth_browser.new_page()


def launch_firefox(daemon: VauthDaemon) -> Any:
    """firefox-esr with vauth's add-on (temporary), its profile and HOME the daemon's, the
    native host installed where Firefox reads it (~/.mozilla/native-messaging-hosts)."""
    from vauth.browsers import firefox

    reason = firefox.why_not()
    if reason is not None:
        pytest.skip(f"vauth_page in Firefox: {reason}")
    daemon.install_native_host(None, browser="firefox")
    workdir = Path(daemon.env["HOME"]).parent / "firefox"
    addon = firefox.assemble_addon(workdir / "addon")
    return firefox.Firefox(daemon.env, workdir, addon)


def launch_browser(playwright: Any, browser_name: str, daemon: VauthDaemon) -> Any:
    """A Playwright browser (Chromium) with vauth's extension. Firefox: ``launch_firefox``."""
    if browser_name != "chromium":
        pytest.skip(f"vauth_page drives chromium and firefox, not {browser_name}")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("vauth_page needs Chromium (apt install chromium)")
    if not (EXTENSION / "manifest.json").exists():
        pytest.skip("vauth_page needs vauth's extension/ (a source checkout)")
    user_data = Path(daemon.env["HOME"]) / "chromium"
    daemon.install_native_host(user_data)
    return playwright.chromium.launch_persistent_context(
        str(user_data),
        executable_path=executable,
        headless=False,  # the new headless mode comes from the arguments
        env=daemon.env,
        args=[
            *CHROMIUM_ARGS,
            f"--disable-extensions-except={EXTENSION}",
            f"--load-extension={EXTENSION}",
        ],
    )
