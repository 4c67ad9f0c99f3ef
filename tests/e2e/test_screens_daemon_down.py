"""Issue 20: no dead ends in the extension. With vauth installed as the README's first steps leave
it (its `vauth` in .venv/bin, not on PATH), every screen that says vauth is not running names
the command that starts it here, and the test runs that very command; with the daemon down the
options page offers no form that cannot work; a ceremony ended by stopping the daemon says why
before its window closes; the audit log says who asked for each ceremony; the help page explains
every permission. Real Chromium, extension, native host and daemon; every changed screen is
saved under tests/e2e/artifacts/ (screens-*.png) and was looked at."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import support
from tests.e2e.conftest import EXTENSION_ID, PASSPHRASE, Environment, screenshot
from tests.e2e.rp_server import RelyingParty
from tests.e2e.test_extension import ceremony_window, open_site, result

pytestmark = pytest.mark.e2e
EXT = f"chrome-extension://{EXTENSION_ID}"
VAUTH = Path(sys.executable).parent / "vauth"  # this installation's script: not on PATH here
START = f"{VAUTH} serve"


@pytest.fixture
def environment(tmp_path: Path) -> Environment:
    """As after `pip install .` into .venv: the `vauth` PATH finds is not this one (none is)."""
    env = support.environment(tmp_path, PASSPHRASE)
    env["PATH"] = "/usr/bin:/bin"
    return Environment(tmp_path, env)


@pytest.fixture
def advised_daemon(environment: Environment) -> Iterator[Any]:
    """Start the daemon with the command the extension named, as a person pasting it would."""
    started: list[subprocess.Popen[str]] = []

    def start(command: str, *extra: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [*shlex.split(command), "--no-http", *extra],
            env=environment.env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        started.append(process)
        assert process.stderr is not None
        for line in process.stderr:
            if "vauth: ready" in line:
                return process
        raise AssertionError(f"{command!r} did not start the daemon")

    yield start
    for process in started:
        process.terminate()
        process.wait(30)


def test_options_page_with_the_daemon_down(
    browser: Any, environment: Environment, advised_daemon: Any
) -> None:
    environment.cli("init")
    options = browser.new_page()
    options.goto(f"{EXT}/options/options.html")
    options.wait_for_selector("#daemon-down:not([hidden])")
    assert "vauth is not running" in options.inner_text("#daemon-down-why")
    command = options.inner_text("#daemon-down-command")
    assert command == START
    for form in ("#name-section", "#recovery-section", "#recover-section", "#unlock-form",
                 "#passkeys-section", "#lock"):  # fmt: skip
        assert options.is_hidden(form), form
    assert options.is_visible("#defaults-section")  # kept in the browser: works without vauth
    assert options.is_hidden("#error")  # said once, in the panel
    screenshot(options, "screens-options-daemon-down")

    advised_daemon(command, "--presence", "auto")
    options.click("#check-again")
    options.wait_for_selector("#name-section:not([hidden])")
    assert options.is_hidden("#daemon-down") and options.is_visible("#passkeys-section")
    assert options.is_visible("#recovery-section")
    # The other commands it names are spelled as they must be typed here too.
    options.wait_for_function(
        "document.querySelector('code.vauth-command').textContent.includes('/vauth sync init')"
    )
    assert (
        options.inner_text("#sync-off code.vauth-command >> nth=0") == f"{VAUTH} sync init FOLDER"
    )
    options.locator("#devices-section").scroll_into_view_if_needed()
    screenshot(options, "screens-options-devices-command")


def test_popup_with_the_daemon_down(browser: Any) -> None:
    popup = browser.new_page()
    popup.goto(f"{EXT}/popup/popup.html")
    popup.wait_for_selector("#error:not([hidden])")
    assert popup.inner_text("#error") == (
        f"vauth is not running. Start it with this command, then try again: {START}"
    )
    assert popup.is_hidden("#unlock-form") and popup.is_hidden("#site-section")
    screenshot(popup, "screens-popup-daemon-down")


def test_ceremony_window_names_the_command_and_it_works(
    browser: Any, rp: RelyingParty, environment: Environment, advised_daemon: Any
) -> None:
    environment.cli("init")
    page = open_site(browser, rp)
    window = ceremony_window(browser, page, "register('uma')")
    window.wait_for_selector("#unavailable:visible")
    window.set_viewport_size({"width": 520, "height": 640})
    message = window.inner_text("#unavailable-message")
    assert message.endswith(START), message
    screenshot(window, "screens-unavailable-command")
    advised_daemon(START, "--presence", "auto")  # the window notices by itself, then goes on
    page.wait_for_function("window.__result !== undefined", timeout=30_000)
    assert result(page)["ok"], result(page)


def test_the_window_says_why_when_the_daemon_stops_mid_ceremony(
    browser: Any, rp: RelyingParty, start_daemon: Any
) -> None:
    daemon = start_daemon("--presence", "prompt")
    page = open_site(browser, rp)
    window = ceremony_window(browser, page, "register('vic')")
    window.wait_for_selector("#approve:not([disabled])")
    window.set_viewport_size({"width": 520, "height": 640})
    closed: list[float] = []
    window.on("close", lambda _: closed.append(time.monotonic()))
    assert daemon.stop() == 0
    window.wait_for_selector("#waiting.error:visible", timeout=15_000)
    said = time.monotonic()
    text = window.inner_text("#waiting")
    assert "vauth stopped before you answered, so this request ended" in text
    assert f"Start vauth again with {START}" in text and "`" not in text
    assert window.is_disabled("#approve")
    screenshot(window, "screens-daemon-stopped")
    page.wait_for_function("window.__result !== undefined", timeout=30_000)
    assert result(page)["name"] == "NotAllowedError"  # all a page may learn
    if not closed:
        window.wait_for_event("close", timeout=20_000)
    assert closed and closed[0] - said > 3, "the window closed before it could be read"


def test_the_audit_log_says_who_asked(browser: Any, rp: RelyingParty, start_daemon: Any) -> None:
    start_daemon("--presence", "auto")
    page = open_site(browser, rp)
    assert page.evaluate("register('wes')")["ok"]
    assert page.evaluate("login()")["ok"]
    options = browser.new_page()
    options.goto(f"{EXT}/options/options.html")
    options.wait_for_selector("#audit tbody tr.audit-entry[data-ceremony='getAssertion']")
    for ceremony in ("makeCredential", "getAssertion"):
        row = options.locator(f"#audit tr.audit-entry[data-ceremony='{ceremony}']").first
        assert row.locator(".actor").inner_text() == f"the site {rp.origin}", ceremony
    options.locator("#audit-section").scroll_into_view_if_needed()
    screenshot(options, "screens-options-audit-by")


def test_the_popup_sees_the_current_site_without_active_tab(browser: Any, rp: RelyingParty) -> None:
    """activeTab was dropped: the https (and localhost) host permission already gives the
    extension the address of a tab where its content scripts run."""
    page = open_site(browser, rp)
    worker = next(w for w in browser.service_workers if EXTENSION_ID in w.url)
    assert "activeTab" not in worker.evaluate("chrome.runtime.getManifest().permissions")
    urls = worker.evaluate("chrome.tabs.query({}).then((tabs) => tabs.map((t) => t.url))")
    assert page.url in urls


def test_the_help_page_explains_each_permission(browser: Any) -> None:
    help_page = browser.new_page()
    help_page.goto(f"{EXT}/help/help.html#permissions")
    help_page.wait_for_selector("#permission-list")
    explained = help_page.eval_on_selector_all(
        "#permission-list dt", "(dts) => dts.map((dt) => dt.dataset.permission)"
    )
    manifest = help_page.evaluate("chrome.runtime.getManifest()")
    assert set(explained) == {*manifest["permissions"], "https"}
    help_page.set_viewport_size({"width": 900, "height": 1100})
    help_page.locator("#permissions").scroll_into_view_if_needed()
    screenshot(help_page, "screens-help-permissions")
